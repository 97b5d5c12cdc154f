/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sys/stat.h>

#include "fileio.h"
#include "test-dir.h"

static guint count_entries(const char *dir) {
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        guint n = 0;

        g_assert_nonnull(d);
        while (g_dir_read_name(d))
                n++;
        return n;
}

static void test_write_creates_with_mode(void) {
        g_autofree char *dir = test_dir_new("test-fileio-XXXXXX");
        g_autofree char *path = g_build_filename(dir, "state.json", NULL);
        g_autofree char *contents = NULL;
        struct stat st;

        g_assert_cmpint(write_file_atomic(path, "hello\n", 6, 0600), ==, 0);
        g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
        g_assert_cmpstr(contents, ==, "hello\n");
        g_assert_cmpint(stat(path, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 07777, ==, 0600);
        g_assert_cmpuint(count_entries(dir), ==, 1);   /* no temporary left */

        test_dir_remove(g_steal_pointer(&dir));
}

static void test_write_replaces(void) {
        g_autofree char *dir = test_dir_new("test-fileio-XXXXXX");
        g_autofree char *path = g_build_filename(dir, "eth0.conf", NULL);
        g_autofree char *contents = NULL;
        struct stat st;
        ino_t before;

        test_dir_write(dir, "eth0.conf", "old contents, longer than the new\n", 0600);
        g_assert_cmpint(stat(path, &st), ==, 0);
        before = st.st_ino;

        g_assert_cmpint(write_file_atomic(path, "new\n", 4, 0644), ==, 0);
        g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
        g_assert_cmpstr(contents, ==, "new\n");
        g_assert_cmpint(stat(path, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 07777, ==, 0644);
        /* A new file renamed over the old one, not the old one rewritten in place. */
        g_assert_cmpuint(st.st_ino, !=, before);
        g_assert_cmpuint(count_entries(dir), ==, 1);

        test_dir_remove(g_steal_pointer(&dir));
}

static void test_write_failure_leaves_old_file(void) {
        g_autofree char *dir = test_dir_new("test-fileio-XXXXXX");
        g_autofree char *path = g_build_filename(dir, "target", NULL);
        g_autofree char *inside = g_build_filename(path, "x", NULL);
        g_autofree char *missing = g_build_filename(dir, "no-such-dir", "file", NULL);

        /* Renaming a file over a non-empty directory fails: nothing changes
         * and the temporary is removed. */
        test_dir_write(dir, "target/x", "keep", 0600);
        g_assert_cmpint(write_file_atomic(path, "data", 4, 0600), <, 0);
        g_assert_true(g_file_test(inside, G_FILE_TEST_IS_REGULAR));
        g_assert_cmpuint(count_entries(dir), ==, 1);

        g_assert_cmpint(write_file_atomic(missing, "data", 4, 0600), ==, -ENOENT);

        test_dir_remove(g_steal_pointer(&dir));
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/fileio/write-creates-with-mode", test_write_creates_with_mode);
        g_test_add_func("/fileio/write-replaces", test_write_replaces);
        g_test_add_func("/fileio/write-failure-leaves-old-file", test_write_failure_leaves_old_file);
        return g_test_run();
}
