#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""What status says is the present (issue 8 §5): LastError goes when the
capture recovers and says when it happened; the last failed upload per
target and the last hook failure are shown by `capturectl status`,
`--json` and as properties; `list` counts the files on disk, as status
does, and prints its header and count with no capture at all."""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import capture_property, start_capture, stop_capture, wait_for, wait_for_state  # noqa: E402
from capture_helpers import Traffic, capturectl  # noqa: E402
from test_upload import IFACE, TARGET, UploadTestCase  # noqa: E402


def json_status(interface):
    p = capturectl("--json", "status", interface)
    (o,) = json.loads(p.stdout)
    return o


class LastErrorTest(harness.CapturedTestCase):

    def test_last_error_is_cleared_when_the_interface_is_back(self):
        harness.create_veth("vtest0", "vtest1")
        self.addCleanup(harness.delete_link, "vtest0")
        start_capture("vtest0")
        self.wait_running("vtest0")
        self.assertEqual(capture_property("vtest0", "LastErrorTimestamp"), 0)

        harness.delete_link("vtest0")
        wait_for_state("vtest0", "waiting")
        self.assertIn("not present", capture_property("vtest0", "LastError"))
        self.assertGreater(capture_property("vtest0", "LastErrorTimestamp"), 0)
        p = capturectl("status", "vtest0")
        self.assertRegex(p.stdout, r"(?m)^ *Last error: Interface vtest0 is not present; waiting for it \(at .+\)$")

        harness.create_veth("vtest0", "vtest1")
        self.wait_running("vtest0")
        self.assertEqual(capture_property("vtest0", "LastError"), "", "LastError outlived the recovery")
        self.assertEqual(capture_property("vtest0", "LastErrorTimestamp"), 0)
        self.assertNotIn("Last error", capturectl("status", "vtest0").stdout)


class UploadErrorTest(UploadTestCase):

    server_starts = False   # connections are refused until it starts

    def test_upload_error_is_shown_until_an_upload_succeeds(self):
        path = self.capture_one_file()
        errors = wait_for(lambda: capture_property(IFACE, "UploadErrors"), 15, "UploadErrors to show the failure")
        ((target, at, error),) = errors
        self.assertEqual((target, error), (TARGET, "Connection refused"))
        self.assertGreater(at, 0)

        p = capturectl("status", IFACE)
        self.assertRegex(p.stdout, rf"(?m)^ *Upload error: {TARGET}: Connection refused \(at .+\)$")
        self.assertEqual(json_status(IFACE)["UploadErrors"][0][::2], [TARGET, "Connection refused"])

        self.server.start()
        self.wait_uploaded(path)
        wait_for(lambda: capture_property(IFACE, "UploadErrors") == [], 10, "the success to clear UploadErrors")
        self.assertNotIn("Upload error", capturectl("status", IFACE).stdout)


class HookErrorTest(harness.CapturedTestCase):

    start_daemon = False

    def use_hook(self, command):
        self.write_config({"Defaults": {"ExecPostRotate": command}})
        config = os.path.join(self.config_dir, "captured.conf")
        os.chown(config, 0, 0)
        os.chmod(config, 0o644)

    def one_file(self):
        start_capture("lo", {"FileSize": ("u", 1), "FileCount": ("u", 100)})
        self.wait_running("lo")
        before = capture_property("lo", "FilesCompleted")
        with Traffic(rate=3_000_000):
            wait_for(lambda: capture_property("lo", "FilesCompleted") > before, 30, "a completed file", interval=0.1)
        stop_capture("lo")
        wait_for_state("lo", "stopped")

    def test_hook_failure_is_shown_until_hooks_succeed(self):
        self.use_hook("/bin/false")
        self.daemon.start()
        self.one_file()
        # Every file's hook fails; the last one to finish (the stop's) has
        # the last word: wait for that one, so that later reads agree.
        (files,) = harness.call(harness.capture_path("lo"), harness.CAPTURE_IFACE, "ListFiles")
        newest = max(f[0] for f in files)
        error = wait_for(lambda: newest in capture_property("lo", "LastHookError") and
                         capture_property("lo", "LastHookError"), 15, "LastHookError for the last file")
        self.assertRegex(error, r"^ExecPostRotate /bin/false on \S+/pcap-lo-\S+\.pcap exited with status 1$")
        self.assertGreater(capture_property("lo", "LastHookErrorTimestamp"), 0)
        p = capturectl("status", "lo")
        self.assertRegex(p.stdout, r"(?m)^ *Hook error: ExecPostRotate /bin/false on .* exited with status 1 \(at .+\)$")
        self.assertEqual(json_status("lo")["LastHookError"], error)

        self.use_hook("/bin/true")
        self.daemon.signal(harness.signal.SIGHUP)
        wait_for(lambda: "Configuration reloaded" in self.daemon.log(), 10, "the reload")
        self.one_file()
        wait_for(lambda: capture_property("lo", "LastHookError") == "", 15, "hooks that succeed to clear it")
        self.assertEqual(capture_property("lo", "LastHookErrorTimestamp"), 0)
        self.assertNotIn("Hook error", capturectl("status", "lo").stdout)


class ListTest(harness.CapturedTestCase):

    def test_list_without_captures(self):
        p = capturectl("list")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["INTERFACE", "STATE", "PID", "KEPT", "DISK", "PACKETS"], p.stdout)
        self.assertEqual(lines[-1], "0 captures listed.")

    def test_list_counts_the_files_on_disk_as_status(self):
        start_capture("lo", {"FileSize": ("u", 1), "FileCount": ("u", 3)})
        self.wait_running("lo")
        with Traffic(rate=3_000_000):
            wait_for(lambda: capture_property("lo", "FilesCompleted") >= 5, 30, "five completed files", interval=0.1)
        stop_capture("lo")
        wait_for_state("lo", "stopped")
        kept = capture_property("lo", "FilesKept")
        self.assertLess(kept, capture_property("lo", "FilesCompleted"))

        p = capturectl("list")
        header, *rows = [line.split() for line in p.stdout.splitlines()]
        (row,) = [r for r in rows if r and r[0] == "lo"]
        self.assertEqual(int(row[header.index("KEPT")]), kept, p.stdout)
        status = capturectl("status", "lo").stdout
        self.assertEqual(int(re.search(r"Files: (\d+) kept", status).group(1)), kept, status)
        self.assertEqual(p.stdout.splitlines()[-1], "1 capture listed.")


if __name__ == "__main__":
    harness.main()
