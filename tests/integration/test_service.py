# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the daemon tells the service manager and the journal (issue 5 §5):
sd_notify READY/STATUS/RELOADING/STOPPING, and structured journal records
with CAPTURE_INTERFACE=, CAPTURE_FILE= when journald reads its stderr.

Both peers are sockets this test binds itself, where systemd would: the
$NOTIFY_SOCKET datagram socket, and /run/systemd/journal/socket (on a
tmpfs inside the test's namespace), with $JOURNAL_STREAM naming the
daemon's stderr as systemd does."""

import os
import re
import signal
import socket
import struct
import threading

import harness

JOURNAL_SOCKET = "/run/systemd/journal/socket"


def parse_journal_datagram(data):
    """The journal's native protocol: FIELD=value lines, or FIELD\\n<le64 size>value\\n."""
    fields = {}
    i = 0
    while i < len(data):
        newline = data.index(b"\n", i)
        line = data[i:newline]
        if b"=" in line:
            key, value = line.split(b"=", 1)
            i = newline + 1
        else:
            key = line
            (size,) = struct.unpack("<Q", data[newline + 1:newline + 9])
            value = data[newline + 9:newline + 9 + size]
            i = newline + 9 + size + 1
        fields[key.decode()] = value.decode(errors="replace")
    return fields


class Receiver:
    """A bound datagram socket; a thread reads it all the time, as journald
    would (a full socket buffer blocks the sender)."""

    def __init__(self, path):
        self.path = path
        if os.path.exists(path):
            os.unlink(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.1)
        self.received = []
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while self.running:
            try:
                data = self.sock.recv(1 << 20)
            except (socket.timeout, BlockingIOError):
                continue
            except OSError:
                return
            with self.lock:
                self.received.append(data)

    def drain(self):
        with self.lock:
            out, self.received = self.received, []
        return out

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()
        os.unlink(self.path)


class NotifyTest(harness.CapturedTestCase):
    start_daemon = False

    def setUp(self):
        super().setUp()
        self.seen = []
        self.notify = Receiver(os.path.join(self.root, "notify"))
        self.addCleanup(self.notify.close)
        os.environ["NOTIFY_SOCKET"] = self.notify.path
        self.addCleanup(os.environ.pop, "NOTIFY_SOCKET", None)
        self.daemon.start()

    def messages(self):
        self.seen += [m.decode() for m in self.notify.drain()]
        return self.seen

    def wait_message(self, predicate, what):
        harness.wait_for(lambda: any(predicate(m) for m in self.messages()), 10, what)

    def test_ready_status_reloading_stopping(self):
        self.wait_message(lambda m: "READY=1" in m.split("\n"), "READY=1")
        self.wait_message(lambda m: "STATUS=0 capture(s) running" in m, "STATUS with no capture")

        harness.send_udp(count=1)
        harness.start_capture("lo", {})
        self.wait_running("lo")
        self.wait_message(lambda m: "STATUS=1 capture(s) running" in m, "STATUS with one capture running")

        self.daemon.signal(signal.SIGHUP)
        self.wait_message(lambda m: "RELOADING=1" in m.split("\n"), "RELOADING=1 after SIGHUP")

        self.daemon.signal(signal.SIGTERM)
        self.daemon.wait(20)
        self.assertTrue(any("STOPPING=1" in m.split("\n") for m in self.messages()), "STOPPING=1 at SIGTERM")


class JournalTest(harness.CapturedTestCase):
    start_daemon = False

    def setUp(self):
        super().setUp()
        os.makedirs("/run/systemd", exist_ok=True)
        harness.run(["mount", "-t", "tmpfs", "tmpfs", "/run/systemd"])
        self.addCleanup(harness.run, ["umount", "-l", "/run/systemd"], check=False)
        os.makedirs(os.path.dirname(JOURNAL_SOCKET))
        self.journal = Receiver(JOURNAL_SOCKET)
        self.addCleanup(self.journal.close)

        # What systemd sets when the service's stderr is a journal stream:
        # the device and inode of that stderr (here, the daemon's log file).
        open(self.daemon_log_path, "ab").close()
        st = os.stat(self.daemon_log_path)
        os.environ["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
        self.addCleanup(os.environ.pop, "JOURNAL_STREAM", None)
        self.daemon.start()

    def records(self):
        return [parse_journal_datagram(d) for d in self.journal.drain()]

    def capture_on_lo(self, done, what):
        """Captures on lo until a file is finished, stops, and returns the
        records, waiting until done(records)."""
        harness.start_capture("lo", {"FileSize": ("u", 1)})
        self.wait_running("lo")
        harness.send_udp(payload=b"x" * 1400, count=1000)
        harness.stop_capture("lo")

        records = []
        harness.wait_for(lambda: records.extend(self.records()) or done(records), 10, what)
        return records

    def test_structured_records(self):
        records = self.capture_on_lo(lambda records: any(r.get("CAPTURE_FILE") for r in records),
                                     "a record with CAPTURE_FILE=")

        self.assertTrue(all(r.get("SYSLOG_IDENTIFIER") == "captured" for r in records))
        self.assertTrue(all(r.get("PRIORITY", "").isdigit() for r in records))
        per_capture = [r for r in records if r.get("CAPTURE_INTERFACE") == "lo"]
        self.assertTrue(per_capture, "no record carries CAPTURE_INTERFACE=lo")
        finished = [r for r in records if r.get("CAPTURE_FILE")]
        for r in finished:
            self.assertEqual(r.get("CAPTURE_INTERFACE"), "lo", r)
            self.assertTrue(os.path.exists(r["CAPTURE_FILE"]), r)
            self.assertIn(r["CAPTURE_FILE"], r["MESSAGE"])
        # Records went to the journal, not as <N> lines to stderr.
        self.assertNotIn("finished", self.daemon.log())

    def test_caller_location_and_message_ids(self):
        """Issue 12: each record names the code that logged it, not the
        logging helper, and the documented events carry their MESSAGE_ID=."""
        with open(os.path.join(os.environ["SOURCE_ROOT"], "daemon", "message-ids.h")) as f:
            ids = dict(re.findall(r'#define (MESSAGE_\w+)\s+"([0-9a-f]{32})"', f.read()))
        records = self.capture_on_lo(
            lambda records: any(r.get("MESSAGE_ID") == ids["MESSAGE_CAPTURE_STOPPED"] for r in records),
            "the record of the stop")

        for r in records:
            self.assertFalse(r.get("CODE_FILE", "log.c").endswith("log.c"), r)
            self.assertTrue(r.get("CODE_LINE", "").isdigit(), r)
            self.assertTrue(os.path.exists(os.path.join(os.environ["SOURCE_ROOT"], r["CODE_FILE"])), r)
        by_id = {}
        for r in records:
            by_id.setdefault(r.get("MESSAGE_ID"), []).append(r)
        for name in ("MESSAGE_CAPTURE_STARTED", "MESSAGE_CAPTURE_STOPPED", "MESSAGE_FILE_COMPLETED"):
            self.assertIn(ids[name], by_id, f"no record with {name}")
            for r in by_id[ids[name]]:
                self.assertEqual(r.get("CAPTURE_INTERFACE"), "lo", r)
        started = by_id[ids["MESSAGE_CAPTURE_STARTED"]][0]
        self.assertEqual((started["CODE_FILE"], started["CODE_FUNC"]), ("daemon/capture.c", "set_state"))
        completed = by_id[ids["MESSAGE_FILE_COMPLETED"]][0]
        self.assertTrue(os.path.exists(completed["CAPTURE_FILE"]), completed)
        self.assertEqual(completed["CODE_FUNC"], "manager_file_completed")

    def wait_record(self, name, what, poke=None):
        """The first record with the MESSAGE_ID of message-ids.h's name;
        poke(), if given, runs before each look (e.g. to send traffic)."""
        with open(os.path.join(os.environ["SOURCE_ROOT"], "daemon", "message-ids.h")) as f:
            message_id = dict(re.findall(r'#define (MESSAGE_\w+)\s+"([0-9a-f]{32})"', f.read()))[name]
        seen = []

        def find():
            if poke:
                poke()
            seen.extend(self.records())
            return [r for r in seen if r.get("MESSAGE_ID") == message_id]
        return harness.wait_for(find, 20, what)[0]

    def test_tcpdump_crash_and_failure_have_message_ids(self):
        harness.start_capture("lo", {})
        pid = self.wait_running("lo")
        os.kill(pid, signal.SIGSEGV)

        restarting = self.wait_record("MESSAGE_CAPTURE_RESTARTING", "the record of the restart")
        self.assertEqual((restarting["CAPTURE_INTERFACE"], restarting["PRIORITY"]), ("lo", "4"))
        self.assertIn("SIGSEGV", restarting["MESSAGE"])

        # A start whose tcpdump exits before it is ready fails at once.
        harness.stop_capture("lo")
        self.write_config({"Daemon": {"TcpdumpPath": "/bin/false"}})
        self.daemon.signal(signal.SIGHUP)
        harness.wait_for(lambda: "Configuration reloaded." in [r.get("MESSAGE") for r in self.records()], 10,
                         "the reload")
        harness.manager_call_error("StartCapture", "sa{sv}", "lo", {})
        failed = self.wait_record("MESSAGE_CAPTURE_FAILED", "the record of the failure")
        self.assertEqual((failed["CAPTURE_INTERFACE"], failed["PRIORITY"]), ("lo", "3"))

    def test_upload_failure_and_retention_have_message_ids(self):
        upload_d = os.path.join(self.config_dir, "upload.d")
        os.makedirs(upload_d)
        with open(os.path.join(upload_d, "dead.conf"), "w") as f:
            f.write("[Upload]\nType=cloudshark\nURL=http://127.0.0.1:1/\nToken=unused\n")
        os.chmod(os.path.join(upload_d, "dead.conf"), 0o600)
        # One attempt, then the upload fails for good.
        self.daemon.stop()
        os.environ["CAPTURED_UPLOAD_RETRY"] = "10 10 1"
        self.addCleanup(os.environ.pop, "CAPTURED_UPLOAD_RETRY", None)
        self.daemon.start()

        harness.start_capture("lo", {"FileSize": ("u", 1), "FileCount": ("u", 2), "Upload": ("s", "dead")})
        self.wait_running("lo")
        harness.send_udp(payload=b"x" * 1400, count=3000)
        failed = self.wait_record("MESSAGE_UPLOAD_FAILED", "the record of the failed upload")
        self.assertEqual((failed["CAPTURE_INTERFACE"], failed["UPLOAD_TARGET"]), ("lo", "dead"))
        self.assertTrue(failed["CAPTURE_FILE"].startswith(os.path.join(self.capture_dir, "lo", "pcap-lo-")))
        # Under load the kernel may drop part of the burst: keep the files
        # coming until retention has one to delete.
        deleted = self.wait_record("MESSAGE_FILE_DELETED_RETENTION", "the record of a deletion by retention",
                                   poke=lambda: harness.send_udp(payload=b"x" * 1400, count=300))
        self.assertEqual(deleted["CAPTURE_INTERFACE"], "lo")
        self.assertFalse(os.path.exists(deleted["CAPTURE_FILE"]))


if __name__ == "__main__":
    harness.main()
