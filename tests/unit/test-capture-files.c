/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include "capture-files.h"
#include "pcap-file.h"

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

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/capture-files/retention-keeps", test_retention_keeps);
        g_test_add_func("/capture-files/holds-packets", test_holds_packets);
        g_test_add_func("/capture-files/stopped-growing", test_stopped_growing);
        return g_test_run();
}
