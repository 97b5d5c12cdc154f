#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every MESSAGE_ID of daemon/message-ids.h has exactly one entry in the
catalog (with a Subject:), is documented in captured(8), and journalctl
accepts the catalog: usage: check-catalog.py message-ids.h captured.catalog captured.8"""

import os
import re
import shutil
import subprocess
import sys
import tempfile


def main(header, catalog, man_page):
    with open(header) as f:
        ids = dict(re.findall(r'#define (MESSAGE_\w+)\s+"([0-9a-f]{32})"', f.read()))
    with open(catalog) as f:
        text = f.read()
    with open(man_page) as f:
        man = f.read()
    problems = []
    if len(set(ids.values())) != len(ids):
        problems.append(f"{header}: an id is used twice")
    entries = re.findall(r"^-- ([0-9a-f]{32})\n((?:.+\n)*)", text, re.M)
    in_catalog = [i for i, _ in entries]
    for name, message_id in ids.items():
        if in_catalog.count(message_id) != 1:
            problems.append(f"{catalog}: {name} ({message_id}) has {in_catalog.count(message_id)} entries")
        if message_id not in man:
            problems.append(f"{man_page}: {name} ({message_id}) is not documented")
    for message_id, headers in entries:
        if message_id not in ids.values():
            problems.append(f"{catalog}: {message_id} is not in {header}")
        if not re.search(r"^Subject: .+", headers, re.M):
            problems.append(f"{catalog}: {message_id} has no Subject:")

    # journalctl's own parser, on a scratch root.
    if shutil.which("journalctl"):
        with tempfile.TemporaryDirectory() as root:
            catalog_dir = os.path.join(root, "usr", "lib", "systemd", "catalog")
            os.makedirs(catalog_dir)
            shutil.copy(catalog, os.path.join(catalog_dir, "captured.catalog"))
            p = subprocess.run(["journalctl", f"--root={root}", "--update-catalog"],
                               capture_output=True, text=True)
            if p.returncode != 0 or p.stderr.strip():
                problems.append(f"journalctl --update-catalog: {p.stderr.strip()}")
            listed = subprocess.run(["journalctl", f"--root={root}", "--list-catalog"],
                                    capture_output=True, text=True).stdout
            for name, message_id in ids.items():
                if message_id not in listed:
                    problems.append(f"journalctl --list-catalog does not list {name} ({message_id})")

    for p in problems:
        print(p)
    print(f"{len(ids)} message ids, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
