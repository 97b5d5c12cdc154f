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


class FilterForTheLinkType(harness.CapturedTestCase):
    """Issue 10 §2: the filter is compiled for the interface's link type
    without opening a capture on it; tcpdump on a tun device (no link
    layer) sees raw IP, so an Ethernet filter is refused there, as tcpdump
    itself would refuse it, and accepted on a veth."""

    def test_link_type_decides(self):
        harness.run(["ip", "tuntap", "add", "dev", "ttest0", "mode", "tun"])
        self.addCleanup(harness.delete_link, "ttest0")
        harness.run(["ip", "link", "set", "ttest0", "up"])
        harness.create_veth("vtest0", "vtest1")
        self.addCleanup(harness.delete_link, "vtest0")
        ether_filter = "ether host 02:00:00:00:00:01"

        _, message = self.assertBusError(harness.ERROR_INVALID_FILTER, "StartCapture", "sa{sv}", "ttest0",
                                         {"Filter": ("s", ether_filter)})
        p = harness.run(["tcpdump", "-d", "-i", "ttest0", ether_filter], check=False)
        self.assertNotEqual(p.returncode, 0, "tcpdump itself accepts the filter on a tun device")
        self.assertIn("ethernet addresses supported only on", p.stderr)
        self.assertIn("ethernet addresses supported only on", message)
        # A filter for raw IP compiles there.
        start_capture("ttest0", {"Filter": ("s", "ip")})
        self.wait_running("ttest0")

        start_capture("vtest0", {"Filter": ("s", ether_filter)})
        self.wait_running("vtest0")
        self.assertEqual(harness.capture_property("vtest0", "Filter"), ether_filter)


if __name__ == "__main__":
    harness.main()
