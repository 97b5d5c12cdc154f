#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""capturectl's user interface (issue 5 §4): the help of each command,
disk use in status and list, and a pager only on a terminal."""

import errno
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (CAPTURE_IFACE, CAPTURECTL, capture_path, get_all_properties, start_capture,  # noqa: E402
                     stop_capture, wait_for, wait_for_state)
from capture_helpers import Traffic, capturectl  # noqa: E402

EXIT_USAGE = 2
EXIT_NOT_RUNNING = 3

# What the environment of the test run may hold that changes the choice of a pager.
PAGER_VARIABLES = ("PAGER", "CAPTURECTL_PAGER", "LESS", "LESSSECURE", "LESSCHARSET", "SUDO_UID", "PKEXEC_UID")


def format_bytes(n):
    """ctl/format.c format_bytes(): SI units, one decimal, "512B", "6.9M"."""
    if n < 1000:
        return f"{n}B"
    unit = 1000
    for i, suffix in enumerate("KMGTPE"):
        tenth = unit // 10
        tenths = n // tenth + (1 if n % tenth >= tenth // 2 else 0)
        if tenths < 10000 or i == 5:
            return f"{tenths // 10}.{tenths % 10}{suffix}"
        unit *= 1000
    raise AssertionError("unreachable")


def help_section(text, title):
    """The lines of a section of a help text ("Capture options (...):" ...)."""
    lines = text.split("\n" + title, 1)[1].split("\n\n", 1)[0].splitlines()
    return lines[1:]


def long_options(lines):
    return {m.group(0) for line in lines for m in re.finditer(r"--(\[no-\])?[a-z][a-z-]*", line)}


class HelpTest(harness.CapturedTestCase):
    """Help needs no daemon: none runs here."""

    start_daemon = False

    def help_of(self, *args):
        p = capturectl(*args)
        self.assertEqual(p.returncode, 0, f"capturectl {' '.join(args)}: {p.stderr}")
        self.assertEqual(p.stderr, "")
        return p.stdout

    def test_start_help(self):
        text = self.help_of("start", "--help")
        self.assertTrue(text.startswith("capturectl [OPTIONS] start IFACE...\n"), text)
        self.assertIn("--filter=", text)
        self.assertIn("--file-size=", text)
        self.assertIn("--no-pager", text)
        self.assertNotIn("--now", text)
        # Every capture option of the main help, generated from the same table.
        main_help = self.help_of("--help")
        capture_options = long_options(help_section(main_help, "Capture options"))
        self.assertGreaterEqual(len(capture_options), 8, main_help)
        self.assertEqual(long_options(help_section(text, "Capture options")), capture_options)
        self.assertEqual(self.help_of("help", "start"), text)
        self.assertEqual(self.help_of("--help", "start"), text)

    def test_help_status(self):
        text = self.help_of("help", "status")
        self.assertTrue(text.startswith("capturectl [OPTIONS] status [IFACE...]\n"), text)
        for option in ("--json", "--no-pager", "--quiet", "--host="):
            self.assertIn(option, text)
        for option in ("--filter", "--file-size", "--now"):
            self.assertNotIn(option, text)
        self.assertEqual(self.help_of("status", "--help"), text)
        self.assertEqual(self.help_of("status", "-h"), text)

    def test_enable_and_disable_help(self):
        enable = self.help_of("enable", "--help")
        disable = self.help_of("help", "disable")
        for text in (enable, disable):
            options = long_options(help_section(text, "Options:"))
            self.assertEqual(options, {"--now", "--no-auto-start"}, text)
        self.assertIn("--filter=", enable)
        self.assertNotIn("--filter", disable)

    def test_help_of_unknown_command(self):
        for args in (("help", "frob"), ("frob", "--help")):
            p = capturectl(*args)
            self.assertEqual(p.returncode, EXIT_USAGE, p)
            self.assertEqual(p.stdout, "")
            self.assertEqual(p.stderr, "capturectl: unknown command 'frob' (see capturectl --help)\n")

    def test_help_without_command_is_the_main_help(self):
        self.assertEqual(self.help_of("help"), self.help_of("--help"))


class DiskUseTest(harness.CapturedTestCase):

    def test_status_list_and_json_show_disk_use(self):
        # Retention keeps 2 finished files of more completed: kept and completed differ.
        start_capture("lo", {"FileSize": ("u", 1), "FileCount": ("u", 3), "Filter": ("s", "udp")})
        self.wait_running("lo")
        with Traffic(rate=3_000_000):
            wait_for(lambda: harness.capture_property("lo", "FilesCompleted") >= 4, 30, "four completed files",
                     interval=0.1)
        # Stopped, DiskUsage no longer moves.
        stop_capture("lo")
        wait_for_state("lo", "stopped")
        on_bus = get_all_properties(capture_path("lo"), CAPTURE_IFACE)
        self.assertGreaterEqual(on_bus["FilesKept"], 1, on_bus)
        self.assertLess(on_bus["FilesKept"], on_bus["FilesCompleted"], on_bus)
        self.assertGreater(on_bus["DiskUsage"], 1_000_000, on_bus)

        p = capturectl("status", "lo")
        self.assertEqual(p.returncode, EXIT_NOT_RUNNING, p.stderr)
        m = re.search(r"^ *Files: (\d+) kept, (\S+) on disk \(at most (\d+) × (\d+) MB\)$", p.stdout, re.M)
        self.assertTrue(m, f"no disk use line in:\n{p.stdout}")
        self.assertEqual(int(m.group(1)), on_bus["FilesKept"])
        self.assertEqual(m.group(2), format_bytes(on_bus["DiskUsage"]))
        self.assertEqual((int(m.group(3)), int(m.group(4))), (3, 1))

        p = capturectl("list")
        self.assertEqual(p.returncode, 0, p.stderr)
        header, *rows = [line.split() for line in p.stdout.splitlines()]
        self.assertIn("DISK", header, p.stdout)
        (row,) = [r for r in rows if r and r[0] == "lo"]
        self.assertEqual(row[header.index("DISK")], format_bytes(on_bus["DiskUsage"]), p.stdout)

        p = capturectl("--json", "status", "lo")
        (o,) = json.loads(p.stdout)
        self.assertEqual((o["FilesKept"], o["DiskUsage"]), (on_bus["FilesKept"], on_bus["DiskUsage"]))


class PagerTest(harness.CapturedTestCase):

    def setUp(self):
        super().setUp()
        start_capture("lo")
        self.wait_running("lo")
        self.bin = os.path.join(self.root, "bin")
        os.mkdir(self.bin)
        self.cat = shutil.which("cat")
        self.pager = self.stub("pager")

    def stub(self, name):
        """A pager that says it ran (with the variables less reads), copies
        its input to the terminal and is slow to exit."""
        path = os.path.join(self.bin, name)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n"
                    f'printf "%s\\n" "LESS=$LESS" "LESSSECURE=$LESSSECURE" "LESSCHARSET=$LESSCHARSET" >"{path}.ran"\n'
                    f"{self.cat}\n"
                    "sleep 0.5\n"
                    f': >"{path}.done"\n')
        os.chmod(path, 0o755)
        return path

    def ran(self, stub):
        """The environment a stub ran with, None if it did not run."""
        if not os.path.exists(stub + ".ran"):
            return None
        with open(stub + ".ran") as f:
            env = dict(line.split("=", 1) for line in f.read().splitlines())
        os.unlink(stub + ".ran")
        return env

    def env(self, **variables):
        env = {k: v for k, v in os.environ.items() if k not in PAGER_VARIABLES}
        env.update(NO_COLOR="1", TERM="xterm")
        env.update(variables)
        return env

    def on_terminal(self, *args, env, until=None, timeout=30):
        """Runs capturectl with stdout a pseudo-terminal; returns (exit status,
        what reached the terminal). With until, ends it with SIGTERM once the
        terminal showed that text."""
        master, slave = pty.openpty()
        try:
            p = subprocess.Popen([CAPTURECTL, "--no-ask-password"] + list(args), stdin=subprocess.DEVNULL,
                                 stdout=slave, stderr=subprocess.PIPE, env=env, start_new_session=True)
            harness._tracked_children.add(p.pid)  # ours to reap, not reap_orphans()'s
            os.close(slave)
            slave = None
            output = b""
            while True:
                ready, _, _ = select.select([master], [], [], timeout)
                if not ready:
                    p.kill()
                    self.fail(f"capturectl {' '.join(args)} still writes after {timeout}s: {output!r}")
                try:
                    chunk = os.read(master, 4096)
                except OSError as e:
                    if e.errno != errno.EIO:  # every writer closed the terminal
                        raise
                    chunk = b""
                if not chunk:
                    break
                output += chunk
                if until and until.encode() in output and p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            p.wait(timeout)
            return p.returncode, output.decode(errors="replace").replace("\r\n", "\n")
        finally:
            os.close(master)
            if slave is not None:
                os.close(slave)

    def test_pages_status_list_and_files_on_a_terminal(self):
        for *args, shown in (("status", "lo", "lo - packet capture"), ("list", "1 capture listed."),
                             ("files", "lo", "0 files listed"), ("--json", "status", '"Interface"')):
            status, output = self.on_terminal(*args, env=self.env(PAGER=self.pager))
            self.assertEqual(status, 0, f"{args}: {output}")
            env = self.ran(self.pager)
            self.assertIsNotNone(env, f"capturectl {' '.join(args)} on a terminal did not run $PAGER")
            self.assertEqual(env["LESS"], "FRSXMK")
            self.assertEqual(env["LESSCHARSET"], "utf-8")
            self.assertEqual(env["LESSSECURE"], "")
            self.assertIn(shown, output)
            # capturectl waited for the pager to exit.
            self.assertTrue(os.path.exists(self.pager + ".done"), f"capturectl {' '.join(args)} did not wait")
            os.unlink(self.pager + ".done")

        status, output = self.on_terminal("status", "lo", env=self.env(PAGER=self.pager, LESS="X"))
        self.assertEqual(self.ran(self.pager)["LESS"], "X", "$LESS was overridden")
        self.assertIn("lo - packet capture", output)

    def test_no_pager_option(self):
        status, output = self.on_terminal("--no-pager", "status", "lo", env=self.env(PAGER=self.pager))
        self.assertEqual(status, 0, output)
        self.assertIn("lo - packet capture", output)
        self.assertIsNone(self.ran(self.pager), "--no-pager ran the pager")

    def test_no_pager_on_a_pipe(self):
        p = harness.run([CAPTURECTL, "--no-ask-password", "status", "lo"], check=False,
                        stdin=subprocess.DEVNULL, env=self.env(PAGER=self.pager))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("lo - packet capture", p.stdout)
        self.assertIsNone(self.ran(self.pager), "a pipe was paged")

    def test_capturectl_pager_comes_first(self):
        own = self.stub("own-pager")
        self.on_terminal("list", env=self.env(PAGER=self.pager, CAPTURECTL_PAGER=own))
        self.assertIsNotNone(self.ran(own), "$CAPTURECTL_PAGER did not run")
        self.assertIsNone(self.ran(self.pager), "$PAGER ran instead of $CAPTURECTL_PAGER")

        for none in ("", "cat"):
            status, output = self.on_terminal("list", env=self.env(PAGER=self.pager, CAPTURECTL_PAGER=none))
            self.assertEqual(status, 0, output)
            self.assertIn("lo", output)
            self.assertIsNone(self.ran(self.pager), f"CAPTURECTL_PAGER={none!r} still paged")

    def test_less_more_or_nothing(self):
        less, more = self.stub("less"), self.stub("more")
        self.on_terminal("list", env=self.env(PATH=self.bin))
        self.assertIsNotNone(self.ran(less), "less did not run without $PAGER")
        self.assertIsNone(self.ran(more))

        os.unlink(less)
        self.on_terminal("list", env=self.env(PATH=self.bin))
        self.assertIsNotNone(self.ran(more), "more did not run without less")

        os.unlink(more)
        status, output = self.on_terminal("list", env=self.env(PATH=self.bin))
        self.assertEqual(status, 0, output)
        self.assertIn("lo", output, "no output without a pager")

    def test_only_less_in_secure_mode_under_sudo(self):
        less, more = self.stub("less"), self.stub("more")
        path = self.bin + ":" + os.environ.get("PATH", "/usr/bin:/bin")
        self.on_terminal("list", env=self.env(PATH=path, PAGER=self.pager, SUDO_UID="1000"))
        self.assertIsNone(self.ran(self.pager), "$PAGER ran under sudo")
        env = self.ran(less)
        self.assertIsNotNone(env, "less did not run under sudo")
        self.assertEqual(env["LESSSECURE"], "1")

        os.unlink(less)
        status, output = self.on_terminal("list", env=self.env(PATH=self.bin, SUDO_UID="1000"))
        self.assertIsNone(self.ran(more), "more (which can run commands) ran under sudo")
        self.assertEqual(status, 0, output)
        self.assertIn("lo", output)

    def test_watch_is_not_paged(self):
        # A packet and a read of the counters make the daemon announce the
        # new counters, which watch prints: poke until it did, then end it.
        done = threading.Event()

        def poke():
            while not done.wait(0.5):
                harness.send_udp(count=1)
                harness.capture_property("lo", "PacketsCaptured")

        poker = threading.Thread(target=poke, daemon=True)
        poker.start()
        try:
            _, output = self.on_terminal("watch", "lo", env=self.env(PAGER=self.pager), until="PacketsCaptured")
        finally:
            done.set()
            poker.join(10)
        self.assertIn("PacketsCaptured", output)
        self.assertIsNone(self.ran(self.pager), "watch was paged")


if __name__ == "__main__":
    harness.main()
