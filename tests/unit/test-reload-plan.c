/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reload decisions (issue 9): which captures a reload restarts, starts or
 * leaves alone, from plain facts, without a bus or tcpdump. */
#include <glib.h>

#include "reload-plan.h"

/* SPEC §5: a running capture whose options did not change is not interrupted. */
static void test_running_unchanged_untouched(void) {
        g_assert_cmpint(reload_plan_capture(&(ReloadFacts) { .active = true, .enabled = true }), ==, 0);
        g_assert_cmpint(reload_plan_capture(&(ReloadFacts) { .active = true }), ==, 0);
}

static void test_running_changed_restarts(void) {
        g_assert_cmpint(reload_plan_capture(&(ReloadFacts) { .active = true, .options_changed = true }),
                        ==, RELOAD_TAKE_OPTIONS | RELOAD_RESTART);
        g_assert_cmpint(reload_plan_capture(&(ReloadFacts) { .active = true, .options_changed = true,
                                                             .enabled = true }),
                        ==, RELOAD_TAKE_OPTIONS | RELOAD_RESTART);
}

/* A stopped capture takes new options without a restart (a lower FileCount applies at once). */
static void test_idle_changed_takes_options(void) {
        g_assert_cmpint(reload_plan_capture(&(ReloadFacts) { .options_changed = true }), ==, RELOAD_TAKE_OPTIONS);
        g_assert_cmpint(reload_plan_capture(&(ReloadFacts) { .options_changed = true, .enabled = true }),
                        ==, RELOAD_TAKE_OPTIONS | RELOAD_START);
}

/* Enabled and idle (never started, stopped with the daemon, failed): it starts. */
static void test_enabled_idle_starts(void) {
        g_assert_cmpint(reload_plan_capture(&(ReloadFacts) { .enabled = true }), ==, RELOAD_START);
}

/* An operator's StopCapture stands, in this run of the daemon and across its restart. */
static void test_operator_stop_stands(void) {
        g_assert_cmpint(reload_plan_capture(&(ReloadFacts) { .enabled = true, .stopped_by_request = true }), ==, 0);
        g_assert_cmpint(reload_plan_capture(&(ReloadFacts) { .enabled = true, .stopped_since_boot = true }), ==, 0);
        g_assert_cmpint(reload_plan_capture(&(ReloadFacts) { .enabled = true, .stopped_by_request = true,
                                                             .options_changed = true }),
                        ==, RELOAD_TAKE_OPTIONS);
}

/* A reload never stops a capture, enabled or not. */
static void test_never_stops(void) {
        for (unsigned bits = 0; bits < 32; bits++) {
                ReloadFacts f = {
                        .active = bits & 1, .options_changed = bits & 2, .enabled = bits & 4,
                        .stopped_by_request = bits & 8, .stopped_since_boot = bits & 16,
                };
                ReloadAction a = reload_plan_capture(&f);

                /* Only a change of options touches a running capture, and then by a restart. */
                if (f.active)
                        g_assert_cmpint(a, ==, f.options_changed ? RELOAD_TAKE_OPTIONS | RELOAD_RESTART : 0);
                g_assert_false((a & RELOAD_RESTART) && !f.active);
        }
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/reload-plan/running-unchanged-untouched", test_running_unchanged_untouched);
        g_test_add_func("/reload-plan/running-changed-restarts", test_running_changed_restarts);
        g_test_add_func("/reload-plan/idle-changed-takes-options", test_idle_changed_takes_options);
        g_test_add_func("/reload-plan/enabled-idle-starts", test_enabled_idle_starts);
        g_test_add_func("/reload-plan/operator-stop-stands", test_operator_stop_stands);
        g_test_add_func("/reload-plan/never-stops", test_never_stops);
        return g_test_run();
}
