#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""tools/try-it as a new user runs it (issue 8, item 11; SPEC §10), on a
machine without a system bus: inside fresh namespaces with an empty
/run/dbus, tmpfs over /var/tmp and over the checkout's demo/, and --upload,
so that the local CloudShark-compatible server receives the files.

It must start a private bus and say so, keep meson's output in
demo/build.log, print one status line per interval, the bus hint as the
last line before them, show the uploaded files arriving, and leave a
daemon log with timestamps and without "<N>" priority prefixes."""

import os
import re
import signal
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import testbed  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import send_udp, wait_for  # noqa: E402

SOURCE_ROOT = os.environ.get("SOURCE_ROOT", "")
BUILD_ROOT = os.environ.get("BUILD_ROOT", "")
TRY_IT = os.path.join(SOURCE_ROOT, "tools", "try-it")
DEMO = os.path.join(SOURCE_ROOT, "demo")
MARKER = "CAPTURED_TRY_IT_IN_NAMESPACE"

STATUS_LINE = re.compile(r"^\d\d:\d\d:\d\d  (running|starting)  \d+ packets \(\d+ dropped\)  \d+ files finished")
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} ")


def setup_namespace():
    testbed.run(["mount", "--make-rprivate", "/"])
    testbed.run(["ip", "link", "set", "lo", "up"])
    # No system bus here: try-it must start its own.
    if os.path.isdir("/run/dbus"):
        testbed.mount_tmpfs("/run/dbus")
    # A checkout under /var/tmp (a CI clone) stays visible.
    testbed.mount_tmpfs_keeping("/var/tmp", [SOURCE_ROOT, BUILD_ROOT], "1777")
    os.makedirs(DEMO, exist_ok=True)   # the mount point; try-it makes it anyway
    testbed.mount_tmpfs(DEMO)


class TryItTest(unittest.TestCase):

    def setUp(self):
        self.lines = []
        self.lock = threading.Lock()

    def read_output(self, stream):
        for line in stream:
            with self.lock:
                self.lines.append(line.rstrip("\n"))

    def output(self):
        with self.lock:
            return list(self.lines)

    def test_try_it_with_upload_without_a_system_bus(self):
        env = dict(os.environ)
        env.pop("DBUS_SYSTEM_BUS_ADDRESS", None)
        p = subprocess.Popen([TRY_IT, "--upload", "--interface=lo", f"--build-dir={BUILD_ROOT}"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, env=env, start_new_session=True)
        reader = threading.Thread(target=self.read_output, args=(p.stdout,), daemon=True)
        reader.start()
        try:
            wait_for(lambda: any(STATUS_LINE.match(line) for line in self.output()) or p.poll() is not None,
                     120, "try-it's first status line")
            self.assertIsNone(p.poll(), "try-it exited early:\n" + "\n".join(self.output()))

            def uploaded():
                send_udp(b"x" * 1400, count=200)
                return any("uploaded pcap-lo-" in line for line in self.output())
            try:
                wait_for(uploaded, 60, "try-it to show an uploaded file", interval=0.5)
            except AssertionError as e:
                raise AssertionError(f"{e}; its output:\n" + "\n".join(self.output())) from None
            os.killpg(p.pid, signal.SIGINT)
            status = p.wait(60)
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        reader.join(10)
        out = self.output()
        text = "\n".join(out)
        print("----- try-it's output -----\n" + text + "\n----- end -----", flush=True)
        self.assertEqual(status, 0, text)

        self.assertIn("starting a private one at", text)
        self.assertIn("output in demo/build.log", text)
        self.assertNotIn("ninja", text, "meson's output is on the terminal")
        self.assertTrue(os.path.getsize(os.path.join(DEMO, "build.log")) > 0)

        # The status lines, one per interval, come right after the bus hint.
        first = next(i for i, line in enumerate(out) if STATUS_LINE.match(line))
        self.assertRegex(out[first - 1], r"export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/tmp/captured-try-it\.")
        self.assertIn("demo/config/", text)
        self.assertIn("kill -HUP", text)
        self.assertRegex(text, r"uploaded pcap-lo-\S+\.pcap \(\d+ bytes\): http://127\.0\.0\.1:\d+/captures/")

        log_lines = [line for line in open(os.path.join(DEMO, "captured.log")).read().splitlines() if line]
        self.assertTrue(log_lines)
        for line in log_lines:
            self.assertRegex(line, LOG_LINE, "a daemon log line without a timestamp")
            self.assertNotRegex(line, r"^<\d>|\] <\d>| <\d>[A-Z]")


def main():
    if not SOURCE_ROOT or not BUILD_ROOT:
        print("ERROR: $SOURCE_ROOT and $BUILD_ROOT must be set (run the tests with `meson test`)", flush=True)
        sys.exit(1)
    testbed.enter(MARKER, ("setsid", "python3"), "try-it's test")
    setup_namespace()
    program = unittest.main(module="__main__", testRunner=unittest.TextTestRunner(verbosity=2, stream=sys.stdout),
                            exit=False)
    sys.exit(0 if program.result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
