#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The disk guard (issue 3 §2, SPEC §6, §9): on a small file system under
sustained traffic, MinFreeSpace= is kept by deleting the oldest finished
files before the disk fills, and the capture keeps completing files."""

import os
import re
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import capture_property, start_capture, stop_capture, wait_for, wait_for_state  # noqa: E402
from capture_helpers import Traffic, completed_signals, finished_files, read_problem  # noqa: E402

MIB = 1024 * 1024
FS_SIZE = 12 * MIB
MIN_FREE = 2 * MIB
# What the guard keeps (MinFreeSpace plus room for the live file) minus
# slack for tcpdump's buffers: free space must never fall below it.
FREE_BOUND = 1 * MIB


class FreeSpaceSampler:
    """statvfs of a file system, as often as it can, in the background."""

    def __init__(self, path):
        self.path = path
        self.lowest = None
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            st = os.statvfs(self.path)
            free = st.f_bavail * st.f_frsize
            self.lowest = free if self.lowest is None else min(self.lowest, free)
            self.samples += 1
            self._stop.wait(0.002)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)


class DiskGuardTest(harness.SmallCaptureFsTestCase):

    capture_fs_size = FS_SIZE
    daemon_config = {"Daemon": {"MinFreeSpace": "2M"}}

    def test_min_free_space_holds_under_sustained_traffic(self):
        start_capture("lo", {"FileSize": ("u", 1), "FileCount": ("u", 1000)})
        pid = self.wait_running("lo")

        with FreeSpaceSampler(self.capture_dir) as sampler, Traffic(rate=3_000_000):
            # Enough to fill the file system twice over...
            wait_for(lambda: capture_property("lo", "FilesCompleted") >= 2 * FS_SIZE // 1_000_000, 60,
                     "files to be completed", interval=0.2)
            # ...and completions go on after the guard has begun deleting.
            wait_for(lambda: "disk guard" in self.daemon.log(), 10, "the disk guard to delete a file")
            after_guard = capture_property("lo", "FilesCompleted")
            wait_for(lambda: capture_property("lo", "FilesCompleted") >= after_guard + 4, 30,
                     "files to keep being completed once the disk guard deletes", interval=0.2)
            self.assertEqual(capture_property("lo", "State"), "running")
            self.assertEqual(capture_property("lo", "MainPID"), pid, "tcpdump was restarted")
            self.assertIn(pid, harness.tcpdump_processes())

        harness.log(f"lowest free space in {sampler.samples} samples: {sampler.lowest} bytes")
        self.assertGreater(sampler.samples, 100)
        self.assertGreaterEqual(sampler.lowest, FREE_BOUND,
                                f"free space fell to {sampler.lowest} bytes (MinFreeSpace=2M)")

        stop_capture("lo")
        wait_for_state("lo", "stopped")
        completed = capture_property("lo", "FilesCompleted")
        wait_for(lambda: len(completed_signals(self.monitor, "lo")) >= completed, 10, "every FileCompleted signal")
        signalled = [p for _, p, _ in completed_signals(self.monitor, "lo")]
        survivors = finished_files(self.capture_dir, "lo")

        self.assertLess(len(survivors), len(signalled), "the disk guard deleted nothing")
        self.assertEqual(survivors, signalled[-len(survivors):], "the disk guard did not delete the oldest files")
        deleted = re.findall(r"deleted (\S+) \(disk guard", self.daemon.log())
        self.assertEqual(deleted, [os.path.basename(p) for p in signalled[:len(deleted)]],
                         "the disk guard did not delete the oldest files first")
        problem = read_problem(*survivors)
        self.assertIsNone(problem, problem)
        for path in survivors:
            self.assertGreater(os.path.getsize(path), 24, f"{path} holds no packet: the disk was full")
        self.assertNotIn("Disk space low", capture_property("lo", "LastError"))

    def test_full_disk_is_reported(self):
        # Something else filled the file system: nothing of ours to delete.
        ballast = os.path.join(self.capture_dir, "ballast")
        with open(ballast, "wb") as f:
            f.write(b"\0" * (FS_SIZE - MIN_FREE // 2))
        start_capture("lo", {"FileSize": ("u", 1), "FileCount": ("u", 1000)})
        self.wait_running("lo")
        with Traffic(rate=1_000_000):
            error = wait_for(lambda: capture_property("lo", "LastError"), 20, "LastError to report the full disk")
        self.assertIn("Disk space low", error)
        self.assertIn("disk space low", self.daemon.log())
        self.assertTrue(os.path.exists(ballast), "the disk guard deleted a file that is not a capture file")

        os.unlink(ballast)
        wait_for(lambda: "disk space is sufficient again" in self.daemon.log(), 20,
                 "the daemon to notice that space is back")


if __name__ == "__main__":
    harness.main()
