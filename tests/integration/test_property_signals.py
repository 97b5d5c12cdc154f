#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The property-signal contract (issue 9, item 8): every property whose
introspection says it emits changes is announced with its new value.

A client that reads GetAll once and then follows PropertiesChanged must see
what GetAll says at every quiet moment. The scenario drives each such
property of the Manager and of a Capture through a change (traffic, a stop
with a finished file, uploads that succeed and fail, new options, enabling,
a killed tcpdump, a reload, a failing hook, an interface that goes away);
at each checkpoint the followed view is compared with GetAll, and at the end
every announced property must have changed at least once, so that none goes
untested."""

import os
import signal
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (CAPTURE_IFACE, MANAGER_IFACE, MANAGER_PATH, capture_path, capture_property,  # noqa: E402
                     get_all_properties, start_capture, stop_capture, wait_for, wait_for_state)

sys.path.insert(0, os.path.join(harness.SOURCE_ROOT, "tests"))
from cloudshark_server import FakeCloudShark  # noqa: E402

IFACE = "vprop0"
PEER = "vprop1"
TARGET = "cs"
EMITS = "org.freedesktop.DBus.Property.EmitsChangedSignal"

# Two attempts, 100 ms apart: a failed upload is final quickly.
os.environ["CAPTURED_UPLOAD_RETRY"] = "100 100 2"

# Announced properties no scenario here can change, and why.
NOT_DRIVEN = {
    "PacketsDropped": "only the kernel drops packets (its parsing: unit-tcpdump)",
    "UploadsDropped": "only the disk guard drops a pending upload, on a full disk",
}


def announced_properties(path, interface):
    """{name: "true" or "invalidates"} of the properties of interface that
    the object's introspection says are announced."""
    (xml,) = harness.call(path, "org.freedesktop.DBus.Introspectable", "Introspect")
    root = ET.fromstring(xml)
    out = {}
    for iface in root.findall("interface"):
        if iface.get("name") != interface:
            continue
        for prop in iface.findall("property"):
            emits = "true"
            for a in prop.findall("annotation"):
                if a.get("name") == EMITS:
                    emits = a.get("value")
            if emits in ("true", "invalidates"):
                out[prop.get("name")] = emits
    return out


class FollowedObject:
    """What a client that follows PropertiesChanged knows of one object."""

    def __init__(self, path, interface):
        self.path = path
        self.interface = interface
        self.announced = announced_properties(path, interface)
        self.view = get_all_properties(path, interface)
        self.mark = harness.signal_mark()
        self.first = dict(self.view)
        self.changed = set()
        self.invalidated = set()

    def follow(self):
        """Applies the PropertiesChanged seen since the last time."""
        mark, self.mark = self.mark, harness.signal_mark()
        for s in harness.signals_since(mark, "PropertiesChanged", self.path, self.interface):
            _, changed, invalidated = s.args
            for name, value in changed.items():
                self.view[name] = value["data"]
            self.invalidated |= set(invalidated)

    def compare(self, test, checkpoint):
        now = get_all_properties(self.path, self.interface)
        for name, emits in sorted(self.announced.items()):
            if now[name] != self.first[name]:
                self.changed.add(name)
            if emits == "invalidates":
                if name in self.invalidated:
                    self.view[name] = now[name]
                    self.invalidated.discard(name)
            test.assertEqual(self.view[name], now[name],
                             f"{checkpoint}: {self.interface}.{name} is {now[name]!r}, "
                             f"but PropertiesChanged said {self.view[name]!r}")


class PropertySignalTest(harness.CapturedTestCase):

    start_daemon = False

    def setUp(self):
        super().setUp()
        self.token = "tok-property-signals"
        self.server = FakeCloudShark(os.path.join(self.root, "server"), [self.token])
        self.server.start()
        self.addCleanup(self.server.stop)
        upload_d = os.path.join(self.config_dir, "upload.d")
        os.makedirs(upload_d)
        token_path = os.path.join(self.config_dir, "cs.token")
        with open(token_path, "w") as f:
            f.write(self.token + "\n")
        os.chmod(token_path, 0o600)
        path = os.path.join(upload_d, f"{TARGET}.conf")
        with open(path, "w") as f:
            f.write(f"[Upload]\nType=cloudshark\nURL={self.server.url}/\nTokenFile={token_path}\n")
        os.chmod(path, 0o600)
        harness.create_veth(IFACE, PEER)
        self.addCleanup(harness.delete_link, IFACE)
        self.daemon.start()
        self.objects = []

    def checkpoint(self, what):
        """A quiet moment: every signal the daemon sent before a Ping's reply
        is in; the followed views must match GetAll."""
        harness.call(MANAGER_PATH, "org.freedesktop.DBus.Peer", "Ping")
        for o in self.objects:
            o.follow()
            o.compare(self, what)

    def upload_state(self, path):
        (files,) = harness.call(capture_path(IFACE), CAPTURE_IFACE, "ListFiles")
        return {f[0]: f[3] for f in files}.get(path)

    def finished_file(self, before):
        return wait_for(lambda: sorted(set(self.file_names()) - before), 10, "a finished file")[0]

    def file_names(self):
        (files,) = harness.call(capture_path(IFACE), CAPTURE_IFACE, "ListFiles")
        return [f[0] for f in files]

    def test_announced_properties_carry_their_new_values(self):
        manager = FollowedObject(MANAGER_PATH, MANAGER_IFACE)
        self.objects.append(manager)

        # Running, with an upload target.
        start_capture(IFACE, {"Upload": ("s", TARGET), "Filter": ("s", "ether proto 0x88b5"), "FileCount": ("u", 2)})
        self.wait_running(IFACE)
        capture = FollowedObject(capture_path(IFACE), CAPTURE_IFACE)
        self.objects.append(capture)
        self.checkpoint("running")

        # Traffic: the counters.
        harness.send_frames(PEER, count=20)
        wait_for(lambda: capture_property(IFACE, "PacketsCaptured") >= 20
                 and capture_property(IFACE, "PacketsReceived") >= 20, 20, "20 packets counted")
        self.checkpoint("after traffic")

        # A stop: one finished file, its upload held up by the server.
        self.server.inject("slow", count=1, seconds=3, match="/upload")
        stop_capture(IFACE)
        wait_for_state(IFACE, "stopped")
        first = self.finished_file(set())
        wait_for(lambda: self.upload_state(first) == "uploading", 10, "the upload to start")
        self.checkpoint("stopped, uploading")
        wait_for(lambda: self.upload_state(first) == "done", 15, "the upload to succeed")
        self.checkpoint("uploaded")

        # Other options; an upload that fails; retention deletes the first file.
        start_capture(IFACE, {"Upload": ("s", TARGET), "Filter": ("s", "ether proto 0x88b5 or udp"),
                              "FileSize": ("u", 5), "FileCount": ("u", 2), "SnapLength": ("u", 1000),
                              "BufferSize": ("u", 8192), "Promiscuous": ("b", False),
                              "RotateSeconds": ("u", 3600)})
        self.wait_running(IFACE)
        self.checkpoint("running with other options")
        self.server.inject("500", count=2, match="/upload")
        harness.send_frames(PEER, count=5)
        stop_capture(IFACE)
        wait_for_state(IFACE, "stopped")
        second = self.finished_file({first})
        wait_for(lambda: self.upload_state(second) == "failed", 15, "the upload to fail")
        self.checkpoint("upload failed")

        # A finished file removed by hand is missed when the capture starts
        # again; enabled, running without an upload target, tcpdump killed:
        # restarted.
        os.unlink(second)
        harness.manager_call("EnableCapture", "sa{sv}", IFACE, {})
        start_capture(IFACE, {"Upload": ("s", "")})
        pid = self.wait_running(IFACE)
        self.checkpoint("enabled, running")
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: capture_property(IFACE, "Restarts") == 1 and capture_property(IFACE, "State") == "running"
                 and capture_property(IFACE, "MainPID") not in (0, pid), 20, "tcpdump restarted")
        self.checkpoint("restarted")
        harness.manager_call("DisableCapture", "s", IFACE)
        stop_capture(IFACE)
        wait_for_state(IFACE, "stopped")
        self.checkpoint("disabled, stopped")

        # A reload with another CaptureDirectory (kept until restart: the
        # property is const) and an ExecPostRotate= that fails; a file for it (with
        # room for all files: retention does not wait for the hook).
        self.capture_dir = os.path.join(self.root, "captures2")
        os.mkdir(self.capture_dir, 0o755)
        hook_ran = os.path.join(self.root, "hook-ran")
        self.write_config({"Defaults": {"ExecPostRotate": f"/bin/sh -c ': > {hook_ran}; exit 3'"}})
        self.daemon.signal(signal.SIGHUP)
        wait_for(lambda: "Configuration reloaded." in self.daemon.log(), 10, "the reload")
        self.checkpoint("reloaded")
        start_capture(IFACE, {"FileCount": ("u", 100)})
        self.wait_running(IFACE)
        harness.send_frames(PEER, count=5)
        stop_capture(IFACE)
        wait_for_state(IFACE, "stopped")
        wait_for(lambda: os.path.exists(hook_ran), 10, "the hook to run")
        if "LastHookError" in capture.announced:  # where the daemon says so, it has seen the hook fail
            wait_for(lambda: capture_property(IFACE, "LastHookError"), 10, "LastHookError")
        self.checkpoint("a hook failed")

        # The interface goes away under a running capture: an error that stays.
        start_capture(IFACE)
        self.wait_running(IFACE)
        harness.delete_link(IFACE)
        wait_for(lambda: capture_property(IFACE, "State") not in ("running", "stopping", "restarting", "starting")
                 and capture_property(IFACE, "LastError"), 20, "the capture to report its interface gone")
        self.checkpoint("interface gone")

        for o in self.objects:
            untested = set(o.announced) - o.changed - set(NOT_DRIVEN)
            self.assertEqual(untested, set(), f"announced properties of {o.interface} the scenario never changed")


if __name__ == "__main__":
    harness.main()
