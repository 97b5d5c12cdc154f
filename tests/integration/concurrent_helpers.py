# SPDX-License-Identifier: LGPL-2.1-or-later
"""Concurrent method calls, made deterministic (issue 8, item 6).

A TcpdumpGate is a TcpdumpPath= wrapper that holds every tcpdump back until
the test lets it go: while it waits, the capture is `starting`, and a call
that arrives then meets exactly that state. BusCalls runs busctl calls in
the background, so that several are in flight at once, and knows when the
daemon has taken each one in (a BusMonitor sees it pass, then a Ping to the
daemon comes back: the daemon reads its messages in order)."""

import os
import subprocess

import harness
from harness import BUS_NAME, MANAGER_IFACE, MANAGER_PATH, BusMonitor, wait_for


class TcpdumpGate:
    """A TcpdumpPath= that waits at a FIFO before it execs the real tcpdump."""

    def __init__(self, directory, tcpdump="/usr/bin/tcpdump"):
        self.fifo = os.path.join(directory, "gate.fifo")
        self.arrivals = os.path.join(directory, "gate.arrivals")
        self.path = os.path.join(directory, "tcpdump-gate")
        os.mkfifo(self.fifo, 0o600)
        with open(self.path, "w") as f:
            f.write("#!/bin/sh\n"
                    f"echo $$ >> '{self.arrivals}'\n"
                    f"read line < '{self.fifo}'\n"
                    f"exec '{tcpdump}' \"$@\"\n")
        os.chmod(self.path, 0o755)
        self.released = 0

    def arrived(self):
        """How many tcpdumps have reached the gate so far."""
        try:
            with open(self.arrivals) as f:
                return len(f.read().split())
        except FileNotFoundError:
            return 0

    def wait_arrival(self, n, timeout=15):
        wait_for(lambda: self.arrived() >= n, timeout, f"tcpdump #{n} to reach the gate")

    def release(self, n=1):
        """Lets the next n tcpdumps through, waiting for each to arrive."""
        for _ in range(n):
            self.released += 1
            self.wait_arrival(self.released)
            with open(self.fifo, "w") as f:  # blocks until that tcpdump reads
                f.write("go\n")


class BusCalls:
    """busctl calls in flight at once, as root or (argv_prefix) another user."""

    def __init__(self, monitor, argv_prefix=(), env=None):
        self.monitor = monitor
        self.argv_prefix = list(argv_prefix)
        self.env = env
        self.procs = []

    def start(self, method, signature="", *args, path=MANAGER_PATH, interface=MANAGER_IFACE):
        argv = ["busctl", "--system", "--json=short", "--timeout=60", "--", "call", BUS_NAME, path, interface,
                method]
        if signature:
            argv.append(signature)
            for sig, value in zip(harness._complete_types(signature), args):
                argv += harness._busctl_args(sig, value)
        p = subprocess.Popen(self.argv_prefix + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=self.env)
        harness._tracked_children.add(p.pid)
        self.procs.append((method, p))
        return p

    def seen(self, member, kind="method_call"):
        return [m for m in self.monitor.snapshot() if m.get("type") == kind and m.get("member") == member]

    def wait_taken_in(self, member, count):
        """Waits until the daemon has read count calls of member."""
        wait_for(lambda: len(self.seen(member)) >= count, 15, f"{count} {member} call(s) on the bus")
        self.ping()

    def wait_polkit_answers(self, count):
        """Waits until polkitd has answered count CheckAuthorization calls and
        the daemon has read the answers."""
        def answered():
            cookies = {m.get("cookie") for m in self.seen("CheckAuthorization")}
            replies = [m for m in self.monitor.snapshot()
                       if m.get("type") in ("method_return", "error") and m.get("reply_cookie") in cookies]
            return len(replies) >= count
        wait_for(answered, 30, f"{count} polkit answer(s)")
        self.ping()

    def ping(self):
        harness.busctl("call", BUS_NAME, MANAGER_PATH, "org.freedesktop.DBus.Peer", "Ping")

    def finish(self, timeout=60):
        """Waits for every call; returns [(method, exit status, stdout, stderr)]."""
        out = []
        for method, p in self.procs:
            stdout, stderr = p.communicate(timeout=timeout)
            out.append((method, p.returncode, stdout.strip(), stderr.strip()))
        self.procs = []
        return out


class GatedTestCase(harness.CapturedTestCase):
    """A daemon whose tcpdumps wait at self.gate, a bus monitor, and
    self.calls (as root; call_prefix and call_env run them as another user)."""

    start_daemon = False
    call_prefix = ()
    call_env = None

    def setUp(self):
        super().setUp()
        self.gate = TcpdumpGate(self.root)
        self.write_config({"Daemon": {"TcpdumpPath": self.gate.path}})
        self.daemon.start()
        self.monitor = BusMonitor()
        self.addCleanup(self.monitor.stop)
        self.calls = BusCalls(self.monitor, self.call_prefix, self.call_env)

    def assertAllSucceeded(self, results):
        for method, status, stdout, stderr in results:
            self.assertEqual(status, 0, f"{method}: {stderr}")
        return results
