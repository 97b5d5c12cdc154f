#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Install everything captured needs to build, test and run (Debian 12).
# This is the one place where the package list lives; tools/try-it and
# tools/run-tests call it. Idempotent: when everything is installed it does
# nothing, not even `apt-get update`, so it works offline too.
#
#   tools/install-deps.sh          install what is missing (needs root)
#   tools/install-deps.sh --list   print the package list, one per line
#   tools/install-deps.sh --check  exit 1 (and name them) if any is missing

set -euo pipefail

PACKAGES=(
        # build
        build-essential
        meson
        ninja-build
        pkg-config
        libsystemd-dev
        libpcap-dev
        libinih-dev
        libjson-c-dev
        libcurl4-openssl-dev
        libssl-dev              # libcrypto: SHA-256 of S3 payloads
        libdbus-1-dev           # dbus-1.pc: where the activation file goes
        systemd                 # systemd.pc, busctl, systemd-analyze
        # unit tests
        libglib2.0-dev
        libglib-testing-0-dev
        python3
        python3-dbusmock
        libglib2.0-bin          # gdbus
        python3-gi              # the integration harness's D-Bus client (issue 9)
        gir1.2-glib-2.0
        openssl                 # test certificates for the upload server
        # run and integration tests
        tcpdump
        dbus
        polkitd
        pkexec
        wireshark-common        # capinfos reads finished files
        ca-certificates         # uploads verify TLS
        iproute2
        util-linux              # unshare, nsenter
        procps
        # web console and its browser test (issue 14)
        cockpit-ws
        cockpit-bridge
        cockpit-system          # the shell the page sits in
        chromium
        chromium-driver
        python3-selenium
        sudo                    # Cockpit's administrative access (the page's admin test)
        # documentation tests
        man-db                  # man -l renders the man pages
        bash-completion         # bash-completion.pc, and the completion test
        # hardening and SELinux tests
        python3-seccomp         # test_hardening applies the unit's seccomp filters
        selinux-policy-dev      # builds the SELinux module (refpolicy devel Makefile)
        libcap2-bin             # setcap: test_hardening's hook with file capabilities (issue 11)
        # Debian package and the real-systemd test (issue 12, tests/system)
        debhelper               # dh, dh_installsystemd, dh_installsysusers (dh-sequence-installsysusers)
        lintian
        debootstrap             # the test's Debian 12 root
        systemd-container       # systemd-nspawn boots it
        # S3 and HTTP upload tests (issue 13): a real object store that checks SigV4
        swift
        swift-proxy
        swift-object
        swift-container
        swift-account
        python3-swift
        memcached
)

missing_packages() {
        local p status
        for p in "${PACKAGES[@]}"; do
                status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
                [[ $status == "install ok installed" ]] || echo "$p"
        done
}

case "${1:-}" in
        --list)
                printf '%s\n' "${PACKAGES[@]}"
                exit 0 ;;
        --check|"") ;;
        *)
                echo "usage: $0 [--list|--check]" >&2
                exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
        echo "install-deps: this script knows Debian/Ubuntu (apt) only; install these by hand:" >&2
        printf '  %s\n' "${PACKAGES[@]}" >&2
        exit 1
fi

mapfile -t missing < <(missing_packages)
if (( ${#missing[@]} == 0 )); then
        echo "install-deps: all ${#PACKAGES[@]} packages are installed"
        exit 0
fi

if [[ ${1:-} == --check ]]; then
        echo "install-deps: missing: ${missing[*]}" >&2
        exit 1
fi

if (( EUID != 0 )); then
        echo "install-deps: missing ${missing[*]}; run as root (sudo $0)" >&2
        exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
