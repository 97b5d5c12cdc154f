#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Start, run, list, restart and stop captures over D-Bus (SPEC §3, §6)."""

import os
import pwd
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (CAPTURE_IFACE, ERROR_ALREADY_RUNNING, ERROR_NO_SUCH_CAPTURE,  # noqa: E402
                     capture_path, capture_property, get_all_properties, list_captures,
                     manager_call, start_capture, stop_capture, wait_for, wait_for_state)


class LifecycleTest(harness.CapturedTestCase):

    def assert_tcpdump_process(self, pid):
        self.assertEqual(harness.process_comm(pid), "tcpdump", f"MainPID {pid} is not tcpdump")
        self.assertIn(pid, harness.tcpdump_processes())
        tcpdump_uid = pwd.getpwnam("tcpdump").pw_uid
        self.assertEqual(harness.process_uid(pid), tcpdump_uid, "tcpdump did not drop to user tcpdump")

    def files_with_magic(self, interface):
        directory = os.path.join(self.capture_dir, interface)
        files = harness.all_files(directory) if os.path.isdir(directory) else []
        return [f for f in files if os.path.getsize(f) >= 24 and harness.pcap_magic_ok(f)]

    def assert_capture_runs_and_stops(self, interface, send_traffic):
        path = start_capture(interface)
        self.assertEqual(path, capture_path(interface))

        pid = self.wait_running(interface)
        self.assert_tcpdump_process(pid)
        self.assertEqual(capture_property(interface, "Interface"), interface)

        # Enough traffic to get past tcpdump's stdio buffer: without -U the
        # header of a live file reaches the disk only with the first flush.
        marker = f"captured-test-{interface}-{time.monotonic_ns()}".encode()
        send_traffic(marker)
        files = wait_for(lambda: self.files_with_magic(interface), 10,
                         f"a pcap file under {self.capture_dir}/{interface}/")
        for f in files:
            self.assertTrue(os.path.realpath(f).startswith(os.path.realpath(self.capture_dir) + "/"))

        self.assertIn((interface, "running", path), list_captures())

        # No waiting past libpcap's block timeout: a stop drains what
        # tcpdump has been given (test_stop).
        stop_capture(interface)
        wait_for_state(interface, "stopped")
        self.assertEqual(capture_property(interface, "MainPID"), 0)
        self.assertNoTcpdump()
        self.assertIn((interface, "stopped", path), list_captures())

        # The files stay, complete, and hold the traffic sent before the stop.
        files = harness.all_files(os.path.join(self.capture_dir, interface))
        self.assertTrue(files, "no capture file left after stopping")
        contents = b""
        for f in files:
            self.assertTrue(harness.pcap_magic_ok(f), f"{f} has no pcap header")
            problem = harness.capinfos_check(f)
            self.assertIsNone(problem, problem)
            with open(f, "rb") as fh:
                contents += fh.read()
        self.assertIn(marker, contents, f"the packets sent before the stop are not in {files}")
        finished = [f for f in files if os.path.basename(f).startswith(f"pcap-{interface}-")]
        self.assertTrue(finished, f"no finished file named pcap-{interface}-* after the stop: {files}")

    def test_lo(self):
        self.assert_capture_runs_and_stops("lo", lambda marker: harness.send_udp(marker, count=200))

    def test_veth(self):
        harness.create_veth("vtest0", "vtest1")
        self.addCleanup(harness.delete_link, "vtest0")
        self.assert_capture_runs_and_stops("vtest0", lambda marker: harness.send_frames("vtest1", marker, count=200))

    def test_live_files_are_dotfiles_of_the_ring(self):
        start_capture("lo")
        self.wait_running("lo")
        live = wait_for(lambda: [f for f in harness.all_files(os.path.join(self.capture_dir, "lo"))
                                 if os.path.basename(f).startswith(".live-lo")], 10, "a .live-lo* file")
        self.assertEqual(len(live), 1, live)
        self.assertEqual(capture_property("lo", "CurrentFile"), live[0])
        harness.send_udp(count=200)
        wait_for(lambda: os.path.getsize(live[0]) >= 24, 10, f"{live[0]} to be written")
        self.assertTrue(harness.pcap_magic_ok(live[0]), f"{live[0]} has no pcap header")
        self.assertEqual(os.stat(os.path.join(self.capture_dir, "lo")).st_uid, pwd.getpwnam("tcpdump").pw_uid,
                         "the capture directory is not owned by the tcpdump user")

    def test_start_twice_same_options_returns_same_path(self):
        options = {"FileSize": ("u", 2), "FileCount": ("u", 3)}
        path = start_capture("lo", options)
        pid = self.wait_running("lo")
        self.assertEqual(start_capture("lo", options), path)
        # 0 means the default, so these are the same effective options too
        self.assertEqual(start_capture("lo", dict(options, SnapLength=("u", 0))), path)
        self.assertEqual(capture_property("lo", "MainPID"), pid, "the second start restarted tcpdump")
        self.assertEqual(len(harness.tcpdump_processes()), 1)

    def test_start_with_different_options_is_already_running(self):
        start_capture("lo", {"FileSize": ("u", 2)})
        pid = self.wait_running("lo")
        self.assertBusError(ERROR_ALREADY_RUNNING, "StartCapture", "sa{sv}", "lo", {"FileSize": ("u", 3)})
        self.assertBusError(ERROR_ALREADY_RUNNING, "StartCapture", "sa{sv}", "lo", {"Filter": ("s", "udp")})
        self.assertEqual(capture_property("lo", "MainPID"), pid)
        self.assertEqual(capture_property("lo", "FileSize"), 2)

    def test_get_capture(self):
        self.assertBusError(ERROR_NO_SUCH_CAPTURE, "GetCapture", "s", "lo")
        self.assertBusError(ERROR_NO_SUCH_CAPTURE, "StopCapture", "s", "lo")
        self.assertBusError(ERROR_NO_SUCH_CAPTURE, "RestartCapture", "s", "lo")
        self.assertEqual(list_captures(), [])
        path = start_capture("lo")
        self.assertEqual(manager_call("GetCapture", "s", "lo"), [path])
        self.assertBusError(ERROR_NO_SUCH_CAPTURE, "GetCapture", "s", "nosuch0")

    def test_restart_gives_new_main_pid(self):
        start_capture("lo")
        pid = self.wait_running("lo")
        manager_call("RestartCapture", "s", "lo")
        new_pid = wait_for(lambda: capture_property("lo", "State") == "running"
                           and capture_property("lo", "MainPID") not in (0, pid)
                           and capture_property("lo", "MainPID"), 10, "a new MainPID after RestartCapture")
        self.assert_tcpdump_process(new_pid)
        self.assertEqual(harness.tcpdump_processes(), [new_pid])
        # a planned restart is not counted as an unplanned one
        self.assertEqual(capture_property("lo", "Restarts"), 0)

    def test_capture_object_methods(self):
        path = start_capture("lo")
        pid = self.wait_running("lo")
        harness.call(path, CAPTURE_IFACE, "Restart")
        wait_for(lambda: capture_property("lo", "MainPID") not in (0, pid)
                 and capture_property("lo", "State") == "running", 10, "Capture.Restart to restart tcpdump")
        (files,) = harness.call(path, CAPTURE_IFACE, "ListFiles")
        self.assertIsInstance(files, list)
        harness.call(path, CAPTURE_IFACE, "Stop")
        wait_for_state("lo", "stopped")
        self.assertNoTcpdump()

    def test_stopped_capture_can_start_again(self):
        start_capture("lo")
        self.wait_running("lo")
        stop_capture("lo")
        wait_for_state("lo", "stopped")
        start_capture("lo", {"FileSize": ("u", 1)})  # other options are fine once stopped
        pid = self.wait_running("lo")
        self.assert_tcpdump_process(pid)
        self.assertEqual(capture_property("lo", "FileSize"), 1)

    def test_properties(self):
        path = start_capture("lo")
        self.wait_running("lo")
        props = get_all_properties(path, CAPTURE_IFACE)
        expected = {
            "Interface": "lo", "State": "running", "Filter": "", "FileSize": 25, "FileCount": 10,
            "SnapLength": 262144, "BufferSize": 32768, "Promiscuous": True, "RotateSeconds": 0,
            "Upload": "", "Restarts": 0, "LastError": "", "Enabled": False,
        }
        for name, value in expected.items():
            self.assertIn(name, props)
            self.assertEqual(props[name], value, f"property {name}")
        for name in ("MainPID", "StartedAt", "CurrentFile", "FilesCompleted", "PacketsCaptured",
                     "PacketsReceived", "PacketsDropped", "UploadsPending", "UploadsSucceeded",
                     "UploadsFailed"):
            self.assertIn(name, props)
        self.assertGreater(props["MainPID"], 0)
        now_us = time.time() * 1e6
        self.assertTrue(now_us - 60e6 < props["StartedAt"] <= now_us + 1e6,
                        f"StartedAt {props['StartedAt']} is not about now ({now_us:.0f})")

        manager = get_all_properties(harness.MANAGER_PATH, harness.MANAGER_IFACE)
        self.assertEqual(manager["CaptureDirectory"], self.capture_dir)
        self.assertTrue(manager["Version"])

    def test_options_are_applied(self):
        options = {"FileSize": ("u", 3), "FileCount": ("u", 4), "Filter": ("s", "udp port 9"),
                   "SnapLength": ("u", 200), "BufferSize": ("u", 1024), "Promiscuous": ("b", False),
                   "RotateSeconds": ("u", 30)}
        path = start_capture("lo", options)
        pid = self.wait_running("lo")
        props = get_all_properties(path, CAPTURE_IFACE)
        for key, (_, value) in options.items():
            self.assertEqual(props[key], value, f"property {key}")
        argv = harness.process_cmdline(pid)
        self.assertIn("udp port 9", " ".join(argv), f"the filter is not on tcpdump's command line: {argv}")

    def test_properties_changed_for_state(self):
        monitor = harness.BusMonitor()
        self.addCleanup(monitor.stop)
        path = start_capture("lo")
        self.wait_running("lo")
        stop_capture("lo")
        wait_for_state("lo", "stopped")

        def states():
            return [c["State"] for c in monitor.properties_changed(path, CAPTURE_IFACE) if "State" in c]

        wait_for(lambda: "stopped" in states(), 5, "PropertiesChanged with State=stopped")
        seen = states()
        self.assertIn("running", seen, f"no PropertiesChanged with State=running; saw {seen}")
        self.assertLess(seen.index("running"), len(seen) - 1 - seen[::-1].index("stopped"))
        pids = [c["MainPID"] for c in monitor.properties_changed(path, CAPTURE_IFACE) if "MainPID" in c]
        self.assertTrue(any(p > 0 for p in pids), f"no PropertiesChanged with MainPID; saw {pids}")


if __name__ == "__main__":
    harness.main()
