#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""capturectl watch (issue 5 §4, SPEC §4): a line per file completion and
per state change as they happen; with --json, one JSON object per line.
Only real changes: the daemon announces no value that did not change, and
watch prints none (issue 8 §5)."""

import json
import os
import subprocess
import sys
import re
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import CAPTURECTL, capture_property, start_capture, stop_capture, wait_for, wait_for_state  # noqa: E402
from capture_helpers import Traffic  # noqa: E402


class Watcher:
    """`capturectl [--json] watch ARGS` in the background, collecting lines."""

    def __init__(self, *args, json_output=False):
        argv = [CAPTURECTL, "--no-ask-password"] + (["--json"] if json_output else []) + ["watch"] + list(args)
        self.lines = []
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        harness._tracked_children.add(self.proc.pid)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        for line in self.proc.stdout:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def snapshot(self):
        with self._lock:
            return list(self.lines)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._thread.join(5)
        return self.proc.returncode, self.proc.stderr.read()


class WatchTest(harness.CapturedTestCase):

    def start_watching(self, *args, json_output=False):
        """Starts a watcher once lo runs, and waits until it demonstrably
        receives signals: after a packet, reading a counter makes the daemon
        announce the new counters (PropertiesChanged) after asking tcpdump
        for them."""
        watcher = Watcher(*args, json_output=json_output)
        self.addCleanup(watcher.stop)

        def sees_counters():
            if watcher.proc.poll() is not None:
                raise AssertionError(f"capturectl watch exited {watcher.proc.returncode}: "
                                     f"{watcher.proc.stderr.read()}")
            harness.send_udp(count=1)
            capture_property("lo", "PacketsCaptured")
            return any("PacketsCaptured" in line for line in watcher.snapshot())

        wait_for(sees_counters, 15, "capturectl watch to print a counter change", interval=0.5)
        return watcher

    def test_watch_prints_completions_and_state_changes(self):
        start_capture("lo", {"FileSize": ("u", 1), "FileCount": ("u", 50)})
        self.wait_running("lo")
        watcher = self.start_watching()

        with Traffic(rate=3_000_000):
            wait_for(lambda: capture_property("lo", "FilesCompleted") >= 1, 30, "a completed file", interval=0.1)
        path = harness.call(harness.capture_path("lo"), harness.CAPTURE_IFACE, "ListFiles")[0][0][0]
        wait_for(lambda: any("file completed" in l and path in l for l in watcher.snapshot()), 10,
                 f"a watch line for the completion of {path}")
        line = next(l for l in watcher.snapshot() if path in l)
        self.assertRegex(line, r"\blo: file completed: ")

        stop_capture("lo")
        wait_for_state("lo", "stopped")
        for state in ("stopping", "stopped"):
            wait_for(lambda: any(f"State={state}" in l for l in watcher.snapshot()), 10,
                     f"a watch line for State={state}")
        for l in watcher.snapshot():
            self.assertRegex(l, r"^\S.* lo: ", f"watch line without time and interface: {l!r}")
            self.assertNotIn("\x1b[", l, "colours on a pipe")

        code, stderr = watcher.stop()
        self.assertEqual(stderr, "", "capturectl watch complained")
        self.assertEqual(code, 0, "capturectl watch did not exit cleanly on SIGTERM")

    def test_json_watch_prints_one_object_per_line(self):
        start_capture("lo", {"FileSize": ("u", 1), "FileCount": ("u", 50)})
        self.wait_running("lo")
        watcher = self.start_watching("lo", json_output=True)

        with Traffic(rate=3_000_000):
            wait_for(lambda: capture_property("lo", "FilesCompleted") >= 1, 30, "a completed file", interval=0.1)
        stop_capture("lo")
        wait_for_state("lo", "stopped")

        def events():
            return [json.loads(l) for l in watcher.snapshot()]

        wait_for(lambda: any(e["Event"] == "FileCompleted" for e in events()), 10, "a FileCompleted event")
        wait_for(lambda: any(e["Event"] == "PropertiesChanged" and e["Changed"].get("State") == "stopped"
                             for e in events()), 10, "a State=stopped event")
        for e in events():
            self.assertEqual(e["Interface"], "lo")
            self.assertIsInstance(e["Timestamp"], int)
            self.assertIn(e["Event"], ("FileCompleted", "PropertiesChanged", "UploadFinished"))
        completed = [e for e in events() if e["Event"] == "FileCompleted"]
        listed = {f[0]: f[1] for f in harness.call(harness.capture_path("lo"), harness.CAPTURE_IFACE,
                                                   "ListFiles")[0]}
        for e in completed:
            self.assertIn(e["Path"], listed)
            self.assertEqual(e["Size"], listed[e["Path"]])

    def test_watch_filters_by_interface(self):
        harness.create_veth("vtest0", "vtest1")
        self.addCleanup(harness.delete_link, "vtest0")
        start_capture("lo")
        self.wait_running("lo")
        watcher = self.start_watching("lo")
        start_capture("vtest0")
        self.wait_running("vtest0")
        stop_capture("vtest0")
        wait_for_state("vtest0", "stopped")
        stop_capture("lo")
        wait_for(lambda: any("State=stopped" in l for l in watcher.snapshot()), 10, "lo's State=stopped")
        self.assertFalse([l for l in watcher.snapshot() if "vtest0" in l],
                         "watch lo printed events of vtest0")

    def test_only_real_changes_are_announced_and_printed(self):
        monitor = harness.BusMonitor()
        self.addCleanup(monitor.stop)
        start_capture("lo")
        self.wait_running("lo")
        watcher = self.start_watching("lo")

        # Every read asks tcpdump for its counters (at most once a second,
        # hence the pauses: they are not there to synchronise); no packet
        # crosses lo now, so they do not change.
        for _ in range(3):
            threading.Event().wait(1.1)
            captured = capture_property("lo", "PacketsCaptured")

        # Then one packet: tcpdump answers in order, so once its count is
        # printed, every answer before it was handled.
        harness.send_udp(count=1)

        def printed_counts():
            return [int(m.group(1)) for line in watcher.snapshot()
                    for m in [re.search(r"PacketsCaptured=(\d+)", line)] if m]

        def printed_new_count():
            capture_property("lo", "PacketsCaptured")
            return any(n > captured for n in printed_counts())

        wait_for(printed_new_count, 15, "watch to print the new packet count", interval=1.1)
        counts = printed_counts()
        self.assertEqual(counts, sorted(set(counts)), f"watch printed a packet count that did not change: {counts}")
        for line in watcher.snapshot():
            self.assertNotRegex(line, r"changed:$", f"watch printed a change of nothing: {line!r}")
        self.assertNoRepeatedValues(monitor)

    def assertNoRepeatedValues(self, monitor):
        """No PropertiesChanged of lo announces a value it announced just before."""
        last = {}
        for changed in monitor.properties_changed(harness.capture_path("lo"), harness.CAPTURE_IFACE):
            for key, value in changed.items():
                self.assertFalse(key in last and last[key] == value,
                                 f"PropertiesChanged announced {key}={value!r} again, unchanged")
                last[key] = value


if __name__ == "__main__":
    harness.main()
