/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "captured-bus.h"
#include "log.h"
#include "manager.h"

static int capture_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                               void **found, sd_bus_error *error) {
        Capture *c = manager_find_capture_by_path(userdata, path);

        if (!c)
                return 0;
        *found = c;
        return 1;
}

static int capture_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                                   sd_bus_error *error) {
        Manager *m = userdata;
        size_t n = 0, i = 0;
        char **v;

        for (Capture *c = m->captures; c; c = c->next)
                n++;

        v = calloc(n + 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (Capture *c = m->captures; c; c = c->next) {
                v[i] = strdup(c->object_path);
                if (!v[i]) {
                        strv_free(v);
                        return -ENOMEM;
                }
                i++;
        }

        *nodes = v;
        return 1;
}

static int property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Capture *c = userdata;
        return sd_bus_message_append(reply, "s", capture_state_to_string(c->state));
}

/* A string field that may be NULL, at the offset given in the vtable. */
static int property_get_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        char *const *s = userdata;
        return sd_bus_message_append(reply, "s", strempty(*s));
}

static int property_get_bool(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const bool *b = userdata;
        return sd_bus_message_append(reply, "b", (int) *b);
}

/* Reading a counter makes the figures fresh (capture_refresh_statistics()). */
static int property_get_counter(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Capture *c = userdata;
        const TcpdumpStatistics *st = &c->statistics;
        uint64_t value;

        capture_refresh_statistics(c);
        if (strcmp(property, "PacketsCaptured") == 0)
                value = st->captured;
        else if (strcmp(property, "PacketsReceived") == 0)
                value = st->received;
        else
                value = st->dropped_kernel + st->dropped_interface;
        return sd_bus_message_append(reply, "t", value);
}

static int property_get_uploads(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Capture *c = userdata;
        uint64_t succeeded = 0, failed = 0;
        uint32_t pending = 0;

        upload_queue_get_counts(c->manager->uploads, c->interface, &pending, &succeeded, &failed);
        if (strcmp(property, "UploadsPending") == 0)
                return sd_bus_message_append(reply, "u", pending);
        return sd_bus_message_append(reply, "t", strcmp(property, "UploadsSucceeded") == 0 ? succeeded : failed);
}

static int property_get_files_kept(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Capture *c = userdata;
        return sd_bus_message_append(reply, "u", (uint32_t) c->files.n);
}

/* Finished files and the live one: it grows with every packet, so this is
 * read, never announced. */
static int property_get_disk_usage(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Capture *c = userdata;
        return sd_bus_message_append(reply, "t", file_index_total_size(&c->files) + capture_files_live_size(c));
}

static int property_get_upload_errors(sd_bus *bus, const char *path, const char *interface,
                                      const char *property, sd_bus_message *reply, void *userdata,
                                      sd_bus_error *error) {
        Capture *c = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(sts)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_upload_errors; i++) {
                const UploadError *e = &c->upload_errors[i];

                r = sd_bus_message_append(reply, "(sts)", e->target, e->at, e->error);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int method_stop(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Capture *c = userdata;
        return manager_method_stop(message, c->manager, c->interface, error);
}

static int method_restart(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Capture *c = userdata;
        return manager_method_restart(message, c->manager, c->interface, error);
}

static int method_list_files(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Capture *c = userdata;
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sttss)");
        if (r < 0)
                return r;

        for (size_t i = 0; i < c->files.n; i++) {
                const CaptureFile *f = &c->files.files[i];
                _cleanup_(freep) char *path = NULL;
                const char *detail = "";
                const char *state;

                if (!(path = capture_file_path(c, f->name)))
                        return -ENOMEM;
                state = manager_file_upload_state(c->manager, path, &detail);
                r = sd_bus_message_append(reply, "(sttss)", path, f->size, f->completed_at, state, detail);
                if (r < 0)
                        return r;
        }

        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

#define CHANGE SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
#define OPTION(field) offsetof(Capture, options.field)

static const sd_bus_vtable capture_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Interface", "s", property_get_string, offsetof(Capture, interface),
                        SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, CHANGE),
        SD_BUS_PROPERTY("MainPID", "u", NULL, offsetof(Capture, pid), CHANGE),
        SD_BUS_PROPERTY("StartedAt", "t", NULL, offsetof(Capture, started_at), CHANGE),
        SD_BUS_PROPERTY("Enabled", "b", property_get_bool, offsetof(Capture, enabled), CHANGE),
        SD_BUS_PROPERTY("Filter", "s", property_get_string, OPTION(filter), CHANGE),
        SD_BUS_PROPERTY("FileSize", "u", NULL, OPTION(file_size), CHANGE),
        SD_BUS_PROPERTY("FileCount", "u", NULL, OPTION(file_count), CHANGE),
        SD_BUS_PROPERTY("SnapLength", "u", NULL, OPTION(snap_length), CHANGE),
        SD_BUS_PROPERTY("BufferSize", "u", NULL, OPTION(buffer_size), CHANGE),
        SD_BUS_PROPERTY("Promiscuous", "b", property_get_bool, OPTION(promiscuous), CHANGE),
        SD_BUS_PROPERTY("RotateSeconds", "u", NULL, OPTION(rotate_seconds), CHANGE),
        SD_BUS_PROPERTY("Upload", "s", property_get_string, OPTION(upload), CHANGE),
        SD_BUS_PROPERTY("CurrentFile", "s", property_get_string, offsetof(Capture, current_file), CHANGE),
        SD_BUS_PROPERTY("FilesCompleted", "t", NULL, offsetof(Capture, files_completed), CHANGE),
        SD_BUS_PROPERTY("FilesKept", "u", property_get_files_kept, 0, CHANGE),
        SD_BUS_PROPERTY("DiskUsage", "t", property_get_disk_usage, 0, 0),
        SD_BUS_PROPERTY("PacketsCaptured", "t", property_get_counter, 0, CHANGE),
        SD_BUS_PROPERTY("PacketsReceived", "t", property_get_counter, 0, CHANGE),
        SD_BUS_PROPERTY("PacketsDropped", "t", property_get_counter, 0, CHANGE),
        SD_BUS_PROPERTY("Restarts", "u", NULL, offsetof(Capture, restarts), CHANGE),
        SD_BUS_PROPERTY("LastError", "s", property_get_string, offsetof(Capture, last_error), CHANGE),
        SD_BUS_PROPERTY("LastErrorTimestamp", "t", NULL, offsetof(Capture, last_error_at), CHANGE),
        SD_BUS_PROPERTY("UploadErrors", "a(sts)", property_get_upload_errors, 0, CHANGE),
        SD_BUS_PROPERTY("LastHookError", "s", property_get_string, offsetof(Capture, last_hook_error), CHANGE),
        SD_BUS_PROPERTY("LastHookErrorTimestamp", "t", NULL, offsetof(Capture, last_hook_error_at), CHANGE),
        SD_BUS_PROPERTY("UploadsPending", "u", property_get_uploads, 0, CHANGE),
        SD_BUS_PROPERTY("UploadsSucceeded", "t", property_get_uploads, 0, CHANGE),
        SD_BUS_PROPERTY("UploadsFailed", "t", property_get_uploads, 0, CHANGE),
        SD_BUS_PROPERTY("UploadsDropped", "t", NULL, offsetof(Capture, uploads_dropped), CHANGE),
        SD_BUS_METHOD("Stop", "", "", method_stop, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Restart", "", "", method_restart, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ListFiles", "", , "a(sttss)", SD_BUS_PARAM(files), method_list_files,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

int capture_bus_register(Manager *m) {
        int r;

        r = sd_bus_add_fallback_vtable(m->bus, NULL, CAPTURED_CAPTURE_PATH_PREFIX, CAPTURED_CAPTURE_INTERFACE,
                                       capture_vtable, capture_object_find, m);
        if (r < 0)
                return log_error_errno(r, "Failed to export the capture objects: %m");

        r = sd_bus_add_node_enumerator(m->bus, NULL, CAPTURED_CAPTURE_PATH_PREFIX, capture_node_enumerator, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the capture enumerator: %m");

        return 0;
}
