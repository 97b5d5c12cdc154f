#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A CloudShark upload endpoint that reads and discards: the client-side
ceiling for bench/upload-throughput.

tests/cloudshark_server.py (the fake the tests use) keeps the whole request
in memory, splits the multipart body, hashes and stores the file before it
answers; on a 2-core machine that costs more than the transfer. This server
answers every POST .../upload with HTTP 200 and {"id": N, "filename": ...}
after reading the body in 1 MiB pieces without looking at it (it does not
check the token or the multipart syntax: it is a sink, not a fake). Any
other request gets 404. Keep-alive, Expect: 100-continue and chunked bodies
are handled. GET /__log returns, for each upload, when its headers had been
read and when its body had been (CLOCK_REALTIME), its Content-Length and
User-Agent: the server's view of the transfer time, the same for any client.

    sink_server.py [--port N]       prints "PORT=<n>" once it listens
"""

import argparse
import json
import signal
import socket
import sys
import threading
import time

_counter = 0
_log = []      # per upload: id, user_agent, bytes, headers_at, body_done_at (CLOCK_REALTIME)
_lock = threading.Lock()


def read_headers(f):
    request = f.readline()
    if not request:
        return None, None
    headers = {}
    while True:
        line = f.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        k, _, v = line.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    return request.decode("latin-1").split(), headers


def discard(f, n):
    while n > 0:
        chunk = f.read1(min(n, 1 << 20))
        if not chunk:
            raise ConnectionError("body cut short")
        n -= len(chunk)


def discard_body(f, headers):
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int(f.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while f.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return
            discard(f, size)
            f.readline()
    discard(f, int(headers.get("content-length") or 0))


def serve(connection):
    global _counter
    with connection, connection.makefile("rb") as f:
        while True:
            request, headers = read_headers(f)
            if not request or len(request) < 2:
                return
            t_headers = time.clock_gettime(time.CLOCK_REALTIME)
            if request[0] == "GET" and request[1] == "/__log":
                with _lock:
                    body = json.dumps(_log).encode()
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                   b"Content-Length: %d\r\n\r\n" % len(body) + body)
                continue
            if headers.get("expect", "").lower() == "100-continue":
                connection.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            discard_body(f, headers)
            if request[0] == "POST" and request[1].split("?")[0].endswith("/upload"):
                with _lock:
                    _counter += 1
                    capture_id = _counter
                    _log.append({"id": capture_id, "user_agent": headers.get("user-agent", ""),
                                 "bytes": int(headers.get("content-length") or 0),
                                 "headers_at": t_headers, "body_done_at": time.clock_gettime(time.CLOCK_REALTIME)})
                status, body = "200 OK", json.dumps({"id": capture_id, "filename": "upload.pcap"}).encode()
            else:
                status, body = "404 Not Found", b'{"status": 404}'
            close = headers.get("connection", "").lower() == "close"
            connection.sendall(f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                               f"Content-Length: {len(body)}\r\n{'Connection: close' + chr(13) + chr(10) if close else ''}"
                               f"\r\n".encode() + body)
            if close:
                return


def main():
    parser = argparse.ArgumentParser(description="A discarding CloudShark upload endpoint.")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(16)
    print(f"PORT={listener.getsockname()[1]}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    def handle(c):
        try:
            serve(c)
        except (OSError, ValueError, ConnectionError):
            pass

    while True:
        c, _ = listener.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
