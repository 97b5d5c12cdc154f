/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bus-util.h"
#include "captured-bus.h"
#include "capturectl.h"
#include "format.h"
#include "output.h"
#include "table.h"

/* `status` and `list`: both show captures as JSON objects holding "Interface",
 * "State", "Path" and every property of the Capture interface under its D-Bus
 * name, so that --json output is documented by the interface XML. */

static const char *prop_string(json_object *o, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return "";
        return json_object_get_string(v);
}

static uint64_t prop_uint(json_object *o, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return 0;
        return json_object_get_uint64(v);
}

static bool prop_bool(json_object *o, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_boolean))
                return false;
        return json_object_get_boolean(v);
}

static int capture_new(json_object **ret, const char *iface, const char *state, const char *path) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();

        if (!o ||
            json_add(o, "Interface", json_object_new_string(iface)) < 0 ||
            json_add(o, "State", json_object_new_string(state)) < 0 ||
            json_add(o, "Path", json_object_new_string(path)) < 0)
                return -ENOMEM;

        *ret = TAKE_PTR(o);
        return 0;
}

/* Adds the properties of the capture object at o's "Path" to o. */
static int capture_read_properties(sd_bus *bus, json_object *o, sd_bus_error *error) {
        _cleanup_(json_object_putp) json_object *properties = NULL;
        int r;

        r = bus_get_capture_properties(bus, prop_string(o, "Path"), &properties, error);
        if (r < 0)
                return r;
        if (!json_object_is_type(properties, json_type_object))
                return -EBADMSG;

        json_object_object_foreach(properties, key, value) {
                r = json_add(o, key, json_object_get(value));
                if (r < 0)
                        return r;
        }
        return 0;
}

static int compare_interface(const void *a, const void *b) {
        json_object *const *x = a, *const *y = b;
        return strverscmp(prop_string(*x, "Interface"), prop_string(*y, "Interface"));
}

/* Every capture (ListCaptures) with its properties, sorted by interface. */
int collect_captures(sd_bus *bus, json_object **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_object_putp) json_object *captures = json_object_new_array();
        const char *iface, *state, *path;
        int r;

        if (!captures)
                return log_error_errno(-ENOMEM, "out of memory");

        r = sd_bus_call_method(bus, CAPTURED_BUS_NAME, CAPTURED_MANAGER_PATH, CAPTURED_MANAGER_INTERFACE,
                               "ListCaptures", &error, &reply, NULL);
        if (r < 0)
                return log_bus_error(bus, &error, r, NULL, "list the captures");

        r = sd_bus_message_enter_container(reply, 'a', "(sso)");
        if (r < 0)
                goto bad_reply;

        while ((r = sd_bus_message_read(reply, "(sso)", &iface, &state, &path)) > 0) {
                _cleanup_(json_object_putp) json_object *o = NULL;

                r = capture_new(&o, iface, state, path);
                if (r < 0)
                        return log_error_errno(r, "out of memory");

                r = capture_read_properties(bus, o, &error);
                if (r < 0 && !bus_error_is_no_such_capture(&error)) {
                        char action[64];

                        snprintf(action, sizeof(action), "read the capture on '%s'", iface);
                        return log_bus_error(bus, &error, r, iface, action);
                }
                /* A capture that went away meanwhile is shown as ListCaptures saw it. */
                sd_bus_error_free(&error);

                if (json_object_array_add(captures, TAKE_PTR(o)) < 0)
                        return log_error_errno(-ENOMEM, "out of memory");
        }
        if (r < 0)
                goto bad_reply;

        json_object_array_sort(captures, compare_interface);
        *ret = TAKE_PTR(captures);
        return 0;

bad_reply:
        return log_error_errno(r, "failed to read the list of captures: %s", strerror(-r));
}

/* One named capture. Returns 0 and *ret NULL if there is no capture on iface. */
static int collect_capture(sd_bus *bus, const char *iface, json_object **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_(freep) char *path = NULL;
        char action[64];
        int r;

        snprintf(action, sizeof(action), "read the capture on '%s'", iface);

        r = bus_get_capture(bus, iface, &path, &error);
        if (r >= 0) {
                r = capture_new(&o, iface, "", path);
                if (r < 0)
                        return log_error_errno(r, "out of memory");

                r = capture_read_properties(bus, o, &error);
        }
        if (r < 0) {
                log_bus_error(bus, &error, r, iface, action);
                if (bus_error_is_no_such_capture(&error)) {
                        *ret = NULL;
                        return 0;
                }
                return r;
        }

        *ret = TAKE_PTR(o);
        return 0;
}

#define LABEL_WIDTH ((int) sizeof("Files completed") - 1)

static void print_field(const char *label, const char *format, ...) _printf_(2, 3);
static void print_field(const char *label, const char *format, ...) {
        va_list ap;

        printf("%*s: ", LABEL_WIDTH, label);
        va_start(ap, format);
        vprintf(format, ap);
        va_end(ap);
        fputc('\n', stdout);
}

static void print_title(json_object *o) {
        const char *state = prop_string(o, "State");

        /* The state dot is for eyes only: on a terminal, coloured if colours are on. */
        if (on_tty()) {
                const char *color = colors_enabled() ? capture_state_color(state) : NULL;
                printf("%s%s%s ", strempty(color), capture_state_dot(state), color ? ANSI_NORMAL : "");
        }
        printf("%s - packet capture\n", prop_string(o, "Interface"));
}

static void print_state(json_object *o) {
        const char *state = prop_string(o, "State");
        uint64_t started = prop_uint(o, "StartedAt");
        char ts[FORMAT_TIMESTAMP_MAX], rel[FORMAT_TIMESPAN_MAX];

        if (started == 0) {
                print_field("State", "%s%s%s", capture_state_highlight(state), state, ansi_normal());
                return;
        }

        print_field("State", "%s%s%s since %s (%s)", capture_state_highlight(state), state, ansi_normal(),
                    format_timestamp(ts, sizeof(ts), started),
                    format_timestamp_relative(rel, sizeof(rel), started, now_usec(CLOCK_REALTIME)));
}

static void print_rotation(json_object *o) {
        uint64_t seconds = prop_uint(o, "RotateSeconds");
        char span[FORMAT_TIMESPAN_MAX];

        if (seconds == 0)
                print_field("Rotate", "by size only");
        else
                print_field("Rotate", "by size or every %s", format_timespan(span, sizeof(span), seconds * USEC_PER_SEC));
}

/* Disk use, then the limits it stays within: "7 kept, 6.9M on disk (at most 10 × 1 MB)". */
static void print_disk_use(json_object *o) {
        char bytes[FORMAT_BYTES_MAX];

        print_field("Files", "%" PRIu64 " kept, %s on disk (at most %" PRIu64 " × %" PRIu64 " MB)",
                    prop_uint(o, "FilesKept"), format_bytes(bytes, sizeof(bytes), prop_uint(o, "DiskUsage")),
                    prop_uint(o, "FileCount"), prop_uint(o, "FileSize"));
}

static void print_uploads(json_object *o) {
        const char *target = prop_string(o, "Upload");
        uint64_t pending = prop_uint(o, "UploadsPending");
        uint64_t succeeded = prop_uint(o, "UploadsSucceeded");
        uint64_t failed = prop_uint(o, "UploadsFailed");

        if (target[0] == '\0' && pending + succeeded + failed == 0) {
                print_field("Uploads", "none");
                return;
        }

        print_field("Uploads", "%s (%" PRIu64 " pending, %" PRIu64 " succeeded, %" PRIu64 " failed)",
                    target[0] != '\0' ? target : "no target", pending, succeeded, failed);
}

/* "TEXT (at TIME, N ago)" in red: an error and when it happened. */
static void print_error(const char *label, const char *text, uint64_t at) {
        char ts[FORMAT_TIMESTAMP_MAX], rel[FORMAT_TIMESPAN_MAX];

        if (at == 0) {
                print_field(label, "%s%s%s", colors_enabled() ? ANSI_RED : "", text, ansi_normal());
                return;
        }
        print_field(label, "%s%s%s (at %s, %s)", colors_enabled() ? ANSI_RED : "", text, ansi_normal(),
                    format_timestamp(ts, sizeof(ts), at),
                    format_timestamp_relative(rel, sizeof(rel), at, now_usec(CLOCK_REALTIME)));
}

/* UploadErrors: [[target, timestamp, error], ...]. */
static void print_upload_errors(json_object *o) {
        json_object *errors;

        if (!json_object_object_get_ex(o, "UploadErrors", &errors) || !json_object_is_type(errors, json_type_array))
                return;
        for (size_t i = 0; i < json_object_array_length(errors); i++) {
                json_object *e = json_object_array_get_idx(errors, i);
                _cleanup_(freep) char *text = NULL;

                if (!json_object_is_type(e, json_type_array) || json_object_array_length(e) != 3)
                        continue;
                if (asprintf(&text, "%s: %s", json_object_get_string(json_object_array_get_idx(e, 0)),
                             json_object_get_string(json_object_array_get_idx(e, 2))) < 0)
                        continue;
                print_error("Upload error", text, json_object_get_uint64(json_object_array_get_idx(e, 1)));
        }
}

static void print_status(json_object *o) {
        const char *filter = prop_string(o, "Filter");
        const char *current = prop_string(o, "CurrentFile");
        const char *error = prop_string(o, "LastError");
        const char *hook_error = prop_string(o, "LastHookError");
        uint64_t pid = prop_uint(o, "MainPID");

        print_title(o);
        print_state(o);
        print_field("Enabled", "%s", prop_bool(o, "Enabled") ? "yes" : "no");
        if (pid > 0)
                print_field("Main PID", "%" PRIu64, pid);
        print_field("Filter", "%s", filter[0] != '\0' ? filter : "(none: all packets)");
        print_disk_use(o);
        if (current[0] != '\0')
                print_field("Current file", "%s", current);
        print_field("Snap length", "%" PRIu64 " bytes", prop_uint(o, "SnapLength"));
        print_field("Buffer", "%" PRIu64 " KiB", prop_uint(o, "BufferSize"));
        print_field("Promiscuous", "%s", prop_bool(o, "Promiscuous") ? "yes" : "no");
        print_rotation(o);
        print_field("Packets", "captured %" PRIu64 ", received %" PRIu64 ", dropped %" PRIu64,
                    prop_uint(o, "PacketsCaptured"), prop_uint(o, "PacketsReceived"), prop_uint(o, "PacketsDropped"));
        print_field("Files completed", "%" PRIu64, prop_uint(o, "FilesCompleted"));
        print_field("Restarts", "%" PRIu64, prop_uint(o, "Restarts"));
        print_uploads(o);
        print_upload_errors(o);
        if (hook_error[0] != '\0')
                print_error("Hook error", hook_error, prop_uint(o, "LastHookErrorTimestamp"));
        if (error[0] != '\0')
                print_error("Last error", error, prop_uint(o, "LastErrorTimestamp"));
}

static int print_captures(Context *c, json_object *captures) {
        size_t n = json_object_array_length(captures);

        if (c->quiet && !c->json)
                return 0;

        context_open_pager(c);
        if (c->json)
                return json_print(captures, false);

        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        fputc('\n', stdout);
                print_status(json_object_array_get_idx(captures, i));
        }
        return fflush(stdout) == 0 ? 0 : negative_errno();
}

/* The exit status of `status IFACE...`, as systemctl's. */
static int status_exit(json_object *captures, bool missing) {
        if (missing)
                return EXIT_NO_SUCH_CAPTURE;

        for (size_t i = 0; i < json_object_array_length(captures); i++)
                if (strcmp(prop_string(json_object_array_get_idx(captures, i), "State"), "running") != 0)
                        return EXIT_NOT_RUNNING;
        return 0;
}

int verb_status(Context *c, char **ifaces, size_t n_ifaces) {
        _cleanup_(json_object_putp) json_object *captures = NULL;
        bool missing = false;
        int r;

        if (n_ifaces == 0) {
                r = collect_captures(c->bus, &captures);
                if (r < 0)
                        return r;
                r = print_captures(c, captures);
                return r < 0 ? log_error_errno(r, "failed to write output: %s", strerror(-r)) : 0;
        }

        captures = json_object_new_array();
        if (!captures)
                return log_error_errno(-ENOMEM, "out of memory");

        for (size_t i = 0; i < n_ifaces; i++) {
                json_object *o = NULL;

                r = collect_capture(c->bus, ifaces[i], &o);
                if (r < 0)
                        return r;
                if (!o) {
                        missing = true;
                        continue;
                }
                if (json_object_array_add(captures, o) < 0) {
                        json_object_put(o);
                        return log_error_errno(-ENOMEM, "out of memory");
                }
        }

        r = print_captures(c, captures);
        if (r < 0)
                return log_error_errno(r, "failed to write output: %s", strerror(-r));

        return status_exit(captures, missing);
}

/* KEPT is FilesKept, the finished files on disk, as `status` says "N kept".
 * The header and the closing count come even when there is no capture. */
static int list_print_table(Context *c, json_object *captures) {
        static const char *const headers[] = { "INTERFACE", "STATE", "PID", "KEPT", "DISK", "PACKETS" };
        _cleanup_(table_freep) Table *t = NULL;
        size_t n = json_object_array_length(captures);
        int r;

        r = table_new(&t, headers, ELEMENTSOF(headers));
        if (r < 0)
                return r;
        for (size_t column = 2; column < ELEMENTSOF(headers); column++)
                (void) table_set_align(t, column, TABLE_ALIGN_RIGHT);

        for (size_t i = 0; i < n; i++) {
                json_object *o = json_object_array_get_idx(captures, i);
                const char *state = prop_string(o, "State");
                uint64_t pid = prop_uint(o, "MainPID");
                char disk[FORMAT_BYTES_MAX];

                if ((r = table_add_cell(t, prop_string(o, "Interface"), NULL)) < 0 ||
                    (r = table_add_cell(t, state, capture_state_color(state))) < 0 ||
                    (r = pid > 0 ? table_add_cellf(t, NULL, "%" PRIu64, pid) : table_add_cell(t, "-", NULL)) < 0 ||
                    (r = table_add_cellf(t, NULL, "%" PRIu64, prop_uint(o, "FilesKept"))) < 0 ||
                    (r = table_add_cell(t, format_bytes(disk, sizeof(disk), prop_uint(o, "DiskUsage")), NULL)) < 0 ||
                    (r = table_add_cellf(t, NULL, "%" PRIu64, prop_uint(o, "PacketsCaptured"))) < 0)
                        return r;
        }

        context_open_pager(c);
        r = table_print(t, stdout, colors_enabled());
        if (r < 0)
                return r;

        if (!c->quiet)
                printf("\n%zu capture%s listed.\n", n, n == 1 ? "" : "s");
        return fflush(stdout) == 0 ? 0 : negative_errno();
}

int verb_list(Context *c, char **ifaces, size_t n_ifaces) {
        _cleanup_(json_object_putp) json_object *captures = NULL;
        int r;

        r = collect_captures(c->bus, &captures);
        if (r < 0)
                return r;

        if (c->json) {
                context_open_pager(c);
                r = json_print(captures, false);
        } else
                r = list_print_table(c, captures);
        if (r < 0)
                return log_error_errno(r, "failed to write output: %s", strerror(-r));
        return 0;
}
