#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Supervision: a dying tcpdump comes back; a dying daemon takes every
tcpdump with it (SPEC §8, §9: tcpdump -Z clears PR_SET_PDEATHSIG when it
drops privileges, so the kernel alone does not do it).

The daemon runs as root here, with -Z and the guardian; test_unprivileged
has the same for the daemon as its own user, where no setuid happens and
the death signal alone suffices."""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import capture_property, start_capture, wait_for  # noqa: E402


def other_processes():
    """Live processes in the namespace other than us and the bus."""
    harness.reap_orphans()
    mine = {os.getpid(), harness.bus_pid()}
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in mine:
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except (FileNotFoundError, ProcessLookupError):
            continue
        state = stat[stat.rindex(")") + 2]
        if state not in "ZX":
            out[int(entry)] = " ".join(harness.process_cmdline(int(entry))) or stat
    return out


class SupervisionTest(harness.CapturedTestCase):

    def test_killed_tcpdump_is_restarted(self):
        start_capture("lo")
        pid = self.wait_running("lo")
        self.assertEqual(capture_property("lo", "Restarts"), 0)

        for n in (1, 2):
            os.kill(pid, signal.SIGKILL)
            new_pid = wait_for(lambda: capture_property("lo", "State") == "running"
                               and capture_property("lo", "MainPID") not in (0, pid)
                               and capture_property("lo", "MainPID"), 20,
                               f"the capture to run again after kill #{n} of tcpdump {pid}")
            self.assertEqual(harness.process_comm(new_pid), "tcpdump")
            self.assertEqual(harness.tcpdump_processes(), [new_pid])
            self.assertEqual(capture_property("lo", "Restarts"), n)
            pid = new_pid
        self.assertDaemonAlive()

    def test_killed_daemon_leaves_no_tcpdump(self):
        harness.create_veth("vtest0", "vtest1")
        self.addCleanup(harness.delete_link, "vtest0")
        start_capture("lo")
        start_capture("vtest0")
        pids = [self.wait_running("lo"), self.wait_running("vtest0")]
        self.assertEqual(sorted(harness.tcpdump_processes()), sorted(pids))
        # tcpdump runs as user tcpdump: the case where PR_SET_PDEATHSIG is lost
        for pid in pids:
            self.assertNotEqual(harness.process_uid(pid), 0)

        self.daemon.signal(signal.SIGKILL)
        self.daemon.wait(5)
        try:
            wait_for(lambda: not harness.tcpdump_processes(), 5, "tcpdump to die with the daemon")
        except AssertionError:
            left = {p: " ".join(harness.process_cmdline(p)) for p in harness.tcpdump_processes()}
            self.fail(f"tcpdump survived kill -9 of captured: {left}")
        try:
            wait_for(lambda: not other_processes(), 5, "nothing to be left running")
        except AssertionError:
            self.fail(f"left running after kill -9 of captured: {other_processes()}")

    def test_killed_daemon_while_starting_leaves_no_tcpdump(self):
        # Right after StartCapture returns, before "listening on".
        start_capture("lo")
        self.daemon.signal(signal.SIGKILL)
        self.daemon.wait(5)
        # The daemon forked tcpdump before it replied: that child, whether it
        # had exec'd tcpdump yet or not, is among the processes left.
        try:
            wait_for(lambda: not harness.tcpdump_processes() and not other_processes(), 5,
                     "tcpdump to die with the daemon")
        except AssertionError:
            self.fail(f"tcpdump survived kill -9 of captured: {harness.tcpdump_processes()} {other_processes()}")

    def test_sigterm_stops_captures_and_exits_zero(self):
        start_capture("lo")
        self.wait_running("lo")
        harness.send_udp(b"before-sigterm", count=10)

        self.daemon.signal(signal.SIGTERM)
        status = self.daemon.wait(15)
        self.assertEqual(status, 0, "captured did not exit 0 on SIGTERM")
        self.assertNoTcpdump(timeout=1)
        try:
            wait_for(lambda: not other_processes(), 5, "nothing to be left running")
        except AssertionError:
            self.fail(f"left running after SIGTERM: {other_processes()}")

        files = harness.all_files(os.path.join(self.capture_dir, "lo"))
        self.assertTrue(files, "no capture file left after SIGTERM")
        for f in files:
            self.assertTrue(harness.pcap_magic_ok(f), f"{f} has no pcap header")
            problem = harness.capinfos_check(f)
            self.assertIsNone(problem, problem)


if __name__ == "__main__":
    harness.main()
