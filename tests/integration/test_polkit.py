#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Non-root control through real polkitd (SPEC §2, §3, §8, §10).

Inside the harness's namespaces this adds: copies of /etc/passwd, /etc/group
and /etc/shadow holding the test users (bind-mounted over the originals), a
tmpfs over /usr/share/polkit-1/actions holding polkit's own actions plus
policy/io.captured.policy, a tmpfs over /etc/polkit-1/rules.d holding
policy/50-captured.rules, and a polkitd started after those mounts.

Users: capuser (in group "capture": granted by the rules file), otheruser
(no grant: polkit's default auth_admin applies) and capadmin (in group sudo,
with a password: the administrator Debian's polkit asks for)."""

import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import termios
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from capture_helpers import Traffic, list_files  # noqa: E402
from concurrent_helpers import GatedTestCase  # noqa: E402
from harness import (BUS_NAME, CAPTURE_IFACE, CAPTURECTL, MANAGER_IFACE, MANAGER_PATH,  # noqa: E402
                     list_captures, wait_for)

POLKITD = "/usr/lib/polkit-1/polkitd"
POLKIT_NAME = "org.freedesktop.PolicyKit1"
POLKIT_ACTIONS = "/usr/share/polkit-1/actions"
POLKIT_RULES = "/etc/polkit-1/rules.d"
DBUS_SYSTEM_SERVICES = "/usr/share/dbus-1/system-services"
POLICY_DIR = os.path.join(harness.SOURCE_ROOT, "policy")

ERROR_ACCESS_DENIED = "org.freedesktop.DBus.Error.AccessDenied"
ERROR_INTERACTIVE = "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"

CAPUSER, OTHERUSER, CAPADMIN = "capuser", "otheruser", "capadmin"
CAPADMIN_PASSWORD = "capadmin-secret-1"
USERS = {CAPUSER: 4101, OTHERUSER: 4102, CAPADMIN: 4103}
CAPTURE_GID = 4110

# An admin's rule before ours, on the details the daemon passes: capuser
# may not enable captures, nor touch interface "vdeny0".
TEST_RULES_NAME = "10-captured-test.rules"
TEST_RULES = """
polkit.addRule(function(action, subject) {
        if (action.id == "io.captured.manage" && subject.user == "%s" &&
            (action.lookup("verb") == "enable" || action.lookup("interface") == "vdeny0")) {
                return polkit.Result.NO;
        }
});
""" % CAPUSER

_polkitd = None
_setup_dir = None


# ---------------------------------------------------------------------------
# Users, polkit's files and polkitd


def _password_hash(password):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))


def _bind_copy(original, text):
    copy = os.path.join(_setup_dir, os.path.basename(original))
    with open(copy, "w") as f:
        f.write(text)
    os.chmod(copy, os.stat(original).st_mode & 0o7777)
    os.chown(copy, os.stat(original).st_uid, os.stat(original).st_gid)
    harness.run(["mount", "--bind", copy, original])


def _add_users():
    with open("/etc/passwd") as f:
        passwd = f.read()
    with open("/etc/group") as f:
        group = f.read().splitlines()
    with open("/etc/shadow") as f:
        shadow = f.read()

    for user, uid in USERS.items():
        passwd += f"{user}:x:{uid}:{uid}:captured test user:/nonexistent:/usr/sbin/nologin\n"
        group.append(f"{user}:x:{uid}:")
        password = _password_hash(CAPADMIN_PASSWORD) if user == CAPADMIN else "!"
        shadow += f"{user}:{password}:19000:0:99999:7:::\n"
    group.append(f"capture:x:{CAPTURE_GID}:{CAPUSER}")
    for i, line in enumerate(group):
        if line.startswith("sudo:"):
            members = line.split(":")[3]
            group[i] = line + ("," if members else "") + CAPADMIN

    _bind_copy("/etc/passwd", passwd)
    _bind_copy("/etc/group", "\n".join(group) + "\n")
    _bind_copy("/etc/shadow", shadow)


def _install_polkit_files():
    # Actions: polkit's own and ours, on a tmpfs over the directory.
    staged = os.path.join(_setup_dir, "actions")
    shutil.copytree(POLKIT_ACTIONS, staged)
    shutil.copy(os.path.join(POLICY_DIR, "io.captured.policy"), staged)
    harness.run(["mount", "-t", "tmpfs", "-o", "mode=0755,nosuid,nodev", "tmpfs", POLKIT_ACTIONS])
    for name in os.listdir(staged):
        shutil.copy(os.path.join(staged, name), POLKIT_ACTIONS)

    # Rules: ours alone in /etc/polkit-1/rules.d (polkitd also reads the
    # distribution's in /usr/share/polkit-1/rules.d, among them the admin rule).
    harness.run(["mount", "-t", "tmpfs", "-o", "mode=0700,nosuid,nodev", "tmpfs", POLKIT_RULES])
    shutil.copy(os.path.join(POLICY_DIR, "50-captured.rules"), POLKIT_RULES)
    with open(os.path.join(POLKIT_RULES, TEST_RULES_NAME), "w") as f:
        f.write(TEST_RULES)
    for name in os.listdir(POLKIT_RULES):
        os.chmod(os.path.join(POLKIT_RULES, name), 0o644)
    polkitd_user = harness.run(["id", "-u", "polkitd"], check=False).stdout.strip()
    if polkitd_user:
        os.chown(POLKIT_RULES, int(polkitd_user), 0)


def start_polkitd():
    global _polkitd
    _polkitd = subprocess.Popen([POLKITD, "--no-debug"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=open(os.path.join(_setup_dir, "polkitd.log"), "a"))
    harness._tracked_children.add(_polkitd.pid)
    wait_for(lambda: harness.name_has_owner(POLKIT_NAME) or _polkitd.poll() is not None, 15,
             "polkitd to own " + POLKIT_NAME)
    if _polkitd.poll() is not None:
        raise RuntimeError(f"polkitd exited {_polkitd.returncode}: {polkitd_log()}")


def stop_polkitd():
    if _polkitd and _polkitd.poll() is None:
        _polkitd.terminate()
        try:
            _polkitd.wait(10)
        except subprocess.TimeoutExpired:
            _polkitd.kill()
            _polkitd.wait()
    wait_for(lambda: not harness.name_has_owner(POLKIT_NAME), 10, POLKIT_NAME + " to be released")


def polkitd_log():
    try:
        with open(os.path.join(_setup_dir, "polkitd.log"), errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def setUpModule():
    global _setup_dir
    for tool in (POLKITD, "setpriv", "gdbus"):
        if not shutil.which(tool):
            raise harness.unittest.SkipTest(f"{tool} is not installed")
    _setup_dir = os.path.join(harness._scratch, "polkit-setup")
    os.mkdir(_setup_dir, 0o755)
    _add_users()
    _install_polkit_files()
    start_polkitd()


def tearDownModule():
    stop_polkitd()


# ---------------------------------------------------------------------------
# Acting as a user


def user_env():
    return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/", "LC_ALL": "C.UTF-8",
            "DBUS_SYSTEM_BUS_ADDRESS": harness.SYSTEM_BUS_ADDRESS, "NO_COLOR": "1"}


def as_user(user, argv):
    return ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--"] + list(argv)


def run_as(user, argv, **kwargs):
    return harness.run(as_user(user, argv), check=False, env=user_env(), **kwargs)


def capturectl_as(user, *args):
    return run_as(user, [CAPTURECTL] + list(args))


def gdbus_as(user, method, *args, interactive=False, path=MANAGER_PATH, interface=MANAGER_IFACE,
             dest=BUS_NAME):
    """Calls method as user with gdbus; returns (error name or None, output)."""
    argv = ["gdbus", "call", "--system", "--dest", dest, "--object-path", path,
            "--method", f"{interface}.{method}", "--timeout", "30"]
    if interactive:
        argv.append("--interactive")
    if args:
        argv.append("--")
    argv += list(args)
    p = run_as(user, argv)
    if p.returncode == 0:
        return None, p.stdout.strip()
    m = re.search(r"GDBus\.Error:([A-Za-z0-9_.]+): (.*)", p.stderr)
    return (m.group(1) if m else "(no error name)"), (m.group(2) if m else p.stderr.strip())


def busctl_as(user, *args):
    return run_as(user, ["busctl", "--system"] + list(args))


# ---------------------------------------------------------------------------
# The tests


class PolkitTest(harness.CapturedTestCase):

    def assertNothingStarted(self, captures_before):
        self.assertNothingSpawned("a refused call")
        self.assertEqual(harness.tcpdump_processes(), [])
        self.assertEqual(list_captures(), captures_before)

    def assertOneLineRefusal(self, p, what):
        self.assertNotEqual(p.returncode, 0, f"{what} succeeded: {p.stdout}")
        lines = p.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, f"{what}: not one line on stderr: {p.stderr!r}")
        self.assertTrue(lines[0].startswith("capturectl: Access denied"), f"{what}: {lines[0]!r}")

    # -- a member of group capture ------------------------------------------

    def test_capture_group_member_controls_captures_with_capturectl(self):
        p = capturectl_as(CAPUSER, "--no-ask-password", "start", "lo")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.wait_running("lo")
        p = capturectl_as(CAPUSER, "--no-ask-password", "restart", "lo")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.wait_running("lo")
        p = capturectl_as(CAPUSER, "--no-ask-password", "stop", "lo")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNoTcpdump()
        p = capturectl_as(CAPUSER, "--no-ask-password", "disable", "lo")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertDaemonAlive()

    def test_rules_see_interface_and_verb(self):
        """The daemon passes the details "interface" and "verb": an admin's
        rule that says no to some of them is obeyed (AccessDenied)."""
        harness.create_veth("vdeny0", "vdeny1")
        self.addCleanup(harness.delete_link, "vdeny0")
        captures_before = list_captures()
        error, message = gdbus_as(CAPUSER, "EnableCapture", "lo", "@a{sv} {}")
        self.assertEqual(error, ERROR_ACCESS_DENIED, message)
        error, message = gdbus_as(CAPUSER, "StartCapture", "vdeny0", "@a{sv} {}")
        self.assertEqual(error, ERROR_ACCESS_DENIED, message)
        p = capturectl_as(CAPUSER, "start", "vdeny0")
        self.assertOneLineRefusal(p, "capturectl start vdeny0")
        self.assertNothingStarted(captures_before)
        self.assertFalse(os.path.exists(os.path.join(self.capture_dir, "vdeny0")))
        # The same user, another interface and verb: granted.
        error, message = gdbus_as(CAPUSER, "StartCapture", "lo", "@a{sv} {}")
        self.assertIsNone(error, message)
        self.wait_running("lo")

    def test_capture_group_member_controls_captures_on_the_raw_bus(self):
        p = busctl_as(CAPUSER, "call", BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "StartCapture", "sa{sv}", "lo",
                      "1", "FileCount", "u", "5")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.wait_running("lo")
        self.assertEqual(harness.capture_property("lo", "FileCount"), 5)
        error, output = gdbus_as(CAPUSER, "StopCapture", "lo")
        self.assertIsNone(error, output)
        self.assertNoTcpdump()

    # -- a user without a grant ---------------------------------------------

    def test_other_user_is_refused_by_capturectl(self):
        captures_before = list_captures()
        for args in (["start", "lo"], ["start", "--filter=udp", "lo"], ["enable", "--now", "lo"]):
            with self.subTest(args=args):
                p = capturectl_as(OTHERUSER, "--no-ask-password", *args)
                self.assertOneLineRefusal(p, "capturectl " + " ".join(args))
                self.assertNothingStarted(captures_before)

    def test_other_user_is_refused_on_the_raw_bus(self):
        captures_before = list_captures()
        # polkit's default for the action is auth_admin: a challenge that an
        # agent could take (with an administrator's password). With no agent
        # for the caller, polkit answers "challenge" whether or not the call
        # allows interaction, and the daemon says so, as systemd does.
        for interactive in (False, True):
            with self.subTest(interactive=interactive):
                error, message = gdbus_as(OTHERUSER, "StartCapture", "lo", "@a{sv} {}", interactive=interactive)
                self.assertEqual(error, ERROR_INTERACTIVE, message)
                self.assertNothingStarted(captures_before)
        p = busctl_as(OTHERUSER, "--allow-interactive-authorization=yes", "call", BUS_NAME, MANAGER_PATH,
                      MANAGER_IFACE, "StartCapture", "sa{sv}", "lo", "0")
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertNothingStarted(captures_before)

    def test_other_user_cannot_stop_or_change_a_running_capture(self):
        path = harness.start_capture("lo")
        pid = self.wait_running("lo")
        for method, args in (("StopCapture", ["lo"]), ("RestartCapture", ["lo"]), ("DisableCapture", ["lo"]),
                             ("EnableCapture", ["lo", "@a{sv} {}"])):
            with self.subTest(method=method):
                error, message = gdbus_as(OTHERUSER, method, *args)
                self.assertIn(error, (ERROR_INTERACTIVE, ERROR_ACCESS_DENIED), message)
        for method in ("Stop", "Restart"):
            with self.subTest(method=method):
                error, message = gdbus_as(OTHERUSER, method, path=path, interface=CAPTURE_IFACE)
                self.assertIn(error, (ERROR_INTERACTIVE, ERROR_ACCESS_DENIED), message)
        self.assertEqual(harness.capture_property("lo", "MainPID"), pid)
        self.assertFalse(harness.capture_property("lo", "Enabled"))
        self.assertEqual(harness.tcpdump_processes(), [pid])

    def test_upload_needs_the_grant(self):
        """UploadFile (capturectl upload, issue 13) is polkit-checked with the
        verb "upload": a user without a grant is refused and nothing is
        queued; a member of group capture may."""
        os.makedirs(os.path.join(self.config_dir, "upload.d"), exist_ok=True)
        with open(os.path.join(self.config_dir, "upload.d", "t.conf"), "w") as f:
            f.write("[Upload]\nType=http\nURL=http://127.0.0.1:9\n")
        reloads = self.daemon.log().count("Configuration reloaded.")
        self.daemon.signal(signal.SIGHUP)
        harness.wait_for(lambda: self.daemon.log().count("Configuration reloaded.") > reloads, 10, "the reload")
        harness.start_capture("lo", {"Filter": ("s", "udp")})
        self.wait_running("lo")
        with Traffic():
            harness.wait_for(lambda: harness.capture_property("lo", "PacketsCaptured") > 0, 20, "packets")
        harness.stop_capture("lo")
        (path, *_), = list_files("lo")
        name = os.path.basename(path)

        p = capturectl_as(OTHERUSER, "--no-ask-password", "upload", "lo", name, "--target=t")
        self.assertOneLineRefusal(p, "capturectl upload")
        error, message = gdbus_as(OTHERUSER, "UploadFile", "lo", name, "t")
        self.assertIn(error, (ERROR_INTERACTIVE, ERROR_ACCESS_DENIED), message)
        self.assertNotIn("queued again for upload", self.daemon.log())
        self.assertEqual([f[3] for f in list_files("lo")], ["none"])

        p = capturectl_as(CAPUSER, "--no-ask-password", "upload", "lo", name, "--target=t")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("queued again for upload to t", self.daemon.log())

    def test_everyone_may_read(self):
        path = harness.start_capture("lo")
        self.wait_running("lo")
        for user in (CAPUSER, OTHERUSER):
            with self.subTest(user=user):
                p = capturectl_as(user, "status", "lo")
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertIn("running", p.stdout)
                p = capturectl_as(user, "list")
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertIn("lo", p.stdout)
                p = capturectl_as(user, "files", "lo")
                self.assertEqual(p.returncode, 0, p.stderr)
                p = busctl_as(user, "get-property", BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "Version")
                self.assertEqual(p.returncode, 0, p.stderr)
                p = busctl_as(user, "call", BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll", "s",
                              CAPTURE_IFACE)
                self.assertEqual(p.returncode, 0, p.stderr)
                for method, args in (("ListCaptures", []), ("GetCapture", ["lo"])):
                    error, output = gdbus_as(user, method, *args)
                    self.assertIsNone(error, f"{method}: {output}")
                error, output = gdbus_as(user, "ListFiles", path=path, interface=CAPTURE_IFACE)
                self.assertIsNone(error, f"ListFiles: {output}")

    def test_password_prompt_on_a_terminal(self):
        """capturectl on a terminal starts pkttyagent; polkit asks it for the
        password of an administrator; with it, the capture starts."""
        if not shutil.which("pkttyagent"):
            self.skipTest("pkttyagent is not installed")
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.execvpe("setpriv", as_user(OTHERUSER, [CAPTURECTL, "start", "lo"]), user_env())
            finally:
                os._exit(127)
        output = b""
        status = None
        try:
            output = _read_until(fd, b"Password:", 30)
            self.assertIn(b"AUTHENTICATING FOR io.captured.manage", output)
            self.assertIn(b"Authentication is required to start the packet capture on lo", output)
            self.assertIn(CAPADMIN.encode(), output)
            # pkttyagent turns echo off (flushing what was typed) before it
            # reads: type only then.
            wait_for(lambda: not termios.tcgetattr(fd)[3] & termios.ECHO, 10, "pkttyagent to turn echo off")
            os.write(fd, CAPADMIN_PASSWORD.encode() + b"\n")
            output += _read_until(fd, None, 30)
            _, status = os.waitpid(pid, 0)
        finally:
            if status is None:  # do not wait for the call's own timeout
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            os.close(fd)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0, output.decode(errors="replace"))
        self.wait_running("lo")
        self.assertEqual(harness.processes("pkttyagent"), [], "pkttyagent outlived capturectl")

    # -- without polkitd ------------------------------------------------------

    def test_without_polkitd_only_root_may_change(self):
        stop_polkitd()
        # Nor may dbus-daemon start it on demand.
        harness.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", DBUS_SYSTEM_SERVICES])
        harness.busctl("call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                       "ReloadConfig")
        self.addCleanup(start_polkitd)
        self.addCleanup(harness.busctl, "call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                        "org.freedesktop.DBus", "ReloadConfig")
        self.addCleanup(harness.run, ["umount", DBUS_SYSTEM_SERVICES])

        captures_before = list_captures()
        for user in (CAPUSER, OTHERUSER):
            with self.subTest(user=user):
                error, message = gdbus_as(user, "StartCapture", "lo", "@a{sv} {}")
                self.assertEqual(error, ERROR_ACCESS_DENIED, message)
                p = capturectl_as(user, "--no-ask-password", "start", "lo")
                self.assertOneLineRefusal(p, f"capturectl start as {user} without polkitd")
                self.assertNothingStarted(captures_before)
        self.assertFalse(harness.name_has_owner(POLKIT_NAME), "polkitd came back")

        harness.start_capture("lo")
        self.wait_running("lo")
        harness.stop_capture("lo")
        self.assertNoTcpdump()

    # -- the bus name ---------------------------------------------------------

    def test_only_root_may_own_the_bus_name(self):
        self.daemon.stop()
        for user in (OTHERUSER, CAPUSER):
            with self.subTest(user=user):
                error, message = gdbus_as(user, "RequestName", BUS_NAME, "uint32 0", dest="org.freedesktop.DBus",
                                          path="/org/freedesktop/DBus", interface="org.freedesktop.DBus")
                self.assertEqual(error, ERROR_ACCESS_DENIED, message)
                self.assertFalse(harness.name_has_owner())


class PolkitConcurrentTest(GatedTestCase):
    """Concurrent calls of a polkit-authorized user (issue 8, item 6): each
    is authorized on its own and answered like the first; test_concurrent.py
    does the same as root."""

    call_prefix = as_user(CAPUSER, [])
    call_env = user_env()

    def test_concurrent_starts_restarts_stops_and_disables(self):
        self.calls.start("StartCapture", "sa{sv}", "lo", {})
        self.gate.wait_arrival(1)
        self.calls.start("StartCapture", "sa{sv}", "lo", {})
        self.calls.wait_polkit_answers(2)
        self.assertEqual(harness.capture_property("lo", "State"), "starting")
        self.gate.release()
        for _, _, stdout, _ in self.assertAllSucceeded(self.calls.finish()):
            self.assertIn(harness.capture_path("lo"), stdout)
        self.wait_running("lo")

        self.calls.start("RestartCapture", "s", "lo")
        self.gate.wait_arrival(2)
        self.calls.start("RestartCapture", "s", "lo")
        self.calls.wait_polkit_answers(4)
        self.gate.released += 1         # that tcpdump was stopped at the gate
        self.gate.release()
        self.assertAllSucceeded(self.calls.finish())
        self.wait_running("lo")

        for method in ("StopCapture", "StopCapture", "DisableCapture", "DisableCapture"):
            self.calls.start(method, "s", "lo")
        self.assertAllSucceeded(self.calls.finish())
        self.assertEqual(harness.capture_property("lo", "State"), "stopped")
        self.assertDaemonAlive()


def _read_until(fd, marker, timeout):
    """Reads from the pty until marker appears (None: until it closes)."""
    data = b""
    deadline = time.monotonic() + timeout
    while True:
        if marker is not None and marker in data:
            return data
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out waiting for {marker!r}; got {data!r}")
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the other side closed
            chunk = b""
        if not chunk:
            if marker is None:
                return data
            raise AssertionError(f"the terminal closed before {marker!r}; got {data!r}")
        data += chunk


if __name__ == "__main__":
    harness.main()
