/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <syslog.h>

#include "macro.h"

/* Logs one line to stderr with a "<N>" syslog priority prefix, the form
 * journald and systemd understand. Returns -abs(error) so that callers can
 * `return log_error_errno(r, ...)`. */
int log_internal(int priority, int error, const char *format, ...) _printf_(3, 4);

void log_set_max_level(int level);

#define log_debug(...)   log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...)    log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...)  log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...)   log_internal(LOG_ERR, 0, __VA_ARGS__)

#define log_warning_errno(e, ...) log_internal(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...)   log_internal(LOG_ERR, (e), __VA_ARGS__)

#define log_oom() log_internal(LOG_ERR, ENOMEM, "Out of memory.")
