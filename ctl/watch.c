/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "bus-util.h"
#include "captured-bus.h"
#include "capturectl.h"
#include "format.h"
#include "output.h"

/* `watch [IFACE...]`: one line (or one JSON object) per FileCompleted,
 * UploadFinished and PropertiesChanged of a capture, until SIGINT/SIGTERM.
 * A PropertiesChanged shows only the values that differ from the last ones
 * seen (read when watching begins): nothing at all if none do. */

typedef struct Watch {
        const Context *context;
        char **ifaces;              /* only these, all if n_ifaces is 0 */
        size_t n_ifaces;
        json_object *known;         /* interface → {property: last value seen} */
} Watch;

/* The properties of every capture now, as the baseline of what changes. */
static int watch_learn(Watch *w) {
        _cleanup_(json_object_putp) json_object *captures = NULL;
        int r;

        r = collect_captures(w->context->bus, &captures);
        if (r < 0)
                return r;
        for (size_t i = 0; i < json_object_array_length(captures); i++) {
                json_object *o = json_object_array_get_idx(captures, i), *iface;

                if (!json_object_object_get_ex(o, "Interface", &iface))
                        continue;
                r = json_add(w->known, json_object_get_string(iface), json_object_get(o));
                if (r < 0)
                        return log_error_errno(r, "out of memory");
        }
        return 0;
}

/* Drops from changed the values that are the same as the last ones seen of
 * iface, and remembers the others. */
static int watch_drop_unchanged(Watch *w, const char *iface, json_object *changed) {
        json_object *known;
        char *same[64];
        size_t n = 0;

        if (!json_object_object_get_ex(w->known, iface, &known)) {
                known = json_object_new_object();
                if (!known || json_add(w->known, iface, known) < 0)
                        return -ENOMEM;
        }

        json_object_object_foreach(changed, key, value) {
                json_object *was;

                if (json_object_object_get_ex(known, key, &was) && json_object_equal(was, value)) {
                        if (n < ELEMENTSOF(same))
                                same[n++] = key;
                        continue;
                }
                if (json_add(known, key, json_object_get(value)) < 0)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
                json_object_object_del(changed, same[i]);
        return 0;
}

static bool watch_wants(const Watch *w, const char *iface) {
        if (w->n_ifaces == 0)
                return true;
        for (size_t i = 0; i < w->n_ifaces; i++)
                if (strcmp(w->ifaces[i], iface) == 0)
                        return true;
        return false;
}

/* Starts an event line: "<time> <iface>: ". */
static void print_prefix(uint64_t now, const char *iface) {
        char ts[FORMAT_TIMESTAMP_MAX];

        printf("%s %s: ", format_timestamp(ts, sizeof(ts), now), iface);
}

/* Starts an event object: {"Event": ..., "Timestamp": ..., "Interface": ...}. */
static int event_new(json_object **ret, const char *event, uint64_t now, const char *iface) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();

        if (!o ||
            json_add(o, "Event", json_object_new_string(event)) < 0 ||
            json_add(o, "Timestamp", json_object_new_uint64(now)) < 0 ||
            json_add(o, "Interface", json_object_new_string(iface)) < 0)
                return -ENOMEM;

        *ret = TAKE_PTR(o);
        return 0;
}

/* Prints an event object as one line, or says why it could not be built. */
static int event_print(json_object *o, int r) {
        if (r < 0)
                log_error("failed to show an event: %s", strerror(-r));
        else
                (void) json_print(o, true);
        return 0;
}

static int on_bad_message(sd_bus_message *m, int r) {
        log_error("ignoring malformed %s signal: %s", strempty(sd_bus_message_get_member(m)), strerror(-r));
        return 0;
}

static int on_file_completed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const Watch *w = userdata;
        const char *iface, *path;
        uint64_t size, now = now_usec(CLOCK_REALTIME);
        char buf[FORMAT_BYTES_MAX];
        int r;

        r = sd_bus_message_read(m, "sst", &iface, &path, &size);
        if (r < 0)
                return on_bad_message(m, r);
        if (!watch_wants(w, iface))
                return 0;

        if (w->context->json) {
                _cleanup_(json_object_putp) json_object *o = NULL;

                r = event_new(&o, "FileCompleted", now, iface);
                if (r >= 0)
                        r = json_add(o, "Path", json_object_new_string(path));
                if (r >= 0)
                        r = json_add(o, "Size", json_object_new_uint64(size));
                return event_print(o, r);
        }

        print_prefix(now, iface);
        printf("file completed: %s (%s)\n", path, format_bytes(buf, sizeof(buf), size));
        fflush(stdout);
        return 0;
}

static int on_upload_finished(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const Watch *w = userdata;
        const char *iface, *path, *target, *detail;
        uint64_t now = now_usec(CLOCK_REALTIME);
        int success, r;

        r = sd_bus_message_read(m, "sssbs", &iface, &path, &target, &success, &detail);
        if (r < 0)
                return on_bad_message(m, r);
        if (!watch_wants(w, iface))
                return 0;

        if (w->context->json) {
                _cleanup_(json_object_putp) json_object *o = NULL;

                r = event_new(&o, "UploadFinished", now, iface);
                if (r >= 0)
                        r = json_add(o, "Path", json_object_new_string(path));
                if (r >= 0)
                        r = json_add(o, "Target", json_object_new_string(target));
                if (r >= 0)
                        r = json_add(o, "Success", json_object_new_boolean(success));
                if (r >= 0)
                        r = json_add(o, "Detail", json_object_new_string(detail));
                return event_print(o, r);
        }

        print_prefix(now, iface);
        if (success)
                printf("uploaded %s to %s: %s\n", path, target, detail);
        else
                printf("%supload of %s to %s failed: %s%s\n",
                       colors_enabled() ? ANSI_RED : "", path, target, detail, ansi_normal());
        fflush(stdout);
        return 0;
}

/* "Key=value" for a changed property; strings with blanks quoted. */
static void print_property(const char *key, json_object *value) {
        if (json_object_is_type(value, json_type_string)) {
                const char *s = json_object_get_string(value);
                bool quote = s[0] == '\0' || strpbrk(s, " \t\"") != NULL;

                if (strcmp(key, "State") == 0)
                        printf(" %s=%s%s%s", key, capture_state_highlight(s), s, ansi_normal());
                else
                        printf(quote ? " %s=\"%s\"" : " %s=%s", key, s);
        } else if (json_object_is_type(value, json_type_boolean))
                printf(" %s=%s", key, json_object_get_boolean(value) ? "yes" : "no");
        else
                printf(" %s=%s", key, json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN));
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Watch *w = userdata;
        _cleanup_(json_object_putp) json_object *changed = NULL, *invalidated = NULL;
        _cleanup_(freep) char *iface = NULL;
        uint64_t now = now_usec(CLOCK_REALTIME);
        const char *interface;
        int r;

        r = sd_bus_path_decode(sd_bus_message_get_path(m), CAPTURED_CAPTURE_PATH_PREFIX, &iface);
        if (r <= 0)
                return 0;             /* not a capture object */
        if (!watch_wants(w, iface))
                return 0;

        r = sd_bus_message_read(m, "s", &interface);
        if (r < 0)
                return on_bad_message(m, r);
        if (strcmp(interface, CAPTURED_CAPTURE_INTERFACE) != 0)
                return 0;

        r = bus_message_read_json(m, &changed);
        if (r >= 0)
                r = bus_message_read_json(m, &invalidated);
        if (r < 0)
                return on_bad_message(m, r);

        r = watch_drop_unchanged(w, iface, changed);
        if (r < 0)
                return event_print(NULL, r);
        if (json_object_object_length(changed) == 0 && json_object_array_length(invalidated) == 0)
                return 0;

        if (w->context->json) {
                _cleanup_(json_object_putp) json_object *o = NULL;

                r = event_new(&o, "PropertiesChanged", now, iface);
                if (r >= 0)
                        r = json_add(o, "Changed", TAKE_PTR(changed));
                if (r >= 0)
                        r = json_add(o, "Invalidated", TAKE_PTR(invalidated));
                return event_print(o, r);
        }

        print_prefix(now, iface);
        fputs("changed:", stdout);
        json_object_object_foreach(changed, key, value)
                print_property(key, value);
        for (size_t i = 0; i < json_object_array_length(invalidated); i++)
                printf(" %s=?", json_object_get_string(json_object_array_get_idx(invalidated, i)));
        fputc('\n', stdout);
        fflush(stdout);
        return 0;
}

static int add_matches(sd_bus *bus, Watch *w) {
        static const struct {
                const char *rule;
                sd_bus_message_handler_t handler;
        } matches[] = {
                { "type='signal',sender='" CAPTURED_BUS_NAME "',path='" CAPTURED_MANAGER_PATH "',"
                  "interface='" CAPTURED_MANAGER_INTERFACE "',member='FileCompleted'",
                  on_file_completed },
                { "type='signal',sender='" CAPTURED_BUS_NAME "',path='" CAPTURED_MANAGER_PATH "',"
                  "interface='" CAPTURED_MANAGER_INTERFACE "',member='UploadFinished'",
                  on_upload_finished },
                { "type='signal',sender='" CAPTURED_BUS_NAME "',path_namespace='" CAPTURED_CAPTURE_PATH_PREFIX "',"
                  "interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"
                  "arg0='" CAPTURED_CAPTURE_INTERFACE "'",
                  on_properties_changed },
        };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(matches); i++) {
                r = sd_bus_add_match(bus, NULL, matches[i].rule, matches[i].handler, w);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

int verb_watch(Context *c, char **ifaces, size_t n_ifaces) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(json_object_putp) json_object *known = json_object_new_object();
        Watch w = { .context = c, .ifaces = ifaces, .n_ifaces = n_ifaces, .known = known };
        sigset_t mask;
        int r;

        if (!known)
                return log_error_errno(-ENOMEM, "out of memory");

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(negative_errno(), "failed to block signals: %s", strerror(errno));

        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGINT, on_signal, NULL);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGTERM, on_signal, NULL);
        if (r < 0)
                return log_error_errno(r, "failed to set up the event loop: %s", strerror(-r));

        r = add_matches(c->bus, &w);
        if (r < 0)
                return log_error_errno(r, "failed to subscribe to the signals of captured: %s", strerror(-r));
        /* After subscribing, so that no change after the baseline is missed. */
        r = watch_learn(&w);
        if (r < 0)
                return r;

        r = sd_bus_attach_event(c->bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = sd_bus_set_exit_on_disconnect(c->bus, true);
        if (r < 0)
                return log_error_errno(r, "failed to set up the event loop: %s", strerror(-r));

        r = sd_event_loop(event);
        sd_bus_detach_event(c->bus);
        if (r < 0)
                return log_error_errno(r, "failed to watch: %s", strerror(-r));
        if (r > 0)
                return log_error_errno(-ECONNRESET, "lost the connection to the system bus");
        return 0;
}
