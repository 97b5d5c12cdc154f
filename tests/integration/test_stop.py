# SPDX-License-Identifier: LGPL-2.1-or-later
"""Stopping a capture loses nothing that reached the interface before the
stop request (SPEC §6, §9): a plain SIGTERM to tcpdump loses whatever
libpcap still holds in an unretired ring block (up to 1 s of traffic)."""

import os

import harness

FRAMES = 300


def packets_in(path):
    p = harness.run(["capinfos", "-c", "-M", path])
    for line in p.stdout.splitlines():
        if line.startswith("Number of packets"):
            return int(line.split()[-1])
    raise AssertionError(f"capinfos printed no packet count for {path}: {p.stdout}")


def count_marked_frames(paths, marker):
    """Frames carrying marker (as tshark's `frame contains` counts them)."""
    total = 0
    for path in paths:
        with open(path, "rb") as f:
            total += sum(marker.encode() in frame for _, _, frame in harness.pcap_records(f.read()))
    return total


class LosslessStop(harness.CapturedTestCase):
    def setUp(self):
        super().setUp()
        harness.create_veth("vtest0", "vtest1")
        self.addCleanup(harness.delete_link, "vtest0")

    def finished_files(self, interface):
        directory = os.path.join(self.capture_dir, interface)
        return sorted(os.path.join(directory, f) for f in os.listdir(directory) if f.startswith("pcap-"))

    def test_frames_sent_before_stop_are_all_in_the_files(self):
        harness.start_capture("vtest0", {"FileSize": ("u", 10)})
        self.wait_running("vtest0")

        for round_number in range(3):
            marker = f"stop-round-{round_number}"
            if round_number > 0:
                harness.start_capture("vtest0", {"FileSize": ("u", 10)})
                self.wait_running("vtest0")
            harness.send_frames("vtest1", payload=marker.encode(), count=FRAMES)
            # The stop request follows the last frame at once.
            harness.stop_capture("vtest0")
            files = self.finished_files("vtest0")
            self.assertTrue(files, "no finished file after stop")
            self.assertEqual(count_marked_frames(files, marker), FRAMES,
                             f"round {round_number}: frames lost at stop")

    def test_restart_keeps_frames_sent_before_it(self):
        harness.start_capture("vtest0", {})
        first = self.wait_running("vtest0")
        harness.send_frames("vtest1", payload=b"before-restart", count=FRAMES)
        harness.manager_call("RestartCapture", "s", "vtest0")
        self.assertNotEqual(self.wait_running("vtest0"), first)
        harness.stop_capture("vtest0")
        self.assertEqual(count_marked_frames(self.finished_files("vtest0"), "before-restart"), FRAMES)


    def test_idle_stop_does_not_drain(self):
        """Issue 10 §3: once tcpdump has written every packet that passed
        its filter, a stop sends SIGTERM at once instead of waiting out the
        drain, and still loses nothing."""
        filter_ = f"ether proto {harness.ETHERTYPE_EXPERIMENTAL:#06x}"
        harness.start_capture("vtest0", {"Filter": ("s", filter_)})
        self.wait_running("vtest0")
        harness.send_frames("vtest1", payload=b"idle-stop", count=FRAMES)
        # Reading the counters asks tcpdump; they reach FRAMES once libpcap's
        # ring has handed every frame to tcpdump.
        harness.wait_for(lambda: harness.capture_property("vtest0", "PacketsCaptured") == FRAMES, 10,
                         f"PacketsCaptured == {FRAMES}")
        harness.stop_capture("vtest0")
        self.assertIn("vtest0: no packets in flight, stopping at once.", self.daemon.log())
        self.assertEqual(count_marked_frames(self.finished_files("vtest0"), "idle-stop"), FRAMES)


    def test_stopped_capture_leaves_its_directory_alone(self):
        """The directory watch outlives a stop (issue 10: closing it costs
        the next start ~20 ms) but is off: a live file closed there while
        the capture is stopped waits for the next start."""
        harness.start_capture("vtest0", {})
        self.wait_running("vtest0")
        harness.send_frames("vtest1", payload=b"before-leftover", count=10)
        harness.stop_capture("vtest0")
        (finished,) = self.finished_files("vtest0")
        leftover = os.path.join(os.path.dirname(finished), ".live-vtest0-99.pcap0")
        with open(finished, "rb") as src, open(leftover, "wb") as dst:
            dst.write(src.read())
        # As tcpdump would have left it: owned by the directory's user (the
        # daemon's own, when it is not root: test_unprivileged runs this too).
        directory = os.stat(os.path.dirname(finished))
        os.chown(leftover, directory.st_uid, directory.st_gid)
        # The daemon handles its directory events before D-Bus calls: once
        # this call is answered, the close has been seen.
        harness.manager_call("ListCaptures")
        self.assertTrue(os.path.exists(leftover), "a stopped capture finished a file in its directory")
        self.assertEqual(self.finished_files("vtest0"), [finished])

        harness.start_capture("vtest0", {})
        self.wait_running("vtest0")
        self.assertFalse(os.path.exists(leftover), "the leftover was not finished at the start")
        self.assertEqual(len(self.finished_files("vtest0")), 2)


if __name__ == "__main__":
    harness.main()
