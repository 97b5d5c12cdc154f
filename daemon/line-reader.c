/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "line-reader.h"

static void split_lines(LineReader *r, LineHandler handler, void *userdata) {
        char *start = r->buffer, *newline;

        r->buffer[r->length] = 0;
        while ((newline = memchr(start, '\n', r->length - (size_t) (start - r->buffer)))) {
                *newline = 0;
                handler(start, userdata);
                start = newline + 1;
        }
        r->length -= (size_t) (start - r->buffer);
        memmove(r->buffer, start, r->length);

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

int line_reader_drain(LineReader *r, int fd, LineHandler handler, void *userdata) {
        for (;;) {
                ssize_t n = read(fd, r->buffer + r->length, sizeof(r->buffer) - 1 - r->length);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EAGAIN ? 1 : -errno;
                }
                if (n == 0)
                        return 0;
                r->length += (size_t) n;
                split_lines(r, handler, userdata);
        }
}

void line_reader_flush(LineReader *r, LineHandler handler, void *userdata) {
        if (r->length == 0)
                return;
        r->buffer[r->length] = 0;
        r->length = 0;
        handler(r->buffer, userdata);
}
