/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "authorize.h"
#include "bus-errors.h"
#include "captured-bus.h"
#include "filter.h"
#include "log.h"
#include "manager.h"
#include "names.h"
#include "netif.h"
#include "capture-files.h"

/* Interface names come from anyone: quote at most this much of one back. */
#define QUOTE_MAX 32

static int validate_interface_name(const char *interface, sd_bus_error *error) {
        if (interface_name_is_valid(interface))
                return 0;
        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                 "Invalid interface name '%.*s%s': 1–15 characters, no '/', ':' or white space",
                                 QUOTE_MAX, interface, strlen(interface) > QUOTE_MAX ? "…" : "");
}

static int no_such_capture(const char *interface, sd_bus_error *error) {
        return sd_bus_error_setf(error, CAPTURED_ERROR_NO_SUCH_CAPTURE, "No capture on '%s'", interface);
}

static int no_such_interface(const char *interface, sd_bus_error *error) {
        return sd_bus_error_setf(error, CAPTURED_ERROR_NO_SUCH_INTERFACE, "No such interface '%s'", interface);
}

/* A start needs the interface, unless the capture is enabled: an enabled
 * capture waits for its interface, as at daemon start. */
static int check_interface_for_start(Manager *m, const char *interface, sd_bus_error *error) {
        if (netif_exists(interface) || manager_is_enabled(m, interface))
                return 0;
        return no_such_interface(interface, error);
}

/* tcpdump drops to TcpdumpUser= (-Z): without that user it cannot start. */
static int check_tcpdump_user(Manager *m, sd_bus_error *error) {
        if (tcpdump_user_exists(m->config->tcpdump_user))
                return 0;
        return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "TcpdumpUser=%s: no such user",
                                 m->config->tcpdump_user);
}

/* A target file the daemon has not loaded may exist: created since the
 * last reload, or refused (the log says why). */
static int no_such_upload_target(Manager *m, const char *name, sd_bus_error *error) {
        _cleanup_(freep) char *path = NULL;

        if (asprintf(&path, "%s/upload.d/%s.conf", m->config_dir, name) < 0)
                return -ENOMEM;
        if (access(path, F_OK) < 0)
                return sd_bus_error_setf(error, CAPTURED_ERROR_NO_SUCH_UPLOAD_TARGET,
                                         "No such upload target '%s' (no %s)", name, path);
        return sd_bus_error_setf(error, CAPTURED_ERROR_NO_SUCH_UPLOAD_TARGET,
                                 "No such upload target '%s': %s is not loaded; reload the daemon "
                                 "(systemctl reload captured, or SIGHUP), or see its log for what is wrong with the file",
                                 name, path);
}

/* What a start or an enable carries: the options given, and the
 * effective options they make on top of [Defaults] and capture.d/. */
typedef struct StartData {
        CaptureOptions effective;
        OptionMask given;
} StartData;

static void start_data_free(void *p) {
        StartData *d = p;

        if (d)
                capture_options_done(&d->effective);
        free(d);
}

/* Reads and checks the options of a start or enable: known keys and ranges,
 * an existing interface (for a start), a filter that compiles for it, a
 * known upload target. */
static int read_start_data(Manager *m, sd_bus_message *message, const char *interface, bool enable,
                           StartData **ret, sd_bus_error *error) {
        _cleanup_(freep) char *filter_error = NULL, *missing = NULL;
        bool exists = netif_exists(interface);
        StartData *d;
        int r;

        d = calloc(1, sizeof(StartData));
        if (!d)
                return -ENOMEM;
        capture_options_init_default(&d->effective);

        /* A start builds on what enabling saved; an enable replaces that. */
        r = enable ? config_capture_options(m->config, interface, &d->effective) :
                     manager_base_options(m, interface, &d->effective);
        if (r >= 0)
                r = capture_options_read_message_masked(&d->effective, message, &d->given, error);
        if (r < 0)
                goto fail;

        if (!enable) {
                r = check_tcpdump_user(m, error);
                if (r >= 0)
                        r = check_interface_for_start(m, interface, error);
                if (r < 0)
                        goto fail;
        }

        r = manager_check_upload_targets(m, d->effective.upload, &missing);
        if (r == -ENOENT)
                r = no_such_upload_target(m, missing, error);
        if (r < 0)
                goto fail;

        r = filter_check(exists ? interface : NULL, strempty(d->effective.filter), d->effective.snap_length,
                         &filter_error);
        if (r == -ENODEV)
                r = no_such_interface(interface, error);
        else if (r == -EINVAL)
                r = sd_bus_error_setf(error, CAPTURED_ERROR_INVALID_FILTER, "Invalid filter '%s': %s",
                                      strempty(d->effective.filter), strempty(filter_error));
        if (r < 0)
                goto fail;

        *ret = d;
        return 0;
fail:
        start_data_free(d);
        return r;
}

static int find_or_add_capture(Manager *m, const char *interface, Capture **ret) {
        *ret = manager_find_capture(m, interface);
        return *ret ? 0 : manager_add_capture(m, interface, ret);
}

static int do_start(Request *req, sd_bus_error *error) {
        Manager *m = req->manager;
        const StartData *d = req->data;
        Capture *c;
        int r;

        c = manager_find_capture(m, req->interface);
        if (c && capture_is_active(c)) {
                if (!capture_options_equal(&c->options, &d->effective))
                        return sd_bus_error_setf(error, CAPTURED_ERROR_ALREADY_RUNNING,
                                                 "A capture on '%s' already runs with other options; stop it first",
                                                 req->interface);
                if (c->state != CAPTURE_STARTING)
                        return sd_bus_reply_method_return(req->message, "o", c->object_path);
                /* Answered once tcpdump is ready: 1, "handled", as below. */
                r = capture_add_pending_reply(c, req->message, REPLY_WITH_PATH, CAPTURE_RUNNING);
                return r < 0 ? r : 1;
        }

        /* Checked again: enabling may have changed while polkit was asked. */
        r = check_interface_for_start(m, req->interface, error);
        if (r < 0)
                return r;

        r = find_or_add_capture(m, req->interface, &c);
        if (r < 0)
                return r;

        r = capture_set_overrides(c, &d->effective, d->given);
        if (r >= 0)
                r = capture_set_options(c, &d->effective);
        if (r < 0)
                return r;
        c->stopped_by_request = false;

        if (!netif_exists(c->interface)) {
                /* It waits; the caller learns its path now, State says the rest. */
                log_info("%s: start requested; waiting for the interface.", c->interface);
                (void) capture_transition(c, CAPTURE_EVENT_START);
                return sd_bus_reply_method_return(req->message, "o", c->object_path);
        }

        r = capture_add_pending_reply(c, req->message, REPLY_WITH_PATH, CAPTURE_RUNNING);
        if (r < 0)
                return r;

        log_info("%s: start requested.", c->interface);
        (void) capture_transition(c, CAPTURE_EVENT_START);
        return 1;
}

static int do_enable(Request *req, sd_bus_error *error) {
        Manager *m = req->manager;
        const StartData *d = req->data;
        Capture *c;
        int r;

        r = manager_persist_enabled(m, req->interface, true, &d->effective, d->given);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot save the enabled capture: %m");

        r = find_or_add_capture(m, req->interface, &c);
        if (r < 0)
                return r;
        capture_set_enabled(c, true);
        /* A new decision: reloads start it again (manager_start_enabled). */
        c->stopped_by_request = false;
        /* A capture that does not run yet takes the enabled options now;
         * they are its base from now on, nothing given on top. */
        if (!capture_is_active(c)) {
                (void) capture_set_overrides(c, &d->effective, 0);
                (void) capture_set_options(c, &d->effective);
        }

        log_info("%s: enabled.", req->interface);
        return sd_bus_reply_method_return(req->message, NULL);
}

static int do_disable(Request *req, sd_bus_error *error) {
        Manager *m = req->manager;
        Capture *c;
        int r;

        r = manager_persist_enabled(m, req->interface, false, NULL, 0);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot save the disabled capture: %m");

        c = manager_find_capture(m, req->interface);
        if (c)
                capture_set_enabled(c, false);

        log_info("%s: disabled.", req->interface);
        return sd_bus_reply_method_return(req->message, NULL);
}

static int do_stop(Request *req, sd_bus_error *error) {
        Capture *c = manager_find_capture(req->manager, req->interface);
        int r;

        if (!c)
                return no_such_capture(req->interface, error);

        r = capture_add_pending_reply(c, req->message, REPLY_EMPTY, CAPTURE_STOPPED);
        if (r < 0)
                return r;

        c->stopped_by_request = true;
        log_info("%s: stop requested.", c->interface);
        (void) capture_transition(c, CAPTURE_EVENT_STOP);
        return 1;
}

static int do_restart(Request *req, sd_bus_error *error) {
        Capture *c = manager_find_capture(req->manager, req->interface);
        int r;

        if (!c)
                return no_such_capture(req->interface, error);

        r = capture_add_pending_reply(c, req->message, REPLY_EMPTY, CAPTURE_RUNNING);
        if (r < 0)
                return r;

        c->stopped_by_request = false;
        log_info("%s: restart requested.", c->interface);
        (void) capture_transition(c, CAPTURE_EVENT_RESTART);
        return 1;
}

/* Validates, then asks for authorization; nothing changes before both. */
static int submit(Manager *m, sd_bus_message *message, const char *interface, const char *verb,
                  RequestHandler handler, StartData *data, sd_bus_error *error) {
        Request *req;
        int r;

        r = request_new(&req, m, message, verb, interface, handler);
        if (r < 0) {
                start_data_free(data);
                return r;
        }
        req->data = data;
        req->data_free = start_data_free;

        return authorize_request(req, error);
}

static int method_start_or_enable(sd_bus_message *message, Manager *m, bool enable, sd_bus_error *error) {
        StartData *d = NULL;
        const char *interface;
        int r;

        r = sd_bus_message_read(message, "s", &interface);
        if (r < 0)
                return r;
        r = validate_interface_name(interface, error);
        if (r < 0)
                return r;
        /* An interface may be enabled before it exists (it starts when it appears). */
        r = read_start_data(m, message, interface, enable, &d, error);
        if (r < 0)
                return r;

        return enable ? submit(m, message, interface, "enable", do_enable, d, error) :
                        submit(m, message, interface, "start", do_start, d, error);
}

static int method_start_capture(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_start_or_enable(message, userdata, false, error);
}

static int method_enable_capture(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_start_or_enable(message, userdata, true, error);
}

int manager_method_stop(sd_bus_message *message, Manager *m, const char *interface, sd_bus_error *error) {
        if (!manager_find_capture(m, interface))
                return no_such_capture(interface, error);
        return submit(m, message, interface, "stop", do_stop, NULL, error);
}

int manager_method_restart(sd_bus_message *message, Manager *m, const char *interface, sd_bus_error *error) {
        int r;

        if (!manager_find_capture(m, interface))
                return no_such_capture(interface, error);
        r = check_tcpdump_user(m, error);
        if (r < 0)
                return r;
        return submit(m, message, interface, "restart", do_restart, NULL, error);
}

static int read_interface(sd_bus_message *message, const char **ret, sd_bus_error *error) {
        int r = sd_bus_message_read(message, "s", ret);
        if (r < 0)
                return r;
        return validate_interface_name(*ret, error);
}

/* The capture a method names by its interface argument: read, validated,
 * and NoSuchCapture if the daemon has none. */
static int read_capture(sd_bus_message *message, Manager *m, Capture **ret, sd_bus_error *error) {
        const char *interface;
        int r = read_interface(message, &interface, error);
        if (r < 0)
                return r;
        *ret = manager_find_capture(m, interface);
        return *ret ? 0 : no_such_capture(interface, error);
}

static int method_stop_capture(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        const char *interface;
        int r = read_interface(message, &interface, error);
        return r < 0 ? r : manager_method_stop(message, userdata, interface, error);
}

static int method_restart_capture(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        const char *interface;
        int r = read_interface(message, &interface, error);
        return r < 0 ? r : manager_method_restart(message, userdata, interface, error);
}

static int method_disable_capture(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        const char *interface;
        int r = read_interface(message, &interface, error);
        return r < 0 ? r : submit(userdata, message, interface, "disable", do_disable, NULL, error);
}

static int method_get_capture(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Capture *c;
        int r = read_capture(message, userdata, &c, error);
        if (r < 0)
                return r;

        return sd_bus_reply_method_return(message, "o", c->object_path);
}

static int method_list_captures(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sso)");
        if (r < 0)
                return r;
        for (Capture *c = m->captures; c; c = c->next) {
                r = sd_bus_message_append(reply, "(sso)", c->interface, capture_state_to_string(c->state),
                                          c->object_path);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;

        return sd_bus_send(NULL, reply, NULL);
}

/* Issue 13: a manual re-upload, UploadFile(interface, file, target), and
 * every target's state of every file, ListFileUploads(interface). */
typedef struct UploadFileData {
        char *path;
        char *target;
} UploadFileData;

static void upload_file_data_free(void *p) {
        UploadFileData *d = p;

        if (d) {
                free(d->path);
                free(d->target);
        }
        free(d);
}

static int do_upload_file(Request *req, sd_bus_error *error) {
        const UploadFileData *d = req->data;
        Capture *c = manager_find_capture(req->manager, req->interface);
        int r;

        if (!c)
                return no_such_capture(req->interface, error);
        r = manager_reupload_file(req->manager, c, d->path, d->target);
        if (r == -EBUSY)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s is being uploaded already", d->path);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot queue %s: %m", d->path);
        return sd_bus_reply_method_return(req->message, "s", d->path);
}

/* file: the name of one of the capture's finished files, or its path. */
static int read_upload_file(Manager *m, Capture *c, const char *file, const char *target, UploadFileData **ret,
                            sd_bus_error *error) {
        _cleanup_(freep) char *path = NULL;
        const char *name = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
        UploadFileData *d;

        /* The target first, said as a start says it (a file not yet
         * loaded asks for a reload). */
        if (isempty(target) && isempty(c->options.upload))
                return sd_bus_error_setf(error, CAPTURED_ERROR_NO_SUCH_UPLOAD_TARGET,
                                         "The capture on '%s' has no Upload= target; name one", c->interface);
        if (!isempty(target) && !upload_target_name_is_valid(target))
                return sd_bus_error_setf(error, CAPTURED_ERROR_NO_SUCH_UPLOAD_TARGET,
                                         "'%.*s' is not a valid upload target name (letters, digits, '-', '_', '.')",
                                         QUOTE_MAX, target);
        if (!isempty(target) && !manager_find_upload_target(m, target))
                return no_such_upload_target(m, target, error);

        if (file_index_find(&c->files, name)) {
                path = capture_file_path(c, name);
                if (!path)
                        return -ENOMEM;
        }
        if (!path || (strchr(file, '/') && strcmp(path, file) != 0))
                return sd_bus_error_setf(error, SD_BUS_ERROR_FILE_NOT_FOUND, "No finished file '%.*s' of '%s'",
                                         QUOTE_MAX * 8, file, c->interface);

        d = calloc(1, sizeof(UploadFileData));
        if (!d || !(d->target = strdup(target))) {
                upload_file_data_free(d);
                return -ENOMEM;
        }
        d->path = TAKE_PTR(path);
        *ret = d;
        return 0;
}

static int method_upload_file(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *file, *target;
        UploadFileData *d = NULL;
        Request *req;
        Capture *c;
        int r;

        r = read_capture(message, m, &c, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "ss", &file, &target);
        if (r < 0)
                return r;
        r = read_upload_file(m, c, file, target, &d, error);
        if (r < 0)
                return r;

        r = request_new(&req, m, message, "upload", c->interface, do_upload_file);
        if (r < 0) {
                upload_file_data_free(d);
                return r;
        }
        req->data = d;
        req->data_free = upload_file_data_free;
        return authorize_request(req, error);
}

static int append_file_uploads(sd_bus_message *reply, Manager *m, const char *path) {
        _cleanup_(freep) UploadInfo *uploads = NULL;
        size_t n = 0;
        int r;

        r = upload_queue_get_uploads(m->uploads, path, &uploads, &n);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = sd_bus_message_append(reply, "(sssss)", path, uploads[i].target,
                                          upload_state_to_string(uploads[i].state), uploads[i].remote,
                                          uploads[i].error);
        return r;
}

static int method_list_file_uploads(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        Capture *c;
        int r;

        r = read_capture(message, m, &c, error);
        if (r < 0)
                return r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sssss)");
        for (size_t i = 0; r >= 0 && i < c->files.n; i++) {
                _cleanup_(freep) char *path = capture_file_path(c, c->files.files[i].name);

                r = path ? append_file_uploads(reply, m, path) : -ENOMEM;
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r < 0 ? r : sd_bus_send(NULL, reply, NULL);
}

static int property_get_capture_directory(sd_bus *bus, const char *path, const char *interface,
                                          const char *property, sd_bus_message *reply,
                                          void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "s", m->config->capture_directory);
}

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        /* A reload keeps it: a new CaptureDirectory= takes effect at the next start. */
        SD_BUS_PROPERTY("CaptureDirectory", "s", property_get_capture_directory, 0,
                        SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_NAMES("StartCapture", "sa{sv}", SD_BUS_PARAM(interface) SD_BUS_PARAM(options),
                                 "o", SD_BUS_PARAM(capture), method_start_capture, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("StopCapture", "s", SD_BUS_PARAM(interface), "", , method_stop_capture,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("RestartCapture", "s", SD_BUS_PARAM(interface), "", , method_restart_capture,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("EnableCapture", "sa{sv}", SD_BUS_PARAM(interface) SD_BUS_PARAM(options),
                                 "", , method_enable_capture, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("DisableCapture", "s", SD_BUS_PARAM(interface), "", , method_disable_capture,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetCapture", "s", SD_BUS_PARAM(interface), "o", SD_BUS_PARAM(capture),
                                 method_get_capture, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ListCaptures", "", , "a(sso)", SD_BUS_PARAM(captures), method_list_captures,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("UploadFile", "sss", SD_BUS_PARAM(interface) SD_BUS_PARAM(file) SD_BUS_PARAM(target),
                                 "s", SD_BUS_PARAM(path), method_upload_file, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ListFileUploads", "s", SD_BUS_PARAM(interface), "a(sssss)", SD_BUS_PARAM(uploads),
                                 method_list_file_uploads, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_NAMES("FileCompleted", "sst",
                                 SD_BUS_PARAM(interface) SD_BUS_PARAM(path) SD_BUS_PARAM(size), 0),
        SD_BUS_SIGNAL_WITH_NAMES("UploadFinished", "sssbs",
                                 SD_BUS_PARAM(interface) SD_BUS_PARAM(path) SD_BUS_PARAM(target)
                                 SD_BUS_PARAM(success) SD_BUS_PARAM(detail), 0),
        SD_BUS_VTABLE_END
};

int manager_bus_register(Manager *m) {
        int r;

        r = sd_bus_add_object_vtable(m->bus, NULL, CAPTURED_MANAGER_PATH, CAPTURED_MANAGER_INTERFACE,
                                     manager_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to export the manager object: %m");

        r = sd_bus_add_object_manager(m->bus, NULL, CAPTURED_MANAGER_PATH);
        if (r < 0)
                return log_error_errno(r, "Failed to add the object manager: %m");

        return 0;
}
