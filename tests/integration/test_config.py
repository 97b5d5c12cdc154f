#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Configuration (issue 5 §1, SPEC §5): precedence built-in < [Defaults] <
capture.d/<iface>.conf < options given at start; bad lines are logged with
file:line and the rest loads; SIGHUP restarts only the captures whose
effective options changed."""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import capture_property, start_capture, wait_for  # noqa: E402

BUILTIN = {"FileSize": 25, "FileCount": 10, "SnapLength": 262144, "BufferSize": 32768, "Promiscuous": True,
           "RotateSeconds": 0, "Filter": "", "Upload": ""}


def options_of(interface):
    return {k: capture_property(interface, k) for k in BUILTIN}


class ConfigTestBase(harness.CapturedTestCase):

    start_daemon = False

    def write(self, relative, text):
        path = os.path.join(self.config_dir, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def write_main(self, body):
        """captured.conf: [Daemon] with the capture directory, then body."""
        return self.write("captured.conf", f"[Daemon]\nCaptureDirectory={self.capture_dir}\n\n{body}")


class PrecedenceTest(ConfigTestBase):

    def test_builtin_defaults(self):
        self.write_main("")
        self.daemon.start()
        start_capture("lo")
        self.wait_running("lo")
        self.assertEqual(options_of("lo"), BUILTIN)

    def test_each_level_overrides_the_one_below(self):
        self.write_main("[Defaults]\nFileSize=5\nFileCount=6\nSnapLength=1000\nFilter=udp\n")
        self.write("captured.conf.d/50-more.conf", "[Defaults]\nFileCount=8\n")
        self.write("capture.d/lo.conf", "[Capture]\nFileCount=7\nSnapLength=2000\n")
        self.daemon.start()

        start_capture("lo", {"SnapLength": ("u", 3000)})
        self.wait_running("lo")
        self.assertEqual(options_of("lo"), dict(BUILTIN, FileSize=5, FileCount=7, SnapLength=3000, Filter="udp"))
        argv = harness.process_cmdline(capture_property("lo", "MainPID"))
        self.assertIn("3000", argv, f"tcpdump does not run with the effective snap length: {argv}")

        # Another interface has no capture.d file: [Defaults] and its drop-in.
        harness.create_veth("vtest0", "vtest1")
        self.addCleanup(harness.delete_link, "vtest0")
        start_capture("vtest0")
        self.wait_running("vtest0")
        self.assertEqual(options_of("vtest0"), dict(BUILTIN, FileSize=5, FileCount=8, SnapLength=1000, Filter="udp"))

    def test_drop_ins_apply_in_order_later_wins(self):
        self.write_main("[Defaults]\nFileCount=4\n")
        self.write("captured.conf.d/20-b.conf", "[Defaults]\nFileCount=6\n")
        self.write("captured.conf.d/10-a.conf", "[Defaults]\nFileCount=5\nFileSize=3\n")
        self.daemon.start()
        start_capture("lo")
        self.wait_running("lo")
        self.assertEqual(capture_property("lo", "FileCount"), 6)
        self.assertEqual(capture_property("lo", "FileSize"), 3)


class BadLineTest(ConfigTestBase):

    def test_bad_lines_are_logged_with_file_and_line_and_the_rest_loads(self):
        main = self.write_main(
            "[Defaults]\n"            # line 4
            "NoSuchKey=1\n"           # line 5: unknown key
            "FileCount=banana\n"      # line 6: bad value
            "this is not a line\n"    # line 7: syntax error
            "FileSize=3\n"            # line 8
            "SnapLength=999999999\n"  # line 9: out of range
            "FileCount=9\n")          # line 10
        capture_d = self.write("capture.d/lo.conf",
                               "[Capture]\n"
                               "Promiscuous=maybe\n"  # line 2: bad boolean
                               "Enabled=perhaps\n"    # line 3: bad boolean
                               "BufferSize=2048\n")   # line 4
        self.daemon.start()
        start_capture("lo")
        self.wait_running("lo")
        self.assertEqual(options_of("lo"), dict(BUILTIN, FileSize=3, FileCount=9, BufferSize=2048))

        log = self.daemon.log()
        for line in (5, 6, 7, 9):
            self.assertIn(f"{main}:{line}:", log, f"the bad line {line} of captured.conf is not logged")
        for line in (2, 3):
            self.assertIn(f"{capture_d}:{line}:", log, f"the bad line {line} of capture.d/lo.conf is not logged")
        for line in (4, 8, 10):
            self.assertNotIn(f"{main}:{line}:", log, f"a good line {line} of captured.conf was complained about")
        self.assertIn("NoSuchKey", log)
        self.assertIn("banana", log)


class ReloadTest(ConfigTestBase):

    def reload(self):
        self.daemon.signal(signal.SIGHUP)

    def test_reload_restarts_only_changed_captures(self):
        self.write_main("[Defaults]\nFileCount=5\n")
        self.daemon.start()
        harness.create_veth("vtest0", "vtest1")
        self.addCleanup(harness.delete_link, "vtest0")
        start_capture("lo")
        start_capture("vtest0")
        lo_pid = self.wait_running("lo")
        veth_pid = self.wait_running("vtest0")

        self.write("capture.d/vtest0.conf", "[Capture]\nFileCount=9\n")
        self.reload()
        wait_for(lambda: capture_property("vtest0", "FileCount") == 9, 10, "vtest0's new FileCount")
        new_veth_pid = wait_for(lambda: capture_property("vtest0", "State") == "running"
                                and capture_property("vtest0", "MainPID") not in (0, veth_pid)
                                and capture_property("vtest0", "MainPID"), 10, "vtest0 restarted")
        self.assertIn(new_veth_pid, harness.tcpdump_processes())
        self.assertIn("9", harness.process_cmdline(new_veth_pid))
        wait_for(lambda: "Configuration reloaded" in self.daemon.log(), 10, "the reload to finish")
        self.assertEqual(capture_property("lo", "MainPID"), lo_pid, "reload restarted lo, whose options did not change")
        self.assertEqual(capture_property("lo", "State"), "running")
        self.assertEqual(capture_property("lo", "FileCount"), 5)

        # A change of [Defaults] reaches lo, but not what vtest0's
        # capture.d file sets.
        self.write_main("[Defaults]\nFileCount=5\nFileSize=2\n")
        log_size = len(self.daemon.log())
        self.reload()
        wait_for(lambda: "Configuration reloaded" in self.daemon.log()[log_size:], 10, "the second reload")
        new_lo_pid = wait_for(lambda: capture_property("lo", "State") == "running"
                              and capture_property("lo", "MainPID") not in (0, lo_pid)
                              and capture_property("lo", "MainPID"), 10, "lo restarted")
        self.assertEqual(capture_property("lo", "FileSize"), 2)
        self.assertEqual(capture_property("vtest0", "FileCount"), 9)
        self.assertEqual(capture_property("vtest0", "FileSize"), 2)
        self.assertIn(new_lo_pid, harness.tcpdump_processes())

    def test_reload_keeps_options_given_at_start(self):
        self.write_main("[Defaults]\nFileCount=5\n")
        self.daemon.start()
        start_capture("lo", {"FileCount": ("u", 4)})
        pid = self.wait_running("lo")
        self.write_main("[Defaults]\nFileCount=6\n")
        self.reload()
        wait_for(lambda: "Configuration reloaded" in self.daemon.log(), 10, "the reload")
        self.assertEqual(capture_property("lo", "FileCount"), 4)
        self.assertEqual(capture_property("lo", "MainPID"), pid)

    def test_bad_reload_keeps_running_captures(self):
        self.write_main("[Defaults]\nFileCount=5\n")
        self.daemon.start()
        start_capture("lo")
        pid = self.wait_running("lo")
        path = self.write_main("[Defaults]\nFileCount=5\nFileCount=nonsense\n")
        self.reload()
        wait_for(lambda: "Configuration reloaded" in self.daemon.log(), 10, "the reload")
        self.assertIn(f"{path}:6:", self.daemon.log())
        self.assertDaemonAlive()
        self.assertEqual(capture_property("lo", "MainPID"), pid)
        self.assertEqual(capture_property("lo", "FileCount"), 5)


class TcpdumpUserTest(ConfigTestBase):
    """A TcpdumpUser= that does not exist is named as such (issue 8, item 9):
    at load and reload with file and line, and by the start it prevents."""

    MESSAGE = "TcpdumpUser=nosuchuser: no such user"

    def test_missing_tcpdump_user_is_named_at_reload_and_start(self):
        self.write_main("")
        self.daemon.start()
        path = self.write("captured.conf", f"[Daemon]\nCaptureDirectory={self.capture_dir}\n"
                                           "TcpdumpUser=nosuchuser\n")
        self.daemon.signal(signal.SIGHUP)
        wait_for(lambda: "Configuration reloaded" in self.daemon.log(), 10, "the reload")
        self.assertIn(f"{path}:3: {self.MESSAGE}", self.daemon.log())

        p = harness.run([harness.CAPTURECTL, "--no-ask-password", "start", "lo"], check=False,
                        stdin=harness.subprocess.DEVNULL)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertEqual(p.stderr.strip(), f"capturectl: failed to start the capture on 'lo': {self.MESSAGE}")
        self.assertNotIn("No such process", p.stderr)
        self.assertEqual(harness.list_captures(), [])
        self.assertNoTcpdump(timeout=1)

    def test_missing_tcpdump_user_is_named_at_daemon_start(self):
        path = self.write_main("")
        self.write("captured.conf", f"[Daemon]\nCaptureDirectory={self.capture_dir}\nTcpdumpUser=nosuchuser\n")
        self.write("capture.d/lo.conf", "[Capture]\nEnabled=yes\n")
        self.daemon.start()
        self.assertIn(f"{path}:3: {self.MESSAGE}", self.daemon.log())
        # The enabled capture is not started, and says why.
        self.assertEqual(capture_property("lo", "State"), "stopped")
        self.assertEqual(capture_property("lo", "LastError"), self.MESSAGE)
        self.assertNoTcpdump(timeout=1)
        _, message = self.assertBusError("org.freedesktop.DBus.Error.Failed", "StartCapture", "sa{sv}", "lo", {})
        self.assertEqual(message, self.MESSAGE)


if __name__ == "__main__":
    harness.main()
