# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the file, retention, disk guard, hook, config, counter and
capturectl tests share on top of harness.py: sustained traffic over lo,
finished-file names and checks, FileCompleted signals, ListFiles and
capturectl."""

import hashlib
import os
import re
import socket
import subprocess
import threading
import time

import harness
from harness import CAPTURE_IFACE, CAPTURECTL, call, capture_path

# SPEC §6 and daemon/capture-files.c: pcap-<iface>-YYYYmmddTHHMMSS.uuuuuuZ.pcap
FINISHED_TAIL = r"-\d{8}T\d{6}\.\d{6}Z\.pcap"
LIVE_PREFIX = ".live-"


def finished_name_pattern(interface):
    return re.compile("pcap-" + re.escape(interface) + FINISHED_TAIL + r"\Z")


def capture_directory(capture_dir, interface):
    return os.path.join(capture_dir, interface)


def finished_files(capture_dir, interface):
    """The finished files of a capture on disk, by name (= chronologically)."""
    directory = capture_directory(capture_dir, interface)
    if not os.path.isdir(directory):
        return []
    return sorted(os.path.join(directory, n) for n in os.listdir(directory)
                  if n.startswith(f"pcap-{interface}-"))


def live_files(capture_dir, interface):
    directory = capture_directory(capture_dir, interface)
    if not os.path.isdir(directory):
        return []
    return sorted(os.path.join(directory, n) for n in os.listdir(directory) if n.startswith(LIVE_PREFIX))


def file_record(path):
    """(inode, size, sha256) of a file: what must never change once finished."""
    with open(path, "rb") as f:
        st = os.fstat(f.fileno())
        digest = hashlib.sha256()
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return st.st_ino, st.st_size, digest.hexdigest()


def capinfos_packets(*paths):
    """The number of packets capinfos reads from each path (one run for all):
    a dict for several paths, an int for one."""
    p = harness.run(["capinfos", "-c", "-M"] + list(paths), check=False)
    counts, current = {}, None
    for line in p.stdout.splitlines():
        if line.startswith("File name:"):
            current = line.split(":", 1)[1].strip()
        elif line.startswith("Number of packets") and current:
            counts[current] = int(line.split()[-1])
    missing = [path for path in paths if path not in counts]
    if missing:
        raise AssertionError(f"capinfos printed no packet count for {missing}: {p.stdout} {p.stderr}")
    return counts if len(paths) > 1 else counts[paths[0]]


def read_problem(*paths):
    """None if capinfos (Wireshark's libwiretap) reads every path whole (one
    run for all) and tcpdump -r (libpcap, another reader) the first and the
    last, else what they said."""
    if not paths:
        return None
    p = harness.run(["capinfos", "-c"] + list(paths), check=False)
    if p.returncode != 0 or "cut short" in p.stderr + p.stdout:
        return f"capinfos: exit {p.returncode}: {(p.stderr + p.stdout).strip()}"
    for path in sorted({paths[0], paths[-1]}):
        p = harness.run(["tcpdump", "-r", path, "-nn", "-w", "/dev/null"], check=False)
        if p.returncode != 0 or "truncated" in p.stderr:
            return f"tcpdump -r {path}: exit {p.returncode}: {p.stderr.strip()}"
    return None


def list_files(interface):
    """Capture.ListFiles() as a list of (path, size, completed_at, upload_state, detail)."""
    (files,) = call(capture_path(interface), CAPTURE_IFACE, "ListFiles")
    return [tuple(f) for f in files]


def completed_signals(monitor, interface=None):
    """The FileCompleted signals a harness.BusMonitor saw, as (interface, path, size)."""
    out = []
    for m in monitor.snapshot():
        if m.get("type") != "signal" or m.get("member") != "FileCompleted":
            continue
        iface, path, size = m["payload"]["data"]
        if interface is None or iface == interface:
            out.append((iface, path, size))
    return out


def capturectl(*args, timeout=30):
    """capturectl, not on a terminal: no colours, no pager, no password prompt."""
    return harness.run([CAPTURECTL, "--no-ask-password"] + list(args), check=False, timeout=timeout,
                       stdin=subprocess.DEVNULL)


class Traffic:
    """UDP datagrams over lo at about `rate` bytes per second, from a
    background thread, to a socket that never reads them (no ICMP
    "port unreachable" replies, no receiver to keep up)."""

    def __init__(self, rate=3_000_000, payload_size=1400, marker=b"captured-traffic"):
        self.rate = rate
        self.payload = (marker + b"-" * payload_size)[:payload_size]
        self.sent = 0
        self._stop = threading.Event()
        self._sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sink.bind(("127.0.0.1", 0))
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        target = self._sink.getsockname()
        tick = 0.01
        per_tick = max(1, int(self.rate * tick / len(self.payload)))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            next_tick = time.monotonic()
            while not self._stop.is_set():
                for _ in range(per_tick):
                    try:
                        s.sendto(self.payload, target)
                        self.sent += 1
                    except OSError:
                        break
                next_tick += tick
                delay = next_tick - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                else:
                    next_tick = time.monotonic()

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
        self._sink.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
