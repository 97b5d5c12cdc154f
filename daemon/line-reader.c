/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "line-reader.h"

/* Takes the first line out of the buffer before handing it on, so that a
 * handler may read into the same reader again (tcpdump's statistics
 * answer is waited for from inside a line's handler). */
static void split_lines(LineReader *r, LineHandler handler, void *userdata) {
        char line[LINE_READER_MAX], *newline;

        while ((newline = memchr(r->buffer, '\n', r->length))) {
                size_t n = (size_t) (newline - r->buffer);

                memcpy(line, r->buffer, n);
                line[n] = 0;
                r->length -= n + 1;
                memmove(r->buffer, newline + 1, r->length);
                handler(line, userdata);
        }

        /* A line longer than the buffer: take it as it is. */
        if (r->length == sizeof(r->buffer) - 1)
                line_reader_flush(r, handler, userdata);
}

void line_reader_feed(LineReader *r, const char *data, size_t size, LineHandler handler, void *userdata) {
        while (size > 0) {
                size_t n = sizeof(r->buffer) - 1 - r->length;

                if (n > size)
                        n = size;
                memcpy(r->buffer + r->length, data, n);
                r->length += n;
                data += n;
                size -= n;
                split_lines(r, handler, userdata);
        }
}

int line_reader_read(LineReader *r, int fd, LineHandler handler, void *userdata) {
        ssize_t n;

        do
                n = read(fd, r->buffer + r->length, sizeof(r->buffer) - 1 - r->length);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if (n == 0)
                return 0;
        r->length += (size_t) n;
        split_lines(r, handler, userdata);
        return 1;
}

void line_reader_flush(LineReader *r, LineHandler handler, void *userdata) {
        char line[LINE_READER_MAX];

        if (r->length == 0)
                return;
        memcpy(line, r->buffer, r->length);
        line[r->length] = 0;
        r->length = 0;
        handler(line, userdata);
}
