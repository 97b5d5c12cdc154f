#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Cockpit page (cockpit/) in a real browser (SPEC §10, issue 14).

Inside the harness's namespaces (real captured, tcpdump and dbus-daemon)
this runs Cockpit's own web service, `cockpit-ws --local-session`, whose
bridge finds the page under $XDG_DATA_HOME/cockpit/captured (a link to the
source tree's cockpit/) and talks to the test's private system bus; headless
Chromium, driven by Selenium through chromedriver, opens it. Everything waits
on DOM conditions (WebDriverWait, bounded), never on sleep.

The unprivileged path uses real polkitd with the project's policy and rules
(set up as test_polkit.py does): a member of group "capture" may start a
capture from the page; a user polkit does not authorize sees the daemon's
AccessDenied on the page, and the buttons say why they are disabled; an
administrator turns on Cockpit's administrative access (real sudo, with a
private sudoers bind-mounted over /etc/sudoers) and then acts as root.

A screenshot of the overview is saved as cockpit-overview.png in the build
directory ($ARTIFACT_DIR, which meson sets, else the current directory)."""

import os
import hashlib
import re
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import testbed  # noqa: E402  tests/testbed.py (harness put it on the path)
import test_polkit  # noqa: E402  real polkitd, users and rules
import test_upload  # noqa: E402  the fake CloudShark target
import upload_helpers  # noqa: E402  the veth pair uploads go through
from harness import wait_for  # noqa: E402

COCKPIT_WS = "/usr/lib/cockpit/cockpit-ws"
SUDO = "/usr/bin/sudo"
COCKPIT_BRIDGE = "/usr/bin/cockpit-bridge"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PAGE_DIR = os.path.join(harness.SOURCE_ROOT, "cockpit")
SCREENSHOT_NAME = "cockpit-overview.png"
PRIVATE_DIRECTORIES = ("/tmp", "/root")
WAIT = 30  # seconds for any DOM condition; generous for a loaded 2-core machine

try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException, WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:
    webdriver = None

_browser = None
_home = None


# ---------------------------------------------------------------------------
# Cockpit and the browser


class CockpitWs:
    """cockpit-ws serving one local session, as root or as a test user."""

    def __init__(self, port, user=None):
        self.port = port
        self.user = user
        base = tempfile.mkdtemp(prefix=f"cockpit-{user or 'root'}-", dir=harness._scratch)
        os.chmod(base, 0o755)
        data = os.path.join(base, "data")
        os.makedirs(os.path.join(data, "cockpit"))
        os.symlink(PAGE_DIR, os.path.join(data, "cockpit", "captured"))
        home = os.path.join(base, "home")
        os.mkdir(home, 0o700)
        if user:
            uid = test_polkit.USERS[user]
            for d in (base, home):
                os.chown(d, uid, uid)
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": home, "TMPDIR": home,
               "LANG": "C.UTF-8", "XDG_DATA_HOME": data, "XDG_DATA_DIRS": "/usr/share",
               "DBUS_SYSTEM_BUS_ADDRESS": harness.SYSTEM_BUS_ADDRESS}
        argv = [COCKPIT_WS, "--no-tls", "-a", "127.0.0.1", "-p", str(port),
                "--local-session=" + COCKPIT_BRIDGE]
        if user:
            argv = test_polkit.as_user(user, argv)
        self.log_path = os.path.join(base, "cockpit-ws.log")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        harness._tracked_children.add(self.proc.pid)
        wait_for(self._listening, 20, f"cockpit-ws on port {port}")

    def _listening(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"cockpit-ws exited {self.proc.returncode}: {self.log()}")
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1440,800",
                 "--user-data-dir=" + os.path.join(_home, "chromium")):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(CHROMEDRIVER, log_path=os.path.join(_home, "chromedriver.log"),
                      env={"PATH": "/usr/bin:/bin", "HOME": _home, "TMPDIR": _home})
    return webdriver.Chrome(service=service, options=options)


def private_directory(base, keep):
    """A tmpfs over base (/tmp, /root) for what Cockpit's session writes
    there: its bridge starts ssh-agent (setgid, so TMPDIR is dropped) and a
    session dbus-daemon, which put their sockets in /tmp, and as root it
    takes HOME from passwd (~/.cache). What the test needs from base (the
    harness's scratch directory, the source and build trees when they are
    there) is bound back at its own path (testbed.mount_tmpfs_keeping()).
    Undone by undo_private_directory() before the harness's teardown, which
    needs the host's /tmp."""
    testbed.mount_tmpfs_keeping(base, keep, "1777" if base == "/tmp" else "0700")


def undo_private_directory(base):
    harness.run(["umount", "--lazy", base], check=False)


def needed_paths():
    return [harness._scratch, harness.SOURCE_ROOT, harness.CAPTURED, harness.CAPTURECTL,
            os.environ.get("ARTIFACT_DIR"), os.getcwd(), os.path.abspath(sys.argv[0])]


def setUpModule():
    global _browser, _home
    if webdriver is None:
        raise harness.unittest.SkipTest("python3-selenium is not installed")
    for tool in (COCKPIT_WS, COCKPIT_BRIDGE, CHROMIUM, CHROMEDRIVER):
        if not os.access(tool, os.X_OK):
            raise harness.unittest.SkipTest(f"{tool} is not installed")
    for base in PRIVATE_DIRECTORIES:
        private_directory(base, needed_paths())
    _home = tempfile.mkdtemp(prefix="browser-", dir=harness._scratch)
    test_polkit.setUpModule()
    _browser = start_browser()
    _browser.set_page_load_timeout(WAIT)
    os.mkdir(download_dir())
    _browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": download_dir()})


def tearDownModule():
    if _browser:
        _browser.quit()
    test_polkit.tearDownModule()
    for base in PRIVATE_DIRECTORIES:
        undo_private_directory(base)


def download_dir():
    return os.path.join(_home, "downloads")


def artifact_dir():
    return os.environ.get("ARTIFACT_DIR") or os.getcwd()


# ---------------------------------------------------------------------------
# The tests


class CockpitTestCase(harness.CapturedTestCase):
    """A fresh daemon per test (CapturedTestCase); cockpit-ws per class."""

    user = None
    port = 9090

    @classmethod
    def setUpClass(cls):
        cls.ws = CockpitWs(cls.port, cls.user)

    @classmethod
    def tearDownClass(cls):
        cls.ws.stop()

    def setUp(self):
        super().setUp()
        self.browser = _browser
        self.browser.get_log("browser")  # forget the previous test's
        self.console_backlog = []          # read here, still to be checked
        self.addCleanup(self.check_console)

    def check_console(self):
        """The page logged no error (an exception in captured.js, a failed load)."""
        errors = [entry["message"] for entry in self.console_backlog + self.browser.get_log("browser")
                  if entry["level"] == "SEVERE" and "/captured/" in entry["message"]]
        if errors:
            harness.log(f"----- cockpit-ws log -----\n{self.ws.log()}")
        self.assertEqual(errors, [], "errors in the browser's console")

    # -- the page -----------------------------------------------------------

    def open_page(self):
        """Opens the shell at the page and enters the page's frame.

        Chromium aborts the requests in flight when the machine's network
        changes (net::ERR_NETWORK_CHANGED), and a test that has just added
        or deleted a veth pair changes it. A load that met one is thrown
        away, with what it logged, and done again (three loads at most);
        what any other load logs is still checked (check_console)."""
        b = self.browser
        for attempt in (1, 2, 3):
            logged = []

            def aborted():
                logged.extend(b.get_log("browser"))
                return any("ERR_NETWORK_CHANGED" in e["message"] for e in logged)

            b.switch_to.default_content()
            b.get(self.ws.url + "/captured")
            try:
                frame = self.wait_until(
                    lambda d: aborted() or d.find_element(By.CSS_SELECTOR,
                                                          "iframe[name='cockpit1:localhost/captured']"),
                    "the page's frame in the shell")
                if not aborted():
                    b.switch_to.frame(frame)
                    self.wait_until(lambda d: aborted() or not d.find_element(By.ID, "loading").is_displayed(),
                                    "the page to load")
            except AssertionError:
                self.console_backlog += logged
                raise
            if not aborted():
                self.console_backlog += logged
                return
            harness.log(f"load {attempt} of the page met a network change, loading it again")
        self.fail("three loads of the page in a row met a network change")

    def wait_until(self, condition, what, timeout=WAIT):
        """Waits until condition(driver) is true (exceptions count as false); returns it."""
        try:
            return WebDriverWait(self.browser, timeout, poll_frequency=0.1).until(lambda d: _quiet(condition, d))
        except TimeoutException:
            self.fail(f"timed out after {timeout}s waiting for {what}")

    # Reads go through one script each, so that a cell the page re-renders
    # meanwhile cannot turn stale between finding and reading it.

    def text(self, selector):
        return self.browser.execute_script(
            "const e = document.querySelector(arguments[0]); return e ? e.innerText : null;", selector)

    def attribute(self, selector, name):
        return self.browser.execute_script(
            "const e = document.querySelector(arguments[0]); return e ? e.getAttribute(arguments[1]) : null;",
            selector, name)

    def count(self, selector):
        return self.browser.execute_script("return document.querySelectorAll(arguments[0]).length;", selector)

    @staticmethod
    def row_selector(interface):
        return f"#captures-body tr[data-interface='{interface}']"

    def row(self, interface):
        return self.browser.find_element(By.CSS_SELECTOR, self.row_selector(interface))

    def cell_text(self, interface, field):
        return self.text(f"{self.row_selector(interface)} td[data-field='{field}']")

    def row_state(self, interface):
        return self.attribute(self.row_selector(interface), "data-state")

    def wait_row_state(self, interface, state):
        self.wait_until(lambda d: self.row_state(interface) == state, f"{interface} shown {state}")

    def packets_shown(self, interface):
        text = self.text(f"{self.row_selector(interface)} [data-value='captured']") or ""
        digits = re.sub(r"[^0-9]", "", text)
        return int(digits) if digits else None

    def row_button(self, interface, name):
        return self.row(interface).find_element(By.CSS_SELECTOR, f"button[data-button='{name}']")

    def click_row_button(self, interface, name):
        """Clicks a row's button; a row drawn again meanwhile (new counters)
        makes the element stale, so it is found again until the click lands."""
        def click(d):
            self.row_button(interface, name).click()
            return True
        self.wait_until(click, f"a click on {interface}'s {name} button")

    def open_start_form(self):
        self.browser.find_element(By.ID, "start-open").click()
        self.wait_until(lambda d: d.find_element(By.ID, "start-card").is_displayed(), "the start form")

    def fill(self, field, value):
        box = self.browser.find_element(By.ID, "field-" + field)
        box.clear()
        box.send_keys(value)

    def choose_interface(self, interface):
        self.wait_until(lambda d: any(o.get_attribute("value") == interface for o in
                                      d.find_elements(By.CSS_SELECTOR, "#field-interface option")),
                        f"{interface} among the interfaces")
        Select(self.browser.find_element(By.ID, "field-interface")).select_by_value(interface)

    def field_error(self, field):
        helper = self.browser.find_element(By.ID, "error-" + field)
        return helper.text if helper.is_displayed() else ""

    def screenshot(self):
        self.browser.switch_to.default_content()
        path = os.path.join(artifact_dir(), SCREENSHOT_NAME)
        self.assertTrue(self.browser.save_screenshot(path), f"screenshot {path}")
        harness.log(f"screenshot: {path}")


def _quiet(condition, driver):
    """condition(driver), false while the element it looks for is missing or replaced."""
    try:
        return condition(driver)
    except WebDriverException:  # NoSuchElement, StaleElementReference, ...
        return False


class RootTest(CockpitTestCase):
    """Cockpit as root: the page shows, starts, stops and lists files."""

    def test_page_is_in_the_navigation(self):
        self.browser.switch_to.default_content()
        self.browser.get(self.ws.url + "/system")
        link = self.wait_until(lambda d: d.find_element(By.XPATH, "//nav//a[normalize-space()='Packet captures']"),
                               "'Packet captures' in the navigation")
        link.click()
        self.wait_until(lambda d: d.find_element(By.CSS_SELECTOR, "iframe[name='cockpit1:localhost/captured']"),
                        "the page's frame after the click")

    def test_empty_state_offers_to_start_a_capture(self):
        self.open_page()
        b = self.browser
        self.wait_until(lambda d: d.find_element(By.ID, "empty").is_displayed(), "the empty state")
        self.assertIn("A capture records the packets", b.find_element(By.ID, "empty").text)
        b.find_element(By.ID, "empty-start").click()
        self.wait_until(lambda d: d.find_element(By.ID, "start-card").is_displayed(), "the start form")

    def test_running_capture_on_lo_with_moving_counters(self):
        # For the screenshot's sake: a stopped capture, and one whose
        # interface went away (waiting, with the error).
        harness.create_veth("veth0", "veth1")
        self.addCleanup(harness.delete_link, "veth0")
        harness.start_capture("veth0", {"Filter": ("s", "not ip6")})
        self.wait_running("veth0")
        harness.stop_capture("veth0")
        harness.create_veth("wan0", "wan1")
        harness.start_capture("wan0")
        self.wait_running("wan0")
        harness.delete_link("wan0")
        harness.wait_for_state("wan0", "waiting")
        harness.start_capture("lo", {"FileSize": ("u", 1), "FileCount": ("u", 20)})
        self.wait_running("lo")
        self.open_page()
        self.wait_row_state("lo", "running")
        self.assertIn("running", self.cell_text("lo", "state"))
        self.assertIn("captured-state--good",
                      self.attribute(self.row_selector("lo") + " td[data-field='state'] span", "class"))
        self.assertRegex(self.cell_text("lo", "since"), r"\d+ (s|min) ago")

        # Counters move while traffic flows: the page asks for fresh figures
        # and PropertiesChanged brings them.
        def counted_more_than(n):
            harness.send_udp(count=20)
            shown = self.packets_shown("lo")
            return shown is not None and shown > n
        self.wait_until(lambda d: counted_more_than(0), "captured packets on lo")
        first = self.packets_shown("lo")
        self.wait_until(lambda d: counted_more_than(first), "the packet counter to move")
        # The sparkline gets one bar per reading of the counters.
        bursts = iter(range(10**6))

        def bars(n):
            harness.send_udp(count=10 + next(bursts) % 9 * 10)
            return self.count(self.row_selector("lo") + " svg.captured-sparkline rect") >= n
        self.wait_until(lambda d: bars(6), "six readings in the packets-per-second sparkline")
        rate = self.text(self.row_selector("lo") + " [data-value='rate']")
        self.assertRegex(rate, r"^[0-9.]+/s$")
        self.assertRegex(self.cell_text("lo", "files"), r"kept\n.* on disk")
        self.screenshot()

    def test_start_from_the_form_on_a_veth(self):
        harness.create_veth("vweb0", "vweb1")
        self.addCleanup(harness.delete_link, "vweb0")
        self.open_page()
        self.open_start_form()
        self.choose_interface("vweb0")
        self.fill("Filter", "ether proto 0x88b5")
        self.fill("FileSize", "2")
        self.fill("FileCount", "5")
        self.fill("SnapLength", "128")
        self.fill("BufferSize", "1024")
        self.fill("RotateSeconds", "60")
        Select(self.browser.find_element(By.ID, "field-Promiscuous")).select_by_value("false")
        self.browser.find_element(By.ID, "start-submit").click()
        self.wait_row_state("vweb0", "running")
        self.wait_until(lambda d: not d.find_element(By.ID, "start-card").is_displayed(), "the form to close")
        # The daemon runs it with exactly the form's options.
        props = harness.get_all_properties(harness.capture_path("vweb0"), harness.CAPTURE_IFACE)
        self.assertEqual((props["State"], props["Filter"], props["FileSize"], props["FileCount"],
                          props["SnapLength"], props["BufferSize"], props["RotateSeconds"], props["Promiscuous"]),
                         ("running", "ether proto 0x88b5", 2, 5, 128, 1024, 60, False))

    def test_bad_filter_shows_the_daemons_message_beside_the_filter(self):
        self.open_page()
        self.open_start_form()
        self.choose_interface("lo")
        self.fill("Filter", "tcp port banana")
        self.browser.find_element(By.ID, "start-submit").click()
        message = self.wait_until(lambda d: self.field_error("Filter"), "an error beside the filter field")
        name, daemon_message = harness.manager_call_error(
            "StartCapture", "sa{sv}", "lo", {"Filter": ("s", "tcp port banana")})
        self.assertEqual(name, harness.ERROR_INVALID_FILTER)
        self.assertEqual(message, daemon_message)
        self.assertEqual(self.field_error("interface"), "")
        self.assertTrue(self.browser.find_element(By.ID, "start-card").is_displayed())
        self.assertEqual(harness.list_captures(), [])
        self.assertEqual(harness.tcpdump_processes(), [])
        # Until the filter changes.
        self.browser.find_element(By.ID, "field-Filter").send_keys("s")
        self.wait_until(lambda d: self.field_error("Filter") == "", "the filter's error to go")

    def test_option_out_of_range_shows_beside_its_field(self):
        self.open_page()
        self.open_start_form()
        self.choose_interface("lo")
        self.fill("FileCount", "1")
        self.browser.find_element(By.ID, "start-submit").click()
        message = self.wait_until(lambda d: self.field_error("FileCount"), "an error beside the file count")
        self.assertIn("FileCount", message)
        self.assertEqual(self.field_error("Filter"), "")
        self.assertEqual(harness.list_captures(), [])

    def test_stop_and_a_completed_file_appears_without_reload(self):
        harness.start_capture("lo")
        self.wait_running("lo")
        self.open_page()
        self.wait_row_state("lo", "running")
        self.click_row_button("lo", "files")
        self.wait_until(lambda d: d.find_element(By.ID, "files-empty").is_displayed(), "no files yet")
        harness.send_udp(count=50)
        # Stopping finishes the live file: FileCompleted, and the files view
        # lists it without a reload.
        self.click_row_button("lo", "stop")
        self.wait_row_state("lo", "stopped")
        self.assertNoTcpdump()
        self.wait_until(lambda d: self.count("#files-body tr") > 0, "a finished file")
        (files,) = harness.call(harness.capture_path("lo"), harness.CAPTURE_IFACE, "ListFiles")
        self.assertEqual(len(files), 1)
        self.assertEqual(self.attribute("#files-body tr", "data-path"), files[0][0])
        self.assertIn(os.path.basename(files[0][0]), self.text("#files-body tr"))
        self.assertEqual(self.row_button("lo", "start").text, "Start")
        self.wait_until(lambda d: self.cell_text("lo", "files").startswith("1 kept"), "1 file kept")

    def test_enable_and_disable_at_boot(self):
        harness.start_capture("lo")
        self.wait_running("lo")
        self.open_page()
        self.wait_row_state("lo", "running")
        self.click_row_button("lo", "enable")
        self.wait_until(lambda d: self.row_button("lo", "disable"), "the capture shown enabled")
        self.assertTrue(harness.capture_property("lo", "Enabled"))
        self.click_row_button("lo", "disable")
        self.wait_until(lambda d: self.row_button("lo", "enable"), "the capture shown disabled")
        self.assertFalse(harness.capture_property("lo", "Enabled"))

    def test_restart(self):
        harness.start_capture("lo")
        first = self.wait_running("lo")
        self.open_page()
        self.wait_row_state("lo", "running")
        self.click_row_button("lo", "restart")
        wait_for(lambda: harness.capture_property("lo", "MainPID") not in (0, first), WAIT, "a new tcpdump")
        self.wait_row_state("lo", "running")


class UploadAndDownloadTest(CockpitTestCase, test_upload.UploadTestCase):
    """A capture uploading to the fake CloudShark target "cs" (test_upload's
    setup): the files view follows the upload and downloads the file."""

    def test_upload_link_appears_live_and_the_file_downloads(self):
        iface, target = test_upload.IFACE, test_upload.TARGET
        harness.start_capture(iface, {"Upload": ("s", target)})
        self.wait_running(iface)
        self.open_page()
        self.wait_row_state(iface, "running")
        self.click_row_button(iface, "files")
        self.wait_until(lambda d: d.find_element(By.ID, "files-empty").is_displayed(), "no files yet")
        harness.send_frames(upload_helpers.PEER, count=40)
        self.click_row_button(iface, "stop")
        self.wait_row_state(iface, "stopped")

        # The file appears, then its upload is done: a link to the remote copy.
        (path,) = wait_for(self.finished_files, WAIT, "a finished file")
        (signal,) = wait_for(lambda: self.upload_finished(path), WAIT, "UploadFinished")
        _, _, signal_target, success, url = signal
        self.assertEqual((signal_target, success), (target, True))
        row = f"#files-body tr[data-path='{path}']"
        self.wait_until(lambda d: self.attribute(row + " [data-upload-state]", "data-upload-state") == "done",
                        "the upload shown done")
        self.wait_until(lambda d: self.attribute(row + " a", "href") == url, "the link to the uploaded copy")
        self.wait_until(lambda d: "1 done" in self.cell_text(iface, "uploads"), "the upload counted")

        # Download: through Cockpit's file channel, byte for byte.
        self.browser.find_element(By.CSS_SELECTOR, row + " button[data-button='download']").click()
        saved = os.path.join(download_dir(), os.path.basename(path))
        with open(path, "rb") as f:
            expected = hashlib.sha256(f.read()).hexdigest()

        def downloaded():
            if not os.path.exists(saved):
                return False
            with open(saved, "rb") as f:
                return hashlib.sha256(f.read()).hexdigest() == expected
        self.wait_until(lambda d: downloaded(), f"{saved} downloaded whole")


class NoDaemonTest(CockpitTestCase):
    """Without the daemon on the bus the page says so, and follows it when
    it appears."""

    start_daemon = False

    def test_daemon_not_running_then_started(self):
        self.open_page()
        self.wait_until(lambda d: d.find_element(By.ID, "not-running").is_displayed(), "'captured is not running'")
        self.assertFalse(self.browser.find_element(By.ID, "empty").is_displayed())
        self.daemon.start()
        harness.start_capture("lo")
        self.wait_running("lo")
        self.wait_row_state("lo", "running")
        self.assertFalse(self.browser.find_element(By.ID, "not-running").is_displayed())
        # It goes away, and another one comes: the page follows.
        self.daemon.stop()
        self.wait_until(lambda d: d.find_element(By.ID, "not-running").is_displayed(), "'captured is not running' again")
        self.daemon.start()
        harness.start_capture("lo")
        self.wait_running("lo")
        self.wait_row_state("lo", "running")


def private_sudoers(directory):
    """Over /etc/sudoers: the distribution's rule for group sudo, with
    sudo's timestamps under directory and nothing logged or lectured, so
    that sudo writes nothing outside the test's scratch space."""
    timestamps = os.path.join(directory, "sudo-ts")
    os.mkdir(timestamps, 0o700)
    path = os.path.join(directory, "sudoers")
    with open(path, "w") as f:
        f.write("Defaults env_reset\n"
                "Defaults secure_path=\"/usr/sbin:/usr/bin:/sbin:/bin\"\n"
                f"Defaults timestampdir={timestamps}\n"
                "Defaults lecture=never, !syslog, !mail_badpass, !use_pty\n"
                "root ALL=(ALL:ALL) ALL\n"
                "%sudo ALL=(ALL:ALL) ALL\n")
    os.chmod(path, 0o440)
    harness.run(["mount", "--bind", path, "/etc/sudoers"])


class AdminAccessTest(CockpitTestCase):
    """An administrator (group sudo) whom polkit does not authorize turns on
    Cockpit's administrative access: the shell asks for the password (sudo
    through cockpit-askpass), the page reloads, and its calls run as root."""

    user = test_polkit.CAPADMIN
    port = 9093

    @classmethod
    def setUpClass(cls):
        if not os.access(SUDO, os.X_OK) or not os.path.exists("/etc/sudoers"):
            raise harness.unittest.SkipTest("sudo is not installed")
        directory = tempfile.mkdtemp(prefix="sudo-", dir=harness._scratch)
        private_sudoers(directory)
        super().setUpClass()

    def test_administrative_access_lets_the_page_act(self):
        harness.start_capture("lo")
        self.wait_running("lo")
        self.open_page()
        self.wait_row_state("lo", "running")
        self.click_row_button("lo", "stop")
        self.wait_until(lambda d: d.find_element(By.ID, "access-alert").is_displayed(), "the refusal")
        self.assertEqual(harness.capture_property("lo", "State"), "running")

        b = self.browser
        b.switch_to.default_content()
        b.find_element(By.XPATH, "//button[normalize-space()='Limited access']").click()
        password = self.wait_until(lambda d: d.find_element(By.CSS_SELECTOR, ".pf-c-modal-box input[type='password']"),
                                   "the password prompt")
        password.send_keys(test_polkit.CAPADMIN_PASSWORD)
        b.find_element(By.XPATH, "//div[contains(@class, 'pf-c-modal-box')]//button[normalize-space()='Authenticate']").click()
        self.wait_until(lambda d: d.find_element(By.XPATH, "//button[normalize-space()='Administrative access']"),
                        "administrative access on")
        frame = self.wait_until(lambda d: d.find_element(By.CSS_SELECTOR, "iframe[name='cockpit1:localhost/captured']"),
                                "the page's frame")
        b.switch_to.frame(frame)
        self.wait_row_state("lo", "running")
        self.wait_until(lambda d: self.row_button("lo", "stop").is_enabled(), "Stop enabled again")
        self.click_row_button("lo", "stop")
        self.wait_row_state("lo", "stopped")
        self.assertNoTcpdump()


class AuthorizedUserTest(CockpitTestCase):
    """A member of group "capture": polkit (the shipped rules) lets him act."""

    user = test_polkit.CAPUSER
    port = 9091

    def test_member_of_group_capture_starts_and_stops(self):
        self.open_page()
        self.open_start_form()
        self.choose_interface("lo")
        self.browser.find_element(By.ID, "start-submit").click()
        self.wait_row_state("lo", "running")
        self.click_row_button("lo", "stop")
        self.wait_row_state("lo", "stopped")
        self.assertTrue(self.browser.find_element(By.ID, "access-alert").get_attribute("hidden") is not None)


class UnauthorizedUserTest(CockpitTestCase):
    """A user polkit does not authorize sees the daemon's refusal."""

    user = test_polkit.OTHERUSER
    port = 9092

    def test_access_denied_is_shown_and_the_buttons_say_why(self):
        harness.start_capture("lo")
        self.wait_running("lo")
        self.open_page()
        self.wait_row_state("lo", "running")
        self.click_row_button("lo", "stop")
        alert = self.wait_until(lambda d: d.find_element(By.ID, "access-alert").is_displayed() and
                                d.find_element(By.ID, "access-alert"), "the access-denied alert")
        name, message = test_polkit.gdbus_as(test_polkit.OTHERUSER, "StopCapture", "lo", interactive=True)
        self.assertIn(name, test_polkit.ERROR_ACCESS_DENIED + " " + test_polkit.ERROR_INTERACTIVE)
        self.assertIn(message, alert.text)
        self.assertEqual(harness.capture_property("lo", "State"), "running")
        # The row is drawn again once the refusal is known: wait for that.
        for name in ("stop", "restart", "enable"):
            self.wait_until(lambda d: not self.row_button("lo", name).is_enabled() and
                            "Not authorized" in self.row_button("lo", name).get_attribute("title"),
                            f"{name} disabled, saying why")
        self.assertFalse(self.browser.find_element(By.ID, "start-open").is_enabled())
        # Reading stays open to all: the files view works.
        self.click_row_button("lo", "files")
        self.wait_until(lambda d: d.find_element(By.ID, "files-empty").is_displayed(), "the files view")


if __name__ == "__main__":
    harness.main()
