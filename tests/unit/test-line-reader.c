/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <string.h>
#include <unistd.h>

#include "line-reader.h"

static void collect(const char *line, void *userdata) {
        g_ptr_array_add(userdata, g_strdup(line));
}

static void assert_lines(GPtrArray *got, const char *const *want) {
        guint n = 0;

        for (; want[n]; n++) {
                g_assert_cmpuint(n, <, got->len);
                g_assert_cmpstr(g_ptr_array_index(got, n), ==, want[n]);
        }
        g_assert_cmpuint(got->len, ==, n);
}

/* Lines arrive in pieces that do not follow line ends. */
static void test_feed_splits_lines(void) {
        g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func(g_free);
        LineReader r = {};

        line_reader_feed(&r, "listening on ", 13, collect, got);
        g_assert_cmpuint(got->len, ==, 0);
        line_reader_feed(&r, "veth0\nfirst\n\nsec", 16, collect, got);
        line_reader_feed(&r, "ond\nlast, no newline", 20, collect, got);
        assert_lines(got, (const char *const[]) { "listening on veth0", "first", "", "second", NULL });

        line_reader_flush(&r, collect, got);
        assert_lines(got, (const char *const[]) { "listening on veth0", "first", "", "second",
                                                  "last, no newline", NULL });
        /* Nothing left: flushing again hands on nothing. */
        line_reader_flush(&r, collect, got);
        g_assert_cmpuint(got->len, ==, 5);
}

static void test_feed_long_line_in_pieces(void) {
        g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func(g_free);
        g_autofree char *line = g_strnfill(LINE_READER_MAX + 100, 'x');
        g_autofree char *text = g_strconcat(line, "\nshort\n", NULL);
        LineReader r = {};

        line_reader_feed(&r, text, strlen(text), collect, got);
        g_assert_cmpuint(got->len, ==, 3);
        g_assert_cmpuint(strlen(g_ptr_array_index(got, 0)), ==, LINE_READER_MAX - 1);
        g_assert_cmpuint(strlen(g_ptr_array_index(got, 1)), ==, 101);
        g_assert_cmpstr(g_ptr_array_index(got, 2), ==, "short");
}

typedef struct Nested {
        LineReader reader;
        GPtrArray *got;
} Nested;

/* Like capture.c's statistics wait: a line's handler reads into the same
 * reader again. */
static void collect_and_feed(const char *line, void *userdata) {
        Nested *n = userdata;

        g_ptr_array_add(n->got, g_strdup(line));
        if (g_str_equal(line, "first"))
                line_reader_feed(&n->reader, "nested\n", 7, collect_and_feed, n);
}

static void test_handler_may_read_again(void) {
        g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func(g_free);
        Nested n = { .got = got };

        line_reader_feed(&n.reader, "first\nsecond\nthird\n", 19, collect_and_feed, &n);
        /* Each line once, in order: what the handler read comes after what was there. */
        assert_lines(got, (const char *const[]) { "first", "second", "third", "nested", NULL });
        g_assert_cmpuint(n.reader.length, ==, 0);
}

/* From a non-blocking pipe, as the daemon reads its children. */
static void test_read_pipe(void) {
        g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func(g_free);
        LineReader r = {};
        int fds[2];

        g_assert_cmpint(pipe2(fds, O_NONBLOCK | O_CLOEXEC), ==, 0);
        g_assert_cmpint(write(fds[1], "a\nb", 3), ==, 3);
        g_assert_cmpint(line_reader_read(&r, fds[0], collect, got), ==, 1);
        assert_lines(got, (const char *const[]) { "a", NULL });
        g_assert_cmpint(line_reader_read(&r, fds[0], collect, got), ==, -EAGAIN);

        g_assert_cmpint(write(fds[1], "c\nd", 3), ==, 3);
        close(fds[1]);
        g_assert_cmpint(line_reader_read(&r, fds[0], collect, got), ==, 1);
        assert_lines(got, (const char *const[]) { "a", "bc", NULL });
        g_assert_cmpint(line_reader_read(&r, fds[0], collect, got), ==, 0);   /* end of file */
        line_reader_flush(&r, collect, got);
        assert_lines(got, (const char *const[]) { "a", "bc", "d", NULL });

        /* A read error is returned as such. */
        close(fds[0]);
        g_assert_cmpint(line_reader_read(&r, fds[0], collect, got), ==, -EBADF);
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/line-reader/feed-splits-lines", test_feed_splits_lines);
        g_test_add_func("/line-reader/long-line-in-pieces", test_feed_long_line_in_pieces);
        g_test_add_func("/line-reader/handler-may-read-again", test_handler_may_read_again);
        g_test_add_func("/line-reader/read-pipe", test_read_pipe);
        return g_test_run();
}
