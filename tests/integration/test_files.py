#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Finished files (issue 3 §1, SPEC §6, §9): every rotation yields exactly
one finished, whole, uniquely and chronologically named file; stopping,
restarting and crashing never overwrite or lose one."""

import os
import shutil
import signal
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (BusMonitor, capture_property, start_capture, stop_capture, wait_for,  # noqa: E402
                     wait_for_state)
from capture_helpers import (Traffic, capinfos_packets, completed_signals, file_record,  # noqa: E402
                             finished_files, finished_name_pattern, list_files, live_files, read_problem)

# Small files, and a ring long enough that retention deletes nothing here.
OPTIONS = {"FileSize": ("u", 1), "FileCount": ("u", 200)}
FILE_SIZE_BYTES = 1_000_000
TEST_GROUP = "capturedtest"
TEST_GID = 4711


def middle_of_last_packet(data):
    """An offset inside the last packet record of pcap data."""
    records = harness.pcap_records(data)
    if not records:
        raise AssertionError("no packet in the pcap data")
    offset, _, frame = records[-1]
    return offset + 16 + len(frame) // 2


class FilesTestBase(harness.CapturedTestCase):

    def setUp(self):
        super().setUp()
        self.monitor = BusMonitor()
        self.addCleanup(self.monitor.stop)

    def run_traffic_until_completed(self, interface, n, rate=4_000_000):
        """Sustained traffic until the capture has completed n more files."""
        before = capture_property(interface, "FilesCompleted")
        with Traffic(rate=rate):
            wait_for(lambda: capture_property(interface, "FilesCompleted") >= before + n, 30,
                     f"{n} more completed files on {interface}", interval=0.2)

    def assertFinishedFiles(self, paths, interface):
        """Named as finished files are, 0640 or stricter, read whole."""
        self.assertTrue(paths)
        for path in paths:
            self.assertRegex(os.path.basename(path), finished_name_pattern(interface))
            self.assertEqual(os.path.dirname(path), os.path.join(self.capture_dir, interface))
            st = os.stat(path)
            self.assertTrue(stat.S_ISREG(st.st_mode), f"{path} is not a regular file")
            self.assertEqual(stat.S_IMODE(st.st_mode) & 0o137, 0,
                             f"{path} has mode {stat.S_IMODE(st.st_mode):04o}, expected 0640 or stricter")
        problem = read_problem(*paths)
        self.assertIsNone(problem, problem)

    def records(self, interface):
        return {p: file_record(p) for p in finished_files(self.capture_dir, interface)}

    def assertRecordsKept(self, before, after, when):
        for path, record in before.items():
            self.assertIn(path, after, f"{when}: finished file {path} is gone")
            self.assertEqual(after[path], record,
                             f"{when}: finished file {path} changed (inode, size, sha256)")


class FilesTest(FilesTestBase):

    def test_every_rotation_yields_exactly_one_finished_file(self):
        start_capture("lo", OPTIONS)
        pid = self.wait_running("lo")
        self.run_traffic_until_completed("lo", 6)

        # Idle and running: the live file is the current one.
        current = wait_for(lambda: capture_property("lo", "CurrentFile"), 10, "CurrentFile to be set")
        self.assertEqual(os.path.dirname(current), os.path.join(self.capture_dir, "lo"))
        self.assertTrue(os.path.basename(current).startswith(".live-lo"), current)
        self.assertTrue(os.path.exists(current), f"CurrentFile {current} does not exist")
        self.assertEqual(capture_property("lo", "MainPID"), pid, "tcpdump was restarted while rotating")

        stop_capture("lo")
        wait_for_state("lo", "stopped")
        self.assertEqual(capture_property("lo", "CurrentFile"), "")
        self.assertEqual(live_files(self.capture_dir, "lo"), [], "a live file is left after the stop")

        completed = capture_property("lo", "FilesCompleted")
        wait_for(lambda: len(completed_signals(self.monitor, "lo")) >= completed, 10,
                 f"{completed} FileCompleted signals")
        signals = completed_signals(self.monitor, "lo")
        paths = [path for _, path, _ in signals]
        self.assertEqual(len(signals), completed, "FilesCompleted is not the number of FileCompleted signals")
        self.assertGreaterEqual(completed, 7, "six rotations and the stop should make at least 7 files")
        self.assertEqual(len(set(paths)), len(paths), f"a path was completed twice: {paths}")
        self.assertEqual(paths, sorted(paths), "finished file names do not sort in completion order")

        on_disk = finished_files(self.capture_dir, "lo")
        self.assertEqual(on_disk, paths, "the finished files on disk are not those signalled")
        self.assertFinishedFiles(paths, "lo")
        for _, path, size in signals:
            self.assertEqual(os.path.getsize(path), size, f"FileCompleted size of {path}")
        # tcpdump -C starts a new file only past FileSize: one file per
        # rotation, none split, none merged.
        for path in paths[:-1]:
            self.assertGreaterEqual(os.path.getsize(path), FILE_SIZE_BYTES, f"{path} is short of FileSize")
            self.assertLess(os.path.getsize(path), FILE_SIZE_BYTES + 70_000, f"{path} is longer than one rotation")

        # None lost: the files hold every packet tcpdump counted.
        captured = capture_property("lo", "PacketsCaptured")
        self.assertEqual(sum(capinfos_packets(*paths).values()), captured,
                         "the finished files do not hold the packets tcpdump captured")

        listed = list_files("lo")
        self.assertEqual([f[0] for f in listed], paths, "ListFiles does not list the finished files")
        for path, size, completed_at, upload_state, detail in listed:
            self.assertEqual(size, os.stat(path).st_size, f"ListFiles size of {path}")
            self.assertGreater(completed_at, 0)
            self.assertEqual(upload_state, "none")

    def test_stop_and_start_never_touch_finished_files(self):
        start_capture("lo", OPTIONS)
        self.wait_running("lo")
        self.run_traffic_until_completed("lo", 2)
        stop_capture("lo")
        wait_for_state("lo", "stopped")

        before = self.records("lo")
        self.assertGreaterEqual(len(before), 3)
        newest = max(before)

        # Again, and again after a restart: tcpdump's ring starts at file 0
        # each time, which must never be a finished file.
        start_capture("lo", OPTIONS)
        first_pid = self.wait_running("lo")
        self.run_traffic_until_completed("lo", 1)
        harness.manager_call("RestartCapture", "s", "lo")
        wait_for(lambda: capture_property("lo", "State") == "running"
                 and capture_property("lo", "MainPID") not in (0, first_pid), 10, "a restarted tcpdump")
        self.run_traffic_until_completed("lo", 1)
        stop_capture("lo")
        wait_for_state("lo", "stopped")

        after = self.records("lo")
        self.assertRecordsKept(before, after, "after stop, start and restart")
        self.assertIn(newest, after, "the newest finished file of the first run is gone")
        new = sorted(set(after) - set(before))
        self.assertGreaterEqual(len(new), 3)
        self.assertGreater(new[0], newest, "a file of the second run sorts before the first run's")
        self.assertEqual(live_files(self.capture_dir, "lo"), [])

        # And across a daemon restart.
        self.daemon.stop()
        self.daemon.start()
        start_capture("lo", OPTIONS)
        self.wait_running("lo")
        self.run_traffic_until_completed("lo", 1)
        stop_capture("lo")
        wait_for_state("lo", "stopped")
        self.assertRecordsKept(after, self.records("lo"), "after a daemon restart")
        self.assertFinishedFiles(finished_files(self.capture_dir, "lo"), "lo")

    def test_file_left_by_a_killed_daemon_is_finished(self):
        options = {"FileSize": ("u", 50), "FileCount": ("u", 10)}
        start_capture("lo", options)
        self.wait_running("lo")
        with Traffic(rate=2_000_000):
            wait_for(lambda: any(os.path.getsize(f) > 200_000 for f in live_files(self.capture_dir, "lo")),
                     20, "the live file to grow")

        self.daemon.signal(signal.SIGKILL)
        self.daemon.wait(10)
        self.assertNoTcpdump(10)
        left = live_files(self.capture_dir, "lo")
        self.assertEqual(len(left), 1, f"expected one live file left behind: {left}")
        left_inode = os.stat(left[0]).st_ino
        self.assertEqual(finished_files(self.capture_dir, "lo"), [])

        self.daemon.start()
        start_capture("lo", options)
        self.wait_running("lo")
        recovered = finished_files(self.capture_dir, "lo")
        self.assertEqual(len(recovered), 1, f"the left-over live file was not finished: {recovered}")
        self.assertEqual(os.stat(recovered[0]).st_ino, left_inode, "the finished file is not the one left behind")
        self.assertFinishedFiles(recovered, "lo")
        self.assertGreater(capinfos_packets(recovered[0]), 0)
        wait_for(lambda: [p for _, p, _ in completed_signals(self.monitor, "lo")] == recovered, 10,
                 "a FileCompleted signal for the recovered file")
        self.assertIn(recovered[0], [f[0] for f in list_files("lo")])

    def test_file_of_a_killed_tcpdump_is_whole(self):
        # SIGKILL loses what tcpdump still buffered: its file ends in a
        # partial packet, and closing it on exit looks like a rotation.
        options = {"FileSize": ("u", 50), "FileCount": ("u", 10)}
        start_capture("lo", options)
        pid = self.wait_running("lo")
        with Traffic(rate=2_000_000):
            wait_for(lambda: any(os.path.getsize(f) > 200_000 for f in live_files(self.capture_dir, "lo")),
                     20, "the live file to grow")
            os.kill(pid, signal.SIGKILL)
            wait_for(lambda: capture_property("lo", "State") == "running"
                     and capture_property("lo", "MainPID") not in (0, pid), 15, "tcpdump to be restarted")
        finished = finished_files(self.capture_dir, "lo")
        self.assertEqual(len(finished), 1, f"expected the killed tcpdump's file to be finished: {finished}")
        self.assertFinishedFiles(finished, "lo")

    def test_file_cut_short_by_a_crash_is_repaired(self):
        start_capture("lo", OPTIONS)
        self.wait_running("lo")
        self.run_traffic_until_completed("lo", 1)
        stop_capture("lo")
        wait_for_state("lo", "stopped")
        source = finished_files(self.capture_dir, "lo")[0]
        packets = capinfos_packets(source)
        before = set(finished_files(self.capture_dir, "lo"))

        # What a crash leaves (tcpdump and daemon killed mid-write): a live
        # file ending in a partial packet, found when the capture starts.
        self.daemon.stop()
        cut = os.path.join(self.capture_dir, "lo", ".live-lo-99.pcap0")
        with open(source, "rb") as f:
            data = f.read()
        with open(cut, "wb") as f:
            f.write(data[:middle_of_last_packet(data)])
        self.assertIsNotNone(harness.capinfos_check(cut), "the test file should read as cut short")

        self.daemon.start()
        start_capture("lo", OPTIONS)
        self.wait_running("lo")
        self.assertFalse(os.path.exists(cut), "the cut-short live file was not finished")
        (repaired,) = set(finished_files(self.capture_dir, "lo")) - before
        self.assertFinishedFiles([repaired], "lo")
        self.assertEqual(capinfos_packets(repaired), packets - 1, "the repair kept more or less than whole packets")
        self.assertIn("partial packet", self.daemon.log())


class CaptureGroupTest(FilesTestBase):
    """CaptureGroup= gives finished files that group (SPEC §5, §6). The group
    lives in a copy of /etc/group bind-mounted inside the test's mount
    namespace."""

    daemon_config = {"Daemon": {"CaptureGroup": TEST_GROUP}}

    @classmethod
    def setUpClass(cls):
        copy = os.path.join(harness._scratch, "group")
        shutil.copy("/etc/group", copy)
        with open(copy, "a") as f:
            f.write(f"{TEST_GROUP}:x:{TEST_GID}:\n")
        harness.run(["mount", "--bind", copy, "/etc/group"])
        cls.addClassCleanup(harness.run, ["umount", "/etc/group"], check=False)

    def test_finished_files_have_the_capture_group(self):
        start_capture("lo", OPTIONS)
        self.wait_running("lo")
        self.run_traffic_until_completed("lo", 2)
        stop_capture("lo")
        wait_for_state("lo", "stopped")
        files = finished_files(self.capture_dir, "lo")
        self.assertGreaterEqual(len(files), 3)
        self.assertFinishedFiles(files, "lo")
        for path in files:
            self.assertEqual(os.stat(path).st_gid, TEST_GID, f"{path} does not have group {TEST_GROUP}")
        self.assertEqual(os.stat(os.path.join(self.capture_dir, "lo")).st_gid, TEST_GID)


if __name__ == "__main__":
    harness.main()
