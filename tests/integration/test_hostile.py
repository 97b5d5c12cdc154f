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

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (BUS_NAME, CAPTURECTL, ERROR_INVALID_ARGS, ERROR_INVALID_FILTER,  # noqa: E402
                     ERROR_NO_SUCH_CAPTURE, ERROR_NO_SUCH_INTERFACE, ERROR_NO_SUCH_UPLOAD_TARGET,
                     MANAGER_IFACE, MANAGER_PATH, list_captures)

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


if __name__ == "__main__":
    harness.main()
