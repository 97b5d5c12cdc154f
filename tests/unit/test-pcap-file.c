/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture-files.h"
#include "pcap-file.h"
#include "test-dir.h"

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

static int repair_path(const char *path, guint64 *ret_size, bool *ret_truncated) {
        int fd = open(path, O_RDWR | O_CLOEXEC), r;

        g_assert_cmpint(fd, >=, 0);
        r = pcap_file_repair(fd, ret_size, ret_truncated);
        close(fd);
        return r;
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

        g_assert_cmpint(repair_path(path, &size, &cut), ==, 1);
        g_assert_true(cut);
        g_assert_cmpuint(size, ==, length);
        g_assert_true(g_file_get_contents(path, &contents, &length, NULL));
        g_assert_cmpuint(length, ==, size);

        /* Already whole: left as it is. */
        g_assert_cmpint(repair_path(path, &size, &cut), ==, 1);
        g_assert_false(cut);

        g_assert_true(g_file_set_contents(empty, "", 0, NULL));
        g_assert_cmpint(repair_path(empty, NULL, NULL), ==, 0);

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
                r = repair_path(path, &size, &truncated);
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

/* ---- Finishing a crash leftover (capture_file_finish) ---------------------------------
 * The capture directory belongs to the tcpdump user: whatever lies there
 * under a live name is hostile until shown otherwise. */

#define LIVE ".live-lo-9.pcap0"
#define REFUSED ".refused" LIVE
/* Longer than the leftover's whole part, which a cut by path would leave. */
#define VICTIM "root:$y$j9T$hostile$0123456789abcdefghijklmnopqrstuvwxyz:19000:0:99999:7:::\n" \
               "a file of root's, never to be cut or chmodded by the daemon\n"

typedef struct Leftover {
        char *root;        /* scratch: victim and capture directory */
        char *directory;   /* <root>/lo, the capture directory */
        char *live;        /* <directory>/LIVE */
        char *victim;      /* <root>/victim, outside the capture directory */
        gsize whole;       /* length of the pcap's valid prefix */
} Leftover;

/* A leftover as a killed tcpdump leaves it (a whole packet, then junk), and
 * a victim file (mode 0600) outside the capture directory. */
static void leftover_init(Leftover *l) {
        g_autoptr(GByteArray) b = g_byte_array_new();

        l->root = test_dir_new("test-leftover-XXXXXX");
        l->directory = g_build_filename(l->root, "lo", NULL);
        l->live = g_build_filename(l->directory, LIVE, NULL);
        l->victim = g_build_filename(l->root, "victim", NULL);
        g_assert_cmpint(g_mkdir(l->directory, 0755), ==, 0);

        append_header(b, 0xa1b2c3d4);
        append_record(b, 60, 60);
        l->whole = b->len;
        g_byte_array_append(b, (const guint8 *) "fifteen junk by", 15);
        g_assert_true(g_file_set_contents(l->live, (const char *) b->data, b->len, NULL));
        g_assert_true(g_file_set_contents(l->victim, VICTIM, -1, NULL));
        g_assert_cmpuint(strlen(VICTIM), >, l->whole);
        g_assert_cmpint(g_chmod(l->victim, 0600), ==, 0);
}

static void leftover_done(Leftover *l) {
        test_dir_remove(l->root);
        g_free(l->directory);
        g_free(l->live);
        g_free(l->victim);
}

static int leftover_finish(const Leftover *l, char **ret_name) {
        guint64 size = 0, completed_at = 0;

        *ret_name = NULL;
        return capture_file_finish(l->directory, "lo", LIVE, getegid(), true, ret_name, &size, &completed_at);
}

/* The victim still holds what it held, with its mode. */
static void assert_victim_untouched(const Leftover *l) {
        g_autofree char *contents = NULL;
        gsize length = 0;
        struct stat st;

        g_assert_true(g_file_get_contents(l->victim, &contents, &length, NULL));
        g_assert_cmpuint(length, ==, strlen(VICTIM));
        g_assert_cmpstr(contents, ==, VICTIM);
        g_assert_cmpint(stat(l->victim, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 07777, ==, 0600);
}

/* Nothing in the directory has a finished name. */
static void assert_nothing_finished(const Leftover *l) {
        g_autoptr(GDir) d = g_dir_open(l->directory, 0, NULL);
        const char *name;

        while ((name = g_dir_read_name(d)))
                g_assert_false(capture_file_name_is_finished(name, "lo"));
}

/* Refused, moved aside (so that no later scan finds it again), untouched. */
static void assert_refused(const Leftover *l, int r, mode_t type) {
        g_autofree char *aside = g_build_filename(l->directory, REFUSED, NULL);
        g_autofree char *name = NULL;
        struct stat st;

        assert_victim_untouched(l);
        g_assert_cmpint(r, ==, -EPERM);
        assert_nothing_finished(l);
        g_assert_cmpint(lstat(aside, &st), ==, 0);
        g_assert_cmpint(st.st_mode & S_IFMT, ==, type);
        g_assert_false(capture_file_name_is_live(REFUSED, "lo"));
        g_assert_false(capture_file_name_is_finished(REFUSED, "lo"));
        g_assert_cmpint(leftover_finish(l, &name), ==, -ENOENT);
}

static void test_finish_leftover(void) {
        g_autofree char *name = NULL, *path = NULL;
        Leftover l;
        struct stat st;

        leftover_init(&l);
        g_assert_cmpint(leftover_finish(&l, &name), ==, 0);
        g_assert_true(capture_file_name_is_finished(name, "lo"));
        path = g_build_filename(l.directory, name, NULL);
        g_assert_cmpint(stat(path, &st), ==, 0);
        g_assert_cmpuint(st.st_size, ==, l.whole);
        g_assert_cmpint(st.st_mode & 07777, ==, 0640);
        g_assert_false(g_file_test(l.live, G_FILE_TEST_EXISTS));
        leftover_done(&l);
}

/* Answers the fanotify permission events of the leftover's reads; at the
 * first, while the walk waits for its data, swaps the live name for a
 * symbolic link to the victim, as the tcpdump user could. */
typedef struct Swapper {
        int fanotify_fd;
        const Leftover *leftover;
        gint done;
        gboolean swapped;
} Swapper;

static gpointer swap_at_first_read(gpointer data) {
        Swapper *w = data;

        while (!g_atomic_int_get(&w->done)) {
                struct pollfd p = { .fd = w->fanotify_fd, .events = POLLIN };
                struct fanotify_event_metadata events[16], *e;
                ssize_t n;

                if (poll(&p, 1, 50) <= 0)
                        continue;
                n = read(w->fanotify_fd, events, sizeof(events));
                for (e = events; FAN_EVENT_OK(e, n); e = FAN_EVENT_NEXT(e, n)) {
                        struct fanotify_response answer = { .fd = e->fd, .response = FAN_ALLOW };

                        if (!w->swapped) {
                                g_autofree char *link = g_strconcat(w->leftover->live, ".new", NULL);

                                g_assert_cmpint(symlink(w->leftover->victim, link), ==, 0);
                                g_assert_cmpint(rename(link, w->leftover->live), ==, 0);
                                w->swapped = TRUE;
                        }
                        g_assert_cmpint(write(w->fanotify_fd, &answer, sizeof(answer)), ==, sizeof(answer));
                        close(e->fd);
                }
        }
        return NULL;
}

static void test_symlink_swapped_in_mid_walk(void) {
        g_autofree char *name = NULL;
        g_autoptr(GThread) thread = NULL;
        Swapper w = {};
        Leftover l;
        int r;

        leftover_init(&l);
        /* A permission event holds the daemon's read until it is answered:
         * the race, made deterministic. Needs CAP_SYS_ADMIN. */
        w.fanotify_fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_LARGEFILE);
        if (w.fanotify_fd < 0) {
                leftover_done(&l);
                g_test_skip("fanotify permission events need CAP_SYS_ADMIN");
                return;
        }
        g_assert_cmpint(fanotify_mark(w.fanotify_fd, FAN_MARK_ADD, FAN_ACCESS_PERM, AT_FDCWD, l.live), ==, 0);
        w.leftover = &l;
        thread = g_thread_new("swapper", swap_at_first_read, &w);

        r = leftover_finish(&l, &name);

        g_atomic_int_set(&w.done, 1);
        g_thread_join(g_steal_pointer(&thread));
        close(w.fanotify_fd);
        g_assert_true(w.swapped);
        /* The symbolic link took the live name; it is refused when it
         * turns up under the finished name. */
        assert_refused(&l, r, S_IFLNK);
        leftover_done(&l);
}

/* A hard link under a live name to a file outside the directory (a pcap
 * ending in junk, as a leftover does): cutting or chmodding it would change
 * that file. */
static void test_hard_link_refused(void) {
        g_autofree char *aside = NULL, *name = NULL, *outside = NULL;
        Leftover l;
        struct stat st, before, after;

        leftover_init(&l);
        outside = g_build_filename(l.root, "victim.pcap", NULL);
        g_assert_cmpint(g_rename(l.live, outside), ==, 0);
        g_assert_cmpint(g_chmod(outside, 0600), ==, 0);
        g_assert_cmpint(link(outside, l.live), ==, 0);
        g_assert_cmpint(stat(outside, &before), ==, 0);

        assert_refused(&l, leftover_finish(&l, &name), S_IFREG);
        g_assert_cmpint(stat(outside, &after), ==, 0);
        g_assert_cmpuint(after.st_size, ==, before.st_size);
        g_assert_cmpint(after.st_mode & 07777, ==, 0600);
        g_assert_null(name);
        aside = g_build_filename(l.directory, REFUSED, NULL);
        g_assert_cmpint(stat(aside, &st), ==, 0);
        g_assert_cmpuint(st.st_ino, ==, after.st_ino);
        leftover_done(&l);
}

/* What a live name may also be: each is refused, moved aside and never
 * looked at again; the FIFO does not hang the finish. */
static void test_not_regular_refused(void) {
        static const struct {
                const char *what;
                mode_t type;
        } cases[] = {
                { "symlink", S_IFLNK },
                { "dangling-symlink", S_IFLNK },
                { "fifo", S_IFIFO },
                { "directory", S_IFDIR },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autofree char *name = NULL, *nowhere = NULL;
                Leftover l;

                g_test_message("%s", cases[i].what);
                leftover_init(&l);
                g_assert_cmpint(g_unlink(l.live), ==, 0);
                nowhere = g_build_filename(l.root, "nowhere", NULL);
                switch (cases[i].type) {
                case S_IFLNK:
                        g_assert_cmpint(symlink(i == 0 ? l.victim : nowhere, l.live), ==, 0);
                        break;
                case S_IFIFO:
                        g_assert_cmpint(mkfifo(l.live, 0644), ==, 0);
                        break;
                default:
                        g_assert_cmpint(g_mkdir(l.live, 0755), ==, 0);
                }
                assert_refused(&l, leftover_finish(&l, &name), cases[i].type);
                g_assert_false(g_file_test(nowhere, G_FILE_TEST_EXISTS));
                leftover_done(&l);
        }
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
        g_test_add_func("/capture-file/finish-leftover", test_finish_leftover);
        g_test_add_func("/capture-file/symlink-swapped-in-mid-walk", test_symlink_swapped_in_mid_walk);
        g_test_add_func("/capture-file/hard-link-refused", test_hard_link_refused);
        g_test_add_func("/capture-file/not-regular-refused", test_not_regular_refused);
        return g_test_run();
}
