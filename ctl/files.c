/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bus-util.h"
#include "captured-bus.h"
#include "capturectl.h"
#include "format.h"
#include "output.h"
#include "table.h"

/* `files IFACE`: the finished files of a capture (Capture.ListFiles). */

typedef struct CaptureFile {
        const char *path;           /* borrowed from the reply */
        uint64_t size;
        uint64_t completed_at;      /* realtime µs */
        const char *upload_state;
        const char *detail;
} CaptureFile;

static const char *upload_state_color(const char *state) {
        if (strcmp(state, "done") == 0)
                return ANSI_GREEN;
        if (strcmp(state, "failed") == 0)
                return ANSI_RED;
        if (strcmp(state, "pending") == 0 || strcmp(state, "uploading") == 0)
                return ANSI_YELLOW;
        return NULL;
}

static int table_add_file(Table *t, const CaptureFile *f) {
        char size[FORMAT_BYTES_MAX], ts[FORMAT_TIMESTAMP_MAX];
        int r;

        if ((r = table_add_cell(t, f->path, NULL)) < 0 ||
            (r = table_add_cell(t, format_bytes(size, sizeof(size), f->size), NULL)) < 0 ||
            (r = table_add_cell(t, format_timestamp(ts, sizeof(ts), f->completed_at), NULL)) < 0 ||
            (r = table_add_cell(t, f->upload_state, upload_state_color(f->upload_state))) < 0 ||
            (r = table_add_cell(t, f->detail, NULL)) < 0)
                return r;
        return 0;
}

/* Manager.ListFileUploads: {path: [{Target, State, Location, Error}, ...]}
 * for --json. A daemon without the method (older) gives none. */
static int read_file_uploads(Context *c, const char *iface, json_object **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_object_putp) json_object *uploads = json_object_new_object();
        const char *path, *target, *state, *location, *last_error;
        int r;

        if (!uploads)
                return -ENOMEM;
        r = sd_bus_call_method(c->bus, CAPTURED_BUS_NAME, CAPTURED_MANAGER_PATH, CAPTURED_MANAGER_INTERFACE,
                               "ListFileUploads", &error, &reply, "s", iface);
        if (r < 0 && sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_METHOD)) {
                *ret = TAKE_PTR(uploads);
                return 0;
        }
        if (r < 0)
                return log_bus_error(c->bus, &error, r, iface, "list the uploads");

        r = sd_bus_message_enter_container(reply, 'a', "(sssss)");
        while (r >= 0 &&
               (r = sd_bus_message_read(reply, "(sssss)", &path, &target, &state, &location, &last_error)) > 0) {
                json_object *list = NULL, *o = json_object_new_object();

                if (!json_object_object_get_ex(uploads, path, &list)) {
                        list = json_object_new_array();
                        if (!list || json_object_object_add(uploads, path, list) < 0) {
                                json_object_put(list);
                                list = NULL;
                        }
                }
                if (!o || !list ||
                    json_add(o, "Target", json_object_new_string(target)) < 0 ||
                    json_add(o, "State", json_object_new_string(state)) < 0 ||
                    json_add(o, "Location", json_object_new_string(location)) < 0 ||
                    json_add(o, "Error", json_object_new_string(last_error)) < 0 ||
                    json_object_array_add(list, o) < 0) {
                        json_object_put(o);
                        return -ENOMEM;
                }
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(uploads);
        return 0;
}

static int json_add_file(json_object *array, const CaptureFile *f, json_object *uploads) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *list = NULL;

        if (!json_object_object_get_ex(uploads, f->path, &list))
                list = NULL;
        if (!o ||
            json_add(o, "Path", json_object_new_string(f->path)) < 0 ||
            json_add(o, "Size", json_object_new_uint64(f->size)) < 0 ||
            json_add(o, "CompletedAt", json_object_new_uint64(f->completed_at)) < 0 ||
            json_add(o, "UploadState", json_object_new_string(f->upload_state)) < 0 ||
            json_add(o, "Detail", json_object_new_string(f->detail)) < 0 ||
            json_add(o, "Uploads", list ? json_object_get(list) : json_object_new_array()) < 0)
                return -ENOMEM;

        if (json_object_array_add(array, o) < 0)
                return -ENOMEM;
        TAKE_PTR(o);
        return 0;
}

static int print_files(Context *c, sd_bus_message *reply, json_object *uploads) {
        static const char *const headers[] = { "PATH", "SIZE", "COMPLETED", "UPLOAD", "DETAIL" };
        _cleanup_(json_object_putp) json_object *array = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        uint64_t total = 0;
        size_t n = 0;
        CaptureFile f;
        int r;

        if (c->json) {
                array = json_object_new_array();
                if (!array)
                        return -ENOMEM;
        } else {
                r = table_new(&t, headers, ELEMENTSOF(headers));
                if (r < 0)
                        return r;
                (void) table_set_align(t, 1, TABLE_ALIGN_RIGHT);
        }

        r = sd_bus_message_enter_container(reply, 'a', "(sttss)");
        if (r < 0)
                return r;

        while ((r = sd_bus_message_read(reply, "(sttss)", &f.path, &f.size, &f.completed_at,
                                        &f.upload_state, &f.detail)) > 0) {
                r = array ? json_add_file(array, &f, uploads) : table_add_file(t, &f);
                if (r < 0)
                        return r;
                total += f.size;
                n++;
        }
        if (r < 0)
                return r;

        context_open_pager(c);
        if (array)
                return json_print(array, false);

        if (n > 0) {
                r = table_print(t, stdout, colors_enabled());
                if (r < 0)
                        return r;
        }
        if (on_tty() && !c->quiet) {
                char size[FORMAT_BYTES_MAX];
                printf("%s%zu file%s listed, %s in total.\n", n > 0 ? "\n" : "", n, n == 1 ? "" : "s",
                       format_bytes(size, sizeof(size), total));
        }
        return fflush(stdout) == 0 ? 0 : negative_errno();
}

int verb_files(Context *c, char **ifaces, size_t n_ifaces) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_object_putp) json_object *uploads = NULL;
        _cleanup_(freep) char *path = NULL;
        const char *iface = ifaces[0];
        char action[64];
        int r;

        snprintf(action, sizeof(action), "list the files of the capture on '%s'", iface);

        r = bus_get_capture(c->bus, iface, &path, &error);
        if (r >= 0)
                r = sd_bus_call_method(c->bus, CAPTURED_BUS_NAME, path, CAPTURED_CAPTURE_INTERFACE,
                                       "ListFiles", &error, &reply, NULL);
        if (r < 0)
                return log_bus_error(c->bus, &error, r, iface, action);

        if (c->json) {
                r = read_file_uploads(c, iface, &uploads);
                if (r < 0)
                        return r;
        }

        r = print_files(c, reply, uploads);
        if (r < 0)
                return log_error_errno(r, "failed to %s: %s", action, strerror(-r));
        return 0;
}
