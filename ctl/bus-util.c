/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "bus-errors.h"
#include "bus-util.h"
#include "captured-bus.h"
#include "macro.h"
#include "output.h"

int bus_connect(sd_bus **ret, const char *host, bool ask_password) {
        sd_bus *bus = NULL;
        int r;

        if (host)
                r = sd_bus_open_system_remote(&bus, host);
        else
                r = sd_bus_open_system(&bus);
        if (r < 0) {
                if (host)
                        return log_error_errno(r, "failed to connect to the system bus on '%s': %s", host, strerror(-r));
                return log_error_errno(r, "failed to connect to the system bus: %s", strerror(-r));
        }

        r = sd_bus_set_allow_interactive_authorization(bus, ask_password);
        if (r < 0) {
                sd_bus_flush_close_unref(bus);
                return log_error_errno(r, "failed to set up the bus connection: %s", strerror(-r));
        }

        *ret = bus;
        return 0;
}

/* "what: <daemon's message>", or, when the daemon's message already says
 * "what" (e.g. "Invalid filter 'x': ..."), that message once, with our
 * spelling of "what"; or "what" alone. */
static void log_error_with_message(const char *what, const sd_bus_error *error) {
        const char *message = error->message;
        size_t n = strlen(what);

        if (!message || message[0] == '\0')
                log_error("%s", what);
        else if (strncasecmp(message, what, n) == 0)
                log_error("%s%s", what, message + n);
        else
                log_error("%s: %s", what, message);
}

static const char *error_text(const sd_bus_error *error, int r) {
        if (error->message && error->message[0] != '\0')
                return error->message;
        return strerror(-r);
}

int log_bus_error(sd_bus *bus, const sd_bus_error *error, int r, const char *iface, const char *action) {
        if (!sd_bus_error_is_set(error)) {
                /* No answer at all: the connection broke, typically while authenticating. */
                if (bus && sd_bus_is_open(bus) <= 0)
                        log_error("failed to connect to the system bus: %s", strerror(-r));
                else
                        log_error("failed to %s: %s", action, strerror(-r));
                return r;
        }

        if (sd_bus_error_has_name(error, CAPTURED_ERROR_NO_SUCH_INTERFACE))
                log_error("no such interface '%s'", iface ?: strempty(error->message));
        else if (sd_bus_error_has_name(error, CAPTURED_ERROR_INVALID_FILTER))
                log_error_with_message("invalid filter", error);
        else if (iface && bus_error_is_no_such_capture(error))
                log_error("no capture on '%s'", iface);
        else if (iface && sd_bus_error_has_name(error, CAPTURED_ERROR_ALREADY_RUNNING))
                log_error("capture on '%s' is already running with other options (stop it first)", iface);
        else if (sd_bus_error_has_name(error, CAPTURED_ERROR_NO_SUCH_UPLOAD_TARGET))
                log_error_with_message("no such upload target", error);
        else if (sd_bus_error_has_name(error, SD_BUS_ERROR_INVALID_ARGS))
                log_error("invalid argument: %s", error_text(error, r));
        else if (sd_bus_error_has_names(error, SD_BUS_ERROR_ACCESS_DENIED,
                                        SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED))
                /* The latter: polkit would accept a password, but nobody could
                 * type one (no terminal, --no-ask-password): a refusal too. */
                log_error_with_message("Access denied", error);
        else if (sd_bus_error_has_names(error, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                log_error("captured is not running (%s not on the bus)", CAPTURED_BUS_NAME);
        else if (sd_bus_error_has_names(error, SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_TIMEOUT))
                log_error("captured did not answer in time (%s)", action);
        else
                log_error("failed to %s: %s", action, error_text(error, r));

        return r;
}

bool bus_error_is_per_interface(const sd_bus_error *error) {
        return sd_bus_error_has_names(error,
                                      CAPTURED_ERROR_NO_SUCH_INTERFACE,
                                      CAPTURED_ERROR_NO_SUCH_CAPTURE,
                                      CAPTURED_ERROR_ALREADY_RUNNING,
                                      SD_BUS_ERROR_UNKNOWN_OBJECT);
}

bool bus_error_is_no_such_capture(const sd_bus_error *error) {
        /* UnknownObject: the capture went away between GetCapture and the next call. */
        return sd_bus_error_has_names(error, CAPTURED_ERROR_NO_SUCH_CAPTURE, SD_BUS_ERROR_UNKNOWN_OBJECT);
}

int bus_get_capture(sd_bus *bus, const char *iface, char **ret_path, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *path;
        char *copy;
        int r;

        r = sd_bus_call_method(bus, CAPTURED_BUS_NAME, CAPTURED_MANAGER_PATH, CAPTURED_MANAGER_INTERFACE,
                               "GetCapture", error, &reply, "s", iface);
        if (r < 0)
                return r;

        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return r;

        copy = strdup(path);
        if (!copy)
                return -ENOMEM;

        *ret_path = copy;
        return 0;
}

int bus_get_capture_properties(sd_bus *bus, const char *path, json_object **ret, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(bus, CAPTURED_BUS_NAME, path, "org.freedesktop.DBus.Properties",
                               "GetAll", error, &reply, "s", CAPTURED_CAPTURE_INTERFACE);
        if (r < 0)
                return r;

        return bus_message_read_json(reply, ret);
}

static int read_basic_json(sd_bus_message *m, char type, json_object **ret) {
        union {
                uint8_t y;
                int b;
                int16_t n;
                uint16_t q;
                int32_t i;
                uint32_t u;
                int64_t x;
                uint64_t t;
                double d;
                const char *s;
                int h;
        } v;
        json_object *o = NULL;
        int r;

        r = sd_bus_message_read_basic(m, type, &v);
        if (r < 0)
                return r;

        switch (type) {
        case 'y':
                o = json_object_new_int(v.y);
                break;
        case 'b':
                o = json_object_new_boolean(v.b);
                break;
        case 'n':
                o = json_object_new_int(v.n);
                break;
        case 'q':
                o = json_object_new_int(v.q);
                break;
        case 'i':
        case 'h':
                o = json_object_new_int(v.i);
                break;
        case 'u':
                o = json_object_new_int64(v.u);
                break;
        case 'x':
                o = json_object_new_int64(v.x);
                break;
        case 't':
                o = json_object_new_uint64(v.t);
                break;
        case 'd':
                o = json_object_new_double(v.d);
                break;
        case 's':
        case 'o':
        case 'g':
                o = json_object_new_string(v.s);
                break;
        default:
                return -EBADMSG;
        }
        if (!o)
                return -ENOMEM;

        *ret = o;
        return 0;
}

static bool is_string_dictionary(const char *contents) {
        return contents[0] == '{' && (contents[1] == 's' || contents[1] == 'o');
}

/* Reads the entries of a dictionary with string keys into an object. */
static int read_dictionary_json(sd_bus_message *m, const char *entry, json_object *o) {
        int r;

        for (;;) {
                _cleanup_(json_object_putp) json_object *value = NULL;
                const char *key;

                r = sd_bus_message_enter_container(m, 'e', entry);
                if (r < 0)
                        return r;
                if (r == 0)
                        return 0;

                r = sd_bus_message_read_basic(m, entry[0], &key);
                if (r < 0)
                        return r;

                r = bus_message_read_json(m, &value);
                if (r < 0)
                        return r;

                r = json_add(o, key, TAKE_PTR(value));
                if (r < 0)
                        return r;

                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
}

/* Reads the elements of an array or the fields of a struct into a JSON array. */
static int read_sequence_json(sd_bus_message *m, json_object *o) {
        int r;

        for (;;) {
                json_object *value = NULL;

                r = sd_bus_message_at_end(m, false);
                if (r < 0)
                        return r;
                if (r > 0)
                        return 0;

                r = bus_message_read_json(m, &value);
                if (r < 0)
                        return r;

                r = json_object_array_add(o, value);
                if (r < 0) {
                        json_object_put(value);
                        return -ENOMEM;
                }
        }
}

static int read_container_json(sd_bus_message *m, char type, const char *contents, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        char entry[256];
        int r;

        if (type == 'a' && is_string_dictionary(contents)) {
                /* The signature of the entry is contents without its braces. */
                size_t n = strlen(contents);
                if (n < 2 || n - 2 >= sizeof(entry))
                        return -EBADMSG;
                memcpy(entry, contents + 1, n - 2);
                entry[n - 2] = '\0';
        }

        r = sd_bus_message_enter_container(m, type, contents);
        if (r < 0)
                return r;

        if (type == 'v')
                r = bus_message_read_json(m, &o);
        else if (type == 'a' && is_string_dictionary(contents)) {
                o = json_object_new_object();
                r = o ? read_dictionary_json(m, entry, o) : -ENOMEM;
        } else {
                o = json_object_new_array();
                r = o ? read_sequence_json(m, o) : -ENOMEM;
        }
        if (r < 0)
                return r;

        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(o);
        return 0;
}

int bus_message_read_json(sd_bus_message *m, json_object **ret) {
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        if (r == 0)
                return -EBADMSG;

        switch (type) {
        case 'v':
        case 'a':
        case 'r':
        case 'e':
                return read_container_json(m, type, contents, ret);
        default:
                return read_basic_json(m, type, ret);
        }
}
