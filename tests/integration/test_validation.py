#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Refused requests: bad interfaces, filters and options (SPEC §3, §8).

Every refusal must leave nothing behind: no tcpdump, no new capture, no file
anywhere but the state directory."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (ERROR_INVALID_ARGS, ERROR_INVALID_FILTER, ERROR_NO_SUCH_INTERFACE,  # noqa: E402
                     ERROR_NO_SUCH_UPLOAD_TARGET, list_captures)

# Paths outside the test's directories that a confused daemon might create.
OUTSIDE_PATHS = ["/tmp/x", "/x", "/foo", "/tmp/foo"]


class ValidationTest(harness.CapturedTestCase):

    def setUp(self):
        super().setUp()
        self.outside_before = {p: os.path.lexists(p) for p in OUTSIDE_PATHS}

    def assertRefused(self, expected_names, interface, options=None):
        """StartCapture(interface, options) fails with one of expected_names
        and changes nothing. Returns the error message."""
        captures_before = list_captures()
        tcpdump_before = harness.tcpdump_processes()
        tree_before = harness.tree(self.root)
        spawned_before = self.spawned_processes()
        name, message = self.assertBusError(expected_names, "StartCapture", "sa{sv}", interface, options or {})
        self.assertDaemonAlive()
        self.assertNothingSpawned(f"refused StartCapture({interface[:40]!r})", spawned_before)
        self.assertEqual(harness.tcpdump_processes(), tcpdump_before)
        self.assertEqual(list_captures(), captures_before)
        created = {p for p in harness.tree(self.root) - tree_before
                   if not p.startswith(self.state_dir + "/") and p != self.daemon_log_path}
        self.assertEqual(created, set(), f"refused StartCapture({interface[:40]!r}) created files")
        for p, existed in self.outside_before.items():
            if not existed:
                self.assertFalse(os.path.lexists(p), f"refused StartCapture created {p}")
        return message

    # -- interfaces ---------------------------------------------------------

    def test_nonexistent_interface(self):
        message = self.assertRefused(ERROR_NO_SUCH_INTERFACE, "eth9")
        self.assertIn("eth9", message)

    def test_bad_interface_names(self):
        for name in ["../x", "", "x" * 5000, "lo;x", "-zfoo", ".", "..", "a/b", "lo x", "lo\n",
                     "\t", "lo:0", "abcdefghijklmnop"]:
            with self.subTest(interface=name[:40]):
                self.assertRefused((ERROR_INVALID_ARGS, ERROR_NO_SUCH_INTERFACE), name)
        for name in ["../x", "", "x" * 5000, "a/b", "\t"]:
            with self.subTest(interface=name[:40]):
                # names the kernel could never have are refused as arguments
                self.assertRefused(ERROR_INVALID_ARGS, name)

    def test_bad_interface_on_other_methods(self):
        for method in ("StopCapture", "RestartCapture", "GetCapture", "DisableCapture"):
            for name in ["../x", "", "x" * 5000]:
                with self.subTest(method=method, interface=name[:40]):
                    self.assertBusError((ERROR_INVALID_ARGS, harness.ERROR_NO_SUCH_CAPTURE), method, "s", name)
        self.assertDaemonAlive()

    def test_option_like_interface_that_exists(self):
        # A real interface whose name looks like a tcpdump option is captured,
        # not parsed as an option.
        harness.create_veth("-zfoo", "vpeer1")
        self.addCleanup(harness.delete_link, "-zfoo")
        harness.start_capture("-zfoo")
        pid = self.wait_running("-zfoo")
        argv = harness.process_cmdline(pid)
        self.assertNotIn("-z", argv, f"'-zfoo' became option -z: {argv}")
        self.assertTrue(os.path.isdir(os.path.join(self.capture_dir, "-zfoo")))

    # -- filters ------------------------------------------------------------

    def test_bad_filters(self):
        for bpf in ["not a filter ((", "-z/tmp/x", "((", "tcp port 99999", "host", "-w /tmp/x",
                    "(" * 4096]:
            with self.subTest(filter=bpf[:40]):
                self.assertRefused(ERROR_INVALID_FILTER, "lo", {"Filter": ("s", bpf)})

    def test_too_long_filter(self):
        message = self.assertRefused(ERROR_INVALID_ARGS, "lo", {"Filter": ("s", "tcp or " * 1000)})
        self.assertIn("Filter", message)

    # -- options ------------------------------------------------------------

    def test_unknown_option(self):
        message = self.assertRefused(ERROR_INVALID_ARGS, "lo", {"Frobnicate": ("u", 1)})
        self.assertIn("Frobnicate", message)

    def test_wrong_option_types(self):
        for key, value in [("FileSize", ("s", "25")), ("FileCount", ("t", 10)), ("Filter", ("u", 1)),
                           ("Promiscuous", ("s", "yes")), ("Upload", ("b", True)), ("SnapLength", ("i", 100))]:
            with self.subTest(key=key):
                message = self.assertRefused(ERROR_INVALID_ARGS, "lo", {key: value})
                self.assertIn(key, message)

    def test_out_of_range_options(self):
        for key, value in [("FileSize", 0), ("FileSize", 100001), ("FileCount", 1), ("FileCount", 0),
                           ("SnapLength", 262145), ("BufferSize", 4194305), ("RotateSeconds", 4000000000)]:
            with self.subTest(key=key, value=value):
                message = self.assertRefused(ERROR_INVALID_ARGS, "lo", {key: ("u", value)})
                self.assertIn(key, message)

    def test_bad_upload_target(self):
        self.assertRefused(ERROR_NO_SUCH_UPLOAD_TARGET, "lo", {"Upload": ("s", "nosuch")})
        for bad in ["../x", "a/b", ".x"]:
            with self.subTest(upload=bad):
                message = self.assertRefused((ERROR_INVALID_ARGS, ERROR_NO_SUCH_UPLOAD_TARGET), "lo",
                                             {"Upload": ("s", bad)})
                self.assertIn("Upload", message)

    def test_refusals_leave_running_capture_alone(self):
        path = harness.start_capture("lo")
        pid = self.wait_running("lo")
        self.assertRefused(ERROR_INVALID_FILTER, "lo", {"Filter": ("s", "((")})
        self.assertRefused(ERROR_INVALID_ARGS, "lo", {"FileSize": ("u", 0)})
        self.assertEqual(harness.capture_property("lo", "MainPID"), pid)
        self.assertEqual(harness.tcpdump_processes(), [pid])
        self.assertEqual(list_captures(), [("lo", "running", path)])

    def test_refused_enable(self):
        for options, names in [({"Frobnicate": ("u", 1)}, ERROR_INVALID_ARGS),
                               ({"Filter": ("s", "((")}, ERROR_INVALID_FILTER),
                               ({"Upload": ("s", "nosuch")}, ERROR_NO_SUCH_UPLOAD_TARGET)]:
            with self.subTest(options=options):
                self.assertBusError(names, "EnableCapture", "sa{sv}", "lo", options)
        self.assertDaemonAlive()
        self.assertEqual(list_captures(), [])


if __name__ == "__main__":
    harness.main()
