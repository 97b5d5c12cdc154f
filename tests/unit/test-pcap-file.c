/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "pcap-file.h"

/* A pcap global header (microsecond magic, little endian, Ethernet). */
static void append_header(GByteArray *b, guint32 magic) {
        guint8 h[24] = {};
        guint32 snaplen = 262144, linktype = 1;

        memcpy(h, &magic, 4);
        h[4] = 2;                  /* version 2.4 */
        h[6] = 4;
        memcpy(h + 16, &snaplen, 4);
        memcpy(h + 20, &linktype, 4);
        g_byte_array_append(b, h, sizeof(h));
}

static void append_record(GByteArray *b, guint32 captured, guint32 original) {
        guint8 h[16] = {};
        guint8 *payload = g_malloc0(captured);

        memcpy(h + 8, &captured, 4);
        memcpy(h + 12, &original, 4);
        g_byte_array_append(b, h, sizeof(h));
        g_byte_array_append(b, payload, captured);
        g_free(payload);
}

static void test_whole_file(void) {
        g_autoptr(GByteArray) b = g_byte_array_new();

        append_header(b, 0xa1b2c3d4);
        append_record(b, 60, 60);
        append_record(b, 1500, 1500);
        g_assert_cmpuint(pcap_valid_length(b->data, b->len), ==, b->len);
}

static void test_header_only(void) {
        g_autoptr(GByteArray) b = g_byte_array_new();

        append_header(b, 0xa1b2c3d4);
        g_assert_cmpuint(pcap_valid_length(b->data, b->len), ==, 24);
}

static void test_not_pcap(void) {
        static const guint8 junk[32] = "this is not a pcap file at all!";
        g_autoptr(GByteArray) b = g_byte_array_new();

        g_assert_cmpuint(pcap_valid_length(junk, sizeof(junk)), ==, 0);
        append_header(b, 0xa1b2c3d4);
        g_assert_cmpuint(pcap_valid_length(b->data, 23), ==, 0);
}

static void test_partial_record_cut(void) {
        g_autoptr(GByteArray) b = g_byte_array_new();
        gsize whole;

        append_header(b, 0xa1b2c3d4);
        append_record(b, 100, 100);
        whole = b->len;
        append_record(b, 100, 100);

        /* Every cut inside the second record falls back to the first. */
        for (gsize cut = whole; cut < b->len; cut++)
                g_assert_cmpuint(pcap_valid_length(b->data, cut), ==, whole);
}

static void test_garbage_length(void) {
        g_autoptr(GByteArray) b = g_byte_array_new();
        gsize whole;

        append_header(b, 0xa1b2c3d4);
        append_record(b, 64, 64);
        whole = b->len;
        append_record(b, 64, 32);       /* captured > original: torn write */
        g_assert_cmpuint(pcap_valid_length(b->data, b->len), ==, whole);
}

static void test_big_endian_and_nanosecond(void) {
        g_autoptr(GByteArray) b = g_byte_array_new();
        guint8 h[16] = {};
        guint32 be = GUINT32_TO_BE(10);

        append_header(b, GUINT32_SWAP_LE_BE(0xa1b23c4d));
        memcpy(h + 8, &be, 4);
        memcpy(h + 12, &be, 4);
        g_byte_array_append(b, h, sizeof(h));
        g_byte_array_append(b, (const guint8 *) "0123456789", 10);
        g_assert_cmpuint(pcap_valid_length(b->data, b->len), ==, b->len);
}

static void test_repair_file(void) {
        g_autoptr(GByteArray) b = g_byte_array_new();
        g_autofree char *dir = g_dir_make_tmp("test-pcap-XXXXXX", NULL);
        g_autofree char *path = g_build_filename(dir, "f.pcap", NULL);
        g_autofree char *empty = g_build_filename(dir, "empty", NULL);
        g_autofree char *contents = NULL;
        bool cut = false;
        guint64 size = 0;
        gsize length;

        append_header(b, 0xa1b2c3d4);
        append_record(b, 80, 80);
        length = b->len;
        append_record(b, 80, 80);
        /* A crash in the middle of the second record. */
        g_assert_true(g_file_set_contents(path, (const char *) b->data, length + 20, NULL));

        g_assert_cmpint(pcap_file_repair(path, &size, &cut), ==, 1);
        g_assert_true(cut);
        g_assert_cmpuint(size, ==, length);
        g_assert_true(g_file_get_contents(path, &contents, &length, NULL));
        g_assert_cmpuint(length, ==, size);

        /* Already whole: left as it is. */
        g_assert_cmpint(pcap_file_repair(path, &size, &cut), ==, 1);
        g_assert_false(cut);

        g_assert_true(g_file_set_contents(empty, "", 0, NULL));
        g_assert_cmpint(pcap_file_repair(empty, NULL, NULL), ==, 0);

        g_unlink(path);
        g_unlink(empty);
        g_rmdir(dir);
}

/* The file walk (fixed buffer, records across its edges, payloads larger
 * than what is left of it) agrees with the in-memory walk at every cut. */
static void test_repair_agrees_with_memory_walk(void) {
        g_autoptr(GByteArray) b = g_byte_array_new();
        g_autofree char *dir = g_dir_make_tmp("test-pcap-XXXXXX", NULL);
        g_autofree char *path = g_build_filename(dir, "big.pcap", NULL);
        g_autoptr(GRand) rand = g_rand_new_with_seed(4242);

        append_header(b, 0xa1b2c3d4);
        while (b->len < 3 * 1024 * 1024)
                append_record(b, g_rand_int_range(rand, 0, 2) ? g_rand_int_range(rand, 1, 1600) :
                                                                g_rand_int_range(rand, 100000, 262144),
                              262144);

        for (int i = 0; i < 40; i++) {
                gsize cut = i == 0 ? b->len : (gsize) g_rand_int_range(rand, 0, (gint32) b->len);
                gsize expected = pcap_valid_length(b->data, cut);
                guint64 size = 0;
                bool truncated = false;
                int r;

                g_assert_true(g_file_set_contents(path, (const char *) b->data, (gssize) cut, NULL));
                r = pcap_file_repair(path, &size, &truncated);
                if (expected == 0) {
                        g_assert_cmpint(r, ==, 0);
                        continue;
                }
                g_assert_cmpint(r, ==, 1);
                g_assert_cmpuint(size, ==, expected);
                g_assert_true(truncated == (expected < cut));
        }

        g_unlink(path);
        g_rmdir(dir);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/pcap-file/whole", test_whole_file);
        g_test_add_func("/pcap-file/header-only", test_header_only);
        g_test_add_func("/pcap-file/not-pcap", test_not_pcap);
        g_test_add_func("/pcap-file/partial-record", test_partial_record_cut);
        g_test_add_func("/pcap-file/garbage-length", test_garbage_length);
        g_test_add_func("/pcap-file/big-endian-nanosecond", test_big_endian_and_nanosecond);
        g_test_add_func("/pcap-file/repair", test_repair_file);
        g_test_add_func("/pcap-file/repair-agrees-with-memory-walk", test_repair_agrees_with_memory_walk);
        return g_test_run();
}
