#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hostile input (SPEC §8, issue 4): no D-Bus caller can make the daemon run
a program, pass a tcpdump option, or write outside the capture directory.

Every request here is refused with a named error and leaves no trace: no
tcpdump, no new capture, no new file in the daemon's working directory
(a scratch directory watched for that), the capture and configuration
directories, /, /tmp; no file "x" anywhere a shell would have created it;
and the daemon still answers afterwards. test_validation.py covers the
ordinary refusals; this file goes after the injections."""

import ctypes
import os
import select
import stat
import struct
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (BUS_NAME, CAPTURECTL, ERROR_INVALID_ARGS, ERROR_INVALID_FILTER,  # noqa: E402
                     ERROR_NO_SUCH_CAPTURE, ERROR_NO_SUCH_INTERFACE, ERROR_NO_SUCH_UPLOAD_TARGET,
                     MANAGER_IFACE, MANAGER_PATH, list_captures, start_capture, stop_capture,
                     wait_for_state)
from capture_helpers import list_files  # noqa: E402

HOSTILE_INTERFACES = ["../x", "-zfoo", "lo;x", "lo -z /bin/sh", "x" * 5000, "", "$(touch x)",
                      "`touch x`", "lo|x", "lo\nx", "/tmp/x", "-w", "--"]
HOSTILE_FILTERS = ["-z/tmp/x", "udp; touch x", "$(touch x)", "`touch x`", "-w /tmp/x", "-z touch",
                   "udp && touch x", "udp\n-z/tmp/x", "udp | touch x", "-- -z x"]
HOSTILE_UPLOADS = ["../x", "a/b", "..", "/etc/passwd", "x/../../y", ".", "-x", "x" * 5000]
# Files a shell or a -w/-z would have made, relative to the working directory too.
CANARIES = ["x", "/x", "/tmp/x", "/tmp/foo", "/bin/sh.pcap"]


def harness_name_is_valid(name):
    """Whether the kernel allows name for an interface (dev_valid_name())."""
    return (0 < len(name) < 16 and name not in (".", "..")
            and not any(c in name for c in "/:") and not any(c.isspace() for c in name))


class HostileInputTest(harness.CapturedTestCase):

    start_daemon = False

    def setUp(self):
        super().setUp()
        # The daemon's working directory: where "touch x" would land.
        self.cwd = os.path.join(self.root, "cwd")
        os.mkdir(self.cwd, 0o777)
        old_cwd = os.getcwd()
        os.chdir(self.cwd)
        self.addCleanup(os.chdir, old_cwd)
        self.canaries_before = {p: os.path.lexists(os.path.join(self.cwd, p)) for p in CANARIES}
        self.daemon.start()
        self.watched_before = self.watched()

    def watched(self):
        """Every path in the test's directories but the state directory and
        the daemon's log. (/ and /tmp are shared with whatever else runs on
        the host: there only the canaries are looked for.)"""
        return {p for p in harness.tree(self.root)
                if not p.startswith(self.state_dir + "/") and p != self.daemon_log_path}

    def assertNoSideEffect(self, what, captures_before=None):
        self.assertDaemonAlive()
        self.assertNothingSpawned(what)
        self.assertEqual(harness.tcpdump_processes(), [], f"{what} started tcpdump")
        if captures_before is not None:
            self.assertEqual(list_captures(), captures_before, f"{what} changed the captures")
        created = self.watched() - self.watched_before
        self.assertEqual(created, set(), f"{what} created files")
        for p, existed in self.canaries_before.items():
            if not existed:
                self.assertFalse(os.path.lexists(os.path.join(self.cwd, p)), f"{what} created {p}")

    def assertRefused(self, expected, method, signature, *args):
        captures_before = list_captures()
        self.assertBusError(expected, method, signature, *args)
        self.assertNoSideEffect(f"{method}{tuple(repr(a)[:40] for a in args)}", captures_before)

    def tearDown(self):
        # The daemon stays up through all of it, and still answers.
        if self.daemon.running():
            self.assertTrue(harness.get_property(MANAGER_PATH, MANAGER_IFACE, "Version"))
        super().tearDown()

    # -- interface names ------------------------------------------------------

    def test_hostile_interface_names(self):
        for name in HOSTILE_INTERFACES:
            with self.subTest(interface=name[:40]):
                self.assertRefused((ERROR_INVALID_ARGS, ERROR_NO_SUCH_INTERFACE), "StartCapture", "sa{sv}",
                                   name, {})
                for method in ("StopCapture", "RestartCapture", "GetCapture"):
                    self.assertRefused((ERROR_INVALID_ARGS, ERROR_NO_SUCH_CAPTURE), method, "s", name)
                if not harness_name_is_valid(name):
                    self.assertRefused(ERROR_INVALID_ARGS, "EnableCapture", "sa{sv}", name, {})
                    self.assertRefused(ERROR_INVALID_ARGS, "DisableCapture", "s", name)

    def test_odd_but_valid_names_are_enabled_as_data(self):
        # An interface that does not exist yet may be enabled (it starts when
        # it appears): a name the kernel allows is data, kept in the state
        # directory, and never an option or a path.
        for name in [n for n in HOSTILE_INTERFACES if harness_name_is_valid(n)]:
            with self.subTest(interface=name):
                harness.manager_call("EnableCapture", "sa{sv}", name, {})
                self.assertNoSideEffect(f"EnableCapture({name!r})")
                self.assertTrue(harness.capture_property(name, "Enabled"))
                self.assertIn(harness.capture_property(name, "State"), ("stopped", "waiting"))
                for path in harness.tree(self.state_dir):
                    self.assertTrue(os.path.realpath(path).startswith(os.path.realpath(self.state_dir) + "/"),
                                    path)
                harness.manager_call("DisableCapture", "s", name)
                self.assertNoSideEffect(f"DisableCapture({name!r})")
                self.assertFalse(harness.capture_property(name, "Enabled"))

    def test_names_the_kernel_never_allows_are_invalid_args(self):
        for name in ["../x", "lo -z /bin/sh", "x" * 5000, "", "lo\nx", "/tmp/x", ".", ".."]:
            with self.subTest(interface=name[:40]):
                self.assertRefused(ERROR_INVALID_ARGS, "StartCapture", "sa{sv}", name, {})

    # -- filters ----------------------------------------------------------------

    def test_hostile_filters(self):
        for bpf in HOSTILE_FILTERS:
            with self.subTest(filter=bpf):
                # (InvalidArgs for control characters, refused before libpcap)
                for method in ("StartCapture", "EnableCapture"):
                    self.assertRefused((ERROR_INVALID_FILTER, ERROR_INVALID_ARGS), method, "sa{sv}", "lo",
                                       {"Filter": ("s", bpf)})

    def test_valid_filter_stays_one_argument(self):
        # A filter that compiles is handed to tcpdump after "--", whole.
        harness.start_capture("lo", {"Filter": ("s", "udp and not port 22")})
        pid = self.wait_running("lo")
        argv = harness.process_cmdline(pid)
        self.assertEqual(argv[-2:], ["--", "udp and not port 22"], argv)
        self.assertNotIn("-z", argv)
        harness.stop_capture("lo")
        self.assertNoTcpdump()

    # -- options ------------------------------------------------------------------

    def test_hostile_options(self):
        cases = [
            {"FileSize": ("u", 0)}, {"FileSize": ("u", 4294967295)}, {"FileCount": ("u", 4294967295)},
            {"SnapLength": ("u", 4294967295)}, {"BufferSize": ("u", 4294967295)}, {"RotateSeconds": ("u", 4294967295)},
            {"FileSize": ("s", "1; touch x")}, {"FileSize": ("t", 1)}, {"FileSize": ("i", -1)},
            {"Filter": ("as", ["-z", "/tmp/x"])}, {"Promiscuous": ("u", 1)},
            {"-z": ("s", "/bin/sh")}, {"ExecPostRotate": ("s", "/bin/touch x")}, {"TcpdumpPath": ("s", "/bin/sh")},
            {"TcpdumpUser": ("s", "root")}, {"CaptureDirectory": ("s", "/tmp")}, {"": ("s", "")},
            {"filter": ("s", "udp")},
        ]
        for options in cases:
            with self.subTest(options=options):
                self.assertRefused(ERROR_INVALID_ARGS, "StartCapture", "sa{sv}", "lo", options)
                self.assertRefused(ERROR_INVALID_ARGS, "EnableCapture", "sa{sv}", "lo", options)

    def test_wrong_signatures(self):
        # gdbus checks arguments against the introspection data: dbus-send does not.
        for args in (["string:lo"], ["string:lo", "string:-z"], ["string:lo", "dict:string:string:Filter,udp"],
                     ["string:lo", "int32:1"], []):
            with self.subTest(args=args):
                captures_before = list_captures()
                p = harness.run(["dbus-send", "--system", "--print-reply", f"--dest={BUS_NAME}", MANAGER_PATH,
                                 f"{MANAGER_IFACE}.StartCapture"] + args, check=False)
                self.assertNotEqual(p.returncode, 0, p.stdout)
                self.assertIn(ERROR_INVALID_ARGS, p.stderr)
                self.assertNoSideEffect(f"StartCapture{args}", captures_before)

    # -- upload targets -------------------------------------------------------------

    def test_hostile_upload_targets(self):
        for target in HOSTILE_UPLOADS:
            with self.subTest(upload=target[:40]):
                self.assertRefused((ERROR_INVALID_ARGS, ERROR_NO_SUCH_UPLOAD_TARGET), "StartCapture", "sa{sv}",
                                   "lo", {"Upload": ("s", target)})
                self.assertRefused((ERROR_INVALID_ARGS, ERROR_NO_SUCH_UPLOAD_TARGET), "EnableCapture", "sa{sv}",
                                   "lo", {"Upload": ("s", target)})

    # -- through capturectl -----------------------------------------------------------

    def test_capturectl_passes_nothing_hostile_on(self):
        captures_before = list_captures()
        for args in (["start", "--", "-zfoo"], ["start", "--filter=$(touch x)", "lo"],
                     ["start", "--filter=-z/tmp/x", "lo"], ["start", "--upload=../x", "lo"],
                     ["start", "--", "lo -z /bin/sh"], ["enable", "--filter=udp; touch x", "lo"]):
            with self.subTest(args=args):
                p = harness.run([CAPTURECTL, "--no-ask-password"] + args, check=False)
                self.assertNotEqual(p.returncode, 0, p.stdout)
                lines = p.stderr.strip().splitlines()
                self.assertEqual(len(lines), 1, p.stderr)
                self.assertTrue(lines[0].startswith("capturectl: "), lines[0])
                self.assertNoSideEffect("capturectl " + " ".join(args), captures_before)


# A pcap holding one 4-byte packet (44 bytes), then 15 bytes of junk: what a
# killed tcpdump leaves, and what a leftover's repair would cut.
LEFTOVER_PCAP = (struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1)
                 + struct.pack("<IIII", 1, 0, 4, 4) + b"\0\0\0\0" + b"fifteen junk by")


class SwapOnRead:
    """Holds the first read of `path` (a fanotify permission event, which
    needs CAP_SYS_ADMIN) until `path` has been replaced by a symbolic link
    to `target`: the race of a leftover swapped in the middle of its repair,
    made deterministic. Every later read is let through at once."""

    FAN_CLASS_CONTENT, FAN_CLOEXEC, FAN_MARK_ADD, FAN_ACCESS_PERM, FAN_ALLOW = 0x4, 0x1, 0x1, 0x20000, 0x1
    AT_FDCWD = -100
    EVENT = struct.Struct("IBBHQii")   # struct fanotify_event_metadata

    def __init__(self, path, target):
        self.path, self.target = path, target
        self.swapped = threading.Event()
        self.done = threading.Event()
        libc = ctypes.CDLL(None, use_errno=True)
        libc.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_uint64, ctypes.c_int, ctypes.c_char_p]
        self.fd = libc.fanotify_init(self.FAN_CLASS_CONTENT | self.FAN_CLOEXEC, os.O_RDONLY | os.O_LARGEFILE)
        if self.fd < 0:
            raise unittest.SkipTest(f"fanotify_init: {os.strerror(ctypes.get_errno())}")
        if libc.fanotify_mark(self.fd, self.FAN_MARK_ADD, self.FAN_ACCESS_PERM, self.AT_FDCWD, path.encode()) < 0:
            os.close(self.fd)
            raise OSError(ctypes.get_errno(), "fanotify_mark", path)
        self.thread = threading.Thread(target=self._answer, daemon=True)

    def _answer(self):
        while not self.done.is_set():
            if not select.select([self.fd], [], [], 0.05)[0]:
                continue
            data = os.read(self.fd, 4096)
            for offset in range(0, len(data), self.EVENT.size):
                _, _, _, _, _, event_fd, _ = self.EVENT.unpack_from(data, offset)
                if not self.swapped.is_set():
                    os.symlink(self.target, self.path + ".new")
                    os.rename(self.path + ".new", self.path)
                    self.swapped.set()
                os.write(self.fd, struct.pack("iI", event_fd, self.FAN_ALLOW))
                os.close(event_fd)

    def wait(self, timeout=10):
        if not self.swapped.wait(timeout):
            raise AssertionError(f"nothing read {self.path} within {timeout}s")

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()
        os.close(self.fd)   # what is still held is let through


class HostileLeftoverTest(harness.CapturedTestCase):
    """The capture directory belongs to the tcpdump user: what it leaves
    under a live name (issue 8, items 13, 14, 17) is finished only if it is
    a regular file of one link; anything else is described once, moved aside
    and never touched, however often the capture starts and stops."""

    start_daemon = False

    def setUp(self):
        super().setUp()
        self.directory = os.path.join(self.capture_dir, "lo")
        os.mkdir(self.directory, 0o755)

    def cycle(self, times=2):
        """Starts the daemon, then starts and stops lo `times` times, then
        restarts the daemon: every point where leftovers are looked for."""
        self.daemon.start()
        for _ in range(times):
            start_capture("lo")
            self.wait_running("lo")
            stop_capture("lo")
            wait_for_state("lo", "stopped")
        self.daemon.stop()
        self.daemon.start()
        self.assertDaemonAlive()

    def assertRefusedOnce(self, live, what):
        log = self.daemon.log()
        self.assertEqual(log.count(f"{live} {what}"), 1, log)
        self.assertNotIn("File descriptor in bad state", log)
        self.assertFalse(os.path.lexists(os.path.join(self.directory, live)))
        self.assertTrue(os.path.lexists(os.path.join(self.directory, ".refused" + live)))

    def test_leftover_swapped_for_a_symlink_mid_walk_changes_nothing_outside(self):
        # While the daemon's walk waits for the leftover's data (held by a
        # fanotify permission event), the name becomes a symbolic link to a
        # file of root's, as the tcpdump user could make it.
        victim = os.path.join(self.root, "shadow")
        with open(victim, "wb") as f:
            f.write(b"root:$y$j9T$hostile:19000:0:99999:7:::\n" * 4)
        os.chmod(victim, 0o600)
        with open(victim, "rb") as f:
            before = f.read()
        live = os.path.join(self.directory, ".live-lo-95.pcap0")
        with open(live, "wb") as f:
            f.write(LEFTOVER_PCAP)

        with SwapOnRead(live, victim) as swap:
            self.daemon.start()
            swap.wait()

        with open(victim, "rb") as f:
            self.assertEqual(f.read(), before, "root's file was cut")
        self.assertEqual(stat.S_IMODE(os.stat(victim).st_mode), 0o600, "root's file was chmodded")
        for name in os.listdir(self.directory):
            self.assertFalse(os.path.islink(os.path.join(self.directory, name)) and name.startswith("pcap-"), name)
        self.assertTrue(os.path.islink(os.path.join(self.directory, ".refused.live-lo-95.pcap0")))
        self.assertIn(".live-lo-95.pcap0 was swapped for another file while it was being finished", self.daemon.log())

    def test_hard_linked_leftover_is_refused_once(self):
        victim = os.path.join(self.root, "victim.txt")
        with open(victim, "wb") as f:
            f.write(LEFTOVER_PCAP)
        os.chmod(victim, 0o600)
        live = ".live-lo-9.pcap0"
        os.link(victim, os.path.join(self.directory, live))

        self.cycle()

        st = os.stat(victim)
        with open(victim, "rb") as f:
            self.assertEqual(f.read(), LEFTOVER_PCAP, "the hard-linked file was changed")
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600, "the hard-linked file was chmodded")
        listed = [path for path, *_ in list_files("lo")]
        self.assertFalse([p for p in listed if os.stat(p).st_ino == st.st_ino], listed)
        self.assertEqual(os.stat(os.path.join(self.directory, ".refused" + live)).st_ino, st.st_ino)
        self.assertRefusedOnce(live, "has 2 hard links")

    def test_leftovers_that_are_not_files_are_described_once(self):
        victim = os.path.join(self.root, "victim.txt")
        with open(victim, "wb") as f:
            f.write(LEFTOVER_PCAP)
        os.symlink(victim, os.path.join(self.directory, ".live-lo-91.pcap0"))
        os.symlink(os.path.join(self.root, "nowhere"), os.path.join(self.directory, ".live-lo-92.pcap0"))
        os.mkfifo(os.path.join(self.directory, ".live-lo-93.pcap0"))
        os.mkdir(os.path.join(self.directory, ".live-lo-94.pcap0"))

        self.cycle()

        with open(victim, "rb") as f:
            self.assertEqual(f.read(), LEFTOVER_PCAP, "the symbolic link's target was changed")
        self.assertFalse(os.path.lexists(os.path.join(self.root, "nowhere")))
        for live, what in ((".live-lo-91.pcap0", "is a symbolic link"), (".live-lo-92.pcap0", "is a symbolic link"),
                           (".live-lo-93.pcap0", "is a FIFO"), (".live-lo-94.pcap0", "is a directory")):
            with self.subTest(live=live):
                self.assertRefusedOnce(live, what)


if __name__ == "__main__":
    harness.main()
