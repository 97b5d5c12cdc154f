/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Cockpit page of captured: a client of its D-Bus API and nothing else
 * (io.captured.Capture1(5)). Plain JavaScript on Cockpit's cockpit.js, no
 * build step.
 *
 * Everything shown comes from the capture objects' properties, kept current
 * by PropertiesChanged through cockpit.dbus proxies; properties the page
 * does not know (a newer daemon) are shown in each capture's details, and
 * missing ones are shown as "—". Calls go through Cockpit's administrative
 * access ("superuser": "try"): as root once the user turned it on, else as
 * the user, whom the daemon checks with polkit.
 */
"use strict";

const BUS_NAME = "io.captured.Capture1";
const MANAGER_PATH = "/io/captured/Capture1";
const MANAGER_IFACE = BUS_NAME + ".Manager";
const CAPTURE_IFACE = BUS_NAME + ".Capture";
const PROPERTIES_IFACE = "org.freedesktop.DBus.Properties";
const ERROR_PREFIX = BUS_NAME + ".Error.";
const ACCESS_ERRORS = ["org.freedesktop.DBus.Error.AccessDenied",
    "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"];

/* Reading a counter makes the daemon ask tcpdump for fresh statistics, at
 * most once a second, and the figures arrive with PropertiesChanged; the
 * page reads a running capture's properties this often while it is
 * visible, which is slower than the daemon's own limit. */
const REFRESH_MS = 2000;
const SPARK_SAMPLES = 30;
/* Read on every refresh: DiskUsage is never announced, and FilesKept is
 * not announced by captured 0.1 although its introspection says so. */
const POLLED_PROPERTIES = ["DiskUsage", "FilesKept"];
/* A ring may hold a million files: the files view lists the newest. */
const FILES_SHOWN = 500;
/* A download goes through the browser's memory. */
const DOWNLOAD_MAX = 1000 * 1000 * 1000;

/* The capture options, as the daemon names and types them (SPEC §3). */
const OPTIONS = [
    { key: "Filter", type: "s" },
    { key: "FileSize", type: "u" },
    { key: "FileCount", type: "u" },
    { key: "SnapLength", type: "u" },
    { key: "BufferSize", type: "u" },
    { key: "Promiscuous", type: "b" },
    { key: "RotateSeconds", type: "u" },
    { key: "Upload", type: "s" },
];

/* Made again by connect() whenever another daemon takes the bus name. */
let client = null;
let captures = {};

const rows = new Map();        /* object path -> { row, details, cells, buttons } */
const history = new Map();     /* object path -> [{ t, packets }] */
const polled = new Map();      /* object path -> { DiskUsage, FilesKept } as last read */
const uploads = new Map();     /* file path -> { target -> { success, detail } } */
let filesPath = null;          /* the capture whose files are shown */
let deniedReason = null;       /* why the daemon refused us, once it did */
let busOwner;                  /* the daemon's unique name; null: not running */
let permission = null;         /* Cockpit's administrative access */

const $ = id => document.getElementById(id);

function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
        if (name === "class")
            node.className = value;
        else if (name === "text")
            node.textContent = value;
        else if (name.startsWith("on"))
            node.addEventListener(name.slice(2), value);
        else if (value !== undefined && value !== null && value !== false)
            node.setAttribute(name, value === true ? "" : value);
    }
    node.append(...present(children));
    return node;
}

/* Children without the null of a `cond ? node : null`. */
function present(children) {
    return children.filter(child => child !== null && child !== undefined);
}

/* ---------------------------------------------------------------------- */
/* Formatting */

function stateClass(state) {
    if (state === "running")
        return "good";
    if (state === "failed")
        return "bad";
    if (["starting", "restarting", "waiting", "stopping"].includes(state))
        return "transient";
    return "none";
}

function formatBytes(n) {
    if (n === undefined || n === null)
        return "—";
    return n < 1000 ? n + " B" : cockpit.format_bytes(n, 1000);
}

function formatNumber(n) {
    return n === undefined || n === null ? "—" : cockpit.format_number(n);
}

function formatTime(usec) {
    return new Date(usec / 1000).toLocaleString();
}

function formatAgo(usec) {
    const seconds = Math.max(0, Math.round((Date.now() - usec / 1000) / 1000));
    if (seconds < 60)
        return seconds + " s ago";
    if (seconds < 3600)
        return Math.floor(seconds / 60) + " min ago";
    if (seconds < 86400)
        return Math.floor(seconds / 3600) + " h " + Math.floor(seconds % 3600 / 60) + " min ago";
    return Math.floor(seconds / 86400) + " days ago";
}

function basename(path) {
    return path.slice(path.lastIndexOf("/") + 1);
}

function errorText(error) {
    return error && error.message ? error.message : String(error);
}

/* ---------------------------------------------------------------------- */
/* Authorization */

/* After the daemon refused an action, every action button says why. When
 * the user turns administrative access on or off, the cockpit.permission
 * made in init() reloads the page, and the buttons are tried again. */
function noteDenied(error) {
    deniedReason = errorText(error).replace(/\.$/, "");
    const hint = permission && permission.allowed
        ? "Administrative access is on, yet the daemon refused: check its polkit rules."
        : "Turn on administrative access (Cockpit's \"Limited access\" button), or ask for a polkit " +
          "grant of io.captured.manage (the shipped rules grant it to group \"capture\").";
    $("access-reason").textContent = deniedReason + ". " + hint;
    $("access-alert").hidden = false;
    updateActionButtons();
}

function updateActionButtons() {
    for (const button of document.querySelectorAll("[data-action]")) {
        button.disabled = deniedReason !== null;
        if (deniedReason !== null)
            button.title = "Not authorized: " + deniedReason;
    }
}

function isAccessError(error) {
    return error && ACCESS_ERRORS.includes(error.name);
}

function showActionError(what, error) {
    if (isAccessError(error)) {
        noteDenied(error);
        return;
    }
    $("action-alert-title").textContent = what;
    $("action-alert-text").textContent = errorText(error);
    $("action-alert").hidden = false;
}

function hideActionError() {
    $("action-alert").hidden = true;
}

/* Methods that change anything: the user may be asked to authenticate. */
function act(path, iface, method, args) {
    hideActionError();
    return client.call(path, iface, method, args || [], { flags: "i" });
}

/* ---------------------------------------------------------------------- */
/* The overview */

function button(label, action, onclick, extraClass) {
    return el("button", {
        type: "button",
        class: "pf-c-button pf-m-small " + (extraClass || "pf-m-secondary"),
        "data-action": action ? "" : null,
        "data-button": label.toLowerCase().replace(/[^a-z]+/g, "-"),
        onclick,
        text: label,
    });
}

/* Options as the daemon's properties say, for EnableCapture: what runs. */
function effectiveOptions(proxy) {
    const options = {};
    for (const { key, type } of OPTIONS)
        if (proxy.data[key] !== undefined)
            options[key] = cockpit.variant(type, proxy.data[key]);
    return options;
}

function createRow(proxy) {
    const path = proxy.path;
    const cells = {};
    const field = (name, label) => (cells[name] = el("td", { "data-field": name, "data-label": label }));
    const spark = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    spark.setAttribute("class", "captured-sparkline");
    spark.setAttribute("viewBox", "0 0 96 24");
    spark.setAttribute("preserveAspectRatio", "none");
    spark.setAttribute("role", "img");

    const row = el("tr", { "data-path": path },
        field("interface", "Interface"),
        field("state", "State"),
        field("since", "Since"),
        field("packets", "Packets"),
        field("files", "Files"),
        field("uploads", "Uploads"),
        field("error", "Last error"),
        cells.actions = el("td", { class: "pf-c-table__action" }));

    const buttons = {
        toggle: button("Stop", true, () => toggleRunning(proxy)),
        restart: button("Restart", true, () => {
            act(path, CAPTURE_IFACE, "Restart").catch(e => showActionError("Restarting failed", e));
        }),
        boot: button("Enable", true, () => toggleEnabled(proxy)),
        files: button("Files", false, () => showFiles(path)),
    };
    cells.actions.append(el("div", { class: "captured-actions" }, ...Object.values(buttons)));
    buttons.details = el("button", {
        type: "button",
        class: "pf-c-button pf-m-plain captured-expand",
        "data-button": "details",
        "aria-expanded": "false",
        title: "All properties",
        onclick: () => {
            details.hidden = !details.hidden;
            buttons.details.setAttribute("aria-expanded", String(!details.hidden));
            if (!details.hidden)
                updateDetails(proxy);
        },
    });

    const details = el("tr", { class: "captured-details", "data-details": path, hidden: true },
        el("td", { colspan: 8 }, el("dl")));

    const entry = { row, details, cells, buttons, spark };
    rows.set(path, entry);
    return entry;
}

function toggleRunning(proxy) {
    if (!isStopped(proxy))
        act(MANAGER_PATH, MANAGER_IFACE, "StopCapture", [proxy.Interface])
            .catch(e => showActionError("Stopping " + proxy.Interface + " failed", e));
    else
        act(MANAGER_PATH, MANAGER_IFACE, "RestartCapture", [proxy.Interface])
            .catch(e => showActionError("Starting " + proxy.Interface + " failed", e));
}

function toggleEnabled(proxy) {
    const call = proxy.Enabled
        ? act(MANAGER_PATH, MANAGER_IFACE, "DisableCapture", [proxy.Interface])
        : act(MANAGER_PATH, MANAGER_IFACE, "EnableCapture", [proxy.Interface, effectiveOptions(proxy)]);
    call.catch(e => showActionError((proxy.Enabled ? "Disabling " : "Enabling ") + proxy.Interface + " failed", e));
}

/* Packets per second between successive counter readings. A reading is
 * taken when PropertiesChanged brings new counters and, with idle set (the
 * refresh timer), when they stayed the same a while (a rate of 0). Readings
 * closer than half the refresh interval make no meaningful rate: the next
 * one covers them. Returns whether it took one. */
function noteCounters(proxy, idle) {
    const packets = proxy.PacketsCaptured;
    if (packets === undefined)
        return false;
    const samples = history.get(proxy.path) || [];
    const last = samples[samples.length - 1];
    const now = Date.now();
    if (last) {
        const age = now - last.t;
        if (age < REFRESH_MS / 2)
            return false;
        if (last.packets === packets && !(idle && age >= 3 * REFRESH_MS))
            return false;
    }
    samples.push({ t: now, packets });
    while (samples.length > SPARK_SAMPLES + 1)
        samples.shift();
    history.set(proxy.path, samples);
    return true;
}

function rates(path) {
    const samples = history.get(path) || [];
    const out = [];
    for (let i = 1; i < samples.length; i++) {
        const dt = (samples[i].t - samples[i - 1].t) / 1000;
        const dp = samples[i].packets - samples[i - 1].packets;
        /* A restart of tcpdump starts its counters again at 0. */
        out.push(dt > 0 && dp >= 0 ? dp / dt : 0);
    }
    return out;
}

/* One bar per reading, newest on the right, scaled to the largest. */
function drawSparkline(svg, values) {
    const ns = "http://www.w3.org/2000/svg";
    const width = 96, height = 24, step = width / SPARK_SAMPLES;
    const max = Math.max(1, ...values);
    svg.replaceChildren();
    const base = document.createElementNS(ns, "line");
    base.setAttribute("x1", 0);
    base.setAttribute("x2", width);
    base.setAttribute("y1", height - 0.5);
    base.setAttribute("y2", height - 0.5);
    svg.append(base);
    values.forEach((value, i) => {
        const h = Math.max(value > 0 ? 1 : 0, (height - 2) * value / max);
        const bar = document.createElementNS(ns, "rect");
        bar.setAttribute("x", (width - step * (values.length - i)).toFixed(1));
        bar.setAttribute("y", (height - 1 - h).toFixed(1));
        bar.setAttribute("width", (step - 0.8).toFixed(1));
        bar.setAttribute("height", h.toFixed(1));
        svg.append(bar);
    });
}

function uploadSummary(proxy) {
    const target = proxy.Upload || "";
    const pending = proxy.UploadsPending || 0;
    const succeeded = proxy.UploadsSucceeded || 0;
    const failed = proxy.UploadsFailed || 0;
    const dropped = proxy.UploadsDropped || 0;
    if (target === "" && pending + succeeded + failed + dropped === 0)
        return el("span", { class: "captured-muted", text: "none" });
    const parts = [`${pending} pending`, `${succeeded} done`, `${failed} failed`];
    if (dropped > 0)
        parts.push(`${dropped} dropped`);
    return el("span", {},
        el("span", { text: target || "no target" }),
        el("br"),
        el("span", { class: failed + dropped > 0 ? "captured-error" : "captured-muted", text: parts.join(", ") }));
}

function isStopped(proxy) {
    return ["stopped", "failed"].includes(proxy.State);
}

function updateSince(entry, proxy) {
    if (proxy.StartedAt)
        entry.cells.since.replaceChildren(el("span", { title: formatTime(proxy.StartedAt), text: formatAgo(proxy.StartedAt) }));
    else
        entry.cells.since.replaceChildren(el("span", { class: "captured-muted", text: "—" }));
}

function updatePackets(entry, proxy) {
    const { cells, spark } = entry;
    const stopped = isStopped(proxy);
    const rateValues = stopped ? [] : rates(proxy.path);
    const rate = rateValues.length ? rateValues[rateValues.length - 1] : 0;
    const dropClass = proxy.PacketsDropped > 0 ? "captured-error" : "captured-muted";
    drawSparkline(spark, rateValues);
    spark.setAttribute("aria-label", `${rate.toFixed(1)} packets per second`);
    cells.packets.replaceChildren(el("div", { class: "captured-packets" },
        el("span", {},
            el("span", { "data-value": "captured", text: formatNumber(proxy.PacketsCaptured) }), " captured",
            el("br"),
            el("span", { "data-value": "dropped", class: dropClass, text: formatNumber(proxy.PacketsDropped) }),
            el("span", { class: dropClass, text: " dropped" })),
        spark,
        el("span", { class: "captured-muted", "data-value": "rate", text: `${rate.toFixed(rate < 10 ? 1 : 0)}/s` })));
}

function updateFiles(entry, proxy) {
    const data = properties(proxy);
    entry.cells.files.replaceChildren(
        el("span", { "data-value": "kept", text: formatNumber(data.FilesKept) }), " kept",
        el("br"),
        el("span", { class: "captured-muted captured-nowrap", "data-value": "disk", text: formatBytes(data.DiskUsage) + " on disk" }));
    if (!entry.details.hidden)
        updateDetails(proxy);
}

/* The whole row, when PropertiesChanged told something new. */
function updateRow(proxy) {
    const entry = rows.get(proxy.path) || createRow(proxy);
    const { cells, buttons } = entry;
    const state = proxy.State || "unknown";
    const stopped = isStopped(proxy);

    entry.row.setAttribute("data-interface", proxy.Interface || "");
    entry.row.setAttribute("data-state", state);
    cells.interface.replaceChildren(...present([buttons.details, el("strong", { text: proxy.Interface || "—" }),
        proxy.Enabled ? el("div", { class: "captured-muted captured-indent", text: "enabled at boot" }) : null]));
    cells.state.replaceChildren(el("span", {
        class: "captured-state captured-state--" + stateClass(state),
        text: (state === "stopped" ? "○ " : "● ") + state,
    }));
    updateSince(entry, proxy);
    updatePackets(entry, proxy);
    updateFiles(entry, proxy);
    cells.uploads.replaceChildren(uploadSummary(proxy));
    cells.error.replaceChildren(el("span", { class: "captured-error", text: proxy.LastError || "" }));

    buttons.toggle.textContent = stopped ? "Start" : "Stop";
    buttons.toggle.setAttribute("data-button", stopped ? "start" : "stop");
    buttons.boot.textContent = proxy.Enabled ? "Disable" : "Enable";
    /* A refusal's reason stays when new counters redraw the row. */
    buttons.boot.title = deniedReason !== null ? "Not authorized: " + deniedReason
        : proxy.Enabled ? "Do not start this capture when captured starts"
            : "Start this capture whenever captured starts";
    buttons.boot.setAttribute("data-button", proxy.Enabled ? "disable" : "enable");
}

/* The properties as last announced, or read where they are not announced. */
function properties(proxy) {
    return { ...proxy.data, ...polled.get(proxy.path) };
}

/* Every property, known to this page or not. */
function updateDetails(proxy) {
    const dl = rows.get(proxy.path).details.querySelector("dl");
    const data = properties(proxy);
    dl.replaceChildren();
    for (const name of Object.keys(data).sort()) {
        const value = data[name];
        dl.append(el("dt", { text: name }), el("dd", { "data-property": name, text: JSON.stringify(value) }));
    }
}

function sortedProxies() {
    return Object.values(captures).sort((a, b) =>
        (a.Interface || "").localeCompare(b.Interface || "", undefined, { numeric: true }));
}

function render() {
    const list = sortedProxies();
    const body = $("captures-body");
    const notRunning = busOwner === null;

    for (const [path, entry] of rows) {
        if (!captures[path]) {
            entry.row.remove();
            entry.details.remove();
            rows.delete(path);
        }
    }
    for (const proxy of list) {
        updateRow(proxy);
        const { row, details } = rows.get(proxy.path);
        body.append(row, details);  /* moves existing rows into order */
    }

    $("loading").hidden = true;
    $("not-running").hidden = !notRunning;
    $("empty").hidden = notRunning || list.length > 0;
    $("captures").hidden = notRunning || list.length === 0;
    updateActionButtons();
}

/* ---------------------------------------------------------------------- */
/* Refreshing what PropertiesChanged does not bring by itself */

let refreshes = 0;

/* One GetAll per running capture and refresh (it also makes the daemon ask
 * tcpdump for fresh counters); a capture that does not run changes little,
 * so it is read every fifth time. */
function refresh() {
    if (cockpit.hidden)
        return;
    refreshes++;
    for (const proxy of Object.values(captures)) {
        const running = proxy.State === "running";
        if (!running && refreshes % 5 !== 1)
            continue;
        poll(proxy);
        if (running && noteCounters(proxy, true) && rows.has(proxy.path))
            updatePackets(rows.get(proxy.path), proxy);
    }
}

function poll(proxy) {
    client.call(proxy.path, PROPERTIES_IFACE, "GetAll", [CAPTURE_IFACE])
        .then(([all]) => notePolled(proxy, all))
        .catch(() => {});  /* the capture went away meanwhile */
}

function notePolled(proxy, all) {
    const known = polled.get(proxy.path) || {};
    const fresh = {};
    for (const name of POLLED_PROPERTIES)
        if (all[name] !== undefined)
            fresh[name] = all[name].v;
    if (POLLED_PROPERTIES.every(name => known[name] === fresh[name]))
        return;
    polled.set(proxy.path, fresh);
    if (rows.has(proxy.path))
        updateFiles(rows.get(proxy.path), proxy);
}

/* ---------------------------------------------------------------------- */
/* The start form */

function setFieldError(field, message) {
    const helper = $("error-" + field);
    const group = helper.closest(".pf-c-form__group");
    const input = $("field-" + field);
    helper.textContent = message || "";
    helper.hidden = !message;
    if (input) {
        if (message)
            input.setAttribute("aria-invalid", "true");
        else
            input.removeAttribute("aria-invalid");
    }
    if (group)
        group.classList.toggle("captured-invalid", !!message);
}

function clearFieldErrors() {
    for (const helper of document.querySelectorAll("#start-form [id^='error-']"))
        setFieldError(helper.id.slice("error-".length), null);
}

/* Which field a refusal of StartCapture concerns: the daemon names the
 * option key in InvalidArgs, the interface in its own errors. */
function fieldOfError(error) {
    const name = error.name || "";
    const message = error.message || "";
    if (name === ERROR_PREFIX + "InvalidFilter")
        return "Filter";
    if (name === ERROR_PREFIX + "NoSuchInterface")
        return "interface";
    if (name === ERROR_PREFIX + "NoSuchUploadTarget")
        return "Upload";
    if (name === "org.freedesktop.DBus.Error.InvalidArgs") {
        for (const { key } of OPTIONS)
            if (new RegExp("\\b" + key + "\\b").test(message))
                return key;
        if (/interface name/i.test(message))
            return "interface";
    }
    return "form";
}

function readForm() {
    const options = {};
    let ok = true;
    for (const { key, type } of OPTIONS) {
        const input = $("field-" + key);
        const text = input.value.trim();
        if (text === "")
            continue;
        if (type === "u") {
            if (!/^[0-9]+$/.test(text)) {
                setFieldError(key, "A whole number, or empty for the configured default.");
                ok = false;
                continue;
            }
            options[key] = cockpit.variant("u", Number(text));
        } else if (type === "b") {
            options[key] = cockpit.variant("b", text === "true");
        } else {
            options[key] = cockpit.variant("s", input.value);
        }
    }
    return ok ? options : null;
}

function loadInterfaces() {
    /* rtnetlink, through the bridge: the interfaces of the host (or of the
     * network namespace Cockpit runs in). */
    const select = $("field-interface");
    return cockpit.spawn(["ip", "-json", "link", "show"], { err: "message" })
        .then(output => {
            const links = JSON.parse(output);
            const previous = select.value;
            select.replaceChildren();
            for (const link of links) {
                const state = (link.operstate || "").toLowerCase();
                select.append(el("option", { value: link.ifname, text: `${link.ifname} (${state})` }));
            }
            if (links.some(link => link.ifname === previous))
                select.value = previous;
            setFieldError("interface", null);
        })
        .catch(error => setFieldError("interface", "Cannot list the interfaces: " + errorText(error)));
}

function openStartForm() {
    clearFieldErrors();
    $("start-card").hidden = false;
    loadInterfaces().then(() => $("field-interface").focus());
}

function closeStartForm() {
    $("start-card").hidden = true;
    clearFieldErrors();
}

function submitStartForm(event) {
    event.preventDefault();
    clearFieldErrors();
    const iface = $("field-interface").value;
    if (!iface) {
        setFieldError("interface", "Choose an interface.");
        return;
    }
    const options = readForm();
    if (!options)
        return;
    const enable = $("field-enable").checked;
    const submit = $("start-submit");
    submit.disabled = true;
    submit.classList.add("pf-m-in-progress");
    act(MANAGER_PATH, MANAGER_IFACE, "StartCapture", [iface, options])
        .then(() => enable ? act(MANAGER_PATH, MANAGER_IFACE, "EnableCapture", [iface, options]) : null)
        .then(() => {
            closeStartForm();
            $("start-form").reset();
        })
        .catch(error => {
            if (isAccessError(error))
                noteDenied(error);
            setFieldError(fieldOfError(error), errorText(error));
        })
        .finally(() => {
            submit.classList.remove("pf-m-in-progress");
            updateActionButtons();
        });
}

/* ---------------------------------------------------------------------- */
/* Files */

function uploadCell(state, detail, path) {
    const cell = el("div", {});
    const label = el("span", {
        class: "pf-c-label pf-m-compact " + ({ done: "pf-m-green", failed: "pf-m-red", pending: "pf-m-blue", uploading: "pf-m-blue" }[state] || ""),
        "data-upload-state": state,
    }, el("span", { class: "pf-c-label__content", text: state }));
    cell.append(label);
    if (state === "done" && /^https?:\/\//.test(detail))
        cell.append(" ", el("a", { href: detail, target: "_blank", rel: "noopener noreferrer", text: detail }));
    else if (detail)
        cell.append(" ", el("span", { class: state === "failed" ? "captured-error" : "captured-muted", text: detail }));
    /* Per target, as UploadFinished told while this page was open, where
     * that says more than the file's own state. */
    for (const [target, result] of Object.entries(uploads.get(path) || {})) {
        if (result.detail === detail)
            continue;
        const line = el("div", { class: "captured-muted", "data-target": target }, target + ": ");
        if (result.success && /^https?:\/\//.test(result.detail))
            line.append(el("a", { href: result.detail, target: "_blank", rel: "noopener noreferrer", text: result.detail }));
        else
            line.append(el("span", { class: result.success ? "" : "captured-error", text: (result.success ? "" : "failed: ") + result.detail }));
        cell.append(line);
    }
    return cell;
}

function download(path, size, button) {
    if (size > DOWNLOAD_MAX) {
        showActionError("Cannot download " + basename(path),
                        `It has ${formatBytes(size)}, more than a browser download holds (${formatBytes(DOWNLOAD_MAX)}); ` +
                        "copy it from the host instead.");
        return;
    }
    button.disabled = true;
    /* Read-only through Cockpit's file channel, with the page's privileges. */
    const file = cockpit.file(path, { binary: true, superuser: "try", max_read_size: size + 65536 });
    file.read()
        .then(data => {
            const url = URL.createObjectURL(new Blob([data], { type: "application/vnd.tcpdump.pcap" }));
            const link = el("a", { href: url, download: basename(path) });
            document.body.append(link);
            link.click();
            link.remove();
            setTimeout(() => URL.revokeObjectURL(url), 60000);
        })
        .catch(error => showActionError("Downloading " + basename(path) + " failed", error))
        .finally(() => {
            file.close();
            button.disabled = false;
        });
}

function fileRow(entry) {
    const [path, size, completed, state, detail] = entry;
    const get = button("Download", false, () => download(path, size, get));
    return el("tr", { "data-path": path },
        el("td", { "data-label": "Completed", text: formatTime(completed) }),
        el("td", { "data-label": "File" }, el("code", { text: basename(path) })),
        el("td", { "data-label": "Size", text: formatBytes(size) }),
        el("td", { "data-label": "Upload" }, uploadCell(state || "none", detail || "", path)),
        el("td", { class: "pf-c-table__action" }, get));
}

function loadFiles() {
    const path = filesPath;
    if (!path)
        return;
    client.call(path, CAPTURE_IFACE, "ListFiles", [])
        .then(([files]) => {
            if (path !== filesPath)
                return;
            const newestFirst = files.slice().sort((a, b) => b[2] - a[2]).slice(0, FILES_SHOWN);
            $("files-body").replaceChildren(...newestFirst.map(fileRow));
            $("files-more").textContent = files.length > FILES_SHOWN
                ? `The newest ${FILES_SHOWN} of ${formatNumber(files.length)} files.` : "";
            $("files-more").hidden = files.length <= FILES_SHOWN;
            $("files-empty").hidden = files.length > 0;
            $("files").hidden = files.length === 0;
            $("files-error").hidden = true;
        })
        .catch(error => {
            $("files-error").textContent = errorText(error);
            $("files-error").hidden = false;
        });
}

function showFiles(path) {
    filesPath = path;
    const proxy = captures[path];
    $("files-title").textContent = "Files of " + (proxy ? proxy.Interface : path);
    $("files-card").setAttribute("data-path", path);
    $("files-card").hidden = false;
    $("files-body").replaceChildren();
    loadFiles();
}

function captureOfInterface(iface) {
    return Object.values(captures).find(proxy => proxy.Interface === iface);
}

function onFileCompleted(iface) {
    const proxy = captureOfInterface(iface);
    if (!proxy)
        return;
    poll(proxy);
    if (filesPath === proxy.path)
        loadFiles();
}

function onUploadFinished(iface, path, target, success, detail) {
    const results = uploads.get(path) || {};
    results[target] = { success, detail };
    uploads.set(path, results);
    const proxy = captureOfInterface(iface);
    if (proxy && filesPath === proxy.path)
        loadFiles();
}

/* ---------------------------------------------------------------------- */

/* A client of the daemon on the bus now. Cockpit's proxies do not follow
 * a daemon that (re)appears under the name, so a new owner means a new
 * client (see followOwner()), and the rows start again. */
function connect() {
    if (client)
        client.close();
    for (const entry of rows.values()) {
        entry.row.remove();
        entry.details.remove();
    }
    rows.clear();
    history.clear();
    polled.clear();

    const me = client = cockpit.dbus(BUS_NAME, { bus: "system", superuser: "try" });
    const mine = handler => (...args) => me === client && handler(...args);
    captures = client.proxies(CAPTURE_IFACE, MANAGER_PATH);

    captures.addEventListener("added", mine((event, proxy) => {
        noteCounters(proxy);
        render();
        refresh();
    }));
    captures.addEventListener("changed", mine((event, proxy) => {
        noteCounters(proxy);
        updateRow(proxy);
    }));
    captures.addEventListener("removed", mine(() => render()));
    captures.wait(mine(() => {
        render();
        refresh();
    }));

    client.addEventListener("owner", mine((event, owner) => {
        busOwner = owner;
        render();
    }));
    client.addEventListener("close", mine((event, options) => {
        $("loading").textContent = "Lost the connection to the system bus: " + cockpit.message(options);
        $("loading").hidden = false;
    }));

    client.subscribe({ path: MANAGER_PATH, interface: MANAGER_IFACE, member: "FileCompleted" },
        mine((path, iface, signal, args) => onFileCompleted(args[0])));
    client.subscribe({ path: MANAGER_PATH, interface: MANAGER_IFACE, member: "UploadFinished" },
        mine((path, iface, signal, args) => onUploadFinished(...args)));
    if (filesPath)
        loadFiles();
}

/* The bus says when the daemon comes or goes (cockpit.dbus tells the
 * owner only once). */
function followOwner() {
    cockpit.dbus("org.freedesktop.DBus", { bus: "system" }).subscribe(
        { path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "NameOwnerChanged", arg0: BUS_NAME },
        (path, iface, signal, [name, oldOwner, newOwner]) => {
            if (name !== BUS_NAME)
                return;
            busOwner = newOwner || null;
            connect();
            render();
        });
}

function init() {
    $("start-open").addEventListener("click", openStartForm);
    $("empty-start").addEventListener("click", openStartForm);
    $("start-cancel").addEventListener("click", closeStartForm);
    $("start-form").addEventListener("submit", submitStartForm);
    /* An error stays beside its field until the field changes. */
    $("start-form").addEventListener("input", event => {
        const field = event.target.id.replace(/^field-/, "");
        if ($("error-" + field))
            setFieldError(field, null);
    });
    $("files-close").addEventListener("click", () => {
        filesPath = null;
        $("files-card").hidden = true;
    });

    permission = cockpit.permission({ admin: true });
    followOwner();
    connect();
    cockpit.addEventListener("visibilitychange", refresh);
    window.setInterval(refresh, REFRESH_MS);
    /* "since" ages without any property changing */
    window.setInterval(() => rows.forEach((entry, path) => captures[path] && updateSince(entry, captures[path])), 10000);
    cockpit.translate();
}

document.addEventListener("DOMContentLoaded", init);
