/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* NULL-terminated string vectors (argv), and vectors of them (a list of
 * command lines). The free functions accept NULL. */

size_t strv_length(char *const *v);
bool strv_contains(char *const *v, const char *s);
char **strv_copy(char *const *v);
void strv_free(char **v);
static inline void strv_freep(char ***v) {
        strv_free(*v);
}

char ***strvv_copy(char **const *vv);
void strvv_free(char ***vv);
/* Appends v (taking ownership) to *vv. */
int strvv_push(char ****vv, char **v);
