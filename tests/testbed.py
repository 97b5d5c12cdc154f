# SPDX-License-Identifier: LGPL-2.1-or-later
"""The sandbox the integration tests (tests/integration/harness.py) and the
benchmarks (bench/benchlib.py) run in: fresh mount, network and PID
namespaces, a scratch tmpfs, and a private system bus whose configuration
holds the project's bus policy. Nothing on the host changes and nothing
outlives the run: the calling script is PID 1 of its PID namespace."""

import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

SYSTEM_BUS_SOCKET = "/run/dbus/system_bus_socket"
SYSTEM_BUS_ADDRESS = "unix:path=" + SYSTEM_BUS_SOCKET
EXIT_SKIP = 77

_scratch = None
_dbus_daemon = None


def run(argv, check=True, **kwargs):
    """subprocess.run with text output captured; a failure says what ran."""
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    kwargs.setdefault("timeout", 60)
    p = subprocess.run(argv, text=True, errors="replace", **kwargs)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {p.returncode}: {p.stderr.strip()}")
    return p


def mount_tmpfs(path, mode="0755", size=None):
    options = f"mode={mode},nosuid,nodev" + (f",size={size}" if size else "")
    run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", path])


def mount_tmpfs_keeping(base, keep, mode="0755"):
    """A tmpfs over base; each path of keep that lies under base (the source
    or build tree of a checkout in /tmp or /var/tmp, a scratch directory) is
    bound back at its own path. The holders live on /run/dbus, a tmpfs of the
    test's by then."""
    tops = sorted({os.path.join(base, os.path.relpath(p, base).split(os.sep)[0]) for p in keep
                   if p and os.path.abspath(p).startswith(base + os.sep)})
    held = []
    for top in tops:
        holder = tempfile.mkdtemp(prefix="keep-", dir="/run/dbus")
        run(["mount", "--rbind", top, holder])
        held.append((top, holder))
    mount_tmpfs(base, mode)
    for top, holder in held:
        os.mkdir(top, 0o755)
        run(["mount", "--rbind", holder, top])
        run(["umount", "--lazy", holder])
        os.rmdir(holder)


def enter(marker, tools, who):
    """Skips (exit 77) without root or without tools; otherwise re-executes
    the calling script inside fresh namespaces (returns only once inside,
    where $marker is set). who says what needs them, for the skip message."""
    if os.geteuid() != 0:
        print(f"SKIP: {who} need root (namespaces, tcpdump)", flush=True)
        sys.exit(EXIT_SKIP)
    if os.environ.get(marker) == "1":
        return
    missing = [tool for tool in ("unshare", "ip", "mount", "dbus-daemon", "busctl") + tuple(tools)
               if not shutil.which(tool)]
    if missing:
        print(f"SKIP: not installed: {' '.join(missing)}", flush=True)
        sys.exit(EXIT_SKIP)
    env = dict(os.environ, **{marker: "1"})
    argv = ["unshare", "--mount", "--net", "--pid", "--fork", "--mount-proc", "--kill-child",
            sys.executable, os.path.abspath(sys.argv[0])] + sys.argv[1:]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvpe("unshare", argv, env)


def setup(scratch_prefix, bus_policy):
    """Inside the namespaces: private mounts, lo up, a scratch tmpfs and the
    private system bus. Returns the scratch directory."""
    global _scratch, _dbus_daemon

    run(["mount", "--make-rprivate", "/"])
    run(["ip", "link", "set", "lo", "up"])

    # A directory on the host file system only as a mount point: everything
    # written goes to the tmpfs over it, which vanishes with us. tcpdump
    # (user tcpdump) must be able to traverse every parent of the capture
    # directories: /tmp is 1777, the tmpfs root 0755.
    _scratch = tempfile.mkdtemp(prefix=scratch_prefix, dir="/tmp")
    mount_tmpfs(_scratch)

    if not os.path.isdir("/run/dbus"):
        # Do not create it on the host: put a private /run first.
        mount_tmpfs("/run")
        os.makedirs("/run/dbus")
    mount_tmpfs("/run/dbus")

    os.makedirs("/etc/dbus-1/system.d", exist_ok=True)
    mount_tmpfs("/etc/dbus-1/system.d")
    shutil.copy(bus_policy, "/etc/dbus-1/system.d/")

    _dbus_daemon = subprocess.Popen(
        ["dbus-daemon", "--system", "--nofork", "--nopidfile", "--nosyslog", "--print-address"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    # --print-address: the bus prints its address once it listens (after
    # any warnings about its configuration, e.g. a user that does not exist,
    # which need not end in a newline).
    deadline = time.monotonic() + 10
    said = b""
    while not re.search(rb"unix:[^\n]*\n", said):
        ready, _, _ = select.select([_dbus_daemon.stdout], [], [], max(0, deadline - time.monotonic()))
        chunk = os.read(_dbus_daemon.stdout.fileno(), 4096) if ready else b""
        if not chunk:
            _dbus_daemon.kill()
            _dbus_daemon.wait()
            raise RuntimeError("dbus-daemon did not start: " + said.decode(errors="replace").strip())
        said += chunk
    os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = SYSTEM_BUS_ADDRESS
    return _scratch


def bus_pid():
    """The PID of the private dbus-daemon."""
    return _dbus_daemon.pid


def teardown():
    """Stops the bus and removes the scratch mount point made on the host's /tmp."""
    if _dbus_daemon and _dbus_daemon.poll() is None:
        _dbus_daemon.terminate()
        try:
            _dbus_daemon.wait(5)
        except subprocess.TimeoutExpired:
            _dbus_daemon.kill()
    if _scratch:
        run(["umount", "--lazy", _scratch], check=False)
        try:
            os.rmdir(_scratch)
        except OSError:
            pass
