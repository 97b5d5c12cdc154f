#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Live counters (issue 5 §3, SPEC §3, §9): PacketsCaptured/Received follow
the traffic while the capture runs, without restarting tcpdump; reading
them asks tcpdump for fresh figures (SIGUSR1), PropertiesChanged brings
them; the final figures stay readable after the stop."""

import os
import re
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (CAPTURE_IFACE, BusMonitor, capture_path, capture_property, start_capture,  # noqa: E402
                     stop_capture, wait_for, wait_for_state)
from capture_helpers import capturectl  # noqa: E402


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

        # The fresh figures are announced: PropertiesChanged goes out once
        # per loop iteration, after the reply that carried them, so wait for it.
        def announced():
            return [c["PacketsCaptured"] for c in monitor.properties_changed(capture_path("lo"), CAPTURE_IFACE)
                    if "PacketsCaptured" in c]
        try:
            harness.wait_for(lambda: max(announced(), default=0) >= captured + 100, 10,
                             "PropertiesChanged with the fresh PacketsCaptured")
        except AssertionError as e:
            self.fail(f"{e}: announced {announced()}")

        # Final figures at the stop, still readable afterwards.
        harness.send_udp(b"counters-3", count=20)
        stop_capture("lo")
        wait_for_state("lo", "stopped")
        final_captured, final_received, _ = self.counters()
        self.assertGreaterEqual(final_captured, captured2, "the final figures are lower than the live ones")
        self.assertGreaterEqual(final_received, final_captured)
        self.assertEqual(self.counters()[:2], (final_captured, final_received), "the final figures changed")



class FreshCountersTest(harness.CapturedTestCase):
    """Issue 10 §4: a read shows the figures of the traffic that has reached
    the interface, and the final figures of a burst are announced by
    themselves within about a second, without a reader asking again."""

    FRAMES = 40
    FILTER = f"ether proto {harness.ETHERTYPE_EXPERIMENTAL:#06x}"

    def setUp(self):
        super().setUp()
        harness.create_veth("vtest0", "vtest1")
        self.addCleanup(harness.delete_link, "vtest0")
        start_capture("vtest0", {"Filter": ("s", self.FILTER)})
        self.wait_running("vtest0")

    def send_burst(self, marker, count=FRAMES):
        """Sends count frames into vtest0 and returns once a packet socket
        of our own on vtest0 has received them all: the kernel has handed
        them to every packet socket there, tcpdump's included."""
        with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(harness.ETHERTYPE_EXPERIMENTAL)) as s:
            s.bind(("vtest0", 0))
            s.settimeout(10)
            # Room for the whole burst: it is read only once it is sent.
            s.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), 8 << 20)
            harness.send_frames("vtest1", payload=marker, count=count)
            seen = 0
            while seen < count:
                if marker in s.recv(2048):
                    seen += 1

    def wait_announced(self, monitor, captured):
        def announced():
            changes = monitor.properties_changed(capture_path("vtest0"), CAPTURE_IFACE)
            return any(c.get("PacketsCaptured") == captured for c in changes)

        wait_for(announced, 5, f"PropertiesChanged with PacketsCaptured == {captured}")

    def test_final_figures_are_announced_after_a_burst(self):
        monitor = BusMonitor()
        self.addCleanup(monitor.stop)
        self.send_burst(b"fresh-burst")

        # The first read already counts the burst as received.
        props = harness.get_all_properties(capture_path("vtest0"), CAPTURE_IFACE)
        self.assertEqual(props["PacketsReceived"], self.FRAMES, props)

        # tcpdump takes the packets out of libpcap's ring within its 1 s
        # timeout; the final figures then come as PropertiesChanged.
        self.wait_announced(monitor, self.FRAMES)
        props = harness.get_all_properties(capture_path("vtest0"), CAPTURE_IFACE)
        self.assertEqual((props["PacketsCaptured"], props["PacketsReceived"], props["PacketsDropped"]),
                         (self.FRAMES, self.FRAMES, 0))

    def test_traffic_is_announced_without_a_reader(self):
        """Nobody reads the counters: tcpdump's writes to its file (more
        than its stdio buffer holds) make the daemon ask for them."""
        monitor = BusMonitor()
        self.addCleanup(monitor.stop)
        self.send_burst(b"unread-burst" + b"-" * 1000, count=200)
        self.wait_announced(monitor, 200)

    def test_status_right_after_traffic_shows_it(self):
        self.send_burst(b"status-burst")
        p = capturectl("status", "vtest0")
        self.assertEqual(p.returncode, 0, p.stderr)
        m = re.search(r"captured (\d+), received (\d+), dropped (\d+)", p.stdout)
        self.assertTrue(m, p.stdout)
        self.assertEqual(int(m.group(2)), self.FRAMES, p.stdout)


if __name__ == "__main__":
    harness.main()
