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
#include "time-util.h"

static int max_level = LOG_INFO;

void log_set_max_level(int level) {
        max_level = level;
}

/* The build's file names are relative to the build directory
 * ("../daemon/capture.c"); the journal gets them from the source root. */
static const char *source_relative(const char *path) {
        while (strncmp(path, "../", 3) == 0)
                path += 3;
        return path;
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
        fprintf(stderr, "%s.%03ld %s%s\n", when, (long) ((uint64_t) ts.tv_nsec / NSEC_PER_MSEC),
                priority <= LOG_ERR ? "error: " : priority == LOG_WARNING ? "warning: " : "", message);
}

static void send_to_journal(int priority, int error, const LogFields *fields, const char *code_file,
                            int code_line, const char *code_func, const char *message) {
        char priority_field[16], errno_field[32], line_field[32];
        _cleanup_(freep) char *message_field = NULL, *interface = NULL, *file = NULL, *target = NULL,
                *file_field = NULL, *message_id = NULL;
        struct iovec iov[9];
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
        if (fields && fields->message_id && asprintf(&message_id, "MESSAGE_ID=%s", fields->message_id) >= 0)
                iov[n++] = (struct iovec) { message_id, strlen(message_id) };

        /* The caller's location, not this function's (sd_journal_sendv()
         * would record its own). */
        if (asprintf(&file_field, "CODE_FILE=%s", source_relative(code_file)) < 0)
                return;
        snprintf(line_field, sizeof(line_field), "CODE_LINE=%d", code_line);
        if (sd_journal_sendv_with_location(file_field, line_field, code_func, iov, (int) n) < 0)
                print_to_stderr(priority, message);
}

int log_internal(int priority, int error, const LogFields *fields, const char *code_file, int code_line,
                 const char *code_func, const char *format, ...) {
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
                        send_to_journal(priority, error, fields, code_file, code_line, code_func, buffer);
                else
                        print_to_stderr(priority, buffer);
        }

        errno = saved_errno;
        return -error;
}
