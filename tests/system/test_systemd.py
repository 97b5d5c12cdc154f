# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Debian package under a real systemd (issue 12).

Builds the package from this source tree (dpkg-buildpackage, then lintian),
debootstraps a minimal Debian 12 root holding every dependency of the
package (cached under the build directory, keyed on the package list),
boots it with systemd-nspawn on a throw-away overlay and checks, with
systemctl, journalctl, busctl and capturectl inside it: the install, bus
activation, a capture on lo with finished files, the live sandbox, the
journal's MESSAGE_IDs and catalog, reload, restart, stop, the template unit
with a drop-in, polkit with real users, an upgrade, a reboot and a purge.

Everything inside the container runs in fresh mount, network and PID
namespaces (unshare), so that nothing outlives the test; the root itself is
only read (the overlay's upper layer is a tmpfs). Without root, or where
systemd-nspawn cannot boot, it skips (77) with the reason.

Environment: SOURCE_ROOT, BUILD_ROOT (set by meson); CAPTURED_DEBIAN_MIRROR
overrides the debootstrap mirror (default http://deb.debian.org/debian).
"""

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "integration"))
import harness  # noqa: E402  for wait_for and capinfos_check
from harness import wait_for  # noqa: E402

EXIT_SKIP = harness.EXIT_SKIP
MARKER = "CAPTURED_SYSTEM_TEST_INSIDE"
SOURCE_ROOT = os.environ.get("SOURCE_ROOT", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
BUILD_ROOT = os.environ.get("BUILD_ROOT", os.path.join(SOURCE_ROOT, "build"))
WORK = os.path.join(BUILD_ROOT, "tests", "system")
SUITE = "bookworm"
MIRROR = os.environ.get("CAPTURED_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# What the checks use besides the package's own dependencies. minbase needs
# libpam-systemd for polkitd's "default-logind | logind".
BASE_PACKAGES = ["systemd", "systemd-sysv", "dbus", "libpam-systemd", "polkitd", "tcpdump",
                 "iproute2", "procps"]
TOOLS = ("debootstrap", "systemd-nspawn", "nsenter", "unshare", "dpkg-buildpackage", "dpkg-deb",
         "lintian", "capinfos")
CONTAINER_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MANAGER = ("io.captured.Capture1", "/io/captured/Capture1")
CAPTURE_IFACE = "io.captured.Capture1.Capture"
BOOT_TIMEOUT = 90
# nspawn exits with this status when the container reboots.
EXIT_REBOOT = 133


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def run(argv, check=True, timeout=120, **kwargs):
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    p = subprocess.run(argv, text=True, errors="replace", timeout=timeout, **kwargs)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {p.returncode}:\n{p.stdout[-3000:]}{p.stderr[-3000:]}")
    return p


def skip(reason):
    print(f"SKIP: {reason}", flush=True)
    sys.exit(EXIT_SKIP)


# ---------------------------------------------------------------------------
# Outside the namespaces: the package and the root (both cached)


def source_files():
    """The files of the source tree as a fresh clone (plus local changes) has them."""
    p = run(["git", "-C", SOURCE_ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            check=False)
    if p.returncode == 0:
        return sorted(f for f in p.stdout.split("\0") if f and os.path.isfile(os.path.join(SOURCE_ROOT, f)))
    files = []
    for top, dirs, names in os.walk(SOURCE_ROOT):
        dirs[:] = [d for d in dirs if not d.startswith((".git", "build"))]
        files += [os.path.relpath(os.path.join(top, n), SOURCE_ROOT) for n in names]
    return sorted(files)


def build_package():
    """dpkg-buildpackage -us -uc -b on a copy of the tree (its output lands
    beside the tree); rebuilt only when a source file changed. Returns the
    directory holding the .deb, .changes and build log."""
    files = source_files()
    digest = hashlib.sha256()
    # The package is built with nocheck, that is -Dtests=false (debian/rules):
    # meson never reads tests/ or fuzz/, and bench/ is no part of it either, so
    # a change there reuses the package built before.
    for f in (f for f in files if not f.startswith(("tests/", "fuzz/", "bench/"))):
        digest.update(f.encode() + b"\0")
        with open(os.path.join(SOURCE_ROOT, f), "rb") as fh:
            digest.update(hashlib.sha256(fh.read()).digest())
    out = os.path.join(WORK, "package-" + digest.hexdigest()[:16])
    if os.path.exists(os.path.join(out, "done")):
        log(f"package: cached in {out}")
        return out
    for old in os.listdir(WORK):
        if old.startswith("package-"):
            shutil.rmtree(os.path.join(WORK, old))
    tree = os.path.join(out, "captured")
    for f in files:
        os.makedirs(os.path.dirname(os.path.join(tree, f)), exist_ok=True)
        shutil.copy2(os.path.join(SOURCE_ROOT, f), os.path.join(tree, f))
    log("package: dpkg-buildpackage -us -uc -b ...")
    started = time.monotonic()
    # nocheck: the unit tests run in this very suite already, not twice.
    env = dict(os.environ, DEB_BUILD_OPTIONS=" ".join(filter(None, [os.environ.get("DEB_BUILD_OPTIONS"), "nocheck"])))
    with open(os.path.join(out, "build.log"), "w") as build_log:
        p = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=tree, stdout=build_log,
                           stderr=subprocess.STDOUT, timeout=900, env=env)
    if p.returncode != 0:
        with open(os.path.join(out, "build.log")) as f:
            raise SystemExit(f"dpkg-buildpackage failed:\n{f.read()[-5000:]}")
    log(f"package: built in {time.monotonic() - started:.1f}s")
    open(os.path.join(out, "done"), "w").close()
    return out


def find_one(directory, pattern):
    found = [f for f in sorted(os.listdir(directory)) if re.fullmatch(pattern, f)]
    if len(found) != 1:
        raise AssertionError(f"expected one {pattern} in {directory}, found {found}")
    return os.path.join(directory, found[0])


def package_dependencies(deb):
    """The first alternative of every Depends: of the package, without versions."""
    depends = run(["dpkg-deb", "-f", deb, "Depends"]).stdout
    return [re.sub(r"\s*\(.*\)", "", d.split("|")[0]).strip() for d in depends.split(",") if d.strip()]


def bumped_copy(deb, version):
    """The same package with a higher version: what an upgrade installs."""
    directory = os.path.join(os.path.dirname(deb), "upgrade")
    out = os.path.join(directory, f"captured_{version}_amd64.deb")
    if os.path.exists(out):
        return out
    os.makedirs(directory, exist_ok=True)
    tree = os.path.join(directory, "tree")
    shutil.rmtree(tree, ignore_errors=True)
    run(["dpkg-deb", "-R", deb, tree])
    control = os.path.join(tree, "DEBIAN", "control")
    with open(control) as f:
        text = f.read()
    with open(control, "w") as f:
        f.write(re.sub(r"^Version: .*$", f"Version: {version}", text, flags=re.M))
    run(["dpkg-deb", "--root-owner-group", "-b", tree, out])
    shutil.rmtree(tree)
    return out


def debian_root(packages):
    """A minbase Debian 12 with the packages, cached by package list."""
    key = hashlib.sha256(" ".join([SUITE, MIRROR] + sorted(set(packages))).encode()).hexdigest()[:16]
    root = os.path.join(WORK, "root-" + key)
    if os.path.exists(os.path.join(root, "etc", "os-release")):
        log(f"root: cached in {root}")
        return root
    for old in os.listdir(WORK):
        if old.startswith("root-"):
            shutil.rmtree(os.path.join(WORK, old))
    partial = root + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    log(f"root: debootstrap --variant=minbase {SUITE} with {len(set(packages))} packages ...")
    started = time.monotonic()
    p = run(["debootstrap", "--variant=minbase", "--include=" + ",".join(sorted(set(packages))),
             SUITE, partial, MIRROR], check=False, timeout=900)
    if p.returncode != 0:
        tail = (p.stdout + p.stderr)[-2000:]
        try:   # what wget said is only in debootstrap's own log
            with open(os.path.join(partial, "debootstrap", "debootstrap.log"), errors="replace") as f:
                tail += "\ndebootstrap.log: " + f.read()[-2000:]
        except OSError:
            pass
        with open("/proc/self/mountinfo") as f:   # debootstrap mounts proc and sys in there
            mounts = [line.split()[4] for line in f if line.split()[4].startswith(partial + "/")]
        for mount in reversed(mounts):
            run(["umount", "--lazy", mount], check=False)
        shutil.rmtree(partial, ignore_errors=True)
        raise SystemExit(f"debootstrap failed (needs the Debian mirror {MIRROR}):\n{tail}")
    # No network in there: apt must never try.
    with open(os.path.join(partial, "etc", "apt", "apt.conf.d", "99offline"), "w") as f:
        f.write('Acquire::Languages "none";\nAPT::Install-Recommends "false";\n')
    os.rename(partial, root)
    log(f"root: debootstrapped in {time.monotonic() - started:.1f}s")
    return root


def prepare_and_enter():
    if os.geteuid() != 0:
        skip("the system test needs root (debootstrap, systemd-nspawn)")
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        skip(f"not installed: {' '.join(missing)} (tools/install-deps.sh)")
    os.makedirs(WORK, exist_ok=True)
    out = build_package()
    deb = find_one(out, r"captured_[^_]+_amd64\.deb")
    version = run(["dpkg-deb", "-f", deb, "Version"]).stdout.strip()
    bumped = bumped_copy(deb, version + "+systemtest1")
    root = debian_root(BASE_PACKAGES + package_dependencies(deb))
    env = dict(os.environ, **{MARKER: "1", "SYSTEM_TEST_PACKAGE_DIR": out, "SYSTEM_TEST_DEB": deb,
                              "SYSTEM_TEST_BUMPED_DEB": bumped, "SYSTEM_TEST_ROOT": root})
    argv = ["unshare", "--mount", "--net", "--pid", "--fork", "--mount-proc", "--kill-child",
            sys.executable, os.path.abspath(sys.argv[0])] + sys.argv[1:]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvpe("unshare", argv, env)


# ---------------------------------------------------------------------------
# Inside: the container


class Container:
    """systemd-nspawn -b on an overlay of the cached root (tmpfs upper)."""

    def __init__(self, root):
        self.root = root
        self.top = os.path.join(WORK, "container")
        self.merged = os.path.join(self.top, "merged")
        self.proc = None
        self.leader = None
        self.boots = 0

    def mount(self):
        run(["mount", "--make-rprivate", "/"])
        os.makedirs(self.top, exist_ok=True)
        run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", self.top])
        for d in ("upper", "work", "merged"):
            os.mkdir(os.path.join(self.top, d))
        run(["mount", "-t", "overlay", "overlay", "-o",
             f"lowerdir={self.root},upperdir={self.top}/upper,workdir={self.top}/work", self.merged])

    def path(self, inside):
        return os.path.join(self.merged, inside.lstrip("/"))

    def boot(self):
        self.boots += 1
        self.console = os.path.join(self.top, f"console-{self.boots}.log")
        with open(self.console, "w") as console:
            self.proc = subprocess.Popen(
                ["systemd-nspawn", "-D", self.merged, "-b", "--private-network", "--register=no",
                 "--keep-unit", "--console=read-only", "--machine=captured-test"],
                stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT)
        self.leader = wait_for(self._find_leader, 30, "the container's systemd")
        state = wait_for(self._boot_state, BOOT_TIMEOUT, "the container to finish booting", interval=0.3)
        if state != "running":
            failed = self.sh("systemctl", "--failed", "--no-legend", check=False).stdout
            raise AssertionError(f"the container booted {state}: {failed}")

    def _find_leader(self):
        if self.proc.poll() is not None:
            with open(self.console) as f:
                skip(f"systemd-nspawn cannot boot here (exit {self.proc.returncode}): {f.read()[-1500:]}")
        children = []
        try:
            for task in os.listdir(f"/proc/{self.proc.pid}/task"):
                with open(f"/proc/{self.proc.pid}/task/{task}/children") as f:
                    children += [int(c) for c in f.read().split()]
        except OSError:
            return None
        for pid in children:
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().strip() == "systemd":
                        return pid
            except OSError:
                pass
        return None

    def _boot_state(self):
        p = self.sh("systemctl", "is-system-running", "--wait", check=False, timeout=BOOT_TIMEOUT)
        state = p.stdout.strip()
        return state if state in ("running", "degraded") else None

    def sh(self, *argv, check=True, timeout=60, user=None, net_only=False):
        """Runs argv inside the container (as root, or as user), with a clean
        environment; net_only runs a host program in the container's network."""
        if net_only:
            return run(["nsenter", "-t", str(self.leader), "-n", "--"] + list(argv), check=check, timeout=timeout)
        if user:
            argv = ("runuser", "-u", user, "--") + argv
        return run(["nsenter", "-t", str(self.leader), "-a", "--", "env", "-i", CONTAINER_PATH, "LANG=C.UTF-8"]
                   + list(argv), check=check, timeout=timeout)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"systemd-nspawn did not exit within {timeout}s")

    def poweroff(self):
        """Powers the container off; kills nspawn (by PID) if it will not go."""
        if not self.proc or self.proc.poll() is not None:
            return
        self.sh("systemctl", "poweroff", check=False)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


def cap_names():
    """Capability number → name, from the kernel's header."""
    with open("/usr/include/linux/capability.h") as f:
        return {int(n): name.lower() for name, n in re.findall(r"#define (CAP_\w+)\s+(\d+)\s*$", f.read(), re.M)
                if name not in ("CAP_LAST_CAP",)}


def decode_caps(hex_mask):
    names = cap_names()
    mask = int(hex_mask, 16)
    return {names[i] for i in names if mask & (1 << i)}


def unit_settings(path):
    """The [Service] settings of a unit file: name → list of values."""
    settings, section = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("["):
                section = line
            elif section == "[Service]" and "=" in line and not line.startswith("#"):
                key, value = line.split("=", 1)
                settings.setdefault(key, []).append(value)
    return settings


def proc_status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


class PackageUnderSystemd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.deb = os.environ["SYSTEM_TEST_DEB"]
        cls.bumped = os.environ["SYSTEM_TEST_BUMPED_DEB"]
        cls.c = Container(os.environ["SYSTEM_TEST_ROOT"])
        cls.c.mount()
        debs = cls.c.path("/root/debs")
        os.makedirs(debs)
        for d in (cls.deb, cls.bumped):
            shutil.copy(d, debs)
        started = time.monotonic()
        cls.c.boot()
        log(f"container: booted in {time.monotonic() - started:.1f}s")

    @classmethod
    def tearDownClass(cls):
        cls.c.poweroff()

    # -- helpers ----------------------------------------------------------

    def sh(self, *argv, **kwargs):
        return self.c.sh(*argv, **kwargs)

    def step(self, what):
        log(f"  {time.monotonic() - self.t0:6.1f}s  {what}")

    def is_active(self, unit):
        return self.sh("systemctl", "is-active", unit, check=False).stdout.strip()

    def wait_active(self, unit, state="active", timeout=30):
        wait_for(lambda: self.is_active(unit) == state, timeout, f"{unit} to be {state}")

    def prop(self, interface, name):
        path = "/io/captured/Capture1/capture/" + interface
        p = self.sh("busctl", "--json=short", "get-property", MANAGER[0], path, CAPTURE_IFACE, name, check=False)
        return json.loads(p.stdout)["data"] if p.returncode == 0 else None

    def wait_state(self, interface, state, timeout=30):
        wait_for(lambda: self.prop(interface, "State") == state, timeout, f"capture {interface} to be {state}")

    def main_pid(self, unit="captured"):
        return int(self.sh("systemctl", "show", "-P", "MainPID", unit).stdout)

    def host_pid(self, container_pid):
        """Our PID of a process that has container_pid in the container."""
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/status") as f:
                        nspid = re.search(r"^NSpid:\s+(.*)$", f.read(), re.M).group(1).split()
                except (OSError, AttributeError):
                    continue
                if len(nspid) > 1 and nspid[-1] == str(container_pid) and \
                        os.readlink(f"/proc/{entry}/ns/pid") == os.readlink(f"/proc/{self.c.leader}/ns/pid"):
                    return int(entry)
        raise AssertionError(f"no process with PID {container_pid} in the container")

    def tcpdumps(self):
        return self.sh("pgrep", "-x", "tcpdump", check=False).stdout.split()

    def capture_files(self, interface="lo"):
        directory = self.c.path(f"/var/lib/captured/captures/{interface}")
        return sorted(f for f in os.listdir(directory) if f.startswith("pcap-")) if os.path.isdir(directory) else []

    def assertValidPcaps(self, names, interface="lo"):
        for name in names:
            self.assertIsNone(harness.capinfos_check(self.c.path(f"/var/lib/captured/captures/{interface}/{name}")))

    def send_udp(self, count, size=1400, port=9):
        self.sh(sys.executable, "-c",
                "import socket, sys\n"
                "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                f"for _ in range({count}): s.sendto(b'c' * {size}, ('127.0.0.1', {port}))\n",
                net_only=True)

    def journal(self, *match):
        out = self.sh("journalctl", "-o", "json", "--no-pager", *match).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def message_ids(self):
        with open(os.path.join(SOURCE_ROOT, "daemon", "message-ids.h")) as f:
            return dict(re.findall(r'#define (MESSAGE_\w+)\s+"([0-9a-f]{32})"', f.read()))

    def apt_install(self, name):
        """As README says: apt install ./captured_*.deb, in the directory of the package."""
        return self.sh("sh", "-c", f"cd /root/debs && apt install -y ./{name}", timeout=120)

    def capturectl(self, *args, user=None, check=True):
        return self.sh("capturectl", "--no-pager", *args, user=user, check=check)

    # -- the checks, in order ------------------------------------------------

    def test_package_under_systemd(self):
        self.t0 = time.monotonic()
        self.install()
        self.bus_activation_and_enable()
        self.capture_with_files()
        self.sandbox()
        self.journal_records()
        self.reload_keeps_the_capture()
        self.restart_keeps_the_capture()
        self.stop_finishes_the_last_file()
        self.template_unit_with_a_drop_in()
        self.polkit_with_real_users()
        self.upgrade_keeps_captures_and_files()
        self.enabled_capture_after_a_reboot()
        self.purge_keeps_the_capture_files()
        self.step("done")

    def install(self):
        self.step("apt-get install ./captured_*.deb")
        name = os.path.basename(self.deb)
        self.apt_install(name)
        self.assertEqual(self.sh("systemctl", "is-enabled", "captured").stdout.strip(), "enabled")
        wants = os.listdir(self.c.path("/etc/systemd/system/multi-user.target.wants"))
        self.assertIn("captured.service", wants)
        self.assertFalse([w for w in wants if w.startswith("packet-capture@")], wants)
        self.wait_active("captured")
        # sysusers.d applied: the group the polkit rules name exists.
        self.assertTrue(self.sh("getent", "group", "capture").stdout.startswith("capture:"))
        conffiles = self.sh("dpkg-query", "-W", "-f=${Conffiles}", "captured").stdout
        self.assertIn("/etc/captured/captured.conf", conffiles)
        self.assertTrue(os.path.exists(self.c.path("/usr/lib/systemd/catalog/captured.catalog")))

    def bus_activation_and_enable(self):
        self.step("bus activation on the first capturectl list; systemctl enable --now")
        self.sh("systemctl", "stop", "captured")
        self.assertEqual(self.is_active("captured"), "inactive")
        cursor = self.sh("journalctl", "-n", "0", "--show-cursor", "--no-pager").stdout.split("cursor: ")[-1].strip()
        self.capturectl("list")
        self.wait_active("captured")
        wait_for(lambda: "Successfully activated service 'io.captured.Capture1'"
                 in self.sh("journalctl", "--no-pager", f"--after-cursor={cursor}", "-u", "dbus").stdout,
                 10, "dbus-daemon to say that it activated io.captured.Capture1")
        self.sh("systemctl", "enable", "--now", "captured")
        self.assertEqual(self.sh("systemctl", "is-enabled", "captured").stdout.strip(), "enabled")
        self.assertEqual(self.is_active("captured"), "active")

    def capture_with_files(self):
        self.step("capturectl start lo, traffic, finished files")
        self.capturectl("start", "lo", "--file-size=1", "--file-count=50")
        self.wait_state("lo", "running")
        self.send_udp(2500)
        wait_for(lambda: len(self.capture_files()) >= 2, 30, "two finished files on lo")
        self.assertValidPcaps(self.capture_files())
        status = json.loads(self.capturectl("--json", "status", "lo", check=False).stdout)[0]
        if status["State"] != "running":
            print(self.sh("journalctl", "--no-pager", "-u", "captured", "-n", "60").stdout, flush=True)
        self.assertEqual((status["State"], status["FileSize"], status["FileCount"]), ("running", 1, 50))

    def sandbox(self):
        self.step("the live sandbox: systemd-analyze security, /proc/PID/status")
        unit = self.c.path("/lib/systemd/system/captured.service")
        live = self.sh("systemd-analyze", "security", "--no-pager", "captured.service").stdout
        offline = self.sh("systemd-analyze", "security", "--no-pager", "--offline=yes",
                          "/lib/systemd/system/captured.service").stdout
        score = re.compile(r"Overall exposure level for captured\.service: (\d+\.\d+)")
        live_score, offline_score = score.search(live).group(1), score.search(offline).group(1)
        log(f"           exposure: live {live_score}, unit file {offline_score}")
        self.assertLessEqual(float(live_score), float(offline_score),
                             "the running service is less confined than its unit says")
        self.assertLess(float(live_score), 5.0)

        settings = unit_settings(unit)
        bounding = {c.lower() for v in settings.get("CapabilityBoundingSet", []) for c in v.split()}
        ambient = {c.lower() for v in settings.get("AmbientCapabilities", []) for c in v.split()}
        daemon = proc_status(self.host_pid(self.main_pid()))
        self.assertEqual(decode_caps(daemon["CapBnd"]), bounding)
        self.assertEqual(decode_caps(daemon["CapAmb"]), ambient)
        self.assertLessEqual(decode_caps(daemon["CapEff"]), bounding)
        if settings.get("NoNewPrivileges") == ["yes"]:
            self.assertEqual(daemon["NoNewPrivs"], "1")
        if settings.get("SystemCallFilter"):
            self.assertEqual(daemon["Seccomp"], "2")
        user = settings.get("User", ["root"])[-1]
        uid = self.sh("id", "-u", user).stdout.strip()
        self.assertEqual(daemon["Uid"].split()[0], uid, f"the daemon does not run as User={user}")
        for pid in self.tcpdumps():
            tcpdump = proc_status(self.host_pid(int(pid)))
            self.assertLessEqual(decode_caps(tcpdump["CapBnd"]), bounding)
            self.assertEqual(tcpdump["NoNewPrivs"], daemon["NoNewPrivs"])

    def journal_records(self):
        self.step("journalctl -o json: MESSAGE_IDs, CAPTURE_* fields, CODE_*; journalctl -x")
        ids = self.message_ids()
        records = self.journal("-u", "captured")
        by_id = {}
        for r in records:
            self.assertNotIn("log.c", r.get("CODE_FILE", ""), r)
            by_id.setdefault(r.get("MESSAGE_ID"), []).append(r)
        started = [r for r in by_id.get(ids["MESSAGE_CAPTURE_STARTED"], []) if r.get("CAPTURE_INTERFACE") == "lo"]
        self.assertTrue(started, "no record of the start with CAPTURE_INTERFACE=lo")
        self.assertEqual(started[0].get("CODE_FILE"), "daemon/capture.c")
        def completed():
            records = self.journal("-u", "captured", f"MESSAGE_ID={ids['MESSAGE_FILE_COMPLETED']}")
            names = {os.path.basename(r["CAPTURE_FILE"]) for r in records if r.get("CAPTURE_INTERFACE") == "lo"}
            return records if set(self.capture_files()) <= names else None
        for r in wait_for(completed, 10, "a completed-file record for every finished file"):
            self.assertEqual(r["CAPTURE_INTERFACE"], "lo")
            self.assertEqual(r["CODE_FUNC"], "manager_file_completed")
        # journalctl -x explains them (the catalog was loaded by systemd's trigger).
        explained = self.sh("journalctl", "-x", "--no-pager", "-n", "1",
                            f"MESSAGE_ID={ids['MESSAGE_CAPTURE_STARTED']}").stdout
        self.assertIn("Subject: Packet capture on lo is running", explained)
        self.assertIn("Defined-By: captured", explained)

    def reload_keeps_the_capture(self):
        self.step("systemctl reload captured")
        tcpdump = self.prop("lo", "MainPID")
        daemon = self.main_pid()
        self.sh("systemctl", "reload", "captured")
        self.assertEqual(self.is_active("captured"), "active")
        self.assertEqual(self.main_pid(), daemon)
        self.assertEqual(self.prop("lo", "MainPID"), tcpdump, "reload restarted an unchanged capture")
        wait_for(lambda: "Configuration reloaded." in [r.get("MESSAGE") for r in self.journal("-u", "captured", "-n", "20")],
                 10, "the record of the reload")

    def restart_keeps_the_capture(self):
        self.step("systemctl restart captured keeps the capture")
        before = self.capture_files()
        daemon = self.main_pid()
        self.sh("systemctl", "restart", "captured")
        self.assertNotEqual(self.main_pid(), daemon)
        self.wait_state("lo", "running")
        self.assertEqual((self.prop("lo", "FileSize"), self.prop("lo", "FileCount")), (1, 50))
        after = self.capture_files()
        self.assertLessEqual(set(before), set(after), "a restart lost finished files")
        self.assertEqual(len(after), len(before) + 1, "the last file of the stopped tcpdump was not finished")

    def stop_finishes_the_last_file(self):
        self.step("systemctl stop captured: no tcpdump left, the last file finished")
        self.send_udp(300)
        before = self.capture_files()
        self.sh("systemctl", "stop", "captured")
        self.assertEqual(self.is_active("captured"), "inactive")
        self.assertEqual(self.tcpdumps(), [])
        after = self.capture_files()
        self.assertEqual(len(after), len(before) + 1)
        self.assertValidPcaps(after[-1:])
        directory = self.c.path("/var/lib/captured/captures/lo")
        self.assertEqual([f for f in os.listdir(directory) if f.startswith(".live-")], [])
        # Started again, the capture that ran comes back.
        self.sh("systemctl", "start", "captured")
        self.wait_state("lo", "running")
        self.capturectl("stop", "lo")

    def template_unit_with_a_drop_in(self):
        self.step("systemctl start|stop packet-capture@lo with Environment=\"FILTER=udp\"")
        dropin = self.c.path("/etc/systemd/system/packet-capture@lo.service.d")
        os.makedirs(dropin)
        with open(os.path.join(dropin, "filter.conf"), "w") as f:
            f.write('[Service]\nEnvironment="FILTER=udp"\n')
        self.sh("systemctl", "daemon-reload")
        self.sh("systemctl", "start", "packet-capture@lo")
        self.assertEqual(self.is_active("packet-capture@lo"), "active")
        self.wait_state("lo", "running")
        self.assertEqual((self.prop("lo", "Filter"), self.prop("lo", "FileSize"), self.prop("lo", "FileCount")),
                         ("udp", 25, 10))
        self.sh("systemctl", "stop", "packet-capture@lo")
        self.assertEqual(self.is_active("packet-capture@lo"), "inactive")
        self.wait_state("lo", "stopped")
        self.assertEqual(self.tcpdumps(), [])

    def polkit_with_real_users(self):
        self.step("polkit: a user outside group capture is refused, one inside may")
        self.sh("useradd", "--create-home", "--groups", "capture", "alice")
        self.sh("useradd", "--create-home", "bob")
        refused = self.capturectl("start", "lo", user="bob", check=False)
        self.assertNotEqual(refused.returncode, 0)
        self.assertRegex(refused.stderr.strip(), r"^capturectl: Access denied")
        self.assertEqual(len(refused.stderr.strip().splitlines()), 1, refused.stderr)
        self.assertEqual(self.prop("lo", "State"), "stopped")
        for user in ("alice", "bob"):
            self.assertIn("lo", self.capturectl("list", user=user).stdout)
            status = self.capturectl("status", "lo", user=user, check=False)
            self.assertEqual(status.returncode, 3, status.stderr)  # as systemctl status: not running
            self.assertIn("lo", status.stdout)
        self.capturectl("start", "lo", "--file-size=1", "--file-count=50", user="alice")
        self.wait_state("lo", "running")

    def upgrade_keeps_captures_and_files(self):
        self.step("apt-get install the version-bumped package: the capture and every file stay")
        self.send_udp(1500)
        wait_for(lambda: self.prop("lo", "FilesCompleted") >= 1, 30, "a finished file before the upgrade")
        before = self.capture_files()
        daemon = self.main_pid()
        name = os.path.basename(self.bumped)
        self.apt_install(name)
        version = self.sh("dpkg-query", "-W", "-f=${Version}", "captured").stdout
        self.assertTrue(version.endswith("+systemtest1"), version)
        self.wait_active("captured")
        self.assertNotEqual(self.main_pid(), daemon, "the upgrade did not restart the daemon")
        self.wait_state("lo", "running")
        self.assertEqual((self.prop("lo", "FileSize"), self.prop("lo", "FileCount")), (1, 50))
        self.assertLessEqual(set(before), set(self.capture_files()), "the upgrade lost finished files")
        self.assertValidPcaps(self.capture_files())

    def enabled_capture_after_a_reboot(self):
        self.step("capturectl enable lo + reboot: lo comes back, a capture that was only started does not")
        self.capturectl("stop", "lo")
        self.capturectl("enable", "lo", "--file-count=5")
        self.capturectl("start", "lo", "--file-count=5")
        self.sh("ip", "link", "add", "vreboot0", "type", "veth", "peer", "name", "vreboot1")
        self.sh("ip", "link", "set", "vreboot0", "up")
        self.sh("ip", "link", "set", "vreboot1", "up")
        self.capturectl("start", "vreboot0")
        self.wait_state("lo", "running")
        self.wait_state("vreboot0", "running")
        self.sh("systemctl", "reboot", check=False)
        self.assertEqual(self.c.wait_exit(60), EXIT_REBOOT)
        self.c.boot()
        self.wait_active("captured")
        self.wait_state("lo", "running")
        self.assertEqual(self.prop("lo", "FileCount"), 5)
        self.assertTrue(self.prop("lo", "Enabled"))
        # Not enabled: after a reboot it does not start (nor wait for its interface).
        self.assertIn(self.prop("vreboot0", "State"), (None, "stopped"))
        self.assertEqual(len(self.tcpdumps()), 1)

    def purge_keeps_the_capture_files(self):
        self.step("apt-get purge: configuration and state go, capture files stay")
        self.capturectl("stop", "lo")
        files = self.capture_files()
        self.assertTrue(files)
        self.sh("apt-get", "purge", "-y", "captured", timeout=120)
        self.assertFalse(os.path.exists(self.c.path("/var/lib/dpkg/info/captured.list")))
        self.assertFalse(os.path.exists(self.c.path("/etc/captured")))
        self.assertFalse(os.path.exists(self.c.path("/run/captured")))
        self.assertFalse(os.path.exists(self.c.path("/var/lib/captured/captures/lo.conf")))
        self.assertEqual(self.capture_files(), files)
        left = sorted(os.listdir(self.c.path("/var/lib/captured")))
        self.assertEqual(left, ["captures"], left)


class Package(unittest.TestCase):
    def test_packages_built(self):
        directory = os.environ["SYSTEM_TEST_PACKAGE_DIR"]
        deb = os.environ["SYSTEM_TEST_DEB"]
        version = run(["dpkg-deb", "-f", deb, "Version"]).stdout.strip()
        find_one(directory, rf"captured-dbgsym_{re.escape(version)}_amd64\.deb")
        depends = package_dependencies(deb)
        for needed in ("tcpdump", "dbus", "polkitd"):
            self.assertIn(needed, depends)

    def test_lintian_is_clean(self):
        directory = os.environ["SYSTEM_TEST_PACKAGE_DIR"]
        changes = find_one(directory, r"captured_[^_]+_amd64\.changes")
        p = run(["lintian", "--pedantic", "--display-info", changes], check=False, timeout=300)
        tags = [line for line in p.stdout.splitlines() if re.match(r"^[EWIPX]: ", line)]
        log("lintian: " + ("; ".join(tags) if tags else "no tags"))
        self.assertEqual([t for t in tags if t[0] in "EW"], [], p.stdout)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


if __name__ == "__main__":
    if os.environ.get(MARKER) != "1":
        prepare_and_enter()
    unittest.main(verbosity=2)
