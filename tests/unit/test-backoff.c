/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <stdbool.h>

#include "backoff.h"
#include "time-util.h"

/* capture.c's restart backoff: 0.5 s doubling up to 30 s (captured(8)). */
static void test_backoff_doubles_up_to_max(void) {
        const uint64_t base = 500 * USEC_PER_MSEC, max = 30 * USEC_PER_SEC;

        g_assert_cmpuint(backoff_usec(base, max, 0), ==, base);
        g_assert_cmpuint(backoff_usec(base, max, 1), ==, base);
        g_assert_cmpuint(backoff_usec(base, max, 2), ==, 2 * base);
        g_assert_cmpuint(backoff_usec(base, max, 3), ==, 4 * base);
        g_assert_cmpuint(backoff_usec(base, max, 7), ==, max);
        g_assert_cmpuint(backoff_usec(base, max, 6), ==, 16 * USEC_PER_SEC);
        g_assert_cmpuint(backoff_usec(base, max, 1000000), ==, max);
        /* A base above the maximum is the maximum. */
        g_assert_cmpuint(backoff_usec(2 * max, max, 1), ==, max);
}

static void test_jitter_stays_in_range(void) {
        const uint64_t usec = 2 * USEC_PER_SEC;
        bool below = false, above = false;

        for (int i = 0; i < 2000; i++) {
                uint64_t both = jitter_usec(usec, 25, 25), up = jitter_usec(usec, 0, 25);

                g_assert_cmpuint(both, >=, usec / 4 * 3);
                g_assert_cmpuint(both, <=, usec / 4 * 5);
                g_assert_cmpuint(up, >=, usec);
                g_assert_cmpuint(up, <=, usec / 4 * 5);
                below = below || both < usec;
                above = above || up > usec;
        }
        /* It really spreads: 2000 draws all on one side are impossible in practice. */
        g_assert_true(below);
        g_assert_true(above);
        g_assert_cmpuint(jitter_usec(usec, 0, 0), ==, usec);
}

static void test_timespec_to_usec(void) {
        struct timespec ts = { .tv_sec = 1700000000, .tv_nsec = 123456789 };

        g_assert_cmpuint(timespec_to_usec(&ts), ==, UINT64_C(1700000000123456));
        g_assert_cmpuint(USEC_PER_MINUTE, ==, 60 * USEC_PER_SEC);
        g_assert_cmpuint(NSEC_PER_MSEC, ==, USEC_PER_MSEC * NSEC_PER_USEC);
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/backoff/doubles-up-to-max", test_backoff_doubles_up_to_max);
        g_test_add_func("/backoff/jitter-range", test_jitter_stays_in_range);
        g_test_add_func("/time-util/timespec-to-usec", test_timespec_to_usec);
        return g_test_run();
}
