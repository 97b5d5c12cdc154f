#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Concurrent control calls from root (issue 8, item 6): a call that meets a
capture in the middle of a start, stop or restart is answered like the
first, never with "Unknown method". test_polkit.py does the same for a
polkit-authorized user."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from concurrent_helpers import GatedTestCase  # noqa: E402
from harness import capture_path, wait_for_state  # noqa: E402


class ConcurrentControlTest(GatedTestCase):

    def test_second_start_while_starting_gets_the_path(self):
        self.calls.start("StartCapture", "sa{sv}", "lo", {})
        self.gate.wait_arrival(1)       # the first start: tcpdump spawned, not ready
        self.calls.start("StartCapture", "sa{sv}", "lo", {})
        self.calls.wait_taken_in("StartCapture", 2)
        self.assertEqual(harness.capture_property("lo", "State"), "starting")
        self.gate.release()
        results = self.assertAllSucceeded(self.calls.finish())
        for _, _, stdout, _ in results:
            self.assertIn(capture_path("lo"), stdout)
        wait_for_state("lo", "running")

    def test_concurrent_restarts_stops_and_enables(self):
        harness.start_capture("lo")     # answered when running, after the release below
        self.gate.release()
        wait_for_state("lo", "running")

        # A restart meets the first one's new tcpdump, which it restarts again.
        self.calls.start("RestartCapture", "s", "lo")
        self.gate.wait_arrival(2)
        self.calls.start("RestartCapture", "s", "lo")
        self.calls.wait_taken_in("RestartCapture", 2)
        self.gate.released += 1         # that tcpdump was stopped at the gate
        self.gate.release()
        self.assertAllSucceeded(self.calls.finish())
        wait_for_state("lo", "running")

        # A stop meets the first one's drain.
        self.calls.start("StopCapture", "s", "lo")
        self.calls.wait_taken_in("StopCapture", 1)
        self.calls.start("StopCapture", "s", "lo")
        self.assertAllSucceeded(self.calls.finish())
        self.assertEqual(harness.capture_property("lo", "State"), "stopped")

        for _ in range(2):
            self.calls.start("EnableCapture", "sa{sv}", "lo", {})
        self.assertAllSucceeded(self.calls.finish())
        self.assertTrue(harness.capture_property("lo", "Enabled"))
        self.assertDaemonAlive()


if __name__ == "__main__":
    harness.main()
