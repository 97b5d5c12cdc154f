# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the upload tests share on top of harness.py: upload.d/ files with
their secrets, finished files made by a real capture on a veth pair, the
UploadFinished signals, the persisted queue, ListFiles and ListFileUploads."""

import glob
import json
import os
import secrets
import struct
import time

import harness
from harness import (CAPTURE_IFACE, MANAGER_IFACE, MANAGER_PATH, capture_path, start_capture, stop_capture,
                     wait_for, wait_for_state)

IFACE = "vtest0"
PEER = "vtest1"

# Retries after 200 ms, doubling to 1 s (SPEC's 2 s … 10 min is for real
# servers, not for a test that waits for them).
os.environ["CAPTURED_UPLOAD_RETRY"] = "200 1000 12"


def write_secret(directory, name, value):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(value + "\n")
    os.chmod(path, 0o600)
    return path


def pcap_summary(path):
    """(packets, first, last) with the times in µs, read here independently
    of the daemon."""
    with open(path, "rb") as f:
        times = [t for _, t, _ in harness.pcap_records(f.read())]
    return len(times), (times[0] if times else 0), (times[-1] if times else 0)


def write_pcap(path, size, payload_size=1400):
    """A valid pcap of about size bytes: what tcpdump writes, without
    sending megabytes through a veth pair for it."""
    header = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1)
    now = int(time.time())
    with open(path, "wb") as f:
        f.write(header)
        written, i = len(header), 0
        while written < size:
            frame = secrets.token_bytes(payload_size)
            f.write(struct.pack("<IIII", now, i % 1000000, len(frame), len(frame)) + frame)
            written += 16 + len(frame)
            i += 1


class UploadTargetTestCase(harness.CapturedTestCase):
    """A veth pair; subclasses write upload.d/ files, then start the daemon."""

    start_daemon = False

    def setUp(self):
        super().setUp()
        harness.create_veth(IFACE, PEER)
        self.addCleanup(harness.delete_link, IFACE)
        self.monitor = harness.BusMonitor()
        self.addCleanup(self.monitor.stop)

    def write_target(self, name, keys):
        upload_d = os.path.join(self.config_dir, "upload.d")
        os.makedirs(upload_d, exist_ok=True)
        path = os.path.join(upload_d, f"{name}.conf")
        with open(path, "w") as f:
            f.write("[Upload]\n" + "".join(f"{k}={v}\n" for k, v in keys.items()))
        os.chmod(path, 0o600)
        return path

    def capture_dir_of(self, interface=IFACE):
        return os.path.join(self.capture_dir, interface)

    def finished_files(self):
        return sorted(glob.glob(os.path.join(self.capture_dir_of(), f"pcap-{IFACE}-*.pcap")))

    def capture_one_file(self, upload, options=None):
        """Starts a capture with Upload=upload, sends frames, stops it: one
        more finished file, queued for upload. Returns its path."""
        before = set(self.finished_files())
        start_capture(IFACE, dict({"Upload": ("s", upload)}, **(options or {})))
        self.wait_running(IFACE)
        harness.send_frames(PEER, payload=secrets.token_bytes(400), count=40)
        # A stop keeps every frame that reached the interface before it.
        stop_capture(IFACE)
        wait_for_state(IFACE, "stopped")
        new = wait_for(lambda: sorted(set(self.finished_files()) - before), 10, "a finished file")
        self.assertEqual(len(new), 1, f"one stop, one finished file: {new}")
        return new[0]

    def add_big_file(self, size):
        """A large finished file while the capture runs: written under a
        live name, as tcpdump would, and closed; the daemon finishes it."""
        before = set(self.finished_files())
        live = os.path.join(self.capture_dir_of(), f".live-{IFACE}-big")
        write_pcap(live, size)
        new = wait_for(lambda: sorted(set(self.finished_files()) - before), 20, "the big file finished")
        return new[0]

    def upload_finished(self, path=None):
        """The UploadFinished signals so far: (interface, path, target, success, detail)."""
        out = []
        for m in self.monitor.snapshot():
            if m.get("type") == "signal" and m.get("member") == "UploadFinished":
                signal = tuple(m["payload"]["data"])
                if path is None or signal[1] == path:
                    out.append(signal)
        return out

    def wait_uploaded(self, path, target=None, timeout=60):
        """Waits for the success signal; returns the remote location."""
        signals = wait_for(lambda: [s for s in self.upload_finished(path) if s[3] and target in (None, s[2])],
                           timeout, f"UploadFinished(success) for {path}")
        self.assertEqual(len(signals), 1, f"uploaded more than once: {signals}")
        return signals[0][4]

    def wait_failures(self, path, n, timeout=30):
        return wait_for(lambda: [s for s in self.upload_finished(path) if not s[3]][n - 1:] and
                        [s for s in self.upload_finished(path) if not s[3]], timeout, f"{n} failed attempts")

    def queue_entries(self, path):
        with open(os.path.join(self.state_dir, "uploads.json")) as f:
            return [e for e in json.load(f)["uploads"] if e["path"] == path]

    def list_files(self):
        (files,) = harness.call(capture_path(IFACE), CAPTURE_IFACE, "ListFiles")
        return {f[0]: (f[3], f[4]) for f in files}

    def list_file_uploads(self):
        """{(path, target): (state, location, error)}"""
        (uploads,) = harness.call(MANAGER_PATH, MANAGER_IFACE, "ListFileUploads", "s", IFACE)
        return {(u[0], u[1]): (u[2], u[3], u[4]) for u in uploads}
