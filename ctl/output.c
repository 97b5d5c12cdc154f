/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"

_printf_(1, 0)
static void log_errorv(const char *format, va_list ap) {
        /* Whatever went to stdout so far goes first, so that the error line follows it. */
        _cleanup_(freep) char *message = NULL;

        fflush(stdout);
        fputs("capturectl: ", stderr);
        if (vasprintf(&message, format, ap) < 0) {
                fputs("out of memory\n", stderr);
                return;
        }
        /* One line, whatever a name (or the daemon's error that echoes it)
         * holds: control characters are written as \xNN. */
        for (const char *p = message; *p; p++) {
                unsigned char c = (unsigned char) *p;

                if (c < 0x20 || c == 0x7f)
                        fprintf(stderr, "\\x%02x", c);
                else
                        fputc(c, stderr);
        }
        fputc('\n', stderr);
}

void log_error(const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        log_errorv(format, ap);
        va_end(ap);
}

int log_error_errno(int r, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        log_errorv(format, ap);
        va_end(ap);
        return r < 0 ? r : -EIO;
}

bool on_tty(void) {
        static int cached = -1;

        if (cached < 0)
                cached = isatty(STDOUT_FILENO) > 0;
        return cached;
}

bool colors_enabled(void) {
        static int cached = -1;

        if (cached < 0) {
                const char *term = getenv("TERM");

                cached = on_tty() && !getenv("NO_COLOR") && term && strcmp(term, "dumb") != 0;
        }
        return cached;
}

typedef enum StateClass {
        STATE_CLASS_NONE,
        STATE_CLASS_GOOD,
        STATE_CLASS_TRANSIENT,
        STATE_CLASS_BAD,
} StateClass;

static StateClass state_class(const char *state) {
        static const char *const transient[] = { "starting", "restarting", "waiting", "stopping" };

        if (!state)
                return STATE_CLASS_NONE;
        if (strcmp(state, "running") == 0)
                return STATE_CLASS_GOOD;
        if (strcmp(state, "failed") == 0)
                return STATE_CLASS_BAD;
        for (size_t i = 0; i < ELEMENTSOF(transient); i++)
                if (strcmp(state, transient[i]) == 0)
                        return STATE_CLASS_TRANSIENT;
        return STATE_CLASS_NONE;
}

const char *capture_state_color(const char *state) {
        static const char *const colors[] = {
                [STATE_CLASS_NONE] = NULL,
                [STATE_CLASS_GOOD] = ANSI_GREEN,
                [STATE_CLASS_TRANSIENT] = ANSI_YELLOW,
                [STATE_CLASS_BAD] = ANSI_RED,
        };

        return colors[state_class(state)];
}

const char *capture_state_highlight(const char *state) {
        static const char *const colors[] = {
                [STATE_CLASS_NONE] = ANSI_HIGHLIGHT,
                [STATE_CLASS_GOOD] = ANSI_HIGHLIGHT_GREEN,
                [STATE_CLASS_TRANSIENT] = ANSI_HIGHLIGHT_YELLOW,
                [STATE_CLASS_BAD] = ANSI_HIGHLIGHT_RED,
        };

        return colors_enabled() ? colors[state_class(state)] : "";
}

const char *capture_state_dot(const char *state) {
        /* As systemctl: a hollow dot for a capture that does nothing. */
        return state && strcmp(state, "stopped") == 0 ? "○" : "●";
}

int json_add(json_object *o, const char *key, json_object *value) {
        if (!value)
                return -ENOMEM;
        if (json_object_object_add(o, key, value) < 0) {
                json_object_put(value);
                return -ENOMEM;
        }
        return 0;
}

int json_print(json_object *o, bool one_line) {
        int flags = JSON_C_TO_STRING_NOSLASHESCAPE;
        const char *s;

        flags |= !one_line && on_tty() ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN;

        s = json_object_to_json_string_ext(o, flags);
        if (!s)
                return -ENOMEM;

        fputs(s, stdout);
        fputc('\n', stdout);
        return fflush(stdout) == 0 ? 0 : negative_errno();
}
