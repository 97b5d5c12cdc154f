# SPDX-License-Identifier: LGPL-2.1-or-later
"""A real object store for the S3 upload tests and benchmarks: Debian's
OpenStack Swift (proxy with the s3api middleware and tempauth, account,
container and object servers, memcached), single node, on 127.0.0.1.

Only inside the namespaces of tests/testbed.py: it mounts a tmpfs over
/etc/swift (Swift reads /etc/swift/swift.conf, whatever the config says),
builds one-replica rings there and keeps its devices in a scratch
directory. Every process is started and stopped by PID.

S3 credentials: access key "test:tester", secret "testing" (tempauth's user
test:tester); region "us-east-1"."""

import hashlib
import hmac
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import urllib.error
from datetime import datetime, timezone

ACCESS_KEY = "test:tester"
SECRET_KEY = "testing"
REGION = "us-east-1"
SWIFT_DIR = "/etc/swift"
PACKAGES = ("swift-proxy-server", "swift-object-server", "swift-container-server",
            "swift-account-server", "memcached")

_DEFAULT = """[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {port}
workers = 0
user = root
swift_dir = {swift_dir}
devices = {devices}
mount_check = false
log_name = {name}
log_facility = LOG_LOCAL0
log_level = WARNING
"""

_STORAGE = _DEFAULT + """
[pipeline:main]
pipeline = {name}-server

[app:{name}-server]
use = egg:swift#{name}

[{name}-replicator]
[{name}-auditor]
[{name}-updater]
"""

_PROXY = _DEFAULT + """
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:{memcached_port}
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:s3api]
use = egg:swift#s3api
location = {region}
# Host: BUCKET.localhost[:port] is virtual-hosted addressing (curl resolves
# *.localhost to the loopback address itself, no DNS needed).
storage_domain = localhost
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
"""

PORTS = {"object": 6200, "container": 6201, "account": 6202}

# argv: the Swift directory and repr(PORTS).
_BUILD_RINGS = """
import ast, os, sys
from swift.common.ring import RingBuilder
for name, port in ast.literal_eval(sys.argv[2]).items():
    builder = RingBuilder(4, 1, 1)   # 2^4 partitions, one replica, min_part_hours 1
    builder.add_dev({"region": 1, "zone": 1, "ip": "127.0.0.1", "port": port, "device": "d1", "weight": 100})
    builder.rebalance()
    builder.get_ring().save(os.path.join(sys.argv[1], name + ".ring.gz"))
"""


def available():
    """The programs this needs, or the ones missing."""
    return [p for p in PACKAGES if not shutil.which(p)]


def _wait_port(port, proc, what, timeout=90):   # a loaded machine imports Swift slowly
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on port {port}")


class SwiftServer:
    """Start with start(), stop with stop(); the proxy alone can be stopped
    and started again (stop_proxy()/start_proxy()) to play "server down"."""

    default_proxy_port = 8080

    def __init__(self, directory, proxy_port=default_proxy_port, memcached_port=11211):
        self.directory = directory
        self.proxy_port = proxy_port
        self.memcached_port = memcached_port
        self.endpoint = f"http://127.0.0.1:{proxy_port}"
        self.devices = os.path.join(directory, "devices")
        self.log_path = os.path.join(directory, "swift.log")
        self.procs = {}

    def _conf(self, name, text):
        path = os.path.join(SWIFT_DIR, f"{name}.conf")
        with open(path, "w") as f:
            f.write(text)
        return path

    def _spawn(self, name, argv):
        log = open(self.log_path, "a")
        self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        return self.procs[name]

    def start(self):
        os.makedirs(SWIFT_DIR, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", SWIFT_DIR], check=True)
        os.makedirs(os.path.join(self.devices, "d1"), exist_ok=True)
        with open(os.path.join(SWIFT_DIR, "swift.conf"), "w") as f:
            f.write("[swift-hash]\nswift_hash_path_suffix = captured-test\nswift_hash_path_prefix = captured\n"
                    "[storage-policy:0]\nname = gold\ndefault = yes\n")
        # The one-replica rings, all three in one process with Swift's own
        # RingBuilder (what swift-ring-builder create/add/rebalance run, in
        # nine processes of half a second each).
        subprocess.run([sys.executable, "-c", _BUILD_RINGS, SWIFT_DIR, repr(PORTS)], check=True,
                       stdout=subprocess.DEVNULL)
        for name in PORTS:
            if not os.path.exists(os.path.join(SWIFT_DIR, f"{name}.ring.gz")):
                raise RuntimeError(f"RingBuilder did not write the {name} ring")

        self._spawn("memcached", ["memcached", "-u", "root", "-l", "127.0.0.1", "-p", str(self.memcached_port),
                                  "-U", "0", "-m", "16"])
        for name, port in PORTS.items():
            conf = self._conf(name, _STORAGE.format(port=port, swift_dir=SWIFT_DIR, devices=self.devices, name=name))
            self._spawn(name, [f"swift-{name}-server", conf])
        self.start_proxy()
        for name, port in PORTS.items():
            _wait_port(port, self.procs[name], f"swift-{name}-server")
        _wait_port(self.memcached_port, self.procs["memcached"], "memcached")

    def start_proxy(self):
        conf = self._conf("proxy", _PROXY.format(port=self.proxy_port, swift_dir=SWIFT_DIR, devices=self.devices,
                                                 name="proxy-server", memcached_port=self.memcached_port,
                                                 region=REGION))
        proc = self._spawn("proxy", ["swift-proxy-server", conf])
        _wait_port(self.proxy_port, proc, "swift-proxy-server")

    def stop_proxy(self):
        self._stop("proxy")

    def _stop(self, name):
        proc = self.procs.pop(name, None)
        if proc and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop(self):
        for name in list(self.procs):
            self._stop(name)
        subprocess.run(["umount", "-l", SWIFT_DIR])

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def target_keys(self, bucket, secret_file):
        """The [Upload] keys of a Type=s3 target on this server."""
        return {"Type": "s3", "Endpoint": self.endpoint, "Bucket": bucket, "Region": REGION,
                "AccessKeyId": ACCESS_KEY, "SecretAccessKeyFile": secret_file}

    def write_upload_target(self, config_dir, name, bucket, extra=None, secret=SECRET_KEY):
        """upload.d/<name>.conf for this server, its secret in a 0600 file
        beside it. Returns the secret file."""
        secret_file = os.path.join(config_dir, f"{name}.secret")
        with open(os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(secret + "\n")
        upload_d = os.path.join(config_dir, "upload.d")
        os.makedirs(upload_d, exist_ok=True)
        keys = dict(self.target_keys(bucket, secret_file), **(extra or {}))
        with open(os.open(os.path.join(upload_d, f"{name}.conf"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
                  "w") as f:
            f.write("[Upload]\n" + "".join(f"{k}={v}\n" for k, v in keys.items()))
        return secret_file

    def curl_put_argv(self, path, bucket, key, payload_sha256):
        """`curl --aws-sigv4 -T` of path to bucket/key (the comparison of
        bench/upload-throughput). The access key holds a ':', which --user
        would split at: it goes percent-encoded into the URL instead."""
        user = urllib.parse.quote(ACCESS_KEY, safe="")
        url = f"http://{user}:{SECRET_KEY}@127.0.0.1:{self.proxy_port}/{bucket}/{urllib.parse.quote(key, safe='/')}"
        return ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{time_total}",
                "--aws-sigv4", f"aws:amz:{REGION}:s3", "-H", f"x-amz-content-sha256: {payload_sha256}",
                "-T", path, url]

    # A minimal SigV4 client of its own (not libcurl's, which the daemon
    # uses), to make buckets and to look at what arrived.
    def request(self, method, path, query=None, body=b"", headers=None):
        query = query or {}
        headers = dict(headers or {})
        now = datetime.now(timezone.utc)
        amz_date = now.strftime("%Y%m%dT%H%M%SZ")
        date = now.strftime("%Y%m%d")
        payload_hash = hashlib.sha256(body).hexdigest()
        host = f"127.0.0.1:{self.proxy_port}"
        quoted_path = urllib.parse.quote(path, safe="/-_.~")
        canonical_query = "&".join(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
                                   for k, v in sorted(query.items()))
        headers.update({"host": host, "x-amz-date": amz_date, "x-amz-content-sha256": payload_hash})
        signed = sorted(k.lower() for k in headers)
        lower = {k.lower(): str(v).strip() for k, v in headers.items()}
        canonical = "\n".join([method, quoted_path, canonical_query] +
                              [f"{k}:{lower[k]}" for k in signed] + ["", ";".join(signed), payload_hash])
        scope = f"{date}/{REGION}/s3/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        key = ("AWS4" + SECRET_KEY).encode()
        for part in (date, REGION, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{scope}, "
                                    f"SignedHeaders={';'.join(signed)}, Signature={signature}")
        url = self.endpoint + quoted_path + ("?" + canonical_query if canonical_query else "")
        req = urllib.request.Request(url, data=body if method in ("PUT", "POST") else None, method=method,
                                     headers={k: v for k, v in headers.items() if k != "host"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def create_bucket(self, bucket):
        status, _, body = self.request("PUT", f"/{bucket}")
        if status != 200:
            raise RuntimeError(f"creating bucket {bucket}: HTTP {status}: {body[:300]!r}")

    def get_object(self, bucket, key):
        """(status, headers, body)"""
        return self.request("GET", f"/{bucket}/{key}")

    def list_keys(self, bucket):
        status, _, body = self.request("GET", f"/{bucket}")
        if status != 200:
            raise RuntimeError(f"listing {bucket}: HTTP {status}")
        import xml.etree.ElementTree as ET
        ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
        return [k.text for k in ET.fromstring(body).iter(ns + "Key")]

    def list_multipart_uploads(self, bucket):
        status, _, body = self.request("GET", f"/{bucket}", query={"uploads": ""})
        if status != 200:
            raise RuntimeError(f"listing multipart uploads of {bucket}: HTTP {status}: {body[:300]!r}")
        import xml.etree.ElementTree as ET
        ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
        return [u.findtext(ns + "Key") for u in ET.fromstring(body).iter(ns + "Upload")]
