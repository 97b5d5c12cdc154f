# SPDX-License-Identifier: LGPL-2.1-or-later
"""The integration test harness: real captured, real tcpdump, a real
dbus-daemon, all inside namespaces this module makes (SPEC §10).

A test file ends with `harness.main()`. That re-executes the file under
`unshare --mount --net --pid --fork --mount-proc`, where the Python process
is PID 1 of a new PID namespace: when it exits, the kernel kills everything
left in there, so nothing outlives a test run. Inside, it makes the mounts
private, brings `lo` up, mounts a tmpfs on /run/dbus and one over
/etc/dbus-1/system.d holding the project's bus policy, and starts
`dbus-daemon --system`. Each test gets a fresh daemon with its own config,
state and capture directories on a tmpfs (CapturedTestCase).

Environment: CAPTURED, CAPTURECTL (the binaries under test) and SOURCE_ROOT
are set by tests/integration/meson.build. Without root, exit 77 (skip).

Calls, property reads and signals go through the harness's own connection
(Gio, python3-gi) in process; values come back in the form `busctl
--json=short` prints them. Waiting functions wake up on the signals that
announce what they wait for (PropertiesChanged, NameOwnerChanged, ...).
"""

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import testbed  # noqa: E402  tests/testbed.py, shared with bench/

NAMESPACE_MARKER = "CAPTURED_TEST_IN_NAMESPACE"

# An integration test file (tests/integration/test_*.py) imports this
# module first: it is re-executed inside its namespaces right here (main()
# would do it too), before python3-gi and the test modules it imports are
# loaded for nothing in the process outside. Other importers (the system
# test, which needs the host's network for debootstrap) are left alone.
_main_file = os.path.abspath(getattr(sys.modules["__main__"], "__file__", None) or "/")
if (os.path.dirname(_main_file) == os.path.dirname(os.path.abspath(__file__))
        and os.path.basename(_main_file).startswith("test_")):
    testbed.enter(NAMESPACE_MARKER, ("gdbus",), "integration tests")

import gi  # noqa: E402

gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402  python3-gi

BUS_NAME = "io.captured.Capture1"
MANAGER_PATH = "/io/captured/Capture1"
MANAGER_IFACE = "io.captured.Capture1.Manager"
CAPTURE_IFACE = "io.captured.Capture1.Capture"
CAPTURE_PATH_PREFIX = "/io/captured/Capture1/capture/"
PROPERTIES_IFACE = "org.freedesktop.DBus.Properties"

ERROR_NO_SUCH_INTERFACE = "io.captured.Capture1.Error.NoSuchInterface"
ERROR_INVALID_FILTER = "io.captured.Capture1.Error.InvalidFilter"
ERROR_NO_SUCH_CAPTURE = "io.captured.Capture1.Error.NoSuchCapture"
ERROR_ALREADY_RUNNING = "io.captured.Capture1.Error.AlreadyRunning"
ERROR_NO_SUCH_UPLOAD_TARGET = "io.captured.Capture1.Error.NoSuchUploadTarget"
ERROR_INVALID_ARGS = "org.freedesktop.DBus.Error.InvalidArgs"

SYSTEM_BUS_SOCKET = testbed.SYSTEM_BUS_SOCKET
SYSTEM_BUS_ADDRESS = testbed.SYSTEM_BUS_ADDRESS

EXIT_SKIP = testbed.EXIT_SKIP

SOURCE_ROOT = os.environ.get("SOURCE_ROOT") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CAPTURED = os.environ.get("CAPTURED", "")
CAPTURECTL = os.environ.get("CAPTURECTL", "")
BUS_POLICY = os.path.join(SOURCE_ROOT, "dbus", "io.captured.Capture1.conf")
INTERFACE_XML = os.path.join(SOURCE_ROOT, "dbus", "io.captured.Capture1.xml")

PCAP_MAGICS = {
    bytes.fromhex("d4c3b2a1"),  # microseconds, little endian
    bytes.fromhex("a1b2c3d4"),  # microseconds, big endian
    bytes.fromhex("4d3cb2a1"),  # nanoseconds, little endian
    bytes.fromhex("a1b23c4d"),  # nanoseconds, big endian
}

# Set up by setup_namespace(): a tmpfs all tests' directories live on.
_scratch = None


def log(*args):
    print(*args, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Namespaces and the private system bus


def enter_namespace():
    """Skips without root; otherwise re-executes the calling script inside
    fresh mount, network and PID namespaces (returns only once inside)."""
    testbed.enter(NAMESPACE_MARKER, ("gdbus",), "integration tests")


run = testbed.run


def _mount_tmpfs(path, mode="0755"):
    testbed.mount_tmpfs(path, mode)


def setup_namespace():
    """Inside the namespaces: private mounts, lo, a scratch tmpfs and the bus."""
    global _scratch
    _scratch = testbed.setup("captured-test-", BUS_POLICY)


def teardown_namespace():
    testbed.teardown()


bus_pid = testbed.bus_pid


class _LogDumpingResult(unittest.TextTestResult):
    """Prints the daemon's log of a test that failed or errored, and how long
    each test took (Python 3.11's unittest has no --durations)."""

    def startTest(self, test):
        self._started = time.monotonic()
        super().startTest(test)

    def stopTest(self, test):
        super().stopTest(test)
        self.stream.write(f"    took {time.monotonic() - self._started:.1f}s\n")
        self.stream.flush()

    def _dump(self, test):
        path = getattr(test, "daemon_log_path", None)
        if path and os.path.exists(path):
            with open(path, errors="replace") as f:
                text = f.read()
            self.stream.write(f"\n----- captured log of {test.id()} -----\n{text}"
                              f"----- end of captured log -----\n")
            self.stream.flush()

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._dump(test)

    def addError(self, test, err):
        super().addError(test, err)
        self._dump(test)


def _flatten(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from _flatten(item)
        else:
            yield item


class _ShardedProgram(unittest.TestProgram):
    """unittest.main, except that with TEST_SHARD=K/N in the environment it
    runs only every Nth test of the file, starting with the Kth (0-based), in
    the file's order. A long test file is registered in meson.build as N
    tests, one per shard, that run in parallel; together they run every test
    exactly once, and a test added to the file lands in one of them."""

    def createTests(self, *args, **kwargs):
        super().createTests(*args, **kwargs)
        shard = os.environ.get("TEST_SHARD")
        if not shard:
            return
        index, count = (int(n) for n in shard.split("/"))
        if not 0 <= index < count:
            raise SystemExit(f"TEST_SHARD={shard}: want K/N with 0 <= K < N")
        tests = list(_flatten(self.test))
        self.test = unittest.TestSuite(tests[index::count])
        print(f"shard {shard}: {len(tests[index::count])} of the file's {len(tests)} tests", flush=True)


def main():
    """The entry point of each test file."""
    enter_namespace()
    if not CAPTURED or not os.access(CAPTURED, os.X_OK):
        print("ERROR: $CAPTURED must name the captured binary (run the tests with `meson test`)", flush=True)
        sys.exit(1)
    ok = False
    try:
        setup_namespace()
        runner = unittest.TextTestRunner(verbosity=2, resultclass=_LogDumpingResult, stream=sys.stdout)
        program = _ShardedProgram(module="__main__", testRunner=runner, exit=False)
        ok = program.result.wasSuccessful()
    finally:
        teardown_namespace()
    sys.exit(0 if ok else 1)


# ---------------------------------------------------------------------------
# Waiting


def wait_for(predicate, timeout, what, interval=0.05):
    """Checks predicate until it returns something true; returns that value:
    again after each signal on the bus, and at least every interval seconds.
    Raises AssertionError naming what was awaited on timeout."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # the state may not exist yet
            last_error = e
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{detail}")
        pump(interval)


# ---------------------------------------------------------------------------
# D-Bus, in process (and busctl for tests that want the CLI)


class BusError(Exception):
    """A call failed; name is the D-Bus error name when known."""

    def __init__(self, name, message):
        super().__init__(f"{name}: {message}" if name else message)
        self.name = name
        self.message = message


def _complete_types(signature):
    """Splits a D-Bus signature into its complete types."""
    types, i = [], 0
    while i < len(signature):
        j = _skip_type(signature, i)
        types.append(signature[i:j])
        i = j
    return types


def _skip_type(sig, i):
    c = sig[i]
    if c == "a":
        return _skip_type(sig, i + 1)
    if c in "({":
        close = ")" if c == "(" else "}"
        i += 1
        while sig[i] != close:
            i = _skip_type(sig, i)
        return i + 1
    return i + 1


def _busctl_args(sig, value):
    """Flattens a Python value of D-Bus type sig into busctl's argument syntax.
    Variants are (signature, value) pairs; dicts are Python dicts."""
    c = sig[0]
    if c == "v":
        inner_sig, inner = value
        return [inner_sig] + _busctl_args(inner_sig, inner)
    if c == "a" and sig[1] == "{":
        key_sig, value_sig = _complete_types(sig[2:-1])
        out = [str(len(value))]
        for k, v in value.items():
            out += _busctl_args(key_sig, k) + _busctl_args(value_sig, v)
        return out
    if c == "a":
        out = [str(len(value))]
        for v in value:
            out += _busctl_args(sig[1:], v)
        return out
    if c == "(":
        out = []
        for s, v in zip(_complete_types(sig[1:-1]), value):
            out += _busctl_args(s, v)
        return out
    if c == "b":
        return ["true" if value else "false"]
    return [str(value)]


def busctl(*args, check=True, timeout=30):
    """The busctl CLI, for tests that want exactly what it prints or does."""
    return run(["busctl", "--system"] + list(args), check=check, timeout=timeout)


# The harness's own connection to the private system bus (Gio, in process).
# Every signal on the bus is recorded in _signals; waiting functions run the
# connection's main context, so that they wake up when one arrives.
_bus = None
_bus_context = GLib.MainContext()
_signals = []


def _record_signal(connection, sender, path, interface, member, parameters):
    _signals.append(Signal(sender, path, interface, member, _json_values(parameters)))


def bus():
    """The harness's Gio.DBusConnection to the system bus (made on first use,
    made again if the bus went away)."""
    global _bus
    if _bus is None or _bus.is_closed():
        address = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS", SYSTEM_BUS_ADDRESS)
        _bus = Gio.DBusConnection.new_for_address_sync(
            address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
            None, None)
        _bus.set_exit_on_close(False)
        # Callbacks run in the context they were subscribed in: ours.
        _bus_context.push_thread_default()
        try:
            _bus.signal_subscribe(None, None, None, None, None, Gio.DBusSignalFlags.NONE, _record_signal)
        finally:
            _bus_context.pop_thread_default()
        # The match rule is in place once the bus answered a later call.
        _bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetId",
                       None, None, Gio.DBusCallFlags.NONE, 10000, None)
    return _bus


def _dispatch_pending():
    """Runs the callbacks of what has arrived (signals); True if any ran."""
    ran = False
    while _bus is not None and _bus_context.iteration(False):
        ran = True
    return ran


def pump(timeout):
    """Dispatches what arrived on the harness's connection; waits at most
    timeout seconds for something to arrive. True if anything was dispatched."""
    if _bus is None:
        time.sleep(timeout)
        return False
    if _dispatch_pending():
        return True
    source = GLib.timeout_source_new(max(1, int(timeout * 1000)))
    fired = []
    source.set_callback(lambda *_: fired.append(True) or False)
    source.attach(_bus_context)
    try:
        _bus_context.iteration(True)
    finally:
        source.destroy()
    _dispatch_pending()
    return not fired


class Signal:
    """A signal the harness saw; args in busctl --json=short's form."""

    def __init__(self, sender, path, interface, member, args):
        self.sender = sender
        self.path = path
        self.interface = interface
        self.member = member
        self.args = args

    def __repr__(self):
        return f"Signal({self.path} {self.interface}.{self.member} {self.args!r})"


def signal_mark():
    """A position in the record of signals: signals_since(mark) are the later ones."""
    bus()
    _dispatch_pending()
    return len(_signals)


def signals_since(mark, member=None, path=None, interface=None):
    """The signals seen after mark (signal_mark()), optionally only those of
    member, path and (for PropertiesChanged: the changed) interface."""
    _dispatch_pending()
    out = []
    for s in _signals[mark:]:
        if member is not None and s.member != member:
            continue
        if path is not None and s.path != path:
            continue
        if interface is not None:
            if s.member == "PropertiesChanged" and s.interface == PROPERTIES_IFACE:
                if not s.args or s.args[0] != interface:
                    continue
            elif s.interface != interface:
                continue
        out.append(s)
    return out


def wait_for_signal(mark, timeout, what, member=None, path=None, interface=None, predicate=None):
    """Waits for a signal after mark matching member/path/interface (and
    predicate(signal), if given); returns it."""
    deadline = time.monotonic() + timeout
    while True:
        for s in signals_since(mark, member, path, interface):
            if predicate is None or predicate(s):
                return s
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        bus()
        pump(remaining)


def properties_changed_since(mark, path, interface):
    """The changed properties of each PropertiesChanged of path/interface
    after mark, as {name: value} (values as get_property() returns them)."""
    return [{k: v["data"] for k, v in s.args[1].items()}
            for s in signals_since(mark, "PropertiesChanged", path, interface)]


def _variant(sig, value):
    """A GLib.Variant of type sig from the harness's Python form (variants
    are (signature, value) pairs, as for busctl)."""
    return GLib.Variant(sig, _variant_value(sig, value))


def _variant_value(sig, value):
    c = sig[0]
    if c == "v":
        inner_sig, inner = value
        return _variant(inner_sig, inner)
    if c == "a" and sig[1] == "{":
        key_sig, value_sig = _complete_types(sig[2:-1])
        return {_variant_value(key_sig, k): _variant_value(value_sig, v) for k, v in value.items()}
    if c == "a":
        return [_variant_value(sig[1:], v) for v in value]
    if c == "(":
        return tuple(_variant_value(s, v) for s, v in zip(_complete_types(sig[1:-1]), value))
    if c in "yqutnixh":
        return int(value)
    if c == "d":
        return float(value)
    if c == "b":
        return bool(value)
    return value


def _json_values(variant):
    """A reply's or signal's values as busctl --json=short prints its "data":
    variants as {"type": ..., "data": ...}, structs and arrays as lists,
    dictionaries as dicts."""
    if variant is None:
        return []
    return [_json_form(variant.get_child_value(i)) for i in range(variant.n_children())]


def _json_form(v):
    t = v.get_type_string()
    if t == "v":
        inner = v.get_variant()
        return {"type": inner.get_type_string(), "data": _json_form(inner)}
    if t.startswith("a{"):
        out = {}
        for i in range(v.n_children()):
            entry = v.get_child_value(i)
            key = entry.get_child_value(0).unpack()
            out[key if isinstance(key, str) else str(key)] = _json_form(entry.get_child_value(1))
        return out
    if t[0] in "a(":
        return [_json_form(v.get_child_value(i)) for i in range(v.n_children())]
    return v.unpack()


def _call(path, interface, method, signature, args, timeout, flags, destination=BUS_NAME):
    """Calls method in process; returns the reply's GLib.Variant. Raises
    GLib.Error for an error reply, ValueError/TypeError for arguments that
    do not fit signature."""
    parameters = None
    if signature:
        parameters = GLib.Variant(f"({signature})", tuple(
            _variant_value(sig, value) for sig, value in zip(_complete_types(signature), args)))
    return bus().call_sync(destination, path, interface, method, parameters, None, flags,
                           int(timeout * 1000), None)


def _error_name(error):
    """(D-Bus error name or None, message) of a GLib.Error from a call."""
    name = Gio.DBusError.get_remote_error(error)
    message = error.message
    prefix = f"GDBus.Error:{name}: "
    if name and message.startswith(prefix):  # (what strip_remote_error() would do)
        message = message[len(prefix):]
    return name, message


def call(path, interface, method, signature="", *args, timeout=30):
    """Calls a method of the daemon; returns the list of reply values (in
    busctl --json=short's form). Raises BusError on failure."""
    try:
        # busctl, which this replaced, allows interactive authorization
        reply = _call(path, interface, method, signature, args, timeout,
                      Gio.DBusCallFlags.ALLOW_INTERACTIVE_AUTHORIZATION)
    except GLib.Error as e:
        raise BusError(*_error_name(e)) from None
    except (TypeError, ValueError, OverflowError) as e:
        raise BusError(None, f"{method}: arguments do not fit ({signature}): {e}") from None
    return _json_values(reply)


def call_error(path, interface, method, signature="", *args, timeout=30):
    """Calls a method that is expected to fail; returns (error name, message).
    Raises AssertionError if the call succeeds."""
    try:
        reply = _call(path, interface, method, signature, args, timeout, Gio.DBusCallFlags.NONE)
    except GLib.Error as e:
        name, message = _error_name(e)
        if not name:
            raise AssertionError(f"{method} failed without a D-Bus error: {message}") from None
        return name, message.strip()
    except (TypeError, ValueError, OverflowError) as e:
        raise AssertionError(f"{method}: arguments do not fit ({signature}): {e}") from None
    raise AssertionError(f"{method}{args!r} succeeded ({_json_values(reply)}), expected an error")


def manager_call(method, signature="", *args, **kwargs):
    return call(MANAGER_PATH, MANAGER_IFACE, method, signature, *args, **kwargs)


def manager_call_error(method, signature="", *args, **kwargs):
    return call_error(MANAGER_PATH, MANAGER_IFACE, method, signature, *args, **kwargs)


def get_property(path, interface, name):
    """A property's value (in busctl --json=short's form); BusError on failure."""
    (value,) = call(path, PROPERTIES_IFACE, "Get", "ss", interface, name)
    return value["data"]


def get_all_properties(path, interface):
    """All properties of an interface as {name: value}."""
    (props,) = call(path, PROPERTIES_IFACE, "GetAll", "s", interface)
    return {k: v["data"] for k, v in props.items()}


def capture_property(iface_name_or_path, name):
    path = iface_name_or_path if iface_name_or_path.startswith("/") else capture_path(iface_name_or_path)
    return get_property(path, CAPTURE_IFACE, name)


def capture_path(interface):
    """The object path of a capture (sd_bus_path_encode)."""
    label = "".join(chr(b) if chr(b).isascii() and chr(b).isalnum() else f"_{b:02x}"
                    for b in interface.encode())
    return CAPTURE_PATH_PREFIX + (label or "_")


def start_capture(interface, options=None):
    (path,) = manager_call("StartCapture", "sa{sv}", interface, options or {})
    return path


def stop_capture(interface):
    manager_call("StopCapture", "s", interface)


def list_captures():
    (captures,) = manager_call("ListCaptures")
    return [tuple(c) for c in captures]


def name_has_owner(name=BUS_NAME):
    try:
        (owned,) = _json_values(_call("/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner", "s",
                                      (name,), 30, Gio.DBusCallFlags.NONE, destination="org.freedesktop.DBus"))
    except GLib.Error:
        return False
    return owned


def wait_for_name_owner(owned, timeout, name=BUS_NAME, abort=None):
    """Waits until name has (owned=True) or has no owner, woken by
    NameOwnerChanged. abort() may raise to give up early."""
    deadline = time.monotonic() + timeout
    while True:
        mark = signal_mark()
        if name_has_owner(name) == owned:
            return
        if abort:
            abort()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"{name} {'not owned' if owned else 'still owned'} after {timeout}s")
        try:
            # (a 1 s look at abort(): a daemon that died without owning the name)
            wait_for_signal(mark, min(remaining, 1), "NameOwnerChanged", "NameOwnerChanged",
                            predicate=lambda s: s.args[0] == name)
        except AssertionError:
            pass


def wait_for_property(path, interface, name, expected, timeout=10):
    """Waits until property name of path/interface is expected: reads it, and
    again on each PropertiesChanged of that object that names it (and once
    a second, for properties that are not announced)."""
    seen = []
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        mark = signal_mark()
        try:
            value = get_property(path, interface, name)
            last_error = None
            if not seen or seen[-1] != value:
                seen.append(value)
            if value == expected:
                return
        except Exception as e:  # the object may not exist yet
            last_error = e
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            detail = f" (last error: {last_error})" if last_error else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {name} == {expected!r} on {path}"
                                 f"{detail}; values seen: {seen}")
        try:
            wait_for_signal(mark, min(remaining, 1), f"PropertiesChanged of {name}", "PropertiesChanged",
                            path, interface, lambda s: name in s.args[1] or name in s.args[2])
        except AssertionError:
            pass


def wait_for_state(interface, state, timeout=10):
    wait_for_property(capture_path(interface), CAPTURE_IFACE, "State", state, timeout)


class BusMonitor:
    """`busctl --json=short monitor` in the background, collecting messages."""

    def __init__(self):
        self.messages = []
        self._lock = threading.Lock()
        self._proc = subprocess.Popen(["busctl", "--system", "--json=short", "monitor"],
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        # busctl sends nothing once it is a monitor; make sure it is by
        # waiting until it sees a message of ours.
        wait_for(self._sees_probe, 10, "busctl monitor to start")

    def _sees_probe(self):
        name_has_owner("monitor.probe")
        return any(m.get("member") == "NameHasOwner" for m in self.snapshot())

    def _read(self):
        for line in self._proc.stdout:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            with self._lock:
                self.messages.append(msg)

    def snapshot(self):
        with self._lock:
            return list(self.messages)

    def properties_changed(self, path, interface):
        """The changed properties of each PropertiesChanged signal of path/interface."""
        out = []
        for m in self.snapshot():
            if m.get("type") != "signal" or m.get("member") != "PropertiesChanged" or m.get("path") != path:
                continue
            data = m.get("payload", {}).get("data", [])
            if len(data) >= 2 and data[0] == interface:
                out.append({k: v["data"] for k, v in data[1].items()})
        return out

    def sync(self, timeout=10):
        """Returns once the monitor has seen every message the daemon sent
        before now: a Ping to the daemon and its reply have passed it (the
        daemon handles its messages in order)."""
        me = bus().get_unique_name()
        before = len(self.snapshot())
        call(MANAGER_PATH, "org.freedesktop.DBus.Peer", "Ping")

        def seen():
            messages = self.snapshot()[before:]
            cookies = {m.get("cookie") for m in messages
                       if m.get("member") == "Ping" and m.get("sender") == me and m.get("type") == "method_call"}
            return any(m.get("type") == "method_return" and m.get("reply_cookie") in cookies
                       and m.get("destination") == me for m in messages)
        wait_for(seen, timeout, "the bus monitor to see the reply to a Ping")

    def stop(self):
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()


# ---------------------------------------------------------------------------
# Processes


def _proc_status(pid):
    fields = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                fields[k] = v.strip()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return fields


def processes(comm):
    """Live (not zombie) processes in this PID namespace named comm."""
    reap_orphans()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        status = _proc_status(entry)
        if status and status.get("Name") == comm and not status.get("State", "").startswith(("Z", "X")):
            pids.append(int(entry))
    return sorted(pids)


def tcpdump_processes():
    return processes("tcpdump")


def child_processes(pid):
    """The PIDs of pid's children, zombies not yet reaped included."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            status = _proc_status(entry)
            if status and status.get("PPid") == str(pid):
                out.append(int(entry))
    return sorted(out)


def process_uid(pid):
    """The real uid of a process."""
    return int(_proc_status(pid)["Uid"].split()[0])


def process_comm(pid):
    with open(f"/proc/{pid}/comm") as f:
        return f.read().strip()


def process_cmdline(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return [a.decode(errors="replace") for a in f.read().split(b"\0")[:-1]]


_tracked_children = set()


def reap_orphans():
    """As PID 1 we inherit every orphan: reap those that died (and only
    those that are no subprocess.Popen of ours)."""
    me = str(os.getpid())
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in _tracked_children:
            continue
        status = _proc_status(entry)
        if status and status.get("PPid") == me and status.get("State", "").startswith("Z"):
            try:
                os.waitpid(int(entry), os.WNOHANG)
            except ChildProcessError:
                pass


# ---------------------------------------------------------------------------
# Traffic


def create_veth(name="vtest0", peer="vtest1"):
    """A veth pair inside the namespace, both ends up; frames sent on peer
    arrive on name."""
    run(["ip", "link", "add", "name", name, "type", "veth", "peer", "name", peer])
    run(["ip", "link", "set", name, "up"])
    run(["ip", "link", "set", peer, "up"])
    # (not /sys/class/net: that sysfs belongs to the host's network namespace)
    wait_for(lambda: link_operstate(name) == "UP", 5, f"{name} to be up")


def link_operstate(name):
    (link,) = json.loads(run(["ip", "-json", "link", "show", "dev", name]).stdout)
    return link.get("operstate")


def delete_link(name):
    run(["ip", "link", "del", name], check=False)


ETHERTYPE_EXPERIMENTAL = 0x88B5  # IEEE 802 local experimental


def send_frames(ifname, payload=b"captured-test", count=10, ethertype=ETHERTYPE_EXPERIMENTAL):
    """Sends raw Ethernet frames (broadcast, no IP) on ifname."""
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as s:
        s.bind((ifname, 0))
        src = s.getsockname()[4][:6]
        frame = b"\xff" * 6 + src + ethertype.to_bytes(2, "big") + payload
        frame = frame.ljust(60, b"\0")
        for _ in range(count):
            s.send(frame)


def send_udp(payload=b"captured-test", count=10, port=9, host="127.0.0.1"):
    """Sends UDP datagrams (to the discard port, nobody listens) over lo."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _ in range(count):
            s.sendto(payload, (host, port))


# ---------------------------------------------------------------------------
# Capture files


def all_files(directory):
    """Every regular file below directory (dot files too), sorted."""
    out = []
    for root, _, files in os.walk(directory):
        out += [os.path.join(root, f) for f in files]
    return sorted(out)


def pcap_magic_ok(path):
    with open(path, "rb") as f:
        return f.read(4) in PCAP_MAGICS


def pcap_records(data):
    """The packet records of pcap data (bytes), read here independently of
    the daemon and of libpcap: (offset of the record header, time in µs,
    the captured bytes). A record cut short ends the list."""
    magic = data[:4]
    if magic not in PCAP_MAGICS:
        raise AssertionError(f"not a pcap file (magic {magic.hex()})")
    order = "<" if magic in (bytes.fromhex("d4c3b2a1"), bytes.fromhex("4d3cb2a1")) else ">"
    nsec = magic in (bytes.fromhex("4d3cb2a1"), bytes.fromhex("a1b23c4d"))
    offset, records = 24, []
    while offset + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack(order + "IIII", data[offset:offset + 16])
        if offset + 16 + caplen > len(data):
            break
        records.append((offset, sec * 1000000 + (frac // 1000 if nsec else frac),
                        data[offset + 16:offset + 16 + caplen]))
        offset += 16 + caplen
    return records


def capinfos_check(path):
    """None if capinfos reads path cleanly (or is not installed), else why not."""
    if not shutil.which("capinfos"):
        return None
    p = run(["capinfos", "-c", path], check=False)
    if p.returncode != 0 or "cut short" in p.stderr + p.stdout:
        return f"capinfos {path}: exit {p.returncode}: {(p.stderr + p.stdout).strip()}"
    return None


def tree(directory):
    """Every path below directory (files and directories), as a set."""
    out = set()
    for root, dirs, files in os.walk(directory):
        out |= {os.path.join(root, n) for n in dirs + files}
    return out


# ---------------------------------------------------------------------------
# The daemon


class Daemon:
    def __init__(self, config_dir, state_dir, log_path, extra_args=(), prefix=(), before_start=None):
        self.config_dir = config_dir
        self.state_dir = state_dir
        # What runs is noted here, not in the host's /run/captured (inside
        # the state directory, which the tests already treat as the daemon's).
        # An empty one is what a reboot leaves.
        self.runtime_dir = os.path.join(state_dir, "runtime")
        self.log_path = log_path
        self.extra_args = list(extra_args)
        self.prefix = list(prefix)  # e.g. daemon_user_prefix(): runs the daemon through it
        self.before_start = before_start  # called by start(), as systemd sets up StateDirectory=
        self.proc = None
        self.guardian_pid = None

    @property
    def pid(self):
        return self.proc.pid

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def start(self, timeout=15):
        if self.before_start:
            self.before_start()
        with open(self.log_path, "ab") as logfile:
            self.proc = subprocess.Popen(
                self.prefix + [CAPTURED, f"--config-dir={self.config_dir}", f"--state-dir={self.state_dir}",
                               f"--runtime-dir={self.runtime_dir}"] + self.extra_args,
                stdin=subprocess.DEVNULL, stdout=logfile, stderr=subprocess.STDOUT)
        _tracked_children.add(self.proc.pid)

        def exited():
            if self.proc.poll() is not None:
                raise AssertionError(f"captured exited {self.proc.returncode} before owning {BUS_NAME}")
        try:
            wait_for_name_owner(True, timeout, abort=exited)
        except AssertionError as e:
            if self.proc.poll() is not None:
                raise
            raise AssertionError(f"captured did not own {BUS_NAME} within {timeout}s") from e
        # Its first child, forked before anything else (main.c), is the
        # guardian: under load it may not have renamed itself yet.
        children = child_processes(self.proc.pid)
        self.guardian_pid = children[0] if children else None
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, signo):
        self.proc.send_signal(signo)

    def wait(self, timeout):
        return self.proc.wait(timeout)

    def stop(self, timeout=15):
        """SIGTERM, then SIGKILL; returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        try:
            wait_for_name_owner(False, 5)
        except AssertionError:
            raise AssertionError(f"timed out after 5s waiting for {BUS_NAME} to be released") from None
        return self.proc.returncode


class CapturedTestCase(unittest.TestCase):
    """Starts a fresh daemon for each test, with its own directories.

    Override daemon_config (a dict of section → {key: value}) to add to
    captured.conf; CaptureDirectory is always set."""

    daemon_config = {}
    start_daemon = True
    daemon_prefix = ()      # daemon_user_prefix(): the daemon as user captured

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix=self._testMethodName + "-", dir=_scratch)
        os.chmod(self.root, 0o755)
        self.config_dir = os.path.join(self.root, "config")
        self.state_dir = os.path.join(self.root, "state")
        self.capture_dir = os.path.join(self.root, "captures")
        for d in (self.config_dir, self.state_dir, self.capture_dir):
            os.mkdir(d, 0o755)
        self.daemon_log_path = os.path.join(self.root, "captured.log")
        self.write_config(self.daemon_config)
        self.daemon = Daemon(self.config_dir, self.state_dir, self.daemon_log_path, prefix=self.daemon_prefix,
                             before_start=self.adopt_directories if self.daemon_prefix else None)
        self.addCleanup(self._cleanup_processes)
        if self.start_daemon:
            self.daemon.start()

    def adopt_directories(self):
        """With daemon_prefix, before each start: the state and capture
        directories become the daemon user's, as StateDirectory= (which
        holds the default CaptureDirectory=) does under systemd."""
        for d in (self.state_dir, self.capture_dir):
            if os.path.isdir(d):
                adopt(d)

    def write_config(self, extra):
        sections = {"Daemon": {"CaptureDirectory": self.capture_dir}}
        for section, keys in extra.items():
            sections.setdefault(section, {}).update(keys)
        with open(os.path.join(self.config_dir, "captured.conf"), "w") as f:
            for section, keys in sections.items():
                f.write(f"[{section}]\n")
                for k, v in keys.items():
                    f.write(f"{k}={v}\n")
                f.write("\n")

    def _cleanup_processes(self):
        self.daemon.stop()
        # Whatever a broken daemon left behind must not leak into the next test.
        for pid in tcpdump_processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    # -- assertions -------------------------------------------------------

    def assertBusError(self, expected_names, method, signature, *args, path=MANAGER_PATH,
                       interface=MANAGER_IFACE):
        """Calls method, expects one of expected_names; returns (name, message)."""
        if isinstance(expected_names, str):
            expected_names = (expected_names,)
        name, message = call_error(path, interface, method, signature, *args)
        self.assertIn(name, expected_names,
                      f"{method}({', '.join(repr(a)[:80] for a in args)}) failed with {name}: {message}")
        return name, message

    def assertDaemonAlive(self):
        self.assertTrue(self.daemon.running(),
                        f"captured exited with {self.daemon.proc.returncode}")
        self.assertTrue(name_has_owner(), f"{BUS_NAME} has no owner")

    def assertNoTcpdump(self, timeout=5):
        try:
            wait_for(lambda: not tcpdump_processes(), timeout, "no tcpdump process")
        except AssertionError:
            left = {pid: " ".join(process_cmdline(pid)) for pid in tcpdump_processes()}
            self.fail(f"tcpdump still running after {timeout}s: {left}")

    def spawned_processes(self):
        """What the daemon forked and has not reaped yet, its guardian aside,
        as {pid: comm}."""
        out = {}
        for pid in child_processes(self.daemon.pid):
            if pid == self.daemon.guardian_pid:
                continue
            try:
                comm = process_comm(pid)
            except (FileNotFoundError, ProcessLookupError):
                continue
            if comm != "captured-guard":
                out[pid] = comm
        return out

    def assertNothingSpawned(self, what, before=None):
        """The daemon forked nothing (but what is in before) for what.

        No waiting needed: the daemon forks tcpdump and hooks while it handles
        a call, before it replies, so once the caller has the reply a child
        made for it is there (alive, or a zombie not reaped yet)."""
        spawned = {pid: comm for pid, comm in self.spawned_processes().items() if pid not in (before or {})}
        self.assertEqual(spawned, {}, f"{what} made the daemon fork")

    def wait_running(self, interface, timeout=10):
        """Waits for State running; returns MainPID."""
        wait_for_state(interface, "running", timeout)
        pid = capture_property(interface, "MainPID")
        self.assertGreater(pid, 0, "MainPID of a running capture")
        return pid


class SmallCaptureFsTestCase(CapturedTestCase):
    """For disk-guard and full-disk tests: the capture directory is a tmpfs
    of capture_fs_size bytes, the daemon starts on it, and self.monitor
    follows the bus. The tmpfs is unmounted after the daemon's stop, which
    lets go of it."""

    start_daemon = False
    capture_fs_size = None   # bytes; set by the subclass

    def setUp(self):
        super().setUp()
        testbed.mount_tmpfs(self.capture_dir, "0755", self.capture_fs_size)
        self.addCleanup(run, ["umount", "--lazy", self.capture_dir], check=False)
        self.addCleanup(self.daemon.stop)
        self.daemon.start()
        self.monitor = BusMonitor()
        self.addCleanup(self.monitor.stop)


# ---------------------------------------------------------------------------
# The daemon as its own system user (issue 11: captured.service's User=,
# Group=, AmbientCapabilities=CAP_NET_RAW, CapabilityBoundingSet=CAP_NET_RAW,
# NoNewPrivileges=), and the accounts that needs


DAEMON_USER, DAEMON_UID = "captured", 4120
DAEMON_GROUP, DAEMON_GID = "capture", 4110   # the unit's Group= (readers, controllers)


def add_accounts(users=(), groups=()):
    """Bind-mounts copies of /etc/passwd and /etc/group with users added
    ((name, uid, primary gid)) and groups ((name, gid, [members])); members
    are added to a group that exists already. Reloads the bus, whose policy
    names users."""
    with open("/etc/passwd") as f:
        passwd = f.read()
    with open("/etc/group") as f:
        group = f.read().splitlines()
    for name, uid, gid in users:
        passwd += f"{name}:x:{uid}:{gid}:captured test user:/nonexistent:/usr/sbin/nologin\n"
    for name, gid, members in groups:
        for i, line in enumerate(group):
            fields = line.split(":")
            if fields[0] == name:
                group[i] = ":".join(fields[:3] + [",".join([m for m in fields[3].split(",") if m] + members)])
                break
        else:
            group.append(f"{name}:x:{gid}:{','.join(members)}")
    copies = tempfile.mkdtemp(prefix="accounts-", dir=_scratch)
    for original, text in (("/etc/passwd", passwd), ("/etc/group", "\n".join(group) + "\n")):
        copy = os.path.join(copies, os.path.basename(original))
        with open(copy, "w") as f:
            f.write(text)
        os.chmod(copy, 0o644)
        run(["mount", "--bind", copy, original])
    busctl("call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "ReloadConfig")


def add_daemon_accounts():
    """User captured, in group capture (as sysusers.d/captured.conf makes them)."""
    add_accounts(users=[(DAEMON_USER, DAEMON_UID, DAEMON_UID)],
                 groups=[(DAEMON_USER, DAEMON_UID, []), (DAEMON_GROUP, DAEMON_GID, [DAEMON_USER])])


def daemon_user_prefix(user=DAEMON_USER, group=DAEMON_GROUP):
    """What captured.service does to the daemon, by setpriv: its user and
    group, CAP_NET_RAW as the only (ambient) capability, no new privileges."""
    return ["setpriv", f"--reuid={user}", f"--regid={group}", "--init-groups", "--inh-caps=-all,+net_raw",
            "--ambient-caps=+net_raw", "--bounding-set=-all,+net_raw", "--no-new-privs", "--"]


def adopt(path, user=DAEMON_USER, group=DAEMON_GROUP):
    """What systemd does to StateDirectory= when its owner is not the unit's
    User=: chowns the whole tree to User:Group (modes stay)."""
    run(["chown", "-R", "--no-dereference", f"{user}:{group}", path])
