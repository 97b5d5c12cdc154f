#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Uploads to any HTTP server that takes PUT (Type=http, issue 13): a small
PUT server here on loopback in the test's namespace (it is no foreign API:
a PUT with a body, answered 2xx or not)."""

import base64
import hashlib
import http.server
import os
import socket
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from upload_helpers import IFACE, UploadTargetTestCase, write_secret  # noqa: E402

TOKEN = "bearer-" + hashlib.sha256(b"captured").hexdigest()[:24]
BASIC = "sensor:pa55word"


class PutServer(http.server.ThreadingHTTPServer):
    """Stores what is PUT with the expected Authorization; refuses the rest."""

    def __init__(self, authorization):
        self.authorization = authorization
        self.objects = {}
        self.requests = []
        super().__init__(("127.0.0.1", 0), PutHandler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}/collector"


class PutHandler(http.server.BaseHTTPRequestHandler):
    def do_PUT(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        self.server.requests.append((self.path, self.headers.get("Authorization"), self.headers.get("Content-Type")))
        if self.headers.get("Authorization") != self.server.authorization:
            self.send_response(401)
            self.send_header("Content-Length", "13")
            self.end_headers()
            self.wfile.write(b"Unauthorized\n")
            return
        self.server.objects[urllib.parse.unquote(self.path)] = body
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class HttpUploadTestCase(UploadTargetTestCase):
    authorization = "Bearer " + TOKEN
    target_keys = {}

    def setUp(self):
        super().setUp()
        self.server = PutServer(self.authorization)
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        self.write_target("collector", dict({
            "Type": "http",
            "URL": self.server.url,
            "TokenFile": write_secret(self.config_dir, "collector.token", TOKEN),
            "KeyTemplate": "%H/%i/%f",
        }, **self.target_keys))
        self.daemon.start()

    def expected_key(self, path):
        return f"{socket.gethostname()}/{IFACE}/{os.path.basename(path)}"


class BearerTest(HttpUploadTestCase):

    def test_file_arrives_identical(self):
        path = self.capture_one_file("collector")
        location = self.wait_uploaded(path)
        key = self.expected_key(path)
        self.assertEqual(location, f"{self.server.url}/{key}")
        with open(path, "rb") as f:
            self.assertEqual(self.server.objects[f"/collector/{key}"], f.read())
        self.assertEqual(self.server.requests, [(f"/collector/{key}", "Bearer " + TOKEN,
                                                 "application/vnd.tcpdump.pcap")])
        self.assertEqual(self.list_files()[path], ("done", location))
        self.assertNotIn(TOKEN, self.daemon.log())


class WrongTokenTest(HttpUploadTestCase):
    authorization = "Bearer something-else"

    def test_refused_upload_is_explained_and_retried(self):
        path = self.capture_one_file("collector")
        failures = self.wait_failures(path, 2)
        for s in failures:
            self.assertEqual(s[4], "HTTP 401 from server: Unauthorized")
        self.assertEqual(self.list_files()[path][0] in ("pending", "uploading"), True)
        self.assertEqual(self.server.objects, {})


class BasicAuthTest(HttpUploadTestCase):
    authorization = "Basic " + base64.b64encode(BASIC.encode()).decode()
    target_keys = {"Authorization": "basic"}

    def write_target(self, name, keys):
        keys["TokenFile"] = write_secret(self.config_dir, "collector.basic", BASIC)
        return super().write_target(name, keys)

    def test_basic_auth(self):
        path = self.capture_one_file("collector")
        self.wait_uploaded(path)
        self.assertEqual(len(self.server.objects), 1)
        self.assertNotIn("pa55word", self.daemon.log())


if __name__ == "__main__":
    harness.main()
