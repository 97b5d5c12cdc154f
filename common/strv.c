/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "strv.h"

size_t strv_length(char *const *v) {
        size_t n = 0;

        while (v && v[n])
                n++;
        return n;
}

bool strv_contains(char *const *v, const char *s) {
        for (size_t i = 0; v && v[i]; i++)
                if (strcmp(v[i], s) == 0)
                        return true;
        return false;
}

void strv_free(char **v) {
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

char **strv_copy(char *const *v) {
        size_t n = strv_length(v);
        char **copy = calloc(n + 1, sizeof(char *));

        if (!copy)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (!(copy[i] = strdup(v[i]))) {
                        strv_free(copy);
                        return NULL;
                }
        return copy;
}

void strvv_free(char ***vv) {
        for (size_t i = 0; vv && vv[i]; i++)
                strv_free(vv[i]);
        free(vv);
}

char ***strvv_copy(char **const *vv) {
        size_t n = 0;
        char ***copy;

        while (vv && vv[n])
                n++;
        copy = calloc(n + 1, sizeof(char **));
        if (!copy)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (!(copy[i] = strv_copy(vv[i]))) {
                        strvv_free(copy);
                        return NULL;
                }
        return copy;
}

int strvv_push(char ****vv, char **v) {
        size_t n = 0;

        while (*vv && (*vv)[n])
                n++;
        if (ARRAY_GROW(*vv, NULL, n + 2) < 0)
                return -ENOMEM;
        (*vv)[n] = v;
        (*vv)[n + 1] = NULL;
        return 0;
}
