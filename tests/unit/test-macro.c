/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <glib.h>

#include "macro.h"

static void test_closedirp_closes(void) {
        int fd;

        {
                _cleanup_(closedirp) DIR *d = opendir("/");

                g_assert_nonnull(d);
                fd = dirfd(d);
                g_assert_cmpint(fcntl(fd, F_GETFD), >=, 0);
        }
        /* Leaving the scope closed the directory (and its descriptor). */
        g_assert_cmpint(fcntl(fd, F_GETFD), ==, -1);
        g_assert_cmpint(errno, ==, EBADF);

        {
                _cleanup_(closedirp) _unused_ DIR *none = NULL;   /* NULL is fine */
        }
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/macro/closedirp", test_closedirp_closes);
        return g_test_run();
}
