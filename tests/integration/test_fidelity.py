#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Capture fidelity (issue 10 §1): the daemon does not compete with tcpdump
for the disk. A file tcpdump closed itself on rotation is whole by
construction and is not read back; only what a killed tcpdump or a crash
left is walked for a partial record (test_files covers those)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BusMonitor, start_capture, wait_for  # noqa: E402
from capture_helpers import Traffic, completed_signals  # noqa: E402


def bytes_read_by(pid):
    """What the process read through read(2) and the like (/proc/PID/io rchar)."""
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    raise AssertionError(f"no rchar in /proc/{pid}/io")


class RotationReadBack(harness.CapturedTestCase):
    ROTATIONS = 4

    def test_rotated_files_are_not_read_back(self):
        monitor = BusMonitor()
        self.addCleanup(monitor.stop)
        start_capture("lo", {"FileSize": ("u", 1), "FileCount": ("u", 50)})
        self.wait_running("lo")

        before = bytes_read_by(self.daemon.pid)
        with Traffic(rate=3_000_000):
            wait_for(lambda: len(completed_signals(monitor, "lo")) >= self.ROTATIONS, 30,
                     f"{self.ROTATIONS} rotations")
        read = bytes_read_by(self.daemon.pid) - before
        written = sum(size for _, _, size in completed_signals(monitor, "lo"))

        self.assertGreaterEqual(written, self.ROTATIONS * 1_000_000)
        # D-Bus, inotify and /proc reads are a few kB per rotation; reading
        # the files back would be all of them.
        self.assertLess(read, written / 10, f"the daemon read {read} bytes while tcpdump wrote {written}")


if __name__ == "__main__":
    harness.main()
