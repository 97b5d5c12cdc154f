/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include <string.h>
#include <unistd.h>

#include "capture-files.h"
#include "pcap-file.h"
#include "test-dir.h"

/* Issue 8 §2: the live file's slot is reserved only while there is one. */
static void test_retention_keeps(void) {
        g_assert_cmpuint(retention_files_to_keep(3, true), ==, 2);
        g_assert_cmpuint(retention_files_to_keep(3, false), ==, 3);
        g_assert_cmpuint(retention_files_to_keep(1, true), ==, 0);
        g_assert_cmpuint(retention_files_to_keep(1, false), ==, 1);
        g_assert_cmpuint(retention_files_to_keep(0, true), ==, 0);
}

/* Issue 8 §3: a header without a packet is not a capture. */
static void test_holds_packets(void) {
        g_assert_false(capture_file_holds_packets(0));
        g_assert_false(capture_file_holds_packets(PCAP_GLOBAL_HEADER_SIZE));
        g_assert_true(capture_file_holds_packets(PCAP_GLOBAL_HEADER_SIZE + PCAP_RECORD_HEADER_SIZE));
}

/* Issue 8 §1: tcpdump's buffer may hold what was captured; beyond two
 * buffers of the smallest records, a file that did not grow is stalled. */
static void test_stopped_growing(void) {
        g_assert_false(capture_file_stopped_growing(0, 4096));
        g_assert_false(capture_file_stopped_growing(512, 4096));
        g_assert_true(capture_file_stopped_growing(513, 4096));
        g_assert_false(capture_file_stopped_growing(8192, 65536));
        g_assert_true(capture_file_stopped_growing(8193, 65536));
        /* No block size known: a page. */
        g_assert_true(capture_file_stopped_growing(513, 0));
}

/* Issue 9: the file ring, its callbacks and retention, without a manager,
 * a bus or tcpdump. */
typedef struct RingLog {
        GPtrArray *completed, *deleted;
        const char *pinned;       /* this name is pinned by its upload */
        bool retention_in_callback;
} RingLog;

static void ring_completed(FileRing *ring, const char *name, const char *path, uint64_t size, void *userdata) {
        RingLog *l = userdata;

        g_assert_true(g_str_has_suffix(path, name));
        g_assert_nonnull(file_index_find(ring, name));
        g_ptr_array_add(l->completed, g_strdup(name));
        /* The owner may change the ring from the callback (the manager
         * applies retention there): the ring must not care. */
        if (l->retention_in_callback)
                (void) file_ring_enforce_retention(ring, 2, true);
}

static void ring_deleted(FileRing *ring, const char *path, void *userdata) {
        RingLog *l = userdata;

        g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
        g_ptr_array_add(l->deleted, g_path_get_basename(path));
}

static bool ring_pinned(FileRing *ring, const char *path, void *userdata) {
        RingLog *l = userdata;

        return l->pinned && g_str_has_suffix(path, l->pinned);
}

static const FileRingOps ring_ops = {
        .completed = ring_completed,
        .deleted = ring_deleted,
        .pinned = ring_pinned,
};

static void ring_add(FileRing *ring, const char *dir, const char *name) {
        test_dir_write(dir, name, "x", 0640);
        g_assert_cmpint(file_ring_add(ring, name, 1, 0), ==, 0);
}

static void test_file_ring_retention(void) {
        char *dir = test_dir_new("test-file-ring-XXXXXX");
        RingLog l = { .completed = g_ptr_array_new_with_free_func(g_free),
                      .deleted = g_ptr_array_new_with_free_func(g_free) };
        FileRing ring;

        file_ring_init(&ring, dir, "eth0");
        file_ring_set_ops(&ring, &ring_ops, &l);

        /* Added in any order, kept oldest first; each one announced. */
        ring_add(&ring, dir, "pcap-eth0-3.pcap");
        ring_add(&ring, dir, "pcap-eth0-1.pcap");
        ring_add(&ring, dir, "pcap-eth0-2.pcap");
        ring_add(&ring, dir, "pcap-eth0-4.pcap");
        g_assert_cmpuint(l.completed->len, ==, 4);
        g_assert_cmpuint(ring.n, ==, 4);
        g_assert_cmpstr(ring.files[0].name, ==, "pcap-eth0-1.pcap");
        g_assert_cmpstr(ring.files[3].name, ==, "pcap-eth0-4.pcap");

        /* FileCount 3 while the live file takes a slot: two stay. The
         * oldest is pinned by its upload, the next held by a hook: those
         * stay, and the next oldest go in their place. */
        l.pinned = "pcap-eth0-1.pcap";
        file_ring_hold(&ring, "pcap-eth0-2.pcap");
        g_assert_cmpuint(file_ring_enforce_retention(&ring, 3, true), ==, 2);
        g_assert_cmpuint(l.deleted->len, ==, 2);
        g_assert_cmpstr(l.deleted->pdata[0], ==, "pcap-eth0-3.pcap");
        g_assert_cmpstr(l.deleted->pdata[1], ==, "pcap-eth0-4.pcap");
        g_assert_cmpuint(ring.n, ==, 2);

        /* Once the hook ends and the upload is done they go, oldest first. */
        file_ring_release(&ring, "pcap-eth0-2.pcap");
        l.pinned = NULL;
        g_assert_cmpuint(file_ring_enforce_retention(&ring, 2, true), ==, 1);
        g_assert_cmpstr(l.deleted->pdata[2], ==, "pcap-eth0-1.pcap");
        g_assert_cmpstr(ring.files[0].name, ==, "pcap-eth0-2.pcap");

        /* Stopped (no live file): FileCount finished files stay. */
        ring_add(&ring, dir, "pcap-eth0-5.pcap");
        g_assert_cmpuint(file_ring_enforce_retention(&ring, 2, false), ==, 0);
        g_assert_cmpuint(ring.n, ==, 2);
        g_assert_cmpuint(file_ring_enforce_retention(&ring, 2, true), ==, 1);
        g_assert_cmpstr(ring.files[0].name, ==, "pcap-eth0-5.pcap");

        /* Retention from inside the completed callback (the array moves). */
        l.retention_in_callback = true;
        ring_add(&ring, dir, "pcap-eth0-6.pcap");
        ring_add(&ring, dir, "pcap-eth0-7.pcap");
        g_assert_cmpuint(ring.n, ==, 1);
        g_assert_cmpstr(ring.files[0].name, ==, "pcap-eth0-7.pcap");
        g_assert_false(g_file_test(g_build_filename(dir, "pcap-eth0-6.pcap", NULL), G_FILE_TEST_EXISTS));

        /* Emptied, it keeps its callbacks. */
        file_index_done(&ring);
        g_assert_true(ring.ops == &ring_ops);
        g_ptr_array_unref(l.completed);
        g_ptr_array_unref(l.deleted);
        test_dir_remove(dir);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/capture-files/retention-keeps", test_retention_keeps);
        g_test_add_func("/capture-files/holds-packets", test_holds_packets);
        g_test_add_func("/capture-files/stopped-growing", test_stopped_growing);
        g_test_add_func("/capture-files/file-ring-retention", test_file_ring_retention);
        return g_test_run();
}
