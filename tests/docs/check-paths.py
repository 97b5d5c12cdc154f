#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The paths a build bakes in (issue 8, item 10).

usage: check-paths.py MESON SOURCE_ROOT CAPTURED MAN_PAGE...

1. A build with meson's defaults (a fresh `meson setup`, nothing given) is a
   system daemon's: its config.h and man pages say /etc/captured and
   /var/lib/captured, never /usr/local/etc or /var/local.
2. This build's `captured --help` and its man pages name the same
   directories."""

import os
import re
import subprocess
import sys
import tempfile

SYSTEM_CONFIG_DIR = "/etc/captured"
SYSTEM_STATE_DIR = "/var/lib/captured"
LOCAL_PATHS = ("/usr/local/etc", "/var/local", "/usr/local/var")

failures = []


def fail(message):
    failures.append(message)
    print("FAIL: " + message)


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def man_text(path):
    # roff escapes hyphens: "\-" is "-".
    return read(path).replace("\\-", "-")


# The pages that name the directories (and must name the right ones).
NAMES_CONFIG_DIR = ("captured.8", "captured.conf.5", "capturectl.1")
NAMES_STATE_DIR = ("captured.8",)


def check_pages(pages, config_dir, state_dir, what, forbid_local):
    for page in pages:
        text = man_text(page)
        name = os.path.basename(page)
        for local in LOCAL_PATHS if forbid_local else ():
            if local in text:
                fail(f"{what}: {name} names {local}")
        for d, names in ((config_dir, NAMES_CONFIG_DIR), (state_dir, NAMES_STATE_DIR)):
            if name in names and d not in text:
                fail(f"{what}: {name} does not name {d}")


def default_build(meson, source_root):
    with tempfile.TemporaryDirectory(prefix="captured-check-paths-") as build:
        p = subprocess.run([meson, "setup", build, source_root], capture_output=True, text=True)
        if p.returncode != 0:
            fail(f"meson setup with the defaults failed: {p.stdout[-2000:]}{p.stderr[-2000:]}")
            return
        config_h = read(os.path.join(build, "config.h"))
        for key, want in (("CONFIG_DIR", SYSTEM_CONFIG_DIR), ("STATE_DIR", SYSTEM_STATE_DIR)):
            m = re.search(rf'#define {key} "([^"]*)"', config_h)
            got = m.group(1) if m else None
            if got != want:
                fail(f"a default build's {key} is {got}, not {want}")
            else:
                print(f"ok: a default build's {key} is {want}")
        man_dir = os.path.join(build, "man")
        check_pages([os.path.join(man_dir, n) for n in os.listdir(man_dir) if re.search(r"\.[158]$", n)],
                    SYSTEM_CONFIG_DIR, SYSTEM_STATE_DIR, "a default build", True)


def this_build(captured, pages):
    text = subprocess.run([captured, "--help"], capture_output=True, text=True, check=True).stdout
    config_dir = re.search(r"--config-dir=DIR.*\(default: ([^)\s,]+)", text)
    state_dir = re.search(r"--state-dir=DIR.*\(default: ([^)\s,]+)", text)
    if not config_dir or not state_dir:
        fail(f"captured --help does not name its default directories:\n{text}")
        return
    print(f"ok: captured --help names {config_dir.group(1)} and {state_dir.group(1)}")
    check_pages(pages, config_dir.group(1), state_dir.group(1), "this build", False)


def main():
    meson, source_root, captured = sys.argv[1:4]
    default_build(meson, source_root)
    this_build(captured, sys.argv[4:])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
