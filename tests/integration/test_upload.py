#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Uploads of finished files to a CloudShark target (SPEC §5, §7, §8),
against the local fake in tests/cloudshark_server.py on loopback inside the
test's network namespace."""

import hashlib
import json
import os
import re
import secrets
import shutil
import stat
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (CAPTURE_IFACE, ERROR_NO_SUCH_UPLOAD_TARGET, MANAGER_IFACE, MANAGER_PATH,  # noqa: E402
                     capture_path, capture_property, get_all_properties, wait_for)

sys.path.insert(0, os.path.join(harness.SOURCE_ROOT, "tests"))
from cloudshark_server import FakeCloudShark  # noqa: E402
from upload_helpers import IFACE, UploadTargetTestCase  # noqa: E402

TARGET = "cs"

# Retries after 200 ms, doubling to 1 s (SPEC's 2 s … 10 min is for real
# servers, not for a test that waits for them).
os.environ["CAPTURED_UPLOAD_RETRY"] = "200 1000 12"


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class UploadTestCase(UploadTargetTestCase):
    """A fake CloudShark server, a veth pair and the target "cs" in
    upload.d/; the daemon starts once they exist."""

    target_options = {}
    server_starts = True

    def setUp(self):
        super().setUp()
        self.token = "tok" + secrets.token_hex(16)
        self.server = FakeCloudShark(os.path.join(self.root, "server"), [self.token])
        self.server.start()
        self.addCleanup(self.server.stop)
        if not self.server_starts:
            self.server.stop()   # its port stays ours: connections are refused

        self.write_target(TARGET, self.target_options)
        self.daemon.start()

    def write_target(self, name, options, token_file=True):
        """upload.d/<name>.conf for the fake server; the token in a 0600
        file next to it."""
        keys = {"Type": "cloudshark", "URL": self.server.url + "/", "Tags": "captured-test,ci"}
        if token_file:
            token_path = os.path.join(self.config_dir, f"{name}.token")
            with open(token_path, "w") as f:
                f.write(self.token + "\n")
            os.chmod(token_path, 0o600)
            keys["TokenFile"] = token_path
        keys.update(options)
        return super().write_target(name, keys)

    # -- producing finished files ------------------------------------------

    def capture_one_file(self, target=TARGET):
        return super().capture_one_file(target)

    # -- what the server and the bus saw -----------------------------------

    def uploads_of(self, path):
        name = os.path.basename(path)
        return [c for c in self.server.captures() if c["filename"] == name]

    def upload_requests(self):
        return [e for e in self.server.log() if e["path"].endswith("/upload")]

    def wait_uploaded(self, path, timeout=30):
        return super().wait_uploaded(path, timeout=timeout)

    def queue_entry(self, path):
        """The entry of path in the persisted queue (state, attempts, remote, error...)."""
        (entry,) = self.queue_entries(path)
        return entry

    def assert_arrived_identical(self, path):
        copies = self.uploads_of(path)
        self.assertEqual(len(copies), 1, f"{os.path.basename(path)} on the server: {copies}")
        self.assertEqual(copies[0]["sha256"], sha256(path), "the uploaded file differs from the local one")
        self.assertEqual(copies[0]["size"], os.path.getsize(path))
        return copies[0]


class UploadTest(UploadTestCase):

    def test_finished_files_arrive_identical(self):
        first = self.capture_one_file()
        second = self.capture_one_file()

        for path in (first, second):
            url = self.wait_uploaded(path)
            copy = self.assert_arrived_identical(path)
            self.assertEqual(url, f"{self.server.url}/captures/{copy['id']}")
            self.assertEqual(copy["tags"], "captured-test,ci")
            self.assertEqual(self.upload_finished(path), [(IFACE, path, TARGET, True, url)])
            self.assertEqual(self.list_files()[path], ("done", url))

        wait_for(lambda: capture_property(IFACE, "UploadsSucceeded") == 2, 5, "UploadsSucceeded == 2")
        self.assertEqual(capture_property(IFACE, "UploadsPending"), 0)
        self.assertEqual(capture_property(IFACE, "UploadsFailed"), 0)

        # The remote location is served by the server.
        (copy,) = self.uploads_of(first)
        with urllib.request.urlopen(f"{self.server.url}/captures/{copy['id']}") as response:
            self.assertEqual(response.status, 200)

    def test_retry_after_http_500(self):
        self.server.inject("500", count=2, match="/upload")
        path = self.capture_one_file()

        url = self.wait_uploaded(path)
        self.assert_arrived_identical(path)
        signals = self.upload_finished(path)
        self.assertEqual([(s[3], s[4]) for s in signals],
                         [(False, "HTTP 500 from server"), (False, "HTTP 500 from server"), (True, url)])
        # The server logs a request once it has answered it: the daemon may
        # have the answer first.
        wait_for(lambda: [e["status"] for e in self.upload_requests()] == [500, 500, 200], 10,
                 "the server's log of the three attempts")

    def test_failed_attempts_are_explained(self):
        # A truncated answer, no answer, an answer that is not JSON: each a
        # failed attempt with a clear reason, then success.
        self.server.inject("truncate", count=1, match="/upload")
        self.server.inject("close", count=1, match="/upload")
        self.server.inject("badjson", count=1, match="/upload")
        path = self.capture_one_file()

        url = self.wait_uploaded(path)
        details = [s[4] for s in self.upload_finished(path)]
        self.assertEqual(len(details), 4, details)
        self.assertTrue(details[0].startswith("Truncated response"), details)
        self.assertEqual(details[1], "Empty reply from server")
        self.assertEqual(details[2], "invalid JSON in response")
        self.assertEqual(details[3], url)
        # (The fake kept the copy it answered with bad JSON: the daemon
        # could not know it had worked.)
        self.assertEqual(self.uploads_of(path)[-1]["sha256"], sha256(path))

    def test_pending_file_is_listed_with_its_error(self):
        self.server.stop()
        path = self.capture_one_file()

        wait_for(lambda: len(self.upload_finished(path)) >= 2, 15, "two failed attempts")
        for signal in self.upload_finished(path):
            self.assertEqual(signal, (IFACE, path, TARGET, False, "Connection refused"))
        state, detail = self.list_files()[path]
        self.assertIn(state, ("pending", "uploading"))
        self.assertEqual(capture_property(IFACE, "UploadsPending"), 1)

        # The server comes back on the same port: the next retry gets through.
        self.server.start()
        url = self.wait_uploaded(path)
        self.assert_arrived_identical(path)
        self.assertEqual(self.list_files()[path], ("done", url))
        wait_for(lambda: capture_property(IFACE, "UploadsPending") == 0, 5, "UploadsPending == 0")

    def test_unknown_target_is_refused(self):
        name, message = self.assertBusError(ERROR_NO_SUCH_UPLOAD_TARGET, "StartCapture", "sa{sv}",
                                            IFACE, {"Upload": ("s", "nowhere")})
        self.assertIn("nowhere", message)

    def test_bad_target_files_are_logged_and_skipped(self):
        self.daemon.stop()
        bad = self.write_target("ftp", {"Type": "ftp"})
        with open(os.path.join(self.config_dir, "upload.d", "cs.conf"), "a") as f:
            f.write("MaxConcurrent=1000\n")
        self.daemon.start()

        log = self.daemon.log()
        self.assertIn(f"{bad}:2:", log)        # Type=ftp names file and line
        self.assertIn("skipping upload target ftp", log)
        self.assertRegex(log, r"upload\.d/cs\.conf:\d+: MaxConcurrent")
        self.assertBusError(ERROR_NO_SUCH_UPLOAD_TARGET, "StartCapture", "sa{sv}", IFACE, {"Upload": ("s", "ftp")})

        # The rest of cs.conf loaded: it works.
        path = self.capture_one_file()
        self.wait_uploaded(path)
        self.assert_arrived_identical(path)


class RestartTest(UploadTestCase):
    server_starts = False

    def test_pending_upload_resumes_after_restart(self):
        path = self.capture_one_file()
        wait_for(lambda: self.upload_finished(path), 15, "a failed attempt")
        self.daemon.stop()

        # Persisted privately, without the secret.
        queue_file = os.path.join(self.state_dir, "uploads.json")
        self.assertEqual(stat.S_IMODE(os.stat(queue_file).st_mode), 0o600)
        with open(queue_file) as f:
            self.assertNotIn(self.token, f.read())
        entry = self.queue_entry(path)
        self.assertIn(entry["state"], ("pending", "uploading"))
        self.assertEqual((entry["interface"], entry["target"], entry["error"]), (IFACE, TARGET, "Connection refused"))

        self.server.start()
        self.daemon.start()
        url = self.wait_uploaded(path)
        self.assert_arrived_identical(path)
        self.assertEqual(len(self.upload_requests()), 1)
        wait_for(lambda: self.queue_entry(path)["state"] == "done", 5, "done in uploads.json")
        self.assertEqual(self.queue_entry(path)["remote"], url)

        # Never uploaded twice after a success: not after another restart either.
        self.daemon.stop()
        self.daemon.start()
        # The daemon restores its queue before it answers a call: what it
        # lists is what it will (not) upload.
        self.assertEqual(self.list_files()[path], ("done", url))
        self.assertEqual(capture_property(IFACE, "UploadsPending"), 0)
        self.assertEqual(len(self.upload_requests()), 1)
        self.assertEqual(self.queue_entry(path)["state"], "done")

    def test_uploading_when_stopped_is_uploaded_once_after_restart(self):
        # The server hangs on to the request while the daemon goes away.
        self.server.start()
        self.server.inject("slow", count=1, seconds=3, match="/upload")
        path = self.capture_one_file()
        wait_for(lambda: self.list_files()[path][0] == "uploading", 10, "the upload to start")
        self.daemon.stop()
        self.assertEqual(self.queue_entry(path)["state"], "uploading")

        # Resumed: uploaded again (the interrupted request may have left a
        # copy behind; the daemon cannot know), reported once.
        self.daemon.start()
        self.wait_uploaded(path)
        self.assertEqual(self.uploads_of(path)[-1]["sha256"], sha256(path))
        # The slow request is answered meanwhile, but nobody listens.
        wait_for(lambda: any(e.get("fault") == "slow" for e in self.server.log()), 15,
                 "the slow request to be answered")
        self.monitor.sync()
        self.assertEqual(self.queue_entry(path)["state"], "done")
        self.assertEqual(len(self.upload_finished(path)), 1)


class ReplaceExistingTest(UploadTestCase):
    target_options = {"ReplaceExisting": "yes"}
    server_starts = False

    def seed_old_copies(self, path, n):
        """n copies of path's name already on the server (and one of another name)."""
        ids = [self.server._store(os.path.basename(path), b"old copy %d" % i, "") for i in range(n)]
        other = self.server._store(os.path.basename(path) + ".gz", b"unrelated", "")
        return ids, other

    def test_keeps_one_remote_copy_per_name(self):
        path = self.capture_one_file()
        old_ids, other = self.seed_old_copies(path, 2)
        self.server.start()

        url = self.wait_uploaded(path)
        wait_for(lambda: len(self.uploads_of(path)) == 1, 10, "older copies to be deleted")
        copy = self.assert_arrived_identical(path)
        self.assertNotIn(copy["id"], old_ids)
        self.assertTrue(url.endswith("/captures/" + copy["id"]))
        self.assertIn(other, [c["id"] for c in self.server.captures()])

        # Deleting came only after the new upload succeeded; the deletes
        # follow the upload's reply, so wait for them.
        def api_log():
            return [e for e in self.server.log() if e["path"].startswith("/api/")]
        log = wait_for(lambda: len(api_log()) >= 4 and api_log(), 10, "the deletes in the server's log")
        kinds = [e["path"].rsplit("/", 2)[-1] if "/delete/" not in e["path"] else "delete" for e in log]
        self.assertEqual(kinds, ["upload", "search", "delete", "delete"])
        self.assertEqual(log[0]["status"], 200)
        self.assertEqual(log[1]["search"], os.path.basename(path))
        self.assertEqual(sorted(e["id"] for e in log[2:]), sorted(old_ids))

    def test_failed_upload_never_deletes(self):
        path = self.capture_one_file()
        old_ids, _ = self.seed_old_copies(path, 1)
        self.server.inject("500", count=1, match="/upload")
        self.server.start()

        self.wait_uploaded(path)
        wait_for(lambda: len(self.uploads_of(path)) == 1, 10, "the older copy to be deleted")
        log = [e for e in self.server.log() if e["path"].startswith("/api/")]
        self.assertEqual(log[0]["status"], 500)
        self.assertTrue(log[1]["path"].endswith("/upload"), "nothing but a retry after a failed upload")

    def test_failed_delete_keeps_upload_a_success(self):
        path = self.capture_one_file()
        old_ids, _ = self.seed_old_copies(path, 1)
        self.server.inject("500", count=1, match="/delete/")
        self.server.start()

        url = self.wait_uploaded(path)
        wait_for(lambda: any("/delete/" in e["path"] for e in self.server.log()), 10, "the delete request")
        self.assertEqual(len(self.uploads_of(path)), 2, "the old copy stays when deleting fails")
        self.assertEqual(self.list_files()[path], ("done", url))
        wait_for(lambda: "failed to delete older copy" in self.daemon.log(), 5, "the failed delete to be logged")

    def wait_search_handled(self, path):
        """Until the daemon has done what it does with the search's answer."""
        handled = re.compile(rf"no older copy of {re.escape(os.path.basename(path))} to delete|"
                             rf"older copy \S+ of {re.escape(os.path.basename(path))}")
        wait_for(lambda: handled.search(self.daemon.log()), 10, "the search to be handled")

    def test_search_result_without_filename_is_never_deleted(self):
        # Someone else's capture, in a search answer that does not say its
        # name: not ours to delete.
        path = self.capture_one_file()
        victim = self.server._store("victim.pcap", b"someone else's capture", "")
        self.server.inject("reply", count=1, match="/search", body=json.dumps({"captures": [{"id": victim}]}))
        self.server.start()

        self.wait_uploaded(path)
        self.wait_search_handled(path)
        self.assertIn(victim, [c["id"] for c in self.server.captures()])
        self.assertEqual([e["path"] for e in self.server.log() if "/delete/" in e["path"]], [])

    def test_ids_that_escape_the_delete_path_are_never_requested(self):
        path = self.capture_one_file()
        name = os.path.basename(path)
        hostile = [".", "..", "a/b", "../upload", "x" * 900_000, "a\0b", "a?b"]
        self.server.inject("reply", count=1, match="/search",
                           body=json.dumps({"captures": [{"id": i, "filename": name} for i in hostile]}))
        self.server.start()

        self.wait_uploaded(path)
        self.wait_search_handled(path)
        requests = [e["path"][:80] for e in self.server.log() if not e["path"].startswith("/__")]
        self.assertEqual([p.rsplit("/", 1)[-1] for p in requests], ["upload", "search"], requests)
        self.assertIn(f"the search for {name} returned {len(hostile)} invalid capture ids, ignored",
                      self.daemon.log())


class HostileServerTest(UploadTestCase):
    """A server that answers what it likes (issue 8, items 15 and 17): an id
    never escapes its URL or bloats the signal and uploads.json, and an
    oversized header is named as such."""

    def test_hostile_capture_id_is_refused(self):
        # 900 kB of id, then a sane answer.
        self.server.inject("reply", count=1, match="/upload",
                           body=json.dumps({"id": "x" * 900_000, "filename": "x.pcap"}))
        path = self.capture_one_file()

        url = self.wait_uploaded(path)
        details = [s[4] for s in self.upload_finished(path)]
        self.assertEqual(details, ["invalid capture id in response", url], [d[:80] for d in details])
        self.assertEqual(self.queue_entry(path)["remote"], url)
        self.assertLess(os.path.getsize(os.path.join(self.state_dir, "uploads.json")), 10_000)

    def test_huge_response_header_is_named(self):
        self.server.inject("bigheader", count=1, match="/upload")
        path = self.capture_one_file()

        url = self.wait_uploaded(path)
        details = [s[4] for s in self.upload_finished(path)]
        self.assertEqual(details, ["response header too large", url])


class HostileDirectoryTest(UploadTestCase):
    """The capture directory belongs to the tcpdump user: a finished file
    it swaps for a symbolic link to a file only root can read is not what
    gets uploaded."""

    server_starts = False

    def test_finished_file_swapped_for_a_symlink_is_not_uploaded(self):
        path = self.capture_one_file()   # pending: the server is down
        secret = os.path.join(self.root, "secret")
        with open(secret, "wb") as f:
            f.write(b"root:$y$j9T$not-for-cloudshark:19000:0:99999:7:::\n")
        os.chmod(secret, 0o600)
        os.unlink(path)
        os.symlink(secret, path)
        self.server.start()

        refused = f"{path} is a symbolic link, not a capture file: not uploaded."
        wait_for(lambda: refused in self.daemon.log() or self.upload_requests(), 15,
                 "the link to be refused (or followed)")
        self.assertEqual([c for c in self.server.captures() if c["sha256"] == sha256(secret)], [])
        self.assertEqual(self.upload_requests(), [])


class SecretTest(UploadTestCase):
    target_options = {"Timeout": "1"}

    def test_token_never_leaks(self):
        # Some failures (their messages, the URLs they were for) and a success.
        self.server.inject("500", count=1, match="/upload")
        self.server.inject("slow", count=1, seconds=2, match="/upload")
        path = self.capture_one_file()
        url = self.wait_uploaded(path)
        details = [s[4] for s in self.upload_finished(path)]
        self.assertEqual(details, ["HTTP 500 from server", "Timeout after 1 s", url])

        self.daemon.stop()
        self.daemon.extra_args = ["--debug"]
        self.daemon.start()
        self.server.stop()
        path = self.capture_one_file()
        wait_for(lambda: self.upload_finished(path), 15, "a failed attempt")

        places = {"the daemon's log": self.daemon.log()}
        places["its command line"] = " ".join(harness.process_cmdline(self.daemon.pid))
        with open(f"/proc/{self.daemon.pid}/environ", "rb") as f:
            places["its environment"] = f.read().decode(errors="replace")
        places["Manager properties"] = json.dumps(get_all_properties(MANAGER_PATH, MANAGER_IFACE))
        places["Capture properties"] = json.dumps(get_all_properties(capture_path(IFACE), CAPTURE_IFACE))
        places["ListFiles"] = json.dumps(self.list_files())
        places["the bus traffic"] = json.dumps(self.monitor.snapshot())
        places["introspection"] = harness.busctl("introspect", harness.BUS_NAME, capture_path(IFACE)).stdout
        for root, _, files in os.walk(self.state_dir):
            for name in files:
                with open(os.path.join(root, name), errors="replace") as f:
                    places[os.path.join(root, name)] = f.read()
        self.assertIn("/api/v1/***/upload", places["the daemon's log"], "the debug log shows redacted URLs")
        for where, text in places.items():
            self.assertNotIn(self.token, text, f"the token appears in {where}")

    def test_credential_wins(self):
        credentials = os.path.join(self.root, "credentials")
        os.mkdir(credentials, 0o700)
        with open(os.path.join(credentials, f"upload-{TARGET}"), "w") as f:
            f.write(self.token)
        self.daemon.stop()
        # The configured token is wrong; the credential is right.
        with open(os.path.join(self.config_dir, f"{TARGET}.token"), "w") as f:
            f.write("wrong-token\n")
        os.environ["CREDENTIALS_DIRECTORY"] = credentials
        try:
            self.daemon.start()
        finally:
            del os.environ["CREDENTIALS_DIRECTORY"]

        path = self.capture_one_file()
        self.wait_uploaded(path)
        self.assertEqual(self.upload_finished(path)[0][3], True, "first attempt succeeds with the credential")

    def test_world_readable_token_file_is_warned_about(self):
        self.daemon.stop()
        os.chmod(os.path.join(self.config_dir, f"{TARGET}.token"), 0o644)
        self.daemon.start()
        self.assertIn("readable by everyone", self.daemon.log())


class TlsTest(UploadTestCase):

    def setUp(self):
        if not shutil.which("openssl"):
            self.skipTest("openssl is not installed")
        super().setUp()
        self.daemon.stop()
        self.server.stop()
        self.cert = os.path.join(self.root, "cert.pem")
        key = os.path.join(self.root, "key.pem")
        harness.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", self.cert,
                     "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"])
        self.server.tls_cert, self.server.tls_key = self.cert, key
        self.server.start()

    def test_self_signed_server_is_refused_without_cafile(self):
        self.write_target(TARGET, {})
        self.daemon.start()
        path = self.capture_one_file()
        wait_for(lambda: self.upload_finished(path), 15, "a failed attempt")
        self.assertIn("certificate", self.upload_finished(path)[0][4])
        self.assertEqual(self.uploads_of(path), [])

    def test_cafile_is_trusted(self):
        self.write_target(TARGET, {"CAFile": self.cert})
        self.daemon.start()
        path = self.capture_one_file()
        url = self.wait_uploaded(path)
        self.assertTrue(url.startswith("https://127.0.0.1:"), url)
        self.assert_arrived_identical(path)


if __name__ == "__main__":
    harness.main()
