#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Retention (issue 3 §2, SPEC §6): at most FileCount files per capture,
the live one counted while there is one; the oldest goes first. A stop
never deletes a finished file, and the limit holds from the start of a
capture and after a reload (issue 8 §2, §4). A run that saw no packet
leaves no file to count (§3)."""

import os
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BusMonitor, capture_property, start_capture, stop_capture, wait_for, wait_for_state  # noqa: E402
from capture_helpers import (Traffic, completed_signals, finished_files, list_files, live_files,  # noqa: E402
                             read_problem)

FILE_COUNT = 3
ROTATIONS = 10


class RetentionTest(harness.CapturedTestCase):

    def setUp(self):
        super().setUp()
        self.monitor = BusMonitor()
        self.addCleanup(self.monitor.stop)

    def sample(self, samples):
        """What the daemon lists (one consistent view) and what is on disk."""
        listed = [f[0] for f in list_files("lo")]
        samples.append((listed, finished_files(self.capture_dir, "lo"), live_files(self.capture_dir, "lo")))
        return capture_property("lo", "FilesCompleted")

    def test_file_count_holds_and_oldest_go_first(self):
        start_capture("lo", {"FileSize": ("u", 1), "FileCount": ("u", FILE_COUNT)})
        pid = self.wait_running("lo")

        samples = []
        with Traffic(rate=3_000_000):
            wait_for(lambda: self.sample(samples) >= ROTATIONS, 40, f"{ROTATIONS} completed files", interval=0.02)
        # Quiet again: the ring settles at FileCount - 1 finished files and
        # the live one.
        wait_for(lambda: len(finished_files(self.capture_dir, "lo")) <= FILE_COUNT - 1, 10,
                 f"at most {FILE_COUNT - 1} finished files once traffic stops")
        self.sample(samples)
        self.assertEqual(capture_property("lo", "MainPID"), pid)

        for listed, on_disk, live in samples:
            self.assertLessEqual(len(listed), FILE_COUNT - 1, f"ListFiles listed {listed}")
            # On disk a file may be between its rename and the deletion of
            # the oldest, or closed and not yet renamed: one in flight at most.
            self.assertLessEqual(len(on_disk) + len(live), FILE_COUNT + 1,
                                 f"more files than FileCount on disk: {on_disk + live}")
        self.assertEqual(len(live_files(self.capture_dir, "lo")), 1)

        stop_log = len(self.daemon.log())
        stop_capture("lo")
        wait_for_state("lo", "stopped")
        completed = capture_property("lo", "FilesCompleted")
        wait_for(lambda: len(completed_signals(self.monitor, "lo")) >= completed, 10, "every FileCompleted signal")
        signalled = [p for _, p, _ in completed_signals(self.monitor, "lo")]
        survivors = finished_files(self.capture_dir, "lo")

        # The survivors are the newest files, the one the stop finished
        # taking the live file's slot; everything older was deleted, oldest
        # first.
        self.assertEqual(survivors, signalled[-FILE_COUNT:], "the survivors are not the newest files")
        self.assertNotIn("retention", self.daemon.log()[stop_log:], "the stop deleted a finished file")
        self.assertEqual([f[0] for f in list_files("lo")], survivors)
        problem = read_problem(*survivors)
        self.assertIsNone(problem, problem)
        deleted = re.findall(r"deleted (\S+) \(retention", self.daemon.log())
        self.assertEqual(deleted, [os.path.basename(p) for p in signalled[:len(deleted)]],
                         "retention did not delete the oldest files first")
        self.assertEqual(len(deleted), len(signalled) - FILE_COUNT)
        self.assertEqual(live_files(self.capture_dir, "lo"), [])

    def test_retention_applies_to_files_of_earlier_runs(self):
        options = {"FileSize": ("u", 1), "FileCount": ("u", FILE_COUNT)}
        start_capture("lo", options)
        self.wait_running("lo")
        with Traffic(rate=3_000_000):
            wait_for(lambda: capture_property("lo", "FilesCompleted") >= 2, 30, "two completed files", interval=0.1)
        stop_capture("lo")
        wait_for_state("lo", "stopped")
        first_run = finished_files(self.capture_dir, "lo")
        self.assertEqual(len(first_run), FILE_COUNT, "a stop keeps the file it finishes")

        # A new run completes more files: the first run's go, oldest first.
        start_capture("lo", options)
        self.wait_running("lo")
        before = capture_property("lo", "FilesCompleted")
        with Traffic(rate=3_000_000):
            wait_for(lambda: capture_property("lo", "FilesCompleted") >= before + 1, 30, "one more completed file",
                     interval=0.1)
        wait_for(lambda: first_run[0] not in finished_files(self.capture_dir, "lo"), 10,
                 "the oldest file of the first run to be deleted")
        self.assertLessEqual(len(finished_files(self.capture_dir, "lo")), FILE_COUNT - 1)

    def test_daemon_stop_deletes_no_finished_file(self):
        start_capture("lo", {"FileSize": ("u", 1), "FileCount": ("u", FILE_COUNT)})
        self.wait_running("lo")
        with Traffic(rate=3_000_000):
            wait_for(lambda: capture_property("lo", "FilesCompleted") >= FILE_COUNT + 1, 30,
                     "the ring to wrap", interval=0.1)
        wait_for(lambda: len(finished_files(self.capture_dir, "lo")) == FILE_COUNT - 1, 10,
                 f"{FILE_COUNT - 1} finished files and the live one")
        before = finished_files(self.capture_dir, "lo")
        stop_log = len(self.daemon.log())
        self.assertEqual(self.daemon.stop(), 0)
        after = finished_files(self.capture_dir, "lo")
        self.assertEqual(len(after), FILE_COUNT, f"the daemon's stop left {after}")
        self.assertEqual(after[:-1], before, "the daemon's stop deleted a finished file")
        self.assertNotIn("retention", self.daemon.log()[stop_log:])

    def make_finished_files(self, count):
        """A first run that leaves count finished files (and none live)."""
        start_capture("lo", {"FileSize": ("u", 1), "FileCount": ("u", count + 10)})
        self.wait_running("lo")
        with Traffic(rate=3_000_000):
            wait_for(lambda: capture_property("lo", "FilesCompleted") >= count - 1, 60,
                     f"{count - 1} completed files", interval=0.1)
        stop_capture("lo")
        wait_for_state("lo", "stopped")
        files = finished_files(self.capture_dir, "lo")
        self.assertGreaterEqual(len(files), count)
        return files

    def test_retention_applies_when_a_capture_starts(self):
        files = self.make_finished_files(6)
        # A new run with a lower FileCount, and no traffic: no rotation
        # will come to apply it.
        start_capture("lo", {"FileSize": ("u", 1), "FileCount": ("u", FILE_COUNT)})
        self.wait_running("lo")
        survivors = finished_files(self.capture_dir, "lo")
        self.assertEqual(survivors, files[-FILE_COUNT:], "the start did not apply FileCount to earlier files")
        self.assertEqual(capture_property("lo", "FilesKept"), FILE_COUNT)

    def test_reload_lowering_file_count_applies_it(self):
        files = self.make_finished_files(6)
        # The stopped capture follows the configuration once nothing was given at start.
        self.daemon.stop()
        self.write_config({"Defaults": {"FileCount": str(FILE_COUNT + 2), "FileSize": "1"}})
        self.daemon.start()
        self.assertEqual(capture_property("lo", "FileCount"), FILE_COUNT + 2)
        self.assertEqual(finished_files(self.capture_dir, "lo"), files, "a daemon start deleted files")
        self.write_config({"Defaults": {"FileCount": str(FILE_COUNT), "FileSize": "1"}})
        self.daemon.signal(signal.SIGHUP)
        wait_for(lambda: capture_property("lo", "FileCount") == FILE_COUNT, 10, "the reload")
        wait_for(lambda: finished_files(self.capture_dir, "lo") == files[-FILE_COUNT:], 10,
                 "the reload to apply the lower FileCount")
        self.assertEqual(capture_property("lo", "FilesKept"), FILE_COUNT)

    def test_idle_runs_leave_no_file(self):
        files = self.make_finished_files(FILE_COUNT)
        start_capture("lo", {"FileSize": ("u", 1), "FileCount": ("u", FILE_COUNT)})
        self.wait_running("lo")
        kept = finished_files(self.capture_dir, "lo")
        self.assertEqual(kept, files[-FILE_COUNT:])
        completed = capture_property("lo", "FilesCompleted")
        signals = len(completed_signals(self.monitor, "lo"))

        # Nothing crosses lo now: a restart and a stop finish header-only files.
        harness.manager_call("RestartCapture", "s", "lo")
        self.wait_running("lo")
        stop_capture("lo")
        wait_for_state("lo", "stopped")
        wait_for(lambda: self.daemon.log().count("holds no packet") >= 2, 10, "two empty files to be discarded")

        self.assertEqual(finished_files(self.capture_dir, "lo"), kept, "empty files pushed real captures out")
        self.assertEqual(live_files(self.capture_dir, "lo"), [])
        self.assertEqual(capture_property("lo", "FilesCompleted"), completed)
        self.assertEqual(capture_property("lo", "FilesKept"), FILE_COUNT)
        self.assertEqual(len(completed_signals(self.monitor, "lo")), signals, "an empty file was announced")


if __name__ == "__main__":
    harness.main()
