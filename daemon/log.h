/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <syslog.h>

#include "macro.h"

/* Logging: structured journal records (sd_journal_sendv) when journald
 * reads our stderr, else one line on stderr: a local timestamp, "error: "
 * or "warning: " where it is one, the message. Returns -abs(error), so that callers can
 * `return log_error_errno(r, ...)`; %m stands for that error. */

typedef struct LogFields {
        const char *interface;   /* CAPTURE_INTERFACE= */
        const char *file;        /* CAPTURE_FILE= */
        const char *target;      /* UPLOAD_TARGET= */
} LogFields;

int log_internal(int priority, int error, const LogFields *fields, const char *format, ...) _printf_(4, 5);

void log_set_max_level(int level);

#define log_debug(...)   log_internal(LOG_DEBUG, 0, NULL, __VA_ARGS__)
#define log_info(...)    log_internal(LOG_INFO, 0, NULL, __VA_ARGS__)
#define log_notice(...)  log_internal(LOG_NOTICE, 0, NULL, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, NULL, __VA_ARGS__)
#define log_error(...)   log_internal(LOG_ERR, 0, NULL, __VA_ARGS__)

#define log_warning_errno(e, ...) log_internal(LOG_WARNING, (e), NULL, __VA_ARGS__)
#define log_error_errno(e, ...)   log_internal(LOG_ERR, (e), NULL, __VA_ARGS__)

#define log_oom() log_internal(LOG_ERR, ENOMEM, NULL, "Out of memory.")

/* With journal fields: log_capture(LOG_INFO, 0, c->interface, "...", ...) and so on. */
#define log_capture(priority, error, iface, ...) \
        log_internal((priority), (error), &(const LogFields) { .interface = (iface) }, __VA_ARGS__)
#define log_capture_file(priority, error, iface, path, ...) \
        log_internal((priority), (error), &(const LogFields) { .interface = (iface), .file = (path) }, __VA_ARGS__)
#define log_upload(priority, error, iface, path, tgt, ...) \
        log_internal((priority), (error), \
                     &(const LogFields) { .interface = (iface), .file = (path), .target = (tgt) }, __VA_ARGS__)
