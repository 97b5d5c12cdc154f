#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A local fake of the CloudShark API subset captured uses (SPEC §7).

    POST /api/v1/<token>/upload          multipart: file, filename, additional_tags
    GET  /api/v1/<token>/search?search[filename]=NAME
    POST /api/v1/<token>/delete/<id>
    GET  /captures/<id>

Test side channel (no token needed):

    GET  /__log                          every request so far, as JSON
    GET  /__captures                     what is stored: id, filename, size, sha256, tags
    POST /__fault                        {"mode": M, "count": N, "seconds": S, "match": "upload",
                                          "body": B, "size": Z}
    POST /__reset                        forget the log, the captures and the faults

Fault modes, each for the next N API requests (those whose path contains
"match", if given): "500" (HTTP 500), "close" (read the request, close the
connection without an answer), "truncate" (announce a body, send part of
it, close), "slow" (sleep S seconds, then answer normally), "badjson"
(HTTP 200 with a body that is not JSON), "reply" (do the request, then
answer HTTP 200 with body B instead: a hostile or broken server's JSON),
"bigheader" (HTTP 200 with one header line of Z bytes, default 2 MB). A
refused connection is simulated by stopping the server.

Use it in-process (FakeCloudShark(...).start()) or as a program:

    cloudshark_server.py --storage DIR --token TOKEN [--port N] [--port-file F]
                         [--tls-cert PEM --tls-key PEM]

which prints "PORT=<n>" on stdout once it listens. With a certificate it
speaks HTTPS.
"""

import argparse
import hashlib
import http.server
import json
import os
import re
import secrets
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.parse


class Fault:
    def __init__(self, mode, count=1, seconds=0.0, match=None, body='', size=2 * 1024 * 1024):
        if mode not in ('500', 'close', 'truncate', 'slow', 'badjson', 'reply', 'bigheader'):
            raise ValueError(f'unknown fault mode {mode!r}')
        self.mode = mode
        self.count = int(count)
        self.seconds = float(seconds)
        self.match = match
        self.body = body.encode() if isinstance(body, str) else bytes(body)
        self.size = int(size)


class BadRequest(Exception):
    pass


def parse_multipart(body, content_type):
    """Returns {name: (filename or None, bytes)}; raises BadRequest."""
    m = re.search(r'boundary=(?:"([^"]+)"|([^;\s]+))', content_type or '')
    if not content_type or not content_type.startswith('multipart/form-data') or not m:
        raise BadRequest('expected multipart/form-data with a boundary')
    delimiter = b'--' + (m.group(1) or m.group(2)).encode()

    sections = body.split(delimiter)
    if len(sections) < 3 or not sections[-1].startswith(b'--'):
        raise BadRequest('multipart body is not terminated')

    parts = {}
    for section in sections[1:-1]:
        if not section.startswith(b'\r\n') or not section.endswith(b'\r\n'):
            raise BadRequest('malformed multipart section')
        head, sep, content = section[2:-2].partition(b'\r\n\r\n')
        if not sep:
            raise BadRequest('multipart section without headers')
        headers = {}
        for line in head.decode('utf-8', 'replace').split('\r\n'):
            key, _, value = line.partition(':')
            headers[key.strip().lower()] = value.strip()
        disposition = headers.get('content-disposition', '')
        name = re.search(r'\bname="([^"]*)"', disposition)
        filename = re.search(r'\bfilename="([^"]*)"', disposition)
        if not name:
            raise BadRequest('multipart section without a name')
        parts[name.group(1)] = (filename.group(1) if filename else None, content)
    return parts


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'FakeCloudShark/1.0'

    def log_message(self, format, *args):
        if self.server.fake.verbose:
            super().log_message(format, *args)

    def setup(self):
        super().setup()
        self.server.fake._track(self.connection, True)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.fake._track(self.connection, False)

    # Request plumbing

    def read_body(self):
        if self.headers.get('Transfer-Encoding', '').lower() == 'chunked':
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b';')[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b'\r\n', b'\n', b''):
                        pass
                    return b''.join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(length) if length else b''

    def reply(self, status, document=None, body=None, close=False, extra_headers=None):
        # The request is in the log before the client can see the answer
        # (as the store changes are): a test that saw the daemon act on a
        # reply finds the request logged.
        self.record_request(status=status)
        if body is None:
            body = json.dumps(document if document is not None else {}).encode()
        self.send_response(status)
        for key, value in (extra_headers or {}).items():
            self.send_header(key, value)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        if close:
            self.send_header('Connection', 'close')
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)
        return status

    def do_GET(self):
        self.handle_request('GET')

    def do_POST(self):
        self.handle_request('POST')

    def record_request(self, **fields):
        """Adds fields to this request's log entry and logs it (once)."""
        entry = getattr(self, 'entry', None)
        if entry is None:
            return
        entry.update(fields)
        if not self.logged:
            self.logged = True
            self.server.fake._append_log(entry)

    def handle_request(self, method):
        fake = self.server.fake
        url = urllib.parse.urlsplit(self.path)
        entry = {'time': time.time(), 'method': method, 'path': url.path, 'query': url.query}
        self.entry, self.logged = None, False
        try:
            body = self.read_body()
        except (OSError, ValueError):
            self.close_connection = True
            return

        if url.path.startswith('/__'):
            self.handle_control(method, url.path, body)
            return
        self.entry = entry

        fault = fake._take_fault(url.path)
        if fault:
            entry['fault'] = fault.mode
        try:
            status, extra = self.handle_api(method, url, body, fault)
            self.record_request(status=status, **extra)
        except (BrokenPipeError, ConnectionResetError):
            self.record_request(status=None)

    def handle_fault(self, fault):
        """Returns the status sent, None if nothing was, False to go on."""
        if fault.mode == '500':
            return self.reply(500, {'status': 500, 'exceptions': ['injected failure']}, close=True)
        if fault.mode == 'close':
            self.close_connection = True
            return None
        if fault.mode == 'truncate':
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', '100')
            self.end_headers()
            self.wfile.write(b'{"id": "tr')
            self.wfile.flush()
            self.close_connection = True
            return 200
        if fault.mode == 'bigheader':
            self.close_connection = True
            try:
                self.reply(200, {}, close=True, extra_headers={'X-Padding': 'x' * fault.size})
            except (BrokenPipeError, ConnectionResetError):
                pass   # the client gave up on the header
            return 200
        if fault.mode == 'slow':
            time.sleep(fault.seconds)
        return False

    def handle_api(self, method, url, body, fault):
        fake = self.server.fake
        m = re.fullmatch(r'/api/v1/([^/]+)/(upload|search|delete/([^/]+))', url.path)
        capture = re.fullmatch(r'/captures/([^/]+)', url.path)

        if fault:
            status = self.handle_fault(fault)
            if status is not False:
                return status, {}

        if capture and method == 'GET':
            info = fake._capture_info(urllib.parse.unquote(capture.group(1)))
            if not info:
                return self.reply(404, {'status': 404, 'exceptions': ['no such capture']}), {}
            return self.reply(200, info), {}

        if not m:
            return self.reply(404, {'status': 404, 'exceptions': ['not found']}), {}
        token, action, delete_id = urllib.parse.unquote(m.group(1)), m.group(2), m.group(3)
        if token not in fake.tokens:
            return self.reply(401, {'status': 401, 'exceptions': ['invalid API token']}), {}

        if action == 'upload' and method == 'POST':
            try:
                parts = parse_multipart(body, self.headers.get('Content-Type'))
            except BadRequest as e:
                return self.reply(400, {'status': 400, 'exceptions': [str(e)]}), {}
            if 'file' not in parts:
                return self.reply(400, {'status': 400, 'exceptions': ['no file']}), {}
            part_filename, data = parts['file']
            filename = parts['filename'][1].decode() if 'filename' in parts else part_filename
            tags = parts['additional_tags'][1].decode() if 'additional_tags' in parts else ''
            capture_id = fake._store(filename or 'upload.pcap', data, tags)
            self.record_request(filename=filename, id=capture_id, tags=tags)
            status = self.reply_maybe_bad(fault, {'id': capture_id, 'filename': filename})
            return status, {'filename': filename, 'id': capture_id, 'tags': tags}

        if action == 'search' and method == 'GET':
            query = urllib.parse.parse_qs(url.query)
            name = query.get('search[filename]', [None])[0]
            found = fake._search(name)
            self.record_request(search=name)
            return self.reply_maybe_bad(fault, {'captures': found}), {'search': name}

        if delete_id is not None and method == 'POST':
            capture_id = urllib.parse.unquote(delete_id)
            self.record_request(id=capture_id)
            if not fake._delete(capture_id):
                return self.reply(404, {'status': 404, 'exceptions': ['no such capture']}), {'id': capture_id}
            return self.reply_maybe_bad(fault, {'status': 'ok'}), {'id': capture_id}

        return self.reply(405, {'status': 405, 'exceptions': ['method not allowed']}), {}

    def reply_maybe_bad(self, fault, document):
        if fault and fault.mode == 'badjson':
            return self.reply(200, body=b'<html>this is not JSON</html>')
        if fault and fault.mode == 'reply':
            return self.reply(200, body=fault.body)
        return self.reply(200, document)

    def handle_control(self, method, path, body):
        fake = self.server.fake
        if path == '/__log' and method == 'GET':
            self.reply(200, fake.log())
        elif path == '/__captures' and method == 'GET':
            self.reply(200, fake.captures())
        elif path == '/__fault' and method == 'POST':
            try:
                fake.inject(**json.loads(body or b'{}'))
            except (ValueError, TypeError) as e:
                self.reply(400, {'error': str(e)})
                return
            self.reply(200, {'status': 'ok'})
        elif path == '/__reset' and method == 'POST':
            fake.reset()
            self.reply(200, {'status': 'ok'})
        else:
            self.reply(404, {'error': 'not found'})


class FakeCloudShark:
    def __init__(self, storage, tokens, port=0, host='127.0.0.1', verbose=False,
                 tls_cert=None, tls_key=None):
        self.storage = storage
        self.tls_cert = tls_cert
        self.tls_key = tls_key
        self.tokens = set(tokens)
        self.host = host
        self.port = port
        self.verbose = verbose
        self._lock = threading.Lock()
        self._server = None
        self._thread = None
        self._connections = set()
        os.makedirs(storage, exist_ok=True)
        self.reset()

    @property
    def url(self):
        scheme = 'https' if self.tls_cert else 'http'
        return f'{scheme}://{self.host}:{self.port}'

    def start(self):
        """Listens (again, on the same port after stop()) and serves in a thread."""
        self._server = http.server.ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self._server.fake = self
        if self.tls_cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.tls_cert, self.tls_key)
            # A client that rejects the certificate fails accept() with an
            # OSError, which the server ignores.
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stops listening and cuts open connections: clients get refused."""
        if not self._server:
            return
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join()
        self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *args):
        self.stop()

    # What tests look at and change

    def inject(self, mode, count=1, seconds=0.0, match=None, body='', size=2 * 1024 * 1024):
        with self._lock:
            self._faults.append(Fault(mode, count, seconds, match, body, size))

    def reset(self):
        with self._lock:
            self._log = []
            self._faults = []
            self._captures = {}

    def log(self):
        with self._lock:
            return [dict(e) for e in self._log]

    def captures(self):
        with self._lock:
            return [dict(c, id=i) for i, c in self._captures.items()]

    # Used by the handler

    def _track(self, connection, add):
        with self._lock:
            (self._connections.add if add else self._connections.discard)(connection)

    def _take_fault(self, path):
        with self._lock:
            for fault in self._faults:
                if fault.count > 0 and (not fault.match or fault.match in path):
                    fault.count -= 1
                    return fault
        return None

    def _append_log(self, entry):
        with self._lock:
            self._log.append(entry)

    def _store(self, filename, data, tags):
        capture_id = secrets.token_hex(8)
        path = os.path.join(self.storage, capture_id)
        with open(path, 'wb') as f:
            f.write(data)
        with self._lock:
            self._captures[capture_id] = {
                'filename': filename,
                'size': len(data),
                'sha256': hashlib.sha256(data).hexdigest(),
                'tags': tags,
                'path': path,
            }
        return capture_id

    def _search(self, filename):
        with self._lock:
            return [{'id': i, 'filename': c['filename']}
                    for i, c in self._captures.items() if c['filename'] == filename]

    def _delete(self, capture_id):
        with self._lock:
            capture = self._captures.pop(capture_id, None)
        if capture:
            os.unlink(capture['path'])
        return capture is not None

    def _capture_info(self, capture_id):
        with self._lock:
            capture = self._captures.get(capture_id)
            return dict(capture, id=capture_id) if capture else None


def main():
    parser = argparse.ArgumentParser(description='A local fake of the CloudShark upload API.')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=0, help='0 picks a free port')
    parser.add_argument('--port-file', help='write the port there once listening')
    parser.add_argument('--storage', required=True, help='directory for uploaded files')
    parser.add_argument('--token', action='append', required=True, help='a valid API token (repeatable)')
    parser.add_argument('--tls-cert', help='PEM certificate: serve HTTPS')
    parser.add_argument('--tls-key', help='PEM private key of --tls-cert')
    parser.add_argument('--verbose', action='store_true')
    args = parser.parse_args()

    fake = FakeCloudShark(args.storage, args.token, port=args.port, host=args.host, verbose=args.verbose,
                          tls_cert=args.tls_cert, tls_key=args.tls_key)
    fake.start()
    if args.port_file:
        with open(args.port_file + '.tmp', 'w') as f:
            f.write(f'{fake.port}\n')
        os.rename(args.port_file + '.tmp', args.port_file)
    print(f'PORT={fake.port}', flush=True)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    fake.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
