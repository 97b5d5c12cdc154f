#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Enable at boot (issue 5 §2, SPEC §3, §5): capturectl enable/disable
persist a capture with its options; enabled captures start with the daemon,
also for interfaces that appear later (rtnetlink hotplug)."""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (ERROR_NO_SUCH_CAPTURE, capture_property, list_captures, wait_for,  # noqa: E402
                     wait_for_state)
from capture_helpers import capturectl  # noqa: E402

# Well under the daemon's 30 s safety-net poll: a capture that leaves
# "waiting" within this was woken by rtnetlink.
HOTPLUG_TIMEOUT = 10


class EnableTest(harness.CapturedTestCase):

    def assertCapturectl(self, *args):
        p = capturectl(*args)
        self.assertEqual(p.returncode, 0, f"capturectl {' '.join(args)}: {p.stderr.strip()}")
        return p

    def restart_daemon(self):
        self.daemon.stop()
        self.assertNoTcpdump()
        self.daemon.start()

    def assertNotStarted(self, interface):
        captures = {c[0]: c[1] for c in list_captures()}
        self.assertIn(captures.get(interface, "stopped"), ("stopped",), f"{interface} runs: {captures}")
        self.assertEqual(harness.tcpdump_processes(), [])

    def test_enable_persists_options_and_starts_at_daemon_start(self):
        self.assertCapturectl("enable", "lo", "--file-count=7")
        wait_for(lambda: capture_property("lo", "Enabled") is True, 5, "Enabled to be true")
        self.assertEqual(capture_property("lo", "State"), "stopped", "enable without --now started the capture")
        self.assertEqual(capture_property("lo", "FileCount"), 7)
        self.assertNotStarted("lo")

        self.restart_daemon()
        pid = self.wait_running("lo")
        self.assertEqual(capture_property("lo", "FileCount"), 7)
        self.assertTrue(capture_property("lo", "Enabled"))
        self.assertIn("7", harness.process_cmdline(pid))

        # disable: still running now (no --now), not started next time.
        self.assertCapturectl("disable", "lo")
        wait_for(lambda: capture_property("lo", "Enabled") is False, 5, "Enabled to be false")
        self.assertEqual(capture_property("lo", "MainPID"), pid, "disable without --now stopped the capture")
        self.restart_daemon()
        self.assertNotStarted("lo")
        self.assertFalse(self.daemon.log().count("lo: enabled, starting.") > 1,
                         "the disabled capture was started again")

    def test_enable_now_starts_immediately_and_disable_now_stops(self):
        self.assertCapturectl("enable", "--now", "lo", "--file-size=2")
        self.wait_running("lo")
        self.assertTrue(capture_property("lo", "Enabled"))
        self.assertEqual(capture_property("lo", "FileSize"), 2)

        self.assertCapturectl("disable", "--now", "lo")
        wait_for_state("lo", "stopped")
        self.assertFalse(capture_property("lo", "Enabled"))
        self.assertNoTcpdump()

    def test_enable_over_dbus_of_an_interface_that_does_not_exist(self):
        harness.manager_call("EnableCapture", "sa{sv}", "vtest7", {"FileCount": ("u", 4)})
        self.assertTrue(capture_property("vtest7", "Enabled"))
        self.restart_daemon()
        wait_for_state("vtest7", "waiting")
        harness.create_veth("vtest7", "vtest8")
        self.addCleanup(harness.delete_link, "vtest7")
        self.wait_running("vtest7", HOTPLUG_TIMEOUT)
        self.assertEqual(capture_property("vtest7", "FileCount"), 4)


class EnabledInConfigTest(harness.CapturedTestCase):

    start_daemon = False

    def setUp(self):
        super().setUp()
        os.makedirs(os.path.join(self.config_dir, "capture.d"))
        with open(os.path.join(self.config_dir, "capture.d", "vtest5.conf"), "w") as f:
            f.write("[Capture]\nEnabled=yes\nFileCount=5\n")
        with open(os.path.join(self.config_dir, "capture.d", "vtest3.conf"), "w") as f:
            f.write("[Capture]\nEnabled=no\nFileCount=5\n")
        self.addCleanup(harness.delete_link, "vtest5")
        self.addCleanup(harness.delete_link, "vtest3")
        self.daemon.start()

    def test_enabled_capture_waits_for_its_interface(self):
        wait_for_state("vtest5", "waiting")
        self.assertTrue(capture_property("vtest5", "Enabled"))
        self.assertEqual(harness.tcpdump_processes(), [])

        harness.create_veth("vtest5", "vtest6")
        pid = self.wait_running("vtest5", HOTPLUG_TIMEOUT)
        self.assertEqual(capture_property("vtest5", "FileCount"), 5)
        self.assertIn(pid, harness.tcpdump_processes())

        harness.delete_link("vtest5")
        wait_for_state("vtest5", "waiting", HOTPLUG_TIMEOUT)
        self.assertEqual(capture_property("vtest5", "MainPID"), 0)
        self.assertNoTcpdump()

        harness.create_veth("vtest5", "vtest6")
        self.wait_running("vtest5", HOTPLUG_TIMEOUT)

    def test_capture_d_enabled_no_does_not_start(self):
        harness.create_veth("vtest3", "vtest4")
        self.assertBusError(ERROR_NO_SUCH_CAPTURE, "GetCapture", "s", "vtest3")
        # ...and EnableCapture wins over capture.d's Enabled=no.
        harness.manager_call("EnableCapture", "sa{sv}", "vtest3", {})
        self.daemon.stop()
        self.daemon.start()
        self.wait_running("vtest3")
        self.assertEqual(capture_property("vtest3", "FileCount"), 5)

    def test_reload_starts_a_capture_enabled_in_capture_d(self):
        harness.create_veth("vtest3", "vtest4")
        with open(os.path.join(self.config_dir, "capture.d", "vtest3.conf"), "w") as f:
            f.write("[Capture]\nEnabled=yes\nFileCount=6\n")
        self.daemon.signal(signal.SIGHUP)
        self.wait_running("vtest3")
        self.assertTrue(capture_property("vtest3", "Enabled"))
        self.assertEqual(capture_property("vtest3", "FileCount"), 6)


if __name__ == "__main__":
    harness.main()
