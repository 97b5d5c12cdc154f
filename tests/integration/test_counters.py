#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Live counters (issue 5 §3, SPEC §3, §9): PacketsCaptured/Received follow
the traffic while the capture runs, without restarting tcpdump; reading
them asks tcpdump for fresh figures (SIGUSR1), PropertiesChanged brings
them; the final figures stay readable after the stop."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (CAPTURE_IFACE, BusMonitor, capture_path, capture_property, start_capture,  # noqa: E402
                     stop_capture, wait_for, wait_for_state)


class CountersTest(harness.CapturedTestCase):

    def counters(self):
        return (capture_property("lo", "PacketsCaptured"), capture_property("lo", "PacketsReceived"),
                capture_property("lo", "PacketsDropped"))

    def wait_captured_at_least(self, n, what):
        """Reads PacketsCaptured until it reaches n (the first reads may be
        stale by design); returns the last figures read."""
        seen = []

        def check():
            figures = self.counters()
            seen.append(figures)
            return figures[0] >= n

        wait_for(check, 15, f"PacketsCaptured >= {n} ({what})", interval=0.3)
        return seen[-1]

    def test_counters_move_while_traffic_flows(self):
        monitor = BusMonitor()
        self.addCleanup(monitor.stop)
        start_capture("lo")
        pid = self.wait_running("lo")
        self.assertEqual(self.counters(), (0, 0, 0))

        harness.send_udp(b"counters-1", count=50)
        captured, received, dropped = self.wait_captured_at_least(50, "after 50 datagrams")
        self.assertGreaterEqual(received, captured)
        self.assertEqual(dropped, 0)

        harness.send_udp(b"counters-2", count=100)
        captured2, received2, _ = self.wait_captured_at_least(captured + 100, "after 100 more datagrams")
        self.assertGreater(received2, received)
        self.assertEqual(capture_property("lo", "MainPID"), pid, "reading the counters restarted tcpdump")
        self.assertEqual(capture_property("lo", "State"), "running")

        # The fresh figures were announced.
        announced = [c["PacketsCaptured"] for c in monitor.properties_changed(capture_path("lo"), CAPTURE_IFACE)
                     if "PacketsCaptured" in c]
        self.assertTrue(announced and max(announced) >= captured + 100,
                        f"no PropertiesChanged with the fresh PacketsCaptured: {announced}")

        # Final figures at the stop, still readable afterwards.
        harness.send_udp(b"counters-3", count=20)
        stop_capture("lo")
        wait_for_state("lo", "stopped")
        final_captured, final_received, _ = self.counters()
        self.assertGreaterEqual(final_captured, captured2, "the final figures are lower than the live ones")
        self.assertGreaterEqual(final_received, final_captured)
        self.assertEqual(self.counters()[:2], (final_captured, final_received), "the final figures changed")


if __name__ == "__main__":
    harness.main()
