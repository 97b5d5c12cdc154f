# SPDX-License-Identifier: LGPL-2.1-or-later
"""A daemon that stops (systemctl restart, a package upgrade: SIGTERM) or
dies (SIGKILL, a crash, the OOM killer) resumes the captures that were
running, with their options, and finishes what their tcpdump left behind; a
capture stopped on purpose stays stopped; after a reboot (an empty runtime
directory) only the enabled captures start."""

import os
import shutil
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

    def test_restart_resumes_with_its_options(self):
        harness.start_capture("lo", {"FileCount": ("u", 5), "Filter": ("s", "udp port 9")})
        first = self.wait_running("lo")
        harness.send_udp(payload=b"before-the-restart" * 20, count=200)

        # SIGTERM: what `systemctl restart captured` and an upgrade send.
        self.assertEqual(self.daemon.stop(), 0)
        self.assertNoTcpdump()
        before = self.finished("lo")
        self.assertEqual(len(before), 1, "the last file is finished at exit")
        self.daemon.start()

        second = self.wait_running("lo")
        self.assertNotEqual(first, second)
        self.assertEqual(harness.capture_property("lo", "FileCount"), 5)
        self.assertEqual(harness.capture_property("lo", "Filter"), "udp port 9")
        self.assertEqual(self.finished("lo"), before, "every finished file is kept")
        self.assertIn("resuming", self.daemon.log())

    def test_stopped_before_a_restart_stays_stopped(self):
        harness.start_capture("lo", {})
        self.wait_running("lo")
        harness.stop_capture("lo")
        self.daemon.stop()
        self.daemon.start()
        harness.wait_for_state("lo", "stopped")
        self.assertNoTcpdump()

    def test_enabled_capture_stopped_by_a_user_stays_stopped_until_a_reboot(self):
        harness.manager_call("EnableCapture", "sa{sv}", "lo", {})
        harness.start_capture("lo", {})
        self.wait_running("lo")
        harness.stop_capture("lo")
        self.daemon.stop()
        self.daemon.start()
        harness.wait_for_state("lo", "stopped")
        self.assertTrue(harness.capture_property("lo", "Enabled"))
        self.assertNoTcpdump()

        self.daemon.stop()
        shutil.rmtree(self.daemon.runtime_dir)
        self.daemon.start()
        self.wait_running("lo")

    def test_reboot_starts_only_enabled_captures(self):
        harness.create_veth("vcrash0", "vcrash1")
        self.addCleanup(harness.delete_link, "vcrash0")
        harness.manager_call("EnableCapture", "sa{sv}", "vcrash0", {"FileCount": ("u", 4)})
        harness.start_capture("vcrash0", {"FileCount": ("u", 4)})
        harness.start_capture("lo", {})
        self.wait_running("vcrash0")
        self.wait_running("lo")

        self.daemon.stop()
        # A reboot empties /run, and with it the runtime directory.
        shutil.rmtree(self.daemon.runtime_dir)
        self.daemon.start()

        self.wait_running("vcrash0")
        self.assertEqual(harness.capture_property("vcrash0", "FileCount"), 4)
        harness.wait_for_state("lo", "stopped")
        self.assertEqual(len(harness.tcpdump_processes()), 1)


if __name__ == "__main__":
    harness.main()
