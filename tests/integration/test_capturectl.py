#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""capturectl against the real daemon: exit status, output and the one-line
errors of SPEC §4."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import CAPTURECTL, capture_property, wait_for_state  # noqa: E402

EXIT_NOT_RUNNING = 3
EXIT_NO_SUCH_CAPTURE = 4


def capturectl(*args, timeout=30):
    # Not a terminal: no colours, no pager, no password prompt.
    return harness.run([CAPTURECTL, "--no-ask-password"] + list(args), check=False, timeout=timeout,
                       stdin=harness.subprocess.DEVNULL)


class CapturectlTest(harness.CapturedTestCase):

    def setUp(self):
        if not CAPTURECTL or not os.access(CAPTURECTL, os.X_OK):
            self.fail("$CAPTURECTL must name the capturectl binary")
        super().setUp()

    def assertExit(self, p, status, what):
        self.assertEqual(p.returncode, status,
                         f"{what}: exit {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}")

    def assertOneErrorLine(self, p, *needles):
        """A failure: non-zero exit, exactly one stderr line 'capturectl: ...'
        containing every needle. Returns the line."""
        self.assertNotEqual(p.returncode, 0, f"succeeded: {p.stdout}")
        lines = p.stderr.splitlines()
        self.assertEqual(len(lines), 1, f"expected one line on stderr, got: {p.stderr!r}")
        self.assertTrue(lines[0].startswith("capturectl: "), lines[0])
        for needle in needles:
            self.assertIn(needle, lines[0])
        return lines[0]

    def test_start_status_stop(self):
        p = capturectl("start", "lo")
        self.assertExit(p, 0, "capturectl start lo")
        self.assertEqual(p.stderr, "")
        self.wait_running("lo")

        p = capturectl("status", "lo")
        self.assertExit(p, 0, "capturectl status lo")
        self.assertIn("running", p.stdout)
        self.assertIn("lo", p.stdout)

        p = capturectl("stop", "lo")
        self.assertExit(p, 0, "capturectl stop lo")
        wait_for_state("lo", "stopped")
        self.assertNoTcpdump()

        p = capturectl("status", "lo")
        self.assertExit(p, EXIT_NOT_RUNNING, "capturectl status lo of a stopped capture")
        self.assertIn("stopped", p.stdout)

    def test_status_of_unknown_capture(self):
        p = capturectl("status", "lo")
        self.assertExit(p, EXIT_NO_SUCH_CAPTURE, "capturectl status lo without a capture")

    def test_start_with_options(self):
        p = capturectl("start", "lo", "--filter=udp port 9", "--file-size=3", "--file-count=4",
                       "--no-promiscuous")
        self.assertExit(p, 0, "capturectl start lo with options")
        self.wait_running("lo")
        self.assertEqual(capture_property("lo", "Filter"), "udp port 9")
        self.assertEqual(capture_property("lo", "FileSize"), 3)
        self.assertEqual(capture_property("lo", "FileCount"), 4)
        self.assertFalse(capture_property("lo", "Promiscuous"))

    def test_start_nonexistent_interface(self):
        p = capturectl("start", "eth9")
        self.assertOneErrorLine(p, "no such interface 'eth9'")
        self.assertEqual(harness.list_captures(), [])

    def test_start_invalid_filter(self):
        p = capturectl("start", "lo", "--filter=((")
        line = self.assertOneErrorLine(p)
        self.assertTrue(line.startswith("capturectl: invalid filter '(('"), line)
        self.assertNoTcpdump(timeout=1)

    # -- wording (issue 8, item 12) -------------------------------------------

    def test_invalid_filter_is_said_once(self):
        p = capturectl("start", "lo", "--filter=tcp port foo bar")
        line = self.assertOneErrorLine(p)
        self.assertEqual(line, "capturectl: invalid filter 'tcp port foo bar': unknown port 'foo'")

    def test_no_such_upload_target_is_lower_case(self):
        p = capturectl("start", "lo", "--upload=fake")
        line = self.assertOneErrorLine(p)
        target = os.path.join(self.config_dir, "upload.d", "fake.conf")
        self.assertEqual(line, f"capturectl: no such upload target 'fake' (no {target})")

    def test_upload_target_not_yet_loaded_asks_for_a_reload(self):
        os.mkdir(os.path.join(self.config_dir, "upload.d"))
        with open(os.path.join(self.config_dir, "upload.d", "fake.conf"), "w") as f:
            f.write("[Upload]\nType=cloudshark\nURL=http://127.0.0.1:9\nToken=0123456789abcdef\n")
        p = capturectl("start", "lo", "--upload=fake")
        line = self.assertOneErrorLine(p, "no such upload target 'fake'", "upload.d/fake.conf is not loaded",
                                       "reload the daemon")
        self.assertNotIn("(no ", line)

        reloads = self.daemon.log().count("Configuration reloaded.")
        self.daemon.signal(harness.signal.SIGHUP)
        harness.wait_for(lambda: self.daemon.log().count("Configuration reloaded.") > reloads, 10, "the reload")
        self.assertExit(capturectl("start", "lo", "--upload=fake"), 0, "start --upload=fake after the reload")

    def test_upload_to_a_target_not_yet_loaded_asks_for_a_reload(self):
        # capturectl upload --target= names a missing target as start does.
        self.assertExit(capturectl("start", "lo"), 0, "start")
        os.makedirs(os.path.join(self.config_dir, "upload.d"), exist_ok=True)
        with open(os.path.join(self.config_dir, "upload.d", "fake.conf"), "w") as f:
            f.write("[Upload]\nType=cloudshark\nURL=http://127.0.0.1:9\nToken=0123456789abcdef\n")
        p = capturectl("upload", "lo", "pcap-lo-20261201T000000.000000Z.pcap", "--target=fake")
        line = self.assertOneErrorLine(p, "no such upload target 'fake'", "upload.d/fake.conf is not loaded",
                                       "reload the daemon")
        self.assertNotIn("(no ", line)

    def test_error_is_one_line_whatever_the_input(self):
        # A name with a newline, echoed back by capturectl or by the daemon,
        # must not break the one error line (nor forge a second one).
        p = capturectl("start", "lo\nx")
        self.assertOneErrorLine(p, "'lo\\x0ax'")
        os.makedirs(os.path.join(self.config_dir, "upload.d"), exist_ok=True)
        with open(os.path.join(self.config_dir, "upload.d", "fake.conf"), "w") as f:
            f.write("[Upload]\nType=cloudshark\nURL=http://127.0.0.1:9\nToken=0123456789abcdef\n")
        reloads = self.daemon.log().count("Configuration reloaded.")
        self.daemon.signal(harness.signal.SIGHUP)
        harness.wait_for(lambda: self.daemon.log().count("Configuration reloaded.") > reloads, 10, "the reload")
        self.assertExit(capturectl("start", "lo", "--upload=fake"), 0, "start")
        p = capturectl("upload", "lo", "pcap\ncapturectl: forged")
        self.assertOneErrorLine(p, "pcap\\x0acapturectl: forged")

    def test_empty_host_is_a_command_line_error(self):
        # Not ssh's complaint plus ours: one line, exit status 2.
        for host in ("", "-oProxyCommand=x"):
            p = capturectl(f"--host={host}", "list")
            self.assertOneErrorLine(p, f"invalid host '{host}'")
            self.assertEqual(p.returncode, 2)

    def test_start_already_running_with_other_options(self):
        self.assertExit(capturectl("start", "lo", "--file-size=2"), 0, "first start")
        p = capturectl("start", "lo", "--file-size=3")
        self.assertOneErrorLine(p)
        self.assertEqual(capture_property("lo", "FileSize"), 2)

    def test_bad_option_value(self):
        p = capturectl("start", "lo", "--file-size=abc")
        self.assertOneErrorLine(p, "abc")
        self.assertEqual(harness.list_captures(), [])

    def test_list(self):
        harness.start_capture("lo")
        self.wait_running("lo")
        p = capturectl("list")
        self.assertExit(p, 0, "capturectl list")
        rows = [line.split() for line in p.stdout.splitlines()]
        self.assertTrue(any(r and r[0] == "lo" and "running" in r for r in rows),
                        f"lo is not listed as running:\n{p.stdout}")

    def test_json_status(self):
        harness.start_capture("lo")
        self.wait_running("lo")
        p = capturectl("--json", "status", "lo")
        self.assertExit(p, 0, "capturectl --json status lo")
        data = json.loads(p.stdout)
        objects = data if isinstance(data, list) else [data]
        self.assertEqual(len(objects), 1, data)
        self.assertEqual(objects[0]["State"], "running")
        self.assertEqual(objects[0]["Interface"], "lo")

    def test_json_list(self):
        harness.start_capture("lo")
        self.wait_running("lo")
        p = capturectl("--json", "list")
        self.assertExit(p, 0, "capturectl --json list")
        data = json.loads(p.stdout)
        self.assertIsInstance(data, list)
        self.assertIn("lo", [o.get("Interface") for o in data])

    def test_no_daemon(self):
        self.daemon.stop()
        p = capturectl("status", "lo")
        self.assertOneErrorLine(p)


if __name__ == "__main__":
    harness.main()
