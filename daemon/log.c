/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static int max_level = LOG_INFO;

void log_set_max_level(int level) {
        max_level = level;
}

int log_internal(int priority, int error, const char *format, ...) {
        int saved_errno = errno;
        char buffer[2048];
        va_list ap;

        if (error < 0)
                error = -error;

        if (priority <= max_level) {
                /* %m in the format means the error passed in, as in systemd. */
                errno = error;
                va_start(ap, format);
                vsnprintf(buffer, sizeof(buffer), format, ap);
                va_end(ap);
                fprintf(stderr, "<%d>%s\n", priority, buffer);
        }

        errno = saved_errno;
        return -error;
}
