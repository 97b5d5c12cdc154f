/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int max_level = LOG_INFO;

void log_set_max_level(int level) {
        max_level = level;
}

/* Whether stderr is the journal (systemd sets $JOURNAL_STREAM to its
 * device:inode), as systemd's own log code decides. */
static bool stderr_is_journal(void) {
        static int cached = -1;
        unsigned long long device, inode;
        const char *e;
        struct stat st;

        if (cached >= 0)
                return cached;

        cached = 0;
        e = getenv("JOURNAL_STREAM");
        if (e && sscanf(e, "%llu:%llu", &device, &inode) == 2 && fstat(STDERR_FILENO, &st) == 0)
                cached = (unsigned long long) st.st_dev == device && (unsigned long long) st.st_ino == inode;
        return cached;
}

/* Outside the journal (a terminal, a file): a local timestamp first, and
 * the level only where it matters, for a reader rather than a collector. */
static void print_to_stderr(int priority, const char *message) {
        struct timespec ts = {};
        struct tm tm;
        char when[32] = "";

        if (clock_gettime(CLOCK_REALTIME, &ts) == 0 && localtime_r(&ts.tv_sec, &tm))
                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
        fprintf(stderr, "%s.%03ld %s%s\n", when, ts.tv_nsec / 1000000L,
                priority <= LOG_ERR ? "error: " : priority == LOG_WARNING ? "warning: " : "", message);
}

static void send_to_journal(int priority, int error, const LogFields *fields, const char *message) {
        char priority_field[16], errno_field[32];
        _cleanup_(freep) char *message_field = NULL, *interface = NULL, *file = NULL, *target = NULL;
        struct iovec iov[8];
        size_t n = 0;

        if (asprintf(&message_field, "MESSAGE=%s", message) < 0)
                return;
        iov[n++] = (struct iovec) { message_field, strlen(message_field) };
        snprintf(priority_field, sizeof(priority_field), "PRIORITY=%d", priority);
        iov[n++] = (struct iovec) { priority_field, strlen(priority_field) };
        iov[n++] = (struct iovec) { (char *) "SYSLOG_IDENTIFIER=captured", strlen("SYSLOG_IDENTIFIER=captured") };
        if (error > 0) {
                snprintf(errno_field, sizeof(errno_field), "ERRNO=%d", error);
                iov[n++] = (struct iovec) { errno_field, strlen(errno_field) };
        }
        if (fields && fields->interface && asprintf(&interface, "CAPTURE_INTERFACE=%s", fields->interface) >= 0)
                iov[n++] = (struct iovec) { interface, strlen(interface) };
        if (fields && fields->file && asprintf(&file, "CAPTURE_FILE=%s", fields->file) >= 0)
                iov[n++] = (struct iovec) { file, strlen(file) };
        if (fields && fields->target && asprintf(&target, "UPLOAD_TARGET=%s", fields->target) >= 0)
                iov[n++] = (struct iovec) { target, strlen(target) };

        if (sd_journal_sendv(iov, (int) n) < 0)
                print_to_stderr(priority, message);
}

int log_internal(int priority, int error, const LogFields *fields, const char *format, ...) {
        int saved_errno = errno;
        char buffer[2048];
        va_list ap;

        if (error < 0)
                error = -error;

        if (priority <= max_level) {
                errno = error;
                va_start(ap, format);
                vsnprintf(buffer, sizeof(buffer), format, ap);
                va_end(ap);

                if (stderr_is_journal())
                        send_to_journal(priority, error, fields, buffer);
                else
                        print_to_stderr(priority, buffer);
        }

        errno = saved_errno;
        return -error;
}
