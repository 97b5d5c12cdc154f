/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <syslog.h>

#include "macro.h"
#include "message-ids.h"

/* Logging: structured journal records (sd_journal_sendv) when journald
 * reads our stderr, else one line on stderr: a local timestamp, "error: "
 * or "warning: " where it is one, the message. Returns -abs(error), so that callers can
 * `return log_error_errno(r, ...)`; %m stands for that error. */

typedef struct LogFields {
        const char *message_id;  /* MESSAGE_ID=, one of message-ids.h */
        const char *interface;   /* CAPTURE_INTERFACE= */
        const char *file;        /* CAPTURE_FILE= */
        const char *target;      /* UPLOAD_TARGET= */
} LogFields;

int log_internal(int priority, int error, const LogFields *fields, const char *code_file, int code_line,
                 const char *code_func, const char *format, ...) _printf_(7, 8);

void log_set_max_level(int level);

/* Every record carries the caller's CODE_FILE=, CODE_LINE= and CODE_FUNC=. */
#define log_full(priority, error, fields, ...) \
        log_internal((priority), (error), (fields), __FILE__, __LINE__, __func__, __VA_ARGS__)

#define log_debug(...)   log_full(LOG_DEBUG, 0, NULL, __VA_ARGS__)
#define log_info(...)    log_full(LOG_INFO, 0, NULL, __VA_ARGS__)
#define log_notice(...)  log_full(LOG_NOTICE, 0, NULL, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, 0, NULL, __VA_ARGS__)
#define log_error(...)   log_full(LOG_ERR, 0, NULL, __VA_ARGS__)

#define log_warning_errno(e, ...) log_full(LOG_WARNING, (e), NULL, __VA_ARGS__)
#define log_error_errno(e, ...)   log_full(LOG_ERR, (e), NULL, __VA_ARGS__)

#define log_oom() log_full(LOG_ERR, ENOMEM, NULL, "Out of memory.")

/* With journal fields: log_capture(LOG_INFO, 0, c->interface, "...", ...) and so on. */
#define log_capture(priority, error, iface, ...) \
        log_full((priority), (error), (&(const LogFields) { .interface = (iface) }), __VA_ARGS__)
#define log_capture_file(priority, error, iface, path, ...) \
        log_full((priority), (error), (&(const LogFields) { .interface = (iface), .file = (path) }), __VA_ARGS__)
#define log_upload(priority, error, iface, path, tgt, ...) \
        log_full((priority), (error), \
                 (&(const LogFields) { .interface = (iface), .file = (path), .target = (tgt) }), __VA_ARGS__)

/* The documented events (captured.catalog): the same, with a MESSAGE_ID=
 * (id NULL: an ordinary record). */
#define log_capture_event(priority, id, iface, ...) \
        log_full((priority), 0, (&(const LogFields) { .message_id = (id), .interface = (iface) }), __VA_ARGS__)
#define log_file_event(priority, id, iface, path, ...) \
        log_full((priority), 0, (&(const LogFields) { .message_id = (id), .interface = (iface), .file = (path) }), \
                 __VA_ARGS__)
#define log_upload_event(priority, id, iface, path, tgt, ...) \
        log_full((priority), 0, \
                 (&(const LogFields) { .message_id = (id), .interface = (iface), .file = (path), .target = (tgt) }), \
                 __VA_ARGS__)
