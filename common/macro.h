/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

static inline void freep(void *p) {
        free(*(void **) p);
}

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

/* Hands ownership of a pointer or fd to the caller: `*out = TAKE_PTR(p);`. */
#define TAKE_PTR(p)                             \
        ({                                      \
                __typeof__(p) _taken = (p);     \
                (p) = NULL;                     \
                _taken;                         \
        })

#define TAKE_FD(fd)                             \
        ({                                      \
                int _taken = (fd);              \
                (fd) = -EBADF;                  \
                _taken;                         \
        })

#define DEFINE_POINTER_CLEANUP(type, func)              \
        static inline void func##p(type **p) {          \
                if (*p)                                 \
                        *p = func(*p);                  \
        }

static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

static inline const char *strempty(const char *s) {
        return s ? s : "";
}

static inline int free_and_strdup(char **p, const char *s) {
        char *copy = NULL;

        if (s) {
                copy = strdup(s);
                if (!copy)
                        return -ENOMEM;
        }
        free(*p);
        *p = copy;
        return 0;
}

static inline bool isempty(const char *s) {
        return !s || s[0] == '\0';
}

static inline int streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}

static inline char *mfree_str(char *p) {
        free(p);
        return NULL;
}
