/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "config.h"
#include "config-file.h"
#include "configuration.h"
#include "strv.h"
#include "test-dir.h"

typedef struct Fixture {
        char *dir;
} Fixture;

static void write_file(Fixture *f, const char *name, const char *contents, int mode) {
        test_dir_write(f->dir, name, contents, mode);
}

static void setup(Fixture *f, gconstpointer data) {
        f->dir = test_dir_new("test-config-XXXXXX");
}

static void teardown(Fixture *f, gconstpointer data) {
        test_dir_remove(f->dir);
}

static void test_no_files(Fixture *f, gconstpointer data) {
        _cleanup_(config_freep) Config *c = NULL;

        g_assert_cmpint(config_load(&c, f->dir), ==, 0);
        g_assert_cmpstr(c->capture_directory, ==, CAPTURE_DIR);
        g_assert_cmpstr(c->tcpdump_user, ==, TCPDUMP_USER);
        g_assert_cmpuint(c->defaults.file_size, ==, 25);
        g_assert_cmpuint(c->defaults.file_count, ==, 10);
        g_assert_true(c->min_free_space.percent);
        g_assert_cmpuint(c->min_free_space.value, ==, 5);
        g_assert_null(c->post_rotate);
}

static void test_values_and_dropins(Fixture *f, gconstpointer data) {
        _cleanup_(config_freep) Config *c = NULL;

        write_file(f, "captured.conf",
                   "[Daemon]\n"
                   "CaptureDirectory=/srv/captures\n"
                   "TcpdumpUser=pcap\n"
                   "MinFreeSpace=2G\n"
                   "[Defaults]\n"
                   "FileSize=100\n"
                   "Filter=tcp port 80 ; and more\n", 0644);
        write_file(f, "captured.conf.d/20-later.conf", "[Defaults]\nFileSize=7\n", 0644);
        write_file(f, "captured.conf.d/10-first.conf", "[Defaults]\nFileSize=3\nFileCount=4\n", 0644);
        write_file(f, "captured.conf.d/ignored.txt", "[Defaults]\nFileSize=9\n", 0644);

        g_assert_cmpint(config_load(&c, f->dir), ==, 0);
        g_assert_cmpstr(c->capture_directory, ==, "/srv/captures");
        g_assert_cmpstr(c->tcpdump_user, ==, "pcap");
        g_assert_false(c->min_free_space.percent);
        g_assert_cmpuint(c->min_free_space.value, ==, 2ULL << 30);
        /* Drop-ins in lexical order, later wins; other suffixes ignored. */
        g_assert_cmpuint(c->defaults.file_size, ==, 7);
        g_assert_cmpuint(c->defaults.file_count, ==, 4);
        /* No inline comments: ';' belongs to the value. */
        g_assert_cmpstr(c->defaults.filter, ==, "tcp port 80 ; and more");
}

/* A bad line is skipped; the lines around it still load. */
static void test_bad_lines(Fixture *f, gconstpointer data) {
        _cleanup_(config_freep) Config *c = NULL;

        write_file(f, "captured.conf",
                   "[Daemon]\n"
                   "CaptureDirectory=relative/path\n"
                   "NoSuchKey=1\n"
                   "MinFreeSpace=lots\n"
                   "this line has no equals sign\n"
                   "[Defaults]\n"
                   "FileSize=0\n"
                   "FileCount=abc\n"
                   "Promiscuous=maybe\n"
                   "SnapLength=128\n"
                   "[Nonsense]\n"
                   "Key=value\n", 0644);

        g_assert_cmpint(config_load(&c, f->dir), ==, 0);
        g_assert_cmpstr(c->capture_directory, ==, CAPTURE_DIR);
        g_assert_true(c->min_free_space.percent);
        g_assert_cmpuint(c->defaults.file_size, ==, 25);
        g_assert_cmpuint(c->defaults.file_count, ==, 10);
        g_assert_true(c->defaults.promiscuous);
        g_assert_cmpuint(c->defaults.snap_length, ==, 128);
}

static void test_post_rotate(Fixture *f, gconstpointer data) {
        _cleanup_(config_freep) Config *c = NULL;

        if (getuid() != 0) {
                g_test_skip("needs root: ExecPostRotate= is only read from root-owned files");
                return;
        }

        write_file(f, "captured.conf",
                   "[Defaults]\n"
                   "ExecPostRotate=/usr/bin/logger -t \"captured hook\" 'a b'\n"
                   "ExecPostRotate=/bin/true\n"
                   "ExecPostRotate=relative-is-refused\n", 0644);
        /* Writable by others: its ExecPostRotate= is ignored. */
        write_file(f, "captured.conf.d/50-untrusted.conf", "[Defaults]\nExecPostRotate=/bin/evil\n", 0666);

        g_assert_cmpint(config_load(&c, f->dir), ==, 0);
        g_assert_nonnull(c->post_rotate);
        g_assert_nonnull(c->post_rotate[0]);
        g_assert_nonnull(c->post_rotate[1]);
        g_assert_null(c->post_rotate[2]);
        g_assert_cmpuint(strv_length(c->post_rotate[0]), ==, 4);
        g_assert_cmpstr(c->post_rotate[0][2], ==, "captured hook");
        g_assert_cmpstr(c->post_rotate[0][3], ==, "a b");
        g_assert_cmpstr(c->post_rotate[1][0], ==, "/bin/true");
}

static void test_post_rotate_reset(Fixture *f, gconstpointer data) {
        _cleanup_(config_freep) Config *c = NULL;

        if (getuid() != 0) {
                g_test_skip("needs root");
                return;
        }
        write_file(f, "captured.conf", "[Defaults]\nExecPostRotate=/bin/true\n", 0644);
        write_file(f, "captured.conf.d/90-reset.conf", "[Defaults]\nExecPostRotate=\n", 0644);
        g_assert_cmpint(config_load(&c, f->dir), ==, 0);
        g_assert_null(c->post_rotate);
}

static void test_split_command(void) {
        char **v = NULL;

        g_assert_cmpint(config_split_command("/bin/echo  one \"two three\" 'four \"five\"' six\\ seven", &v), ==, 0);
        g_assert_cmpuint(strv_length(v), ==, 5);
        g_assert_cmpstr(v[2], ==, "two three");
        g_assert_cmpstr(v[3], ==, "four \"five\"");
        g_assert_cmpstr(v[4], ==, "six seven");
        strv_free(v);

        g_assert_cmpint(config_split_command("echo relative", &v), ==, -EINVAL);
        g_assert_cmpint(config_split_command("/bin/echo \"unbalanced", &v), ==, -EBADMSG);
        g_assert_cmpint(config_split_command("   ", &v), ==, -EINVAL);
}

static void test_space_limit(void) {
        SpaceLimit l;

        g_assert_cmpint(space_limit_parse("1024", &l), ==, 0);
        g_assert_cmpuint(l.value, ==, 1024);
        g_assert_false(l.percent);
        g_assert_cmpint(space_limit_parse("10K", &l), ==, 0);
        g_assert_cmpuint(l.value, ==, 10240);
        g_assert_cmpint(space_limit_parse("3m", &l), ==, 0);
        g_assert_cmpuint(l.value, ==, 3ULL << 20);
        g_assert_cmpint(space_limit_parse("1T", &l), ==, 0);
        g_assert_cmpuint(l.value, ==, 1ULL << 40);
        g_assert_cmpint(space_limit_parse("15%", &l), ==, 0);
        g_assert_true(l.percent);
        g_assert_cmpuint(space_limit_resolve(&l, 1000), ==, 150);

        g_assert_cmpint(space_limit_parse("101%", &l), <, 0);
        g_assert_cmpint(space_limit_parse("-1", &l), <, 0);
        g_assert_cmpint(space_limit_parse("5X", &l), <, 0);
        g_assert_cmpint(space_limit_parse("", &l), <, 0);
        g_assert_cmpint(space_limit_parse("99999999999999999999", &l), <, 0);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add("/configuration/no-files", Fixture, NULL, setup, test_no_files, teardown);
        g_test_add("/configuration/values-and-dropins", Fixture, NULL, setup, test_values_and_dropins, teardown);
        g_test_add("/configuration/bad-lines", Fixture, NULL, setup, test_bad_lines, teardown);
        g_test_add("/configuration/post-rotate", Fixture, NULL, setup, test_post_rotate, teardown);
        g_test_add("/configuration/post-rotate-reset", Fixture, NULL, setup, test_post_rotate_reset, teardown);
        g_test_add_func("/configuration/split-command", test_split_command);
        g_test_add_func("/configuration/space-limit", test_space_limit);
        return g_test_run();
}
