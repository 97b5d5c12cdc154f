#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Uploads to S3-compatible object storage (Type=s3, issue 13) against a
real object store that checks SigV4: Debian's OpenStack Swift with its s3api
middleware (tests/swift_server.py), on loopback in the test's namespace."""

import json
import os
import signal
import socket
import sys
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import capture_property, start_capture, stop_capture, wait_for  # noqa: E402
from upload_helpers import IFACE, UploadTargetTestCase, pcap_summary, write_secret  # noqa: E402

sys.path.insert(0, os.path.join(harness.SOURCE_ROOT, "tests"))
import swift_server  # noqa: E402

swift = None


def setUpModule():
    global swift
    missing = swift_server.available()
    if missing:
        raise harness.unittest.SkipTest(f"not installed: {' '.join(missing)}")
    directory = os.path.join(harness._scratch, "swift")
    os.makedirs(directory)
    swift = swift_server.SwiftServer(directory)
    swift.start()


def tearDownModule():
    if swift:
        swift.stop()


def utc(usec, fmt):
    return datetime.fromtimestamp(usec / 1e6, timezone.utc).strftime(fmt)


class S3TestCase(UploadTargetTestCase):
    """A fresh bucket for each test and the target "s3" in upload.d/."""

    target_keys = {}
    secret = swift_server.SECRET_KEY
    daemon_args = ()

    def setUp(self):
        super().setUp()
        self.bucket = f"b{os.getpid()}-{self._testMethodName.replace('_', '-')[:40]}".lower()
        swift.create_bucket(self.bucket)
        self.write_s3_target("s3", self.target_keys, self.secret)
        self.daemon.extra_args += list(self.daemon_args)
        self.daemon.start()

    def write_s3_target(self, name, keys, secret):
        swift.write_upload_target(self.config_dir, name, self.bucket, keys, secret)

    def assert_object_is(self, key, path):
        status, headers, body = swift.get_object(self.bucket, key)
        self.assertEqual(status, 200, f"GET {key}: {body[:300]!r}; keys: {swift.list_keys(self.bucket)}")
        with open(path, "rb") as f:
            self.assertEqual(body, f.read(), f"{key} differs from {path}")
        return {k.lower(): v for k, v in headers.items()}


class PutTest(S3TestCase):
    # ':' and ' ' in keys must be encoded as SigV4 wants (upper-case hex).
    target_keys = {"KeyTemplate": "fleet/%H/%i/%Y/%m/%d/%h:%M:%S %f"}

    def test_files_arrive_identical_with_key_and_metadata(self):
        path = self.capture_one_file("s3")
        location = self.wait_uploaded(path)

        packets, first, last = pcap_summary(path)
        self.assertGreater(packets, 0)
        key = (f"fleet/{socket.gethostname()}/{IFACE}/{utc(first, '%Y/%m/%d/%H:%M:%S')} "
               f"{os.path.basename(path)}")
        self.assertEqual(location, f"s3://{self.bucket}/{key}")
        headers = self.assert_object_is(key, path)
        self.assertEqual(swift.list_keys(self.bucket), [key])

        self.assertEqual(headers["x-amz-meta-interface"], IFACE)
        self.assertEqual(headers["x-amz-meta-host"], socket.gethostname())
        self.assertEqual(headers["x-amz-meta-packets"], str(packets))
        self.assertEqual(headers["x-amz-meta-first-packet"], utc(first, "%Y-%m-%dT%H:%M:%S.") + f"{first % 1000000:06d}Z")
        self.assertEqual(headers["x-amz-meta-last-packet"], utc(last, "%Y-%m-%dT%H:%M:%S.") + f"{last % 1000000:06d}Z")
        self.assertEqual(headers["x-amz-meta-captured-version"], harness.get_property(
            harness.MANAGER_PATH, harness.MANAGER_IFACE, "Version"))
        self.assertEqual(headers["content-type"], "application/vnd.tcpdump.pcap")

        self.assertEqual(self.upload_finished(path), [(IFACE, path, "s3", True, location)])
        self.assertEqual(self.list_files()[path], ("done", location))
        self.assertEqual(self.list_file_uploads()[(path, "s3")], ("done", location, ""))
        wait_for(lambda: capture_property(IFACE, "UploadsSucceeded") == 1, 5, "UploadsSucceeded == 1")
        p = harness.run([harness.CAPTURECTL, "--json", "files", IFACE])
        (entry,) = [f for f in json.loads(p.stdout) if f["Path"] == path]
        self.assertEqual((entry["UploadState"], entry["Detail"]), ("done", location))
        self.assertEqual(entry["Uploads"], [{"Target": "s3", "State": "done", "Location": location, "Error": ""}])
        p = harness.run([harness.CAPTURECTL, "files", IFACE])
        self.assertIn(location, p.stdout)

        # Nothing secret in the log or on the bus.
        self.assertNotIn(swift_server.SECRET_KEY, self.daemon.log())

    def test_manual_reupload(self):
        path = self.capture_one_file("s3")
        location = self.wait_uploaded(path)
        key = location[len(f"s3://{self.bucket}/"):]
        swift.request("DELETE", f"/{self.bucket}/{key}")
        self.assertEqual(swift.list_keys(self.bucket), [])

        p = harness.run([harness.CAPTURECTL, "upload", IFACE, os.path.basename(path), "--target=s3"], check=False)
        self.assertEqual(p.returncode, 0, p.stderr)
        wait_for(lambda: len([s for s in self.upload_finished(path) if s[3]]) == 2, 30, "the second upload")
        self.assert_object_is(key, path)

        # A file that is not one of the capture's, a target that does not exist.
        p = harness.run([harness.CAPTURECTL, "upload", IFACE, "pcap-nope.pcap"], check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(p.stderr.strip(), f"capturectl: no finished file 'pcap-nope.pcap' of '{IFACE}' (see capturectl files {IFACE})")
        p = harness.run([harness.CAPTURECTL, "upload", IFACE, os.path.basename(path), "--target=nope"], check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertTrue(p.stderr.lower().startswith("capturectl: no such upload target 'nope'"), p.stderr)


class VirtualHostTest(S3TestCase):
    """AddressingStyle=virtual: the bucket in the host name, signed so."""
    port = swift_server.SwiftServer.default_proxy_port
    target_keys = {"Endpoint": f"http://localhost:{port}", "AddressingStyle": "virtual"}
    daemon_args = ("--debug",)   # the request URLs are logged at debug level

    def test_virtual_hosted_addressing(self):
        path = self.capture_one_file("s3")
        location = self.wait_uploaded(path)
        key = location.split("/", 3)[3]
        self.assert_object_is(key, path)
        # Swift takes path-style requests too: the URL shows which it was.
        self.assertIn(f"PutObject http://{self.bucket}.localhost:{self.port}/{socket.gethostname()}/{IFACE}/",
                      self.daemon.log())


class WrongSecretTest(S3TestCase):
    secret = "not-the-secret"

    def test_wrong_secret_fails_clearly_and_retries(self):
        path = self.capture_one_file("s3")
        failures = self.wait_failures(path, 2)
        for s in failures:
            self.assertIn("HTTP 403 from server: SignatureDoesNotMatch", s[4])
        state, detail = self.list_files()[path]
        self.assertIn(state, ("pending", "uploading"))
        self.assertIn("SignatureDoesNotMatch", detail)
        (entry,) = self.queue_entries(path)
        self.assertGreaterEqual(entry["attempts"], 2)
        self.assertNotIn("not-the-secret", self.daemon.log())

        # The right secret and a reload: the next retry works.
        write_secret(self.config_dir, "s3.secret", swift_server.SECRET_KEY)
        self.daemon.signal(signal.SIGHUP)
        location = self.wait_uploaded(path)
        self.assert_object_is(location.split("/", 3)[3], path)


class ServerDownTest(S3TestCase):

    def test_server_down_and_back_up(self):
        swift.stop_proxy()
        try:
            path = self.capture_one_file("s3")
            self.wait_failures(path, 1)
            self.assertEqual(self.list_files()[path][1].split(": ")[0], "Connection refused")
        finally:
            swift.start_proxy()
        location = self.wait_uploaded(path)
        self.assert_object_is(location.split("/", 3)[3], path)
        self.assertEqual(len(swift.list_keys(self.bucket)), 1)
        self.assertEqual(self.queue_entries(path)[0]["state"], "done")


class MultipartTest(S3TestCase):
    target_keys = {"MultipartThreshold": "6M", "PartSize": "5M"}

    def test_multipart_upload(self):
        start_capture(IFACE, {"Upload": ("s", "s3"), "FileSize": ("u", 100)})
        self.wait_running(IFACE)
        path = self.add_big_file(23 * 1024 * 1024)
        location = self.wait_uploaded(path)
        self.assert_object_is(location.split("/", 3)[3], path)
        self.assertEqual(swift.list_multipart_uploads(self.bucket), [])
        self.assertNotIn("resume", self.queue_entries(path)[0])
        stop_capture(IFACE)

    def test_sigkill_mid_multipart_completes_after_restart(self):
        start_capture(IFACE, {"Upload": ("s", "s3"), "FileSize": ("u", 100)})
        self.wait_running(IFACE)
        path = self.add_big_file(60 * 1024 * 1024)
        entry = wait_for(lambda: [e for e in self.queue_entries(path) if e.get("resume")], 60,
                         "a multipart upload in the queue state")[0]
        self.daemon.proc.kill()
        self.daemon.proc.wait()
        upload_id = entry["resume"].split("\n")[0]
        self.assertEqual(len(swift.list_multipart_uploads(self.bucket)), 1, "the killed upload is still there")
        self.assertEqual(swift.list_keys(self.bucket), [])

        self.monitor.stop()
        self.monitor = harness.BusMonitor()
        self.daemon.start()
        location = self.wait_uploaded(path, timeout=120)
        self.assert_object_is(location.split("/", 3)[3], path)
        self.assertEqual(swift.list_multipart_uploads(self.bucket), [], f"upload {upload_id} left behind")
        self.assertIn("Aborted the multipart upload", self.daemon.log())


class RetentionTest(S3TestCase):
    """Upload=s3 broken: retention keeps a file that is done for one target
    and pending for the other."""

    def test_retention_waits_for_every_target(self):
        self.write_s3_target("broken", {}, "wrong")
        self.daemon.signal(signal.SIGHUP)
        wait_for(lambda: "Upload target broken" in self.daemon.log(), 10, "the reload")

        files = [self.capture_one_file("s3 broken", {"FileCount": ("u", 2)}) for _ in range(3)]
        for path in files:
            self.wait_uploaded(path, target="s3")
        for path in files:
            self.assertTrue(os.path.exists(path), f"{path} deleted while pending for 'broken'")
            uploads = self.list_file_uploads()
            self.assertEqual(uploads[(path, "s3")][0], "done")
            self.assertIn(uploads[(path, "broken")][0], ("pending", "uploading"))
            self.assertIn("SignatureDoesNotMatch", uploads[(path, "broken")][2])
            state, detail = self.list_files()[path]
            self.assertIn(state, ("pending", "uploading"))
            self.assertIn("s3: s3://", detail)
            self.assertIn("broken: HTTP 403", detail)


if __name__ == "__main__":
    harness.main()
