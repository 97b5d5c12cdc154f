#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The daemon exports exactly the API of dbus/io.captured.Capture1.xml
(SPEC §3): same methods and arguments, signals, properties, access and
EmitsChangedSignal behaviour."""

import os
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

EMITS_CHANGED = "org.freedesktop.DBus.Property.EmitsChangedSignal"


def _annotation(element, name):
    for a in element.findall("annotation"):
        if a.get("name") == name:
            return a.get("value")
    return None


def describe_interface(element):
    """A comparable description of an <interface> element: comments,
    whitespace, documentation and other annotations are ignored."""
    default_emits = _annotation(element, EMITS_CHANGED) or "true"
    methods = {}
    for m in element.findall("method"):
        methods[m.get("name")] = [(a.get("name"), a.get("type"), a.get("direction") or "in")
                                  for a in m.findall("arg")]
    signals = {}
    for s in element.findall("signal"):
        signals[s.get("name")] = [(a.get("name"), a.get("type")) for a in s.findall("arg")]
    properties = {}
    for p in element.findall("property"):
        properties[p.get("name")] = (p.get("type"), p.get("access"),
                                     _annotation(p, EMITS_CHANGED) or default_emits)
    return {"method": methods, "signal": signals, "property": properties}


def interfaces_of(xml_text):
    root = ET.fromstring(xml_text)
    return {i.get("name"): i for i in root.findall("interface")}


def differences(expected, actual):
    """Human-readable differences between two describe_interface() results."""
    out = []
    for kind in ("method", "signal", "property"):
        exp, act = expected[kind], actual[kind]
        for name in sorted(exp.keys() - act.keys()):
            out.append(f"{kind} {name} is missing (expected {exp[name]})")
        for name in sorted(act.keys() - exp.keys()):
            out.append(f"{kind} {name} is exported but not in the XML ({act[name]})")
        for name in sorted(exp.keys() & act.keys()):
            if exp[name] != act[name]:
                out.append(f"{kind} {name}: expected {exp[name]}, exported {act[name]}")
    return out


def introspect(path):
    return harness.busctl("introspect", "--xml-interface", harness.BUS_NAME, path).stdout


class IntrospectionTest(harness.CapturedTestCase):

    @classmethod
    def setUpClass(cls):
        with open(harness.INTERFACE_XML) as f:
            cls.spec = interfaces_of(f.read())

    def assertInterfaceMatches(self, path, interface):
        exported = interfaces_of(introspect(path))
        self.assertIn(interface, exported, f"{path} does not export {interface}: {sorted(exported)}")
        diff = differences(describe_interface(self.spec[interface]), describe_interface(exported[interface]))
        if diff:
            self.fail(f"{interface} on {path} differs from {harness.INTERFACE_XML}:\n  " + "\n  ".join(diff))
        return exported

    def test_xml_file_has_both_interfaces(self):
        self.assertEqual(set(self.spec), {harness.MANAGER_IFACE, harness.CAPTURE_IFACE})

    def test_manager(self):
        exported = self.assertInterfaceMatches(harness.MANAGER_PATH, harness.MANAGER_IFACE)
        self.assertNotIn(harness.CAPTURE_IFACE, exported)
        for standard in ("org.freedesktop.DBus.Properties", "org.freedesktop.DBus.Introspectable",
                         "org.freedesktop.DBus.Peer"):
            self.assertIn(standard, exported)

    def test_capture(self):
        path = harness.start_capture("lo")
        exported = self.assertInterfaceMatches(path, harness.CAPTURE_IFACE)
        self.assertNotIn(harness.MANAGER_IFACE, exported)

    def test_capture_with_encoded_label(self):
        # A name sd_bus_path_encode() must escape: "-" is not allowed in paths.
        harness.create_veth("veth-a", "veth-b")
        self.addCleanup(harness.delete_link, "veth-a")
        path = harness.start_capture("veth-a")
        self.assertEqual(path, harness.CAPTURE_PATH_PREFIX + "veth_2da")
        self.assertInterfaceMatches(path, harness.CAPTURE_IFACE)

    def test_capture_objects_are_listed_as_children(self):
        harness.start_capture("lo")
        root = ET.fromstring(harness.busctl("introspect", "--xml-interface", harness.BUS_NAME,
                                            harness.CAPTURE_PATH_PREFIX.rstrip("/")).stdout)
        self.assertIn("lo", [n.get("name") for n in root.findall("node")])

    def test_differences_are_reported(self):
        # The comparison itself must be able to fail.
        spec = describe_interface(self.spec[harness.CAPTURE_IFACE])
        broken = {k: dict(v) for k, v in spec.items()}
        broken["property"]["State"] = ("u", "read", "true")
        del broken["method"]["Stop"]
        broken["method"]["ListFiles"] = [("files", "a(stt)", "out")]
        diff = differences(spec, broken)
        self.assertEqual(len(diff), 3, diff)


if __name__ == "__main__":
    harness.main()
