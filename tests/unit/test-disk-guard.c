/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The disk guard's planner (issue 9): which files MinFreeSpace= and
 * MaxDiskUsage= delete, from plain figures, without a file system. */
#include <glib.h>

#include "disk-guard.h"

#define MB UINT64_C(1000000)

static void assert_victim(const DiskGuardPlan *p, size_t k, const DiskGuardInput *in, const char *name,
                          bool pending_upload) {
        const DiskGuardVictim *v;

        g_assert_cmpuint(k, <, p->n_victims);
        v = &p->victims[k];
        g_assert_cmpstr(in->captures[v->capture].files[v->file].name, ==, name);
        g_assert_cmpint(v->pending_upload, ==, pending_upload);
}

static void test_within_limits(void) {
        DiskGuardFile a[] = { { "a1", 10 * MB, 1 }, { "a2", 10 * MB, 2 } };
        DiskGuardCapture c[] = { { a, G_N_ELEMENTS(a) } };
        DiskGuardInput in = {
                .filesystem_size = 1000 * MB, .free = 500 * MB,
                .min_free_space = { 100 * MB }, .max_disk_usage = { 0 },
                .captures = c, .n_captures = G_N_ELEMENTS(c),
        };
        DiskGuardPlan p = {};

        g_assert_cmpint(disk_guard_plan(&in, &p), ==, 0);
        g_assert_cmpuint(p.n_victims, ==, 0);
        g_assert_false(p.low);
        g_assert_cmpuint(p.free, ==, 500 * MB);
        g_assert_cmpuint(p.needed, ==, 100 * MB);
        disk_guard_plan_done(&p);
}

/* MinFreeSpace= as a percentage: the oldest files of all captures go
 * first, interleaved by age, until enough is free, and no more. */
static void test_min_free_space_oldest_first(void) {
        DiskGuardFile a[] = { { "a1", 10 * MB, 100 }, { "a2", 10 * MB, 300 }, { "a3", 10 * MB, 500 } };
        DiskGuardFile b[] = { { "b1", 10 * MB, 200 }, { "b2", 10 * MB, 400 } };
        DiskGuardCapture c[] = { { a, G_N_ELEMENTS(a) }, { b, G_N_ELEMENTS(b) } };
        DiskGuardInput in = {
                .filesystem_size = 1000 * MB, .free = 75 * MB,
                .min_free_space = { 10, true },   /* 100 MB */
                .captures = c, .n_captures = G_N_ELEMENTS(c),
        };
        DiskGuardPlan p = {};

        g_assert_cmpint(disk_guard_plan(&in, &p), ==, 0);
        g_assert_cmpuint(p.n_victims, ==, 3);
        assert_victim(&p, 0, &in, "a1", false);
        assert_victim(&p, 1, &in, "b1", false);
        assert_victim(&p, 2, &in, "a2", false);
        g_assert_false(p.low);
        g_assert_cmpuint(p.free, ==, 105 * MB);
        g_assert_cmpuint(p.needed, ==, 100 * MB);
        disk_guard_plan_done(&p);
}

/* MaxDiskUsage= counts finished and live files of every capture. */
static void test_max_disk_usage(void) {
        DiskGuardFile a[] = { { "a1", 30 * MB, 1 }, { "a2", 30 * MB, 3 } };
        DiskGuardFile b[] = { { "b1", 30 * MB, 2 } };
        DiskGuardCapture c[] = {
                { a, G_N_ELEMENTS(a), .live_size = 5 * MB },
                { b, G_N_ELEMENTS(b) },
        };
        DiskGuardInput in = {
                .filesystem_size = 10000 * MB, .free = 5000 * MB,
                .max_disk_usage = { 50 * MB },    /* 95 MB used */
                .captures = c, .n_captures = G_N_ELEMENTS(c),
        };
        DiskGuardPlan p = {};

        g_assert_cmpint(disk_guard_plan(&in, &p), ==, 0);
        g_assert_cmpuint(p.n_victims, ==, 2);
        assert_victim(&p, 0, &in, "a1", false);
        assert_victim(&p, 1, &in, "b1", false);
        g_assert_false(p.low);
        disk_guard_plan_done(&p);
}

/* A running capture's live file may still grow to FileSize: that room is
 * made now (tcpdump says nothing on a full disk). A stopped capture's
 * live file reserves nothing. */
static void test_live_file_reservation(void) {
        DiskGuardFile a[] = { { "a1", 10 * MB, 1 }, { "a2", 10 * MB, 2 }, { "a3", 10 * MB, 3 } };
        DiskGuardCapture c[] = { { a, G_N_ELEMENTS(a), .live_size = 4 * MB, .file_size = 20 * MB } };
        DiskGuardInput in = {
                .filesystem_size = 1000 * MB, .free = 100 * MB,
                .min_free_space = { 90 * MB },
                .captures = c, .n_captures = G_N_ELEMENTS(c),
        };
        DiskGuardPlan p = {};

        /* Not reserving: 100 MB free of 90 MB needed. */
        g_assert_cmpint(disk_guard_plan(&in, &p), ==, 0);
        g_assert_cmpuint(p.n_victims, ==, 0);
        g_assert_cmpuint(p.needed, ==, 90 * MB);
        disk_guard_plan_done(&p);

        /* Running: 16 MB more to come, so 106 MB needed. */
        c[0].reserve = true;
        g_assert_cmpint(disk_guard_plan(&in, &p), ==, 0);
        g_assert_cmpuint(p.n_victims, ==, 1);
        assert_victim(&p, 0, &in, "a1", false);
        g_assert_cmpuint(p.needed, ==, 106 * MB);
        g_assert_cmpuint(p.free, ==, 110 * MB);
        g_assert_false(p.low);
        disk_guard_plan_done(&p);

        /* The reserve counts against MaxDiskUsage= too: 34 MB used + 16 MB to come. */
        in.min_free_space = (SpaceLimit) {};
        in.max_disk_usage = (SpaceLimit) { 45 * MB };
        g_assert_cmpint(disk_guard_plan(&in, &p), ==, 0);
        g_assert_cmpuint(p.n_victims, ==, 1);
        assert_victim(&p, 0, &in, "a1", false);
        disk_guard_plan_done(&p);
}

/* Files still waiting for their upload go only when nothing else is left,
 * and the plan says their upload is dropped; files whose hooks run never go. */
static void test_pending_uploads_and_busy(void) {
        DiskGuardFile a[] = {
                { "a1", 10 * MB, 1, .pending_upload = true },
                { "a2", 10 * MB, 2, .busy = true },
                { "a3", 10 * MB, 4 },
        };
        DiskGuardFile b[] = { { "b1", 10 * MB, 3, .pending_upload = true } };
        DiskGuardCapture c[] = { { a, G_N_ELEMENTS(a) }, { b, G_N_ELEMENTS(b) } };
        DiskGuardInput in = {
                .filesystem_size = 1000 * MB, .free = 0,
                .min_free_space = { 25 * MB },
                .captures = c, .n_captures = G_N_ELEMENTS(c),
        };
        DiskGuardPlan p = {};

        g_assert_cmpint(disk_guard_plan(&in, &p), ==, 0);
        g_assert_cmpuint(p.n_victims, ==, 3);
        assert_victim(&p, 0, &in, "a3", false);
        assert_victim(&p, 1, &in, "a1", true);
        assert_victim(&p, 2, &in, "b1", true);
        g_assert_false(p.low);
        disk_guard_plan_done(&p);

        /* The manager looks pending uploads up only when something must go:
         * they change the order, never how many go. */
        a[0].pending_upload = b[0].pending_upload = false;
        g_assert_cmpint(disk_guard_plan(&in, &p), ==, 0);
        g_assert_cmpuint(p.n_victims, ==, 3);
        assert_victim(&p, 0, &in, "a1", false);
        disk_guard_plan_done(&p);
        a[0].pending_upload = b[0].pending_upload = true;

        /* More than all of them free: everything but the busy file goes, and the limits still fail. */
        in.min_free_space = (SpaceLimit) { 50 * MB };
        g_assert_cmpint(disk_guard_plan(&in, &p), ==, 0);
        g_assert_cmpuint(p.n_victims, ==, 3);
        g_assert_true(p.low);
        g_assert_cmpuint(p.free, ==, 30 * MB);
        g_assert_cmpuint(p.needed, ==, 50 * MB);
        disk_guard_plan_done(&p);
}

static void test_nothing_to_delete(void) {
        DiskGuardCapture c[] = { { NULL, 0, .live_size = 1 * MB, .file_size = 10 * MB, .reserve = true } };
        DiskGuardInput in = {
                .filesystem_size = 100 * MB, .free = 5 * MB,
                .min_free_space = { 5, true },
                .captures = c, .n_captures = G_N_ELEMENTS(c),
        };
        DiskGuardPlan p = {};

        g_assert_cmpint(disk_guard_plan(&in, &p), ==, 0);
        g_assert_cmpuint(p.n_victims, ==, 0);
        g_assert_true(p.low);
        g_assert_cmpuint(p.needed, ==, 14 * MB);
        disk_guard_plan_done(&p);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/disk-guard/within-limits", test_within_limits);
        g_test_add_func("/disk-guard/min-free-space-oldest-first", test_min_free_space_oldest_first);
        g_test_add_func("/disk-guard/max-disk-usage", test_max_disk_usage);
        g_test_add_func("/disk-guard/live-file-reservation", test_live_file_reservation);
        g_test_add_func("/disk-guard/pending-uploads-and-busy", test_pending_uploads_and_busy);
        g_test_add_func("/disk-guard/nothing-to-delete", test_nothing_to_delete);
        return g_test_run();
}
