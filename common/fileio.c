/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "macro.h"

static int write_all(int fd, const char *data, size_t size) {
        while (size > 0) {
                ssize_t n = write(fd, data, size);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                data += n;
                size -= (size_t) n;
        }
        return 0;
}

/* path's directory ("." for a bare name). */
static char *directory_of(const char *path) {
        const char *slash = strrchr(path, '/');

        if (!slash)
                return strdup(".");
        return strndup(path, slash == path ? 1 : (size_t) (slash - path));
}

int write_file_atomic(const char *path, const void *data, size_t size, mode_t mode) {
        _cleanup_(freep) char *dir = directory_of(path), *temp = NULL;
        _cleanup_(closep) int fd = -EBADF, dir_fd = -EBADF;
        const char *slash = strrchr(path, '/');
        int r;

        if (!dir || asprintf(&temp, "%s/.%s.XXXXXX", dir, slash ? slash + 1 : path) < 0)
                return -ENOMEM;

        fd = mkostemp(temp, O_CLOEXEC);
        if (fd < 0)
                return negative_errno();

        r = fchmod(fd, mode) < 0 ? negative_errno() : 0;
        if (r >= 0)
                r = write_all(fd, data, size);
        if (r >= 0 && fsync(fd) < 0)
                r = negative_errno();
        if (r >= 0 && rename(temp, path) < 0)
                r = negative_errno();
        if (r < 0) {
                (void) unlink(temp);
                return r;
        }

        /* Make the rename itself durable. */
        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0 || fsync(dir_fd) < 0)
                return negative_errno();
        return 0;
}
