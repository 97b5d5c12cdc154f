#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Builds the captured SELinux module with the reference policy's devel
# Makefile, in a scratch copy (the Makefile writes next to its sources):
#
#   selinux/build-module.sh [OUTPUT_DIR]
#
# OUTPUT_DIR receives captured.pp. Exits 77 (skip) when the devel Makefile
# is not installed (Debian: selinux-policy-dev).

set -eu

makefile=${SELINUX_DEVEL_MAKEFILE:-/usr/share/selinux/devel/Makefile}
if [ ! -f "$makefile" ]; then
        echo "SKIP: $makefile is not installed (selinux-policy-dev)"
        exit 77
fi

source_dir=$(cd "$(dirname "$0")" && pwd)
output_dir=${1:-$source_dir}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

cp "$source_dir/captured.te" "$source_dir/captured.fc" "$source_dir/captured.if" "$scratch/"
make -C "$scratch" -f "$makefile" captured.pp
mkdir -p "$output_dir"
cp "$scratch/captured.pp" "$output_dir/"
echo "built $output_dir/captured.pp"
