#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""capturectl --json (issue 5 §4, SPEC §4): status, list and files print
valid JSON with the documented keys: captures keyed by their D-Bus property
names (those of the interface XML), files by Path, Size, CompletedAt,
UploadState and Detail."""

import json
import os
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (CAPTURE_IFACE, INTERFACE_XML, capture_path, get_all_properties, start_capture,  # noqa: E402
                     stop_capture, wait_for, wait_for_state)
from capture_helpers import Traffic, capturectl, list_files  # noqa: E402

FILE_KEYS = {"Path": str, "Size": int, "CompletedAt": int, "UploadState": str, "Detail": str,
             "Uploads": list}   # Uploads: one object per target (issue 13)
PYTHON_TYPES = {"s": str, "o": str, "b": bool, "u": int, "t": int, "i": int, "x": int, "q": int, "n": int, "y": int,
                "a(sts)": list}
# Properties that change while a capture runs (counters ask tcpdump when read).
# What a running capture changes between two reads: its counters, and the
# files and bytes tcpdump writes (packets of the traffic still in the
# kernel's buffer are written after it ended, later under load).
VOLATILE = {"PacketsCaptured", "PacketsReceived", "PacketsDropped", "CurrentFile", "FilesCompleted",
            "FilesKept", "DiskUsage"}


def capture_properties_in_xml():
    """{name: D-Bus type} of the Capture interface, from dbus/*.xml."""
    root = ET.parse(INTERFACE_XML).getroot()
    for interface in root.iter("interface"):
        if interface.get("name") == CAPTURE_IFACE:
            return {p.get("name"): p.get("type") for p in interface.iter("property")}
    raise AssertionError(f"no {CAPTURE_IFACE} in {INTERFACE_XML}")


class JsonTest(harness.CapturedTestCase):

    def json_of(self, *args):
        p = capturectl("--json", *args)
        self.assertEqual(p.returncode, 0, f"capturectl --json {' '.join(args)}: {p.stderr.strip()}")
        self.assertEqual(p.stderr, "")
        self.assertNotIn("\x1b[", p.stdout, "colours on a pipe")
        try:
            return json.loads(p.stdout)
        except ValueError as e:
            self.fail(f"capturectl --json {' '.join(args)} printed invalid JSON ({e}): {p.stdout!r}")

    def assertCaptureObject(self, o, interface):
        properties = capture_properties_in_xml()
        self.assertTrue(properties)
        for key in ("Interface", "State", "Path"):
            self.assertIn(key, o)
        self.assertEqual(o["Interface"], interface)
        self.assertEqual(o["Path"], capture_path(interface))
        for name, signature in properties.items():
            self.assertIn(name, o, f"--json lacks the property {name}")
            self.assertIsInstance(o[name], PYTHON_TYPES[signature], f"{name} of D-Bus type {signature}: {o[name]!r}")
        unknown = set(o) - set(properties) - {"Interface", "State", "Path"}
        self.assertFalse(unknown, f"undocumented keys: {unknown}")
        on_bus = get_all_properties(capture_path(interface), CAPTURE_IFACE)
        for name in set(properties) - VOLATILE:
            self.assertEqual(o[name], on_bus[name], f"--json {name} differs from the D-Bus property")

    def make_some_files(self):
        start_capture("lo", {"FileSize": ("u", 1), "FileCount": ("u", 50), "Filter": ("s", "udp")})
        self.wait_running("lo")
        with Traffic(rate=3_000_000):
            wait_for(lambda: harness.capture_property("lo", "FilesCompleted") >= 2, 30, "two completed files",
                     interval=0.1)

    def test_status_and_list(self):
        harness.create_veth("vtest0", "vtest1")
        self.addCleanup(harness.delete_link, "vtest0")
        self.assertEqual(self.json_of("status"), [])
        self.assertEqual(self.json_of("list"), [])

        self.make_some_files()
        start_capture("vtest0")
        self.wait_running("vtest0")
        stop_capture("vtest0")
        wait_for_state("vtest0", "stopped")

        for verb in ("status", "list"):
            data = self.json_of(verb)
            self.assertIsInstance(data, list, verb)
            self.assertEqual([o["Interface"] for o in data], ["lo", "vtest0"], verb)
            self.assertCaptureObject(data[0], "lo")
            self.assertCaptureObject(data[1], "vtest0")
            self.assertEqual(data[0]["State"], "running")
            self.assertEqual(data[0]["Filter"], "udp")
            self.assertEqual(data[1]["State"], "stopped")

        data = self.json_of("status", "lo")
        self.assertEqual(len(data), 1)
        self.assertCaptureObject(data[0], "lo")
        self.assertGreater(data[0]["MainPID"], 0)
        self.assertGreaterEqual(data[0]["FilesCompleted"], 2)

    def test_status_of_a_stopped_capture_exits_3_with_json(self):
        start_capture("lo")
        self.wait_running("lo")
        stop_capture("lo")
        wait_for_state("lo", "stopped")
        p = capturectl("--json", "status", "lo")
        self.assertEqual(p.returncode, 3)
        (o,) = json.loads(p.stdout)
        self.assertCaptureObject(o, "lo")
        self.assertEqual(o["State"], "stopped")

    def test_files(self):
        self.make_some_files()
        stop_capture("lo")
        wait_for_state("lo", "stopped")
        data = self.json_of("files", "lo")
        self.assertIsInstance(data, list)
        listed = list_files("lo")
        self.assertGreaterEqual(len(data), 3)
        self.assertEqual(len(data), len(listed))
        for o, (path, size, completed_at, upload_state, detail) in zip(data, listed):
            self.assertEqual(set(o), set(FILE_KEYS), f"keys of a file: {sorted(o)}")
            for key, kind in FILE_KEYS.items():
                self.assertIsInstance(o[key], kind, f"{key}: {o[key]!r}")
            self.assertEqual((o["Path"], o["Size"], o["CompletedAt"], o["UploadState"], o["Detail"]),
                             (path, size, completed_at, upload_state, detail))
            self.assertEqual(o["Size"], os.path.getsize(o["Path"]))
            self.assertEqual(o["UploadState"], "none")

    def test_files_of_a_capture_without_files(self):
        harness.create_veth("vtest0", "vtest1")
        self.addCleanup(harness.delete_link, "vtest0")
        start_capture("vtest0")
        self.wait_running("vtest0")
        self.assertEqual(self.json_of("files", "vtest0"), [])


if __name__ == "__main__":
    harness.main()
