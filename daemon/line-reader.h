/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* Splits a child's output (tcpdump's stderr, ExecPostRotate's stdout and
 * stderr) into lines, from a non-blocking pipe. A line longer than the
 * buffer is handed on in pieces of LINE_READER_MAX - 1 bytes. Lines are
 * handed on without their newline, and may be empty. */

#define LINE_READER_MAX 4096

typedef void (*LineHandler)(const char *line, void *userdata);

typedef struct LineReader {
        char buffer[LINE_READER_MAX];
        size_t length;
} LineReader;

static inline void line_reader_reset(LineReader *r) {
        r->length = 0;
}

/* Hands each complete line in data to handler, and keeps the rest. */
void line_reader_feed(LineReader *r, const char *data, size_t size, LineHandler handler, void *userdata);

/* Reads from fd once, handing each complete line to handler. Returns 1 if
 * it read something, 0 at end of file, or a negative errno (-EAGAIN: there
 * is nothing to read now). A handler may drop fd: callers that read until
 * -EAGAIN check that fd is still theirs before reading again. */
int line_reader_read(LineReader *r, int fd, LineHandler handler, void *userdata);

/* Hands on what is left, a last line without a newline, if any. */
void line_reader_flush(LineReader *r, LineHandler handler, void *userdata);
