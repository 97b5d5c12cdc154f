#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The daemon as its own system user (issue 11, SPEC §8): user captured,
group capture, CAP_NET_RAW as its only (ambient) capability, no new
privileges, tcpdump without -Z, as captured.service runs it. Without systemd
the harness does that with setpriv (harness.daemon_user_prefix()) and, before
each start, chowns the state and capture directories to captured:capture as
systemd does to StateDirectory= (harness.adopt()).

The accounts (bind-mounted copies of /etc/passwd and /etc/group): captured
(in group capture), and test_polkit's capuser (in group capture), otheruser
(not) and capadmin; polkitd runs with the project's action and rules.

Some existing tests run here again, unchanged, against the unprivileged
daemon: polkit, rotation and finished files, the lossless stop, hooks,
retention, the disk guard, uploads and secrets. The root-run
daemon keeps its -Z and its guardian (test_supervision); here: what an
empty TcpdumpUser= means for it."""

import os
import pwd
import shutil
import signal
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (CAPTURE_IFACE, DAEMON_GID, DAEMON_UID, capture_property, start_capture,  # noqa: E402
                     stop_capture, wait_for)
import capture_helpers  # noqa: E402
from capture_helpers import finished_files  # noqa: E402
import test_diskguard  # noqa: E402
import test_files  # noqa: E402
import test_hooks  # noqa: E402
import test_polkit  # noqa: E402
import test_retention  # noqa: E402
import test_stop  # noqa: E402
import test_upload  # noqa: E402

CAP_NET_RAW = 1 << 13
CAP_FIELDS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")


def setUpModule():
    for tool in (test_polkit.POLKITD, "setpriv", "gdbus"):
        if not shutil.which(tool):
            raise harness.unittest.SkipTest(f"{tool} is not installed")
    test_polkit._setup_dir = os.path.join(harness._scratch, "polkit-setup")
    os.mkdir(test_polkit._setup_dir, 0o755)
    assert test_polkit.CAPTURE_GID == DAEMON_GID, "one group capture for test_polkit and the daemon"
    test_polkit._add_users()        # capuser (group capture), otheruser, capadmin
    harness.add_daemon_accounts()   # captured, also in group capture
    test_polkit._install_polkit_files()
    test_polkit.start_polkitd()


def tearDownModule():
    test_polkit.stop_polkitd()


def capabilities(pid):
    status = harness._proc_status(pid)
    return {k: int(status[k], 16) for k in CAP_FIELDS}


def children(pid):
    """The live child processes of pid: {pid: name}."""
    out = {}
    for entry in os.listdir("/proc"):
        status = harness._proc_status(entry) if entry.isdigit() else None
        if status and status.get("PPid") == str(pid) and not status["State"].startswith(("Z", "X")):
            out[int(entry)] = status["Name"]
    return out


class Unprivileged:
    """Mixin: the daemon of a CapturedTestCase runs as captured.service would."""
    daemon_prefix = harness.daemon_user_prefix()


class UnprivilegedDaemonTest(Unprivileged, harness.CapturedTestCase):

    def assertOnlyNetRaw(self, pid, what):
        caps = capabilities(pid)
        for field, mask in caps.items():
            self.assertEqual(mask & ~CAP_NET_RAW, 0, f"{what} (PID {pid}) has {field}={mask:#x}")
        return caps

    def test_captures_on_lo_and_a_veth_with_net_raw_only(self):
        harness.create_veth("vpriv0", "vpriv1")
        self.addCleanup(harness.delete_link, "vpriv0")
        status = harness._proc_status(self.daemon.pid)
        self.assertEqual(status["Uid"].split(), [str(DAEMON_UID)] * 4)
        self.assertEqual(status["Gid"].split(), [str(DAEMON_GID)] * 4)
        self.assertEqual(status["NoNewPrivs"], "1")
        self.assertEqual(self.assertOnlyNetRaw(self.daemon.pid, "the daemon")["CapAmb"], CAP_NET_RAW)
        # PR_SET_DUMPABLE 0: its /proc files belong to root, tcpdump's (which
        # the daemon reads) to captured.
        self.assertEqual(os.stat(f"/proc/{self.daemon.pid}/status").st_uid, 0, "the daemon is dumpable")
        self.assertIn("TcpdumpUser=tcpdump has no effect", self.daemon.log())

        start_capture("lo")
        start_capture("vpriv0", {"Promiscuous": ("b", True), "Filter": ("s", "ether proto 0x88b5")})
        pids = [self.wait_running("lo"), self.wait_running("vpriv0")]
        for pid in pids:
            self.assertEqual(harness.process_uid(pid), DAEMON_UID)
            self.assertNotIn("-Z", harness.process_cmdline(pid))
            self.assertOnlyNetRaw(pid, "tcpdump")
            self.assertEqual(os.stat(f"/proc/{pid}/fd").st_uid, DAEMON_UID)
        # No guardian: nothing but the tcpdumps is the daemon's.
        self.assertEqual(children(self.daemon.pid), {pid: "tcpdump" for pid in pids})

        harness.send_frames("vpriv1", count=30)
        harness.send_udp(b"unprivileged", count=30)
        wait_for(lambda: capture_property("vpriv0", "PacketsCaptured") >= 30, 20, "30 frames on vpriv0")
        wait_for(lambda: capture_property("lo", "PacketsCaptured") >= 30, 20, "30 datagrams on lo")
        stop_capture("lo")
        stop_capture("vpriv0")
        self.assertNoTcpdump()

        for interface in ("lo", "vpriv0"):
            files = finished_files(self.capture_dir, interface)
            self.assertTrue(files, f"no finished file of {interface}")
            for path in files:
                st = os.stat(path)
                self.assertEqual((st.st_uid, st.st_gid), (DAEMON_UID, DAEMON_GID), path)
                self.assertEqual(stat.S_IMODE(st.st_mode), 0o640, path)
                self.assertIsNone(harness.capinfos_check(path))
            self.assertGreaterEqual(capture_helpers.capinfos_packets(*files) if len(files) == 1 else
                                    sum(capture_helpers.capinfos_packets(*files).values()), 30)
        self.assertDaemonAlive()

    def test_killed_daemon_takes_tcpdump_with_it(self):
        """No setuid happens, so PR_SET_PDEATHSIG survives: no guardian is
        needed (test_supervision keeps it honest for root and -Z)."""
        harness.create_veth("vpriv0", "vpriv1")
        self.addCleanup(harness.delete_link, "vpriv0")
        start_capture("lo")
        start_capture("vpriv0")
        pids = [self.wait_running("lo"), self.wait_running("vpriv0")]
        self.assertEqual(set(children(self.daemon.pid).values()), {"tcpdump"})
        self.daemon.signal(signal.SIGKILL)
        self.daemon.wait(5)
        try:
            wait_for(lambda: not set(pids) & set(harness.tcpdump_processes()), 5, "tcpdump to die with the daemon")
        except AssertionError:
            self.fail(f"tcpdump survived kill -9 of the unprivileged daemon: {harness.tcpdump_processes()}")

    def test_hooks_run_without_any_capability(self):
        self.daemon.stop()
        hook_out = os.path.join(self.state_dir, "hook-status")
        self.write_config({"Defaults": {"ExecPostRotate": f"/bin/sh -c 'cat /proc/$$/status > {hook_out}'"}})
        os.chmod(os.path.join(self.config_dir, "captured.conf"), 0o644)
        self.daemon.start()
        start_capture("lo")
        self.wait_running("lo")
        harness.send_udp(b"hook", count=5)
        stop_capture("lo")
        wait_for(lambda: os.path.exists(hook_out) and "CapAmb" in open(hook_out).read(), 15, "the hook to run")
        with open(hook_out) as f:
            fields = dict(line.split(":", 1) for line in f.read().splitlines() if ":" in line)
        self.assertEqual(fields["Uid"].split(), [str(DAEMON_UID)] * 4)
        for field in ("CapAmb", "CapPrm", "CapEff", "CapInh"):
            self.assertEqual(int(fields[field], 16), 0, f"the hook has {field}={fields[field].strip()}")
        self.assertEqual(int(fields["NoNewPrivs"]), 1)

    def test_inotify_overflow_leaves_the_live_file_alone(self):
        """On IN_Q_OVERFLOW the daemon rescans and finishes what tcpdump no
        longer holds, which it learns from /proc/PID/fd: it must be able to
        read that (same uid), or it would finish the live file."""
        start_capture("lo", {"FileSize": ("u", 100)})
        pid = self.wait_running("lo")
        harness.send_udp(b"before-overflow", count=20)
        live = wait_for(lambda: capture_property("lo", "CurrentFile"), 10, "CurrentFile")
        wait_for(lambda: capture_property("lo", "PacketsCaptured") >= 20, 10, "20 packets")

        # More events than the inotify queue holds (fs.inotify.max_queued_events,
        # 16384 by default) while the daemon cannot read them.
        with open("/proc/sys/fs/inotify/max_queued_events") as f:
            queue_length = int(f.read())
        junk = os.path.join(self.capture_dir, "lo")
        self.daemon.signal(signal.SIGSTOP)
        try:
            for i in range(queue_length // 2 + 100):   # IN_CREATE and IN_CLOSE_WRITE each
                open(os.path.join(junk, f"junk-{i}"), "w").close()
        finally:
            self.daemon.signal(signal.SIGCONT)
        wait_for(lambda: "inotify queue overflowed" in self.daemon.log(), 15, "the overflow to be noticed")
        harness.send_udp(b"after-overflow", count=20)
        wait_for(lambda: capture_property("lo", "PacketsCaptured") >= 40, 10, "40 packets")

        self.assertTrue(os.path.exists(live), f"the live file {live} was taken away from tcpdump")
        self.assertEqual(finished_files(self.capture_dir, "lo"), [], "the live file was finished")
        self.assertEqual(capture_property("lo", "FilesCompleted"), 0)
        self.assertEqual(capture_property("lo", "CurrentFile"), live)
        self.assertEqual(capture_property("lo", "MainPID"), pid)
        stop_capture("lo")
        (finished,) = finished_files(self.capture_dir, "lo")
        self.assertGreaterEqual(capture_helpers.capinfos_packets(finished), 40,
                                "packets written after the overflow went missing")

    def test_outsiders_cannot_change_anything(self):
        """polkit answers a non-root daemon about its callers (the action's
        owner is unix-user:captured): group capture may, others may not."""
        harness.create_veth("vpriv0", "vpriv1")
        self.addCleanup(harness.delete_link, "vpriv0")
        path = start_capture("lo")
        pid = self.wait_running("lo")
        for method, args in (("StopCapture", ["lo"]), ("RestartCapture", ["lo"]), ("DisableCapture", ["lo"]),
                             ("EnableCapture", ["lo", "@a{sv} {}"]), ("StartCapture", ["vpriv0", "@a{sv} {}"])):
            with self.subTest(method=method):
                error, message = test_polkit.gdbus_as(test_polkit.OTHERUSER, method, *args)
                self.assertIn(error, (test_polkit.ERROR_INTERACTIVE, test_polkit.ERROR_ACCESS_DENIED), message)
        for method in ("Stop", "Restart"):
            error, message = test_polkit.gdbus_as(test_polkit.OTHERUSER, method, path=path, interface=CAPTURE_IFACE)
            self.assertIn(error, (test_polkit.ERROR_INTERACTIVE, test_polkit.ERROR_ACCESS_DENIED), message)
        p = test_polkit.capturectl_as(test_polkit.OTHERUSER, "--no-ask-password", "stop", "lo")
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(harness.capture_property("lo", "MainPID"), pid)
        self.assertFalse(harness.capture_property("lo", "Enabled"))
        self.assertEqual(harness.tcpdump_processes(), [pid])

        # A member of group capture is let in.
        p = test_polkit.capturectl_as(test_polkit.CAPUSER, "--no-ask-password", "restart", "lo")
        self.assertEqual(p.returncode, 0, p.stderr + self.daemon.log()[-2000:])
        wait_for(lambda: capture_property("lo", "MainPID") not in (0, pid), 10, "a new tcpdump")
        self.wait_running("lo")
        p = test_polkit.capturectl_as(test_polkit.CAPUSER, "--no-ask-password", "stop", "lo")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNoTcpdump()

    def test_capture_group_other_than_its_own_is_refused_clearly(self):
        """Not root, the daemon cannot chown to a group it is not in (and
        the unit's filter forbids chown() anyway): Group= of the unit it is."""
        self.daemon.stop()
        self.write_config({"Daemon": {"CaptureGroup": "adm"}})
        self.daemon.start()
        with self.assertRaises(harness.BusError):
            start_capture("lo")
        self.assertIn("set Group= in the unit instead of CaptureGroup=", self.daemon.log())
        self.assertIn("Operation not permitted", capture_property("lo", "LastError"))
        self.assertNoTcpdump()

    def test_bus_name_is_for_captured_and_root_only(self):
        self.daemon.stop()
        error, output = test_polkit.gdbus_as(harness.DAEMON_USER, "RequestName", harness.BUS_NAME, "uint32 0",
                                             dest="org.freedesktop.DBus", path="/org/freedesktop/DBus",
                                             interface="org.freedesktop.DBus")
        self.assertIsNone(error, output)
        self.assertEqual(output, "(uint32 1,)")   # primary owner (until gdbus exits)
        for user in (test_polkit.CAPUSER, test_polkit.OTHERUSER):
            error, message = test_polkit.gdbus_as(user, "RequestName", harness.BUS_NAME, "uint32 0",
                                                  dest="org.freedesktop.DBus", path="/org/freedesktop/DBus",
                                                  interface="org.freedesktop.DBus")
            self.assertEqual(error, test_polkit.ERROR_ACCESS_DENIED, message)

    def test_readers_of_group_capture_read_finished_files(self):
        start_capture("lo")
        self.wait_running("lo")
        harness.send_udp(b"readers", count=5)
        stop_capture("lo")
        (path,) = finished_files(self.capture_dir, "lo")
        for user, readable in ((test_polkit.CAPUSER, True), (test_polkit.OTHERUSER, False)):
            with self.subTest(user=user):
                p = test_polkit.run_as(user, ["head", "-c", "4", path])
                self.assertEqual(p.returncode == 0, readable, p.stderr)


class UnprivilegedPolkitTest(Unprivileged, test_polkit.PolkitTest):
    """Every polkit test again, against the unprivileged daemon: polkitd
    answers it (the action's owner), a password prompt works, and without
    polkitd nobody but root gets in."""


# The re-runs below leave out (= None) the slower tests that add nothing
# the daemon's user changes; test_files, test_stop and the others still run
# them against the root daemon.

class UnprivilegedFilesTest(Unprivileged, test_files.FilesTest):
    """Rotation, finishing and repairing tcpdump's files: rename, truncate
    and chmod of files that are now the daemon's own."""
    test_stop_and_start_never_touch_finished_files = None
    test_file_left_by_a_killed_daemon_is_finished = None   # AdoptionTest has one


class UnprivilegedLosslessStop(Unprivileged, test_stop.LosslessStop):
    """Signalling tcpdump, the same user: no CAP_KILL."""
    test_frames_sent_before_stop_are_all_in_the_files = None


class UnprivilegedHooks(Unprivileged):
    """The hooks append to a log that must be the daemon user's."""

    def adopt_directories(self):
        super().adopt_directories()
        open(self.hook_log, "a").close()
        os.chown(self.hook_log, DAEMON_UID, DAEMON_GID)


class UnprivilegedHookTest(UnprivilegedHooks, test_hooks.HookTest):
    pass


class UnprivilegedSlowHookTest(UnprivilegedHooks, test_hooks.SlowHookTest):
    pass


class UnprivilegedUntrustedConfigHookTest(UnprivilegedHooks, test_hooks.UntrustedConfigHookTest):
    pass


class UnprivilegedRetentionTest(Unprivileged, test_retention.RetentionTest):
    test_retention_applies_to_files_of_earlier_runs = None


class UnprivilegedDiskGuardTest(Unprivileged, test_diskguard.DiskGuardTest):
    test_full_disk_is_reported = None


class UnprivilegedUploads(Unprivileged):
    """Secrets readable by user captured: the token file is the daemon
    user's, 0600 (captured.conf(5)); upload.d/ holds no secret here."""

    def write_target(self, name, options, token_file=True):
        path = super().write_target(name, options, token_file)
        os.chmod(path, 0o644)
        if token_file:
            os.chown(os.path.join(self.config_dir, f"{name}.token"), DAEMON_UID, DAEMON_GID)
        return path


class UnprivilegedUploadTest(UnprivilegedUploads, test_upload.UploadTestCase):

    def test_finished_files_arrive_identical(self):
        test_upload.UploadTest.test_finished_files_arrive_identical(self)

    def test_credential_as_the_daemon_user(self):
        """LoadCredential=upload-NAME: systemd hands the service a directory
        of its own user's (emulated here); the token file may be wrong."""
        credentials = os.path.join(self.root, "credentials")
        os.mkdir(credentials, 0o500)
        with open(os.path.join(credentials, f"upload-{test_upload.TARGET}"), "w") as f:
            f.write(self.token)
        os.chmod(os.path.join(credentials, f"upload-{test_upload.TARGET}"), 0o400)
        os.chown(os.path.join(credentials, f"upload-{test_upload.TARGET}"), DAEMON_UID, DAEMON_GID)
        os.chown(credentials, DAEMON_UID, DAEMON_GID)
        self.daemon.stop()
        with open(os.path.join(self.config_dir, f"{test_upload.TARGET}.token"), "w") as f:
            f.write("wrong-token\n")
        os.environ["CREDENTIALS_DIRECTORY"] = credentials
        try:
            self.daemon.start()
        finally:
            del os.environ["CREDENTIALS_DIRECTORY"]
        path = self.capture_one_file()
        self.wait_uploaded(path)
        self.assertTrue(self.upload_finished(path)[0][3], "the first attempt did not succeed with the credential")
        self.assertNotIn(self.token, self.daemon.log())


class UnprivilegedSecretTest(UnprivilegedUploads, test_upload.SecretTest):
    # A root-only credentials directory; test_credential_as_the_daemon_user
    # is this test for the daemon's user.
    test_credential_wins = None


class AdoptionTest(UnprivilegedUploads, test_upload.UploadTestCase):
    """A state directory, capture files and an uploads queue left by the
    root-run version are the unprivileged daemon's after systemd chowned
    StateDirectory= (harness.adopt())."""

    server_starts = False
    daemon_prefix = ()      # the first run: root, tcpdump -Z tcpdump

    def test_root_state_is_adopted(self):
        path = self.capture_one_file()
        wait_for(lambda: self.upload_finished(path), 15, "a failed attempt")
        self.daemon.stop()
        self.assertEqual(os.stat(path).st_uid, pwd.getpwnam("tcpdump").pw_uid)
        self.assertEqual(os.stat(os.path.join(self.state_dir, "uploads.json")).st_uid, 0)
        before = capture_helpers.file_record(path)

        # As captured.service, after systemd chowned the tree.
        self.daemon.prefix = harness.daemon_user_prefix()
        self.daemon.before_start = self.adopt_directories
        self.server.start()
        self.daemon.start()
        self.assertEqual(harness.process_uid(self.daemon.pid), DAEMON_UID)
        url = self.wait_uploaded(path)
        self.assert_arrived_identical(path)
        self.assertEqual(self.list_files()[path], ("done", url))
        self.assertEqual(capture_helpers.file_record(path), before, "the adopted file changed")

        # The capture directory tcpdump -Z once wrote to is the new tcpdump's.
        newer = self.capture_one_file()
        self.assertEqual(harness.process_uid(self.daemon.pid), DAEMON_UID)
        self.wait_uploaded(newer)
        self.assertEqual(os.stat(newer).st_uid, DAEMON_UID)
        self.assertEqual(sorted(self.list_files()), sorted([path, newer]))


    def test_captures_of_a_crashed_root_daemon_resume(self):
        """running/ notes and a live file that tcpdump -Z left (owned by user
        tcpdump): the unprivileged daemon finishes the file (truncate,
        chmod, rename: now its own) and resumes the capture."""
        start_capture("lo", {"FileCount": ("u", 7)})
        first = self.wait_running("lo")
        harness.send_udp(b"before-the-crash" * 20, count=300)
        self.daemon.signal(signal.SIGKILL)
        self.daemon.wait(10)
        self.assertNoTcpdump()
        (left,) = capture_helpers.live_files(self.capture_dir, "lo")
        self.assertEqual(os.stat(left).st_uid, pwd.getpwnam("tcpdump").pw_uid)

        self.daemon.prefix = harness.daemon_user_prefix()
        self.daemon.before_start = self.adopt_directories
        self.daemon.start()
        second = self.wait_running("lo")
        self.assertNotEqual(first, second)
        self.assertEqual(harness.process_uid(second), DAEMON_UID)
        self.assertEqual(capture_property("lo", "FileCount"), 7)
        (finished,) = finished_files(self.capture_dir, "lo")
        self.assertIsNone(harness.capinfos_check(finished))
        self.assertEqual(stat.S_IMODE(os.stat(finished).st_mode), 0o640)
        for live in capture_helpers.live_files(self.capture_dir, "lo"):   # the new tcpdump's
            self.assertEqual(os.stat(live).st_uid, DAEMON_UID, live)


class RootDaemonTest(harness.CapturedTestCase):
    """Run by hand as root, the daemon keeps -Z (and its guardian)."""

    start_daemon = False

    def test_tcpdump_user_is_honoured(self):
        self.write_config({"Daemon": {"TcpdumpUser": "tcpdump"}})
        self.daemon.start()
        start_capture("lo")
        pid = self.wait_running("lo")
        self.assertEqual(harness.process_uid(pid), pwd.getpwnam("tcpdump").pw_uid)
        self.assertIn("captured-guard", children(self.daemon.pid).values())

    def test_empty_tcpdump_user_keeps_tcpdump_root(self):
        """captured.conf(5): an empty TcpdumpUser= keeps tcpdump root, though
        Debian's tcpdump drops to user tcpdump unless told -Z root."""
        self.write_config({"Daemon": {"TcpdumpUser": ""}})
        self.daemon.start()
        start_capture("lo")
        pid = self.wait_running("lo")
        self.assertEqual(harness.process_uid(pid), 0, " ".join(harness.process_cmdline(pid)))
        harness.send_udp(b"as-root", count=5)
        stop_capture("lo")
        self.assertTrue(finished_files(self.capture_dir, "lo"))


if __name__ == "__main__":
    harness.main()
