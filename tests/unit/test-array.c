/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <stdint.h>

#include "array.h"

typedef struct Pair {
        int a, b;
} Pair;

static void test_grow_exact(void) {
        g_autofree Pair *pairs = NULL;

        /* Room for exactly what is asked, keeping what was there. */
        for (size_t n = 0; n < 100; n++) {
                g_assert_cmpint(ARRAY_GROW(pairs, NULL, n + 1), ==, 0);
                g_assert_nonnull(pairs);
                pairs[n] = (Pair) { .a = (int) n, .b = -(int) n };
        }
        for (size_t n = 0; n < 100; n++) {
                g_assert_cmpint(pairs[n].a, ==, (int) n);
                g_assert_cmpint(pairs[n].b, ==, -(int) n);
        }
}

static void test_grow_geometric(void) {
        g_autofree int *v = NULL;
        size_t allocated = 0, reallocations = 0;
        int *before = NULL;

        for (size_t n = 0; n < 1000; n++) {
                size_t had = allocated;

                g_assert_cmpint(ARRAY_GROW(v, &allocated, n + 1), ==, 0);
                g_assert_cmpuint(allocated, >=, n + 1);
                if (allocated != had)
                        reallocations++;
                else
                        g_assert_true(v == before);   /* enough room: untouched */
                before = v;
                v[n] = (int) n;
        }
        for (size_t n = 0; n < 1000; n++)
                g_assert_cmpint(v[n], ==, (int) n);
        /* Doubling: about log2(1000) reallocations, not 1000. */
        g_assert_cmpuint(reallocations, <=, 10);
}

static void test_grow_overflow(void) {
        g_autofree Pair *pairs = NULL;
        size_t allocated = 0;

        g_assert_cmpint(ARRAY_GROW(pairs, NULL, 4), ==, 0);
        pairs[3].a = 42;
        /* n * size overflows: refused, the array is as it was. */
        g_assert_cmpint(ARRAY_GROW(pairs, NULL, SIZE_MAX / 2), ==, -ENOMEM);
        g_assert_cmpint(ARRAY_GROW(pairs, &allocated, SIZE_MAX / 4), ==, -ENOMEM);
        g_assert_cmpuint(allocated, ==, 0);
        g_assert_nonnull(pairs);
        g_assert_cmpint(pairs[3].a, ==, 42);
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/array/grow-exact", test_grow_exact);
        g_test_add_func("/array/grow-geometric", test_grow_geometric);
        g_test_add_func("/array/grow-overflow", test_grow_overflow);
        return g_test_run();
}
