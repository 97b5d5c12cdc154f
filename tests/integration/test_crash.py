# SPDX-License-Identifier: LGPL-2.1-or-later
"""A daemon that dies (SIGKILL, a crash, the OOM killer) resumes the
captures that were running, with their options, and finishes what their
tcpdump left behind; a capture stopped on purpose stays stopped."""

import os
import signal

import harness


class CrashRecovery(harness.CapturedTestCase):
    def kill_daemon(self):
        self.daemon.signal(signal.SIGKILL)
        self.daemon.wait(10)
        self.assertNoTcpdump()

    def finished(self, interface):
        directory = os.path.join(self.capture_dir, interface)
        return sorted(f for f in os.listdir(directory) if f.startswith("pcap-"))

    def test_running_capture_resumes_with_its_options(self):
        harness.start_capture("lo", {"FileCount": ("u", 7), "Filter": ("s", "udp")})
        first = self.wait_running("lo")
        harness.send_udp(payload=b"before-the-crash" * 20, count=500)

        self.kill_daemon()
        self.assertEqual(self.finished("lo"), [], "nothing was finished before the crash")
        self.daemon.start()

        second = self.wait_running("lo")
        self.assertNotEqual(first, second)
        self.assertEqual(harness.capture_property("lo", "FileCount"), 7)
        self.assertEqual(harness.capture_property("lo", "Filter"), "udp")

        # The live file of the killed tcpdump was finished, whole.
        files = self.finished("lo")
        self.assertEqual(len(files), 1, files)
        self.assertIsNone(harness.capinfos_check(os.path.join(self.capture_dir, "lo", files[0])))
        self.assertIn("resuming", self.daemon.log())

        # A start with the same options finds it running.
        self.assertEqual(harness.start_capture("lo", {"FileCount": ("u", 7), "Filter": ("s", "udp")}),
                         harness.capture_path("lo"))

    def test_stopped_capture_stays_stopped(self):
        harness.start_capture("lo", {})
        self.wait_running("lo")
        harness.stop_capture("lo")

        self.kill_daemon()
        self.daemon.start()
        harness.wait_for_state("lo", "stopped")
        self.assertNoTcpdump()

    def test_clean_shutdown_does_not_resume(self):
        harness.start_capture("lo", {})
        self.wait_running("lo")
        self.daemon.stop()
        self.daemon.start()
        harness.wait_for_state("lo", "stopped")
        self.assertNoTcpdump()


if __name__ == "__main__":
    harness.main()
