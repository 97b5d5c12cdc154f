#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""ExecPostRotate= (issue 3 §3, SPEC §5): runs with each finished file's
path, the last one too, output logged; only from root-owned config that
nobody else can write."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BusMonitor, capture_property, start_capture, stop_capture, wait_for, wait_for_state  # noqa: E402
from capture_helpers import Traffic, completed_signals, finished_files  # noqa: E402

OPTIONS = {"FileSize": ("u", 1), "FileCount": ("u", 100)}


class HookTestBase(harness.CapturedTestCase):

    start_daemon = False
    config_mode = 0o644
    hook_delay = ""

    def setUp(self):
        super().setUp()
        self.hook_log = os.path.join(self.root, "hooklog")
        # sh -c takes the path the daemon appends as $0; the file must be
        # there, whole, when the hook runs.
        self.write_config({"Defaults": {
            "ExecPostRotate": f"/bin/sh -c '{self.hook_delay}test -s \"$0\" && echo \"$0\" >> {self.hook_log}; "
                              f"echo hook-ran-on \"$0\"'"}})
        config = os.path.join(self.config_dir, "captured.conf")
        os.chown(config, 0, 0)
        os.chmod(config, self.config_mode)
        self.daemon.start()
        self.monitor = BusMonitor()
        self.addCleanup(self.monitor.stop)

    def hook_runs(self):
        if not os.path.exists(self.hook_log):
            return []
        with open(self.hook_log) as f:
            return f.read().splitlines()

    def capture_some_files(self, options=OPTIONS):
        """Completes a few files, stops; returns the FileCompleted paths."""
        start_capture("lo", options)
        self.wait_running("lo")
        with Traffic(rate=3_000_000):
            wait_for(lambda: capture_property("lo", "FilesCompleted") >= 3, 30, "three completed files", interval=0.1)
        stop_capture("lo")
        wait_for_state("lo", "stopped")
        completed = capture_property("lo", "FilesCompleted")
        wait_for(lambda: len(completed_signals(self.monitor, "lo")) >= completed, 10, "every FileCompleted signal")
        return [p for _, p, _ in completed_signals(self.monitor, "lo")]


class HookTest(HookTestBase):

    def test_hook_runs_once_per_finished_file_including_the_last(self):
        paths = self.capture_some_files()
        self.assertGreaterEqual(len(paths), 4)
        # The last file is finished by the stop; its hook runs after it.
        wait_for(lambda: len(self.hook_runs()) >= len(paths), 15, "a hook run for every finished file")
        runs = self.hook_runs()
        self.assertEqual(sorted(runs), sorted(paths), "ExecPostRotate did not run exactly once per finished file")
        self.assertIn(paths[-1], runs, "ExecPostRotate did not run for the file finished by the stop")
        log = self.daemon.log()
        for path in paths:
            self.assertIn(f"hook-ran-on {path}", log, "the hook's output is not in the daemon's log")

    def test_hook_runs_for_the_last_file_when_the_daemon_stops(self):
        start_capture("lo", OPTIONS)
        self.wait_running("lo")
        with Traffic(rate=1_000_000):
            wait_for(lambda: capture_property("lo", "CurrentFile") and
                     os.path.getsize(capture_property("lo", "CurrentFile")) > 0, 10, "the live file to fill")
        self.assertEqual(capture_property("lo", "FilesCompleted"), 0)
        self.daemon.stop()
        paths = [p for _, p, _ in completed_signals(self.monitor, "lo")]
        self.assertEqual(len(paths), 1, f"expected the file open at exit to be finished: {paths}")
        wait_for(lambda: self.hook_runs(), 10, "ExecPostRotate to run for the file finished at exit")
        self.assertEqual(self.hook_runs(), paths)


class SlowHookTest(HookTestBase):

    hook_delay = "sleep 0.5; "

    def test_retention_waits_for_the_hook(self):
        paths = self.capture_some_files({"FileSize": ("u", 1), "FileCount": ("u", 2)})
        wait_for(lambda: len(self.hook_runs()) >= len(paths), 30, "a hook run for every finished file")
        self.assertEqual(sorted(self.hook_runs()), sorted(paths),
                         "a file was gone (deleted by retention) before its hook ran")
        # Stopped: FileCount finished files, no live one (issue 8 §2).
        wait_for(lambda: len(finished_files(self.capture_dir, "lo")) <= 2, 10,
                 "retention to catch up once the hooks are done")


class UntrustedConfigHookTest(HookTestBase):

    config_mode = 0o666

    def test_hook_from_a_file_others_can_write_is_ignored(self):
        paths = self.capture_some_files()
        self.assertGreaterEqual(len(paths), 4)
        self.assertEqual(self.hook_runs(), [], "ExecPostRotate ran from a world-writable captured.conf")
        self.assertNotIn("hook-ran-on", self.daemon.log())
        self.assertIn("ExecPostRotate= is only read from files owned by root", self.daemon.log())


if __name__ == "__main__":
    harness.main()
