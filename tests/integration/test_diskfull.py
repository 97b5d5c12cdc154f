#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A briefly full disk (issue 8 §1, SPEC §9): another process fills the
file system; tcpdump goes on counting but never writes again. The daemon
notices (the counters grow, the live file does not), says so (LastError,
the log, capturectl status) and, once there is room, starts a new tcpdump
on a new file by itself, without losing what was written."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import capture_property, start_capture, stop_capture, wait_for, wait_for_state  # noqa: E402
from capture_helpers import Traffic, capturectl, completed_signals, finished_files, read_problem  # noqa: E402

MIB = 1024 * 1024
FS_SIZE = 8 * MIB
OPTIONS = {"FileSize": ("u", 1), "FileCount": ("u", 20)}


class DiskFullTest(harness.SmallCaptureFsTestCase):

    capture_fs_size = FS_SIZE
    daemon_config = {"Daemon": {"MinFreeSpace": "1M"}}

    def setUp(self):
        super().setUp()
        self.ballast = os.path.join(self.capture_dir, "ballast")

    def fill_disk(self):
        """Another process takes every free byte (dd stops at ENOSPC)."""
        harness.run(["dd", "if=/dev/zero", f"of={self.ballast}", "bs=1M", "count=10"], check=False)
        st = os.statvfs(self.capture_dir)
        harness.log(f"filled: {st.f_bavail * st.f_frsize} bytes free, ballast {os.path.getsize(self.ballast)}")

    def wait_stall_noticed(self):
        """Reading a counter asks tcpdump for fresh ones: the daemon compares
        them with the live file's size."""
        def noticed():
            capture_property("lo", "PacketsCaptured")
            return "stopped writing" in self.daemon.log()
        wait_for(noticed, 60, "the daemon to notice that tcpdump writes nothing", interval=0.5)

        def errors():
            return [c["LastError"] for c in self.monitor.properties_changed(harness.capture_path("lo"),
                                                                            harness.CAPTURE_IFACE)
                    if "LastError" in c]
        wait_for(lambda: any("stopped writing" in e and "disk full" in e for e in errors()), 10,
                 "LastError to say that tcpdump stopped writing")

    def wait_recovered(self, old_pid):
        """A new tcpdump, whose file grows, and completions going on."""
        wait_for(lambda: capture_property("lo", "State") == "running" and
                 capture_property("lo", "MainPID") not in (0, old_pid), 30, "a new tcpdump")
        new_file = capture_property("lo", "CurrentFile")
        wait_for(lambda: capture_property("lo", "CurrentFile") != new_file or
                 os.path.getsize(new_file) > 100_000, 30, "the new tcpdump to write", interval=0.2)
        completed = capture_property("lo", "FilesCompleted")
        wait_for(lambda: capture_property("lo", "FilesCompleted") >= completed + 2, 30,
                 "files to be completed again", interval=0.2)
        self.assertEqual(capture_property("lo", "LastError"), "", "LastError outlived the recovery")
        self.assertGreaterEqual(capture_property("lo", "Restarts"), 1)

    def check_nothing_lost(self):
        stop_capture("lo")
        wait_for_state("lo", "stopped")
        completed = capture_property("lo", "FilesCompleted")
        wait_for(lambda: len(completed_signals(self.monitor, "lo")) >= completed, 10, "every FileCompleted signal")
        signalled = [os.path.basename(p) for _, p, _ in completed_signals(self.monitor, "lo")]
        survivors = [os.path.basename(p) for p in finished_files(self.capture_dir, "lo")]
        deleted = re.findall(r"deleted (\S+) \((?:disk guard|retention)", self.daemon.log())
        # Every finished file is on disk, or was deleted by the guard or
        # retention and logged; the one tcpdump stopped writing was finished too.
        self.assertEqual(sorted(survivors + deleted), sorted(signalled))
        problem = read_problem(*finished_files(self.capture_dir, "lo"))
        self.assertIsNone(problem, problem)

    def test_capture_recovers_when_the_guard_makes_room(self):
        start_capture("lo", OPTIONS)
        pid = self.wait_running("lo")
        with Traffic(rate=3_000_000):
            wait_for(lambda: capture_property("lo", "FilesCompleted") >= 4, 60, "four completed files", interval=0.1)
            self.fill_disk()
            self.wait_stall_noticed()
            self.assertIn("disk full", capturectl("status", "lo").stdout + self.daemon.log())
            # The disk guard deletes old files for the new one, which the
            # ballast left no room for: the capture goes on by itself.
            self.wait_recovered(pid)
        self.assertTrue(os.path.exists(self.ballast), "the disk guard deleted a file that is not a capture file")
        self.check_nothing_lost()

    def test_capture_waits_for_room_and_then_recovers(self):
        start_capture("lo", OPTIONS)
        pid = self.wait_running("lo")
        with Traffic(rate=3_000_000):
            wait_for(lambda: capture_property("lo", "CurrentFile") and
                     os.path.getsize(capture_property("lo", "CurrentFile")) > 200_000, 30, "the live file to fill",
                     interval=0.1)
            self.fill_disk()
            self.wait_stall_noticed()
            # Nothing of ours to delete can make room: it waits, and says so.
            wait_for(lambda: capture_property("lo", "State") == "restarting" and
                     capture_property("lo", "MainPID") == 0, 20, "the capture to wait for room")
            p = capturectl("status", "lo")
            self.assertRegex(p.stdout, r"(?m)^ *Last error: .*(disk full|Disk space low)")
            self.assertEqual(capture_property("lo", "State"), "restarting")

            os.unlink(self.ballast)
            self.wait_recovered(pid)
        self.check_nothing_lost()


if __name__ == "__main__":
    harness.main()
