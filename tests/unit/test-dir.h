/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A scratch directory for tests that read files (configuration, upload.d). */

#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>

/* Writes dir/name (creating parents) with contents and mode. */
static inline void test_dir_write(const char *dir, const char *name, const char *contents, int mode) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_autofree char *parent = g_path_get_dirname(path);

        g_assert_cmpint(g_mkdir_with_parents(parent, 0755), ==, 0);
        g_assert_true(g_file_set_contents(path, contents, -1, NULL));
        g_assert_cmpint(g_chmod(path, mode), ==, 0);
}

static inline char *test_dir_new(const char *template) {
        char *dir = g_dir_make_tmp(template, NULL);

        g_assert_nonnull(dir);
        return dir;
}

/* Removes the directory and everything in it; frees dir. */
static inline void test_dir_remove(char *dir) {
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);

        g_assert_cmpint(system(cmd), ==, 0);
        g_free(dir);
}
