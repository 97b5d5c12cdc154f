/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "macro.h"

/* How capturectl writes: one-line errors on stderr, colours on terminals,
 * JSON on stdout. */

#define ANSI_NORMAL         "\x1B[0m"
#define ANSI_HIGHLIGHT      "\x1B[0;1;39m"
#define ANSI_HIGHLIGHT_RED  "\x1B[0;1;31m"
#define ANSI_HIGHLIGHT_GREEN "\x1B[0;1;32m"
#define ANSI_HIGHLIGHT_YELLOW "\x1B[0;1;33m"
#define ANSI_RED            "\x1B[0;31m"
#define ANSI_GREEN          "\x1B[0;32m"
#define ANSI_YELLOW         "\x1B[0;33m"

/* Prints "capturectl: <message>" as one line on stderr. */
void log_error(const char *format, ...) _printf_(1, 2);

/* The same, returning r (a negative errno) for `return log_error_errno(r, ...)`. */
int log_error_errno(int r, const char *format, ...) _printf_(2, 3);

/* Whether stdout is a terminal. */
bool on_tty(void);

/* Whether to colour stdout: a terminal, $NO_COLOR unset and $TERM not dumb. */
bool colors_enabled(void);

/* The colour (plain, for table cells) of a capture state, NULL for none. */
const char *capture_state_color(const char *state);

/* The highlighted colour of a state and the dot of `status`, "" when colours are off. */
const char *capture_state_highlight(const char *state);
const char *capture_state_dot(const char *state);

static inline const char *ansi_normal(void) {
        return colors_enabled() ? ANSI_NORMAL : "";
}

static inline void json_object_putp(json_object **o) {
        if (*o)
                json_object_put(*o);
}

/* Adds value to o under key, taking ownership of value also on failure. A
 * NULL value (a failed json_object_new_*()) fails with -ENOMEM. */
int json_add(json_object *o, const char *key, json_object *value);

/* Prints a JSON value and a newline to stdout: indented on a terminal unless
 * one_line, one line otherwise. Flushes, so that `watch` output reaches a
 * pipe at once. */
int json_print(json_object *o, bool one_line);
