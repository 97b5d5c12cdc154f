/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

#include "table.h"

/* Prints t into a string. */
static char *table_to_string(const Table *t, bool colors) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        g_assert_nonnull(f);
        g_assert_cmpint(table_print(t, f, colors), ==, 0);
        g_assert_cmpint(fclose(f), ==, 0);
        return buf;
}

static Table *captures_table(void) {
        static const char *const headers[] = { "INTERFACE", "STATE", "PID" };
        Table *t = NULL;

        g_assert_cmpint(table_new(&t, headers, G_N_ELEMENTS(headers)), ==, 0);
        g_assert_cmpint(table_set_align(t, 2, TABLE_ALIGN_RIGHT), ==, 0);
        g_assert_cmpint(table_set_align(t, 3, TABLE_ALIGN_RIGHT), ==, -EINVAL);
        return t;
}

static void test_table_aligns(void) {
        _cleanup_(table_freep) Table *t = captures_table();
        _cleanup_(freep) char *text = NULL;

        g_assert_cmpuint(table_rows(t), ==, 0);
        g_assert_cmpint(table_add_cell(t, "eth0", NULL), ==, 0);
        g_assert_cmpint(table_add_cell(t, "running", "\x1B[0;32m"), ==, 0);
        g_assert_cmpint(table_add_cellf(t, NULL, "%d", 12345), ==, 0);
        g_assert_cmpint(table_add_cell(t, "enp0s31f6", NULL), ==, 0);
        g_assert_cmpint(table_add_cell(t, "stopped", NULL), ==, 0);
        g_assert_cmpint(table_add_cell(t, "-", NULL), ==, 0);
        g_assert_cmpuint(table_rows(t), ==, 2);

        text = table_to_string(t, false);
        g_assert_cmpstr(text, ==,
                        "INTERFACE  STATE      PID\n"
                        "eth0       running  12345\n"
                        "enp0s31f6  stopped      -\n");
}

static void test_table_colors_do_not_count(void) {
        _cleanup_(table_freep) Table *t = captures_table();
        _cleanup_(freep) char *text = NULL;

        g_assert_cmpint(table_add_cell(t, "lo", NULL), ==, 0);
        g_assert_cmpint(table_add_cell(t, "failed", "\x1B[0;31m"), ==, 0);
        g_assert_cmpint(table_add_cell(t, "1", NULL), ==, 0);

        text = table_to_string(t, true);
        g_assert_cmpstr(text, ==,
                        "INTERFACE  STATE   PID\n"
                        "lo         \x1B[0;31mfailed\x1B[0m    1\n");
}

static void test_table_no_trailing_blanks(void) {
        static const char *const headers[] = { "PATH", "DETAIL" };
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_(freep) char *text = NULL;

        g_assert_cmpint(table_new(&t, headers, G_N_ELEMENTS(headers)), ==, 0);
        g_assert_cmpint(table_add_cell(t, "/a/pcap-lo-1", NULL), ==, 0);
        g_assert_cmpint(table_add_cell(t, "", NULL), ==, 0);
        g_assert_cmpint(table_add_cell(t, "/a/pcap-lo-2", NULL), ==, 0);
        g_assert_cmpint(table_add_cell(t, "https://example.com/captures/1", NULL), ==, 0);

        text = table_to_string(t, false);
        g_assert_cmpstr(text, ==,
                        "PATH          DETAIL\n"
                        "/a/pcap-lo-1\n"
                        "/a/pcap-lo-2  https://example.com/captures/1\n");
}

static void test_table_utf8_width(void) {
        static const char *const headers[] = { "A", "B" };
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_(freep) char *text = NULL;

        g_assert_cmpint(table_new(&t, headers, G_N_ELEMENTS(headers)), ==, 0);
        g_assert_cmpint(table_add_cell(t, "ä×", NULL), ==, 0);
        g_assert_cmpint(table_add_cell(t, "x", NULL), ==, 0);

        text = table_to_string(t, false);
        g_assert_cmpstr(text, ==,
                        "A   B\n"
                        "ä×  x\n");
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/table/aligns", test_table_aligns);
        g_test_add_func("/table/colors-do-not-count", test_table_colors_do_not_count);
        g_test_add_func("/table/no-trailing-blanks", test_table_no_trailing_blanks);
        g_test_add_func("/table/utf8-width", test_table_utf8_width);
        return g_test_run();
}
