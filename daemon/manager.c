/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-errors.h"
#include "captured-bus.h"
#include "log.h"
#include "disk-guard.h"
#include "manager.h"

/* Hooks running at once, all captures together. */
#define POST_ROTATE_MAX_CONCURRENT 4

int manager_new(Manager **ret, const char *config_dir, const char *state_dir, Guardian *guardian) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;

        m->guardian = guardian;
        m->config_dir = strdup(config_dir);
        m->state_dir = strdup(state_dir);
        if (!m->config_dir || !m->state_dir)
                return -ENOMEM;

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;

        while (m->captures) {
                Capture *c = m->captures;
                m->captures = c->next;
                capture_free(c);
        }

        post_rotate_free(m->post_rotate);
        sd_event_source_disable_unref(m->disk_guard_timer);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);
        config_free(m->config);
        free(m->config_dir);
        free(m->state_dir);
        free(m);
        return NULL;
}

Capture *manager_find_capture(Manager *m, const char *interface) {
        for (Capture *c = m->captures; c; c = c->next)
                if (strcmp(c->interface, interface) == 0)
                        return c;
        return NULL;
}

Capture *manager_find_capture_by_path(Manager *m, const char *path) {
        for (Capture *c = m->captures; c; c = c->next)
                if (strcmp(c->object_path, path) == 0)
                        return c;
        return NULL;
}

int manager_add_capture(Manager *m, const char *interface, Capture **ret) {
        Capture *c, **tail;
        int r;

        r = capture_new(&c, m, interface);
        if (r < 0)
                return r;

        for (tail = &m->captures; *tail; tail = &(*tail)->next)
                ;
        *tail = c;

        (void) sd_bus_emit_object_added(m->bus, c->object_path);
        *ret = c;
        return 0;
}

static char *file_path(const Capture *c, const CaptureFile *f) {
        char *path;

        return asprintf(&path, "%s/%s", c->directory, f->name) < 0 ? NULL : path;
}

static void on_post_rotate_done(void *userdata, const char *interface, const char *path) {
        Manager *m = userdata;
        Capture *c = manager_find_capture(m, interface);
        CaptureFile *f;

        if (!c)
                return;
        f = file_index_find(&c->files, strrchr(path, '/') + 1);
        if (f && f->busy > 0)
                f->busy--;
        capture_files_enforce_retention(c);
}

void manager_file_completed(Manager *m, Capture *c, CaptureFile *f) {
        _cleanup_(freep) char *path = file_path(c, f);
        int r;

        if (!path) {
                log_oom();
                return;
        }

        log_info("%s: finished %s (%llu bytes).", c->interface, path, (unsigned long long) f->size);
        (void) sd_bus_emit_signal(m->bus, CAPTURED_MANAGER_PATH, CAPTURED_MANAGER_INTERFACE, "FileCompleted",
                                  "sst", c->interface, path, f->size);
        capture_emit_changed(c, "FilesCompleted", NULL);

        if (m->config->post_rotate) {
                r = post_rotate_queue(m->post_rotate, m->config->post_rotate, c->interface, path);
                if (r > 0)
                        f->busy++;
                else if (r < 0)
                        log_error_errno(r, "%s: cannot run ExecPostRotate on %s: %m", c->interface, path);
        }

        capture_files_enforce_retention(c);
        disk_guard_check(m);
}

void manager_file_deleted(Manager *m, Capture *c, const char *path) {
}

bool manager_file_is_pending_upload(Manager *m, const char *path) {
        return false;
}

const char *manager_file_upload_state(Manager *m, const char *path, const char **ret_detail) {
        *ret_detail = "";
        return "none";
}

void manager_capture_settled(Manager *m) {
        if (!m->exiting || sd_event_get_state(m->event) == SD_EVENT_FINISHED)
                return;

        for (Capture *c = m->captures; c; c = c->next)
                if (c->pid > 0)
                        return;

        log_info("All captures stopped, exiting.");
        (void) sd_event_exit(m->event, 0);
}

void manager_begin_exit(Manager *m) {
        if (m->exiting)
                return;

        log_info("Stopping all captures.");
        m->exiting = true;
        for (Capture *c = m->captures; c; c = c->next)
                (void) capture_transition(c, CAPTURE_EVENT_STOP);

        manager_capture_settled(m);
}

int manager_start(Manager *m) {
        int r;

        r = config_load(&m->config, m->config_dir);
        if (r < 0)
                return log_error_errno(r, "Failed to load configuration from %s: %m", m->config_dir);

        r = post_rotate_new(&m->post_rotate, m->event, POST_ROTATE_MAX_CONCURRENT, on_post_rotate_done, m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up ExecPostRotate: %m");

        r = sd_bus_open_system(&m->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");

        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");

        r = manager_bus_register(m);
        if (r < 0)
                return r;

        r = capture_bus_register(m);
        if (r < 0)
                return r;

        r = sd_bus_request_name(m->bus, CAPTURED_BUS_NAME, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to take the bus name %s: %m", CAPTURED_BUS_NAME);

        log_info("Listening on the system bus as %s; captures go to %s.",
                 CAPTURED_BUS_NAME, m->config->capture_directory);
        return 0;
}
