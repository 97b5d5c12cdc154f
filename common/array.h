/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* The one way an array grows: makes room for need elements of size in
 * *array. With allocated (how many *array has room for, kept by the caller)
 * it grows geometrically and updates *allocated; with NULL, to exactly need.
 * Returns 0, or -ENOMEM with *array unchanged (and still to be freed). */
static inline int array_grow(void **array, size_t *allocated, size_t need, size_t size) {
        size_t n = need;
        void *grown;

        if (allocated && need <= *allocated)
                return 0;
        if (size == 0 || need > SIZE_MAX / size)
                return -ENOMEM;
        if (allocated && need <= SIZE_MAX / size / 2)
                n = need * 2 > 8 ? need * 2 : 8;
        grown = reallocarray(*array, n, size);
        if (!grown && n > need)
                grown = reallocarray(*array, n = need, size);
        if (!grown)
                return -ENOMEM;
        *array = grown;
        if (allocated)
                *allocated = n;
        return 0;
}

/* ARRAY_GROW(c->replies, NULL, c->n_replies + 1): room for one more. */
#define ARRAY_GROW(array, allocated, need) \
        array_grow((void **) &(array), (allocated), (need), sizeof(*(array)))
