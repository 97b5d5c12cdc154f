/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <string.h>

#include "tcpdump.h"

static void test_listening(void) {
        TcpdumpStatistics st = {};

        g_assert_cmpint(tcpdump_parse_line("tcpdump: listening on eth0, link-type EN10MB (Ethernet), "
                                           "snapshot length 262144 bytes", &st), ==, TCPDUMP_LINE_LISTENING);
        g_assert_cmpuint(st.seen, ==, 0);
}

/* The SIGUSR1 form: one line (SPEC §9). */
static void test_statistics_one_line(void) {
        TcpdumpStatistics st = {};

        g_assert_cmpint(tcpdump_parse_line("tcpdump: 3 packets captured, 6 packets received by filter, "
                                           "0 packets dropped by kernel", &st), ==, TCPDUMP_LINE_STATISTICS);
        g_assert_cmpuint(st.captured, ==, 3);
        g_assert_cmpuint(st.received, ==, 6);
        g_assert_cmpuint(st.dropped_kernel, ==, 0);
        g_assert_cmpuint(st.seen, ==, TCPDUMP_STAT_CAPTURED | TCPDUMP_STAT_RECEIVED | TCPDUMP_STAT_DROPPED_KERNEL);
}

static void test_statistics_singular_and_interface(void) {
        TcpdumpStatistics st = {};

        g_assert_cmpint(tcpdump_parse_line("tcpdump: 1 packet captured, 1 packet received by filter, "
                                           "1 packet dropped by kernel, 7 packets dropped by interface", &st),
                        ==, TCPDUMP_LINE_STATISTICS);
        g_assert_cmpuint(st.captured, ==, 1);
        g_assert_cmpuint(st.received, ==, 1);
        g_assert_cmpuint(st.dropped_kernel, ==, 1);
        g_assert_cmpuint(st.dropped_interface, ==, 7);
}

/* The exit form: one counter per line, without the program name. */
static void test_statistics_at_exit(void) {
        TcpdumpStatistics st = {};

        g_assert_cmpint(tcpdump_parse_line("12 packets captured", &st), ==, TCPDUMP_LINE_STATISTICS);
        g_assert_cmpint(tcpdump_parse_line("24 packets received by filter", &st), ==, TCPDUMP_LINE_STATISTICS);
        g_assert_cmpint(tcpdump_parse_line("2 packets dropped by kernel", &st), ==, TCPDUMP_LINE_STATISTICS);
        g_assert_cmpuint(st.captured, ==, 12);
        g_assert_cmpuint(st.received, ==, 24);
        g_assert_cmpuint(st.dropped_kernel, ==, 2);
}

static void test_other_lines(void) {
        static const char *const lines[] = {
                "tcpdump: eth9: No such device exists",
                "tcpdump: pcap_loop: The interface disappeared",
                "tcpdump: /x/.live-lo-1.pcap0: Permission denied",
                "3 packets",
                "packets captured",
                "5 packets captured, and then some",
                "",
        };

        for (gsize i = 0; i < G_N_ELEMENTS(lines); i++) {
                TcpdumpStatistics st = {};
                TcpdumpLineType t = tcpdump_parse_line(lines[i], &st);

                g_test_message("line: '%s'", lines[i]);
                if (t == TCPDUMP_LINE_STATISTICS)
                        g_assert_cmpuint(st.seen, ==, TCPDUMP_STAT_CAPTURED); /* the "and then some" line */
                else
                        g_assert_cmpint(t, ==, TCPDUMP_LINE_OTHER);
        }
}

static gboolean argv_has(char **argv, const char *a, const char *b) {
        for (gsize i = 0; argv[i]; i++)
                if (strcmp(argv[i], a) == 0 && (!b || (argv[i + 1] && strcmp(argv[i + 1], b) == 0)))
                        return TRUE;
        return FALSE;
}

static void test_argv_ring(void) {
        CaptureOptions o;
        TcpdumpCommand cmd = {
                .path = "/usr/bin/tcpdump", .user = "tcpdump", .interface = "eth0",
                .output_prefix = "/cap/eth0/.live-eth0-1.pcap", .options = &o,
        };
        char **argv = NULL;
        gsize n;

        capture_options_init_default(&o);
        o.file_size = 25;
        o.file_count = 10;
        o.promiscuous = false;
        o.filter = g_strdup("-z/tmp/x");

        g_assert_cmpint(tcpdump_build_argv(&cmd, &argv), ==, 0);
        g_assert_true(argv_has(argv, "-C", "25"));
        g_assert_true(argv_has(argv, "-W", "10"));
        g_assert_false(argv_has(argv, "-G", NULL));
        g_assert_true(argv_has(argv, "-Z", "tcpdump"));
        g_assert_true(argv_has(argv, "-p", NULL));
        g_assert_true(argv_has(argv, "--interface=eth0", NULL));
        g_assert_true(argv_has(argv, "-w", "/cap/eth0/.live-eth0-1.pcap"));

        /* The filter is the last argument, right after "--": never an option. */
        n = g_strv_length(argv);
        g_assert_cmpstr(argv[n - 2], ==, "--");
        g_assert_cmpstr(argv[n - 1], ==, "-z/tmp/x");

        strv_free(argv);
        capture_options_done(&o);
}

static void test_argv_time_rotation(void) {
        CaptureOptions o;
        TcpdumpCommand cmd = {
                .path = "/usr/bin/tcpdump", .interface = "lo", .output_prefix = "/x", .options = &o,
        };
        char **argv = NULL;

        capture_options_init_default(&o);
        o.rotate_seconds = 60;

        g_assert_cmpint(tcpdump_build_argv(&cmd, &argv), ==, 0);
        /* With -G, -W would make tcpdump exit after that many rotations. */
        g_assert_true(argv_has(argv, "-G", "60"));
        g_assert_false(argv_has(argv, "-W", NULL));
        g_assert_false(argv_has(argv, "-Z", NULL));
        g_assert_false(argv_has(argv, "-p", NULL));
        g_assert_false(argv_has(argv, "--", NULL));

        strv_free(argv);
        capture_options_done(&o);
}

/* Issue 11: the warning tcpdump prints when the unit's system call filter
 * refuses its setgid(getgid())/setuid(getuid()) is no error. */
static void test_harmless_warning(void) {
        TcpdumpStatistics st = {};

        g_assert_cmpint(tcpdump_parse_line("Warning: setgid/setuid failed !", &st), ==, TCPDUMP_LINE_HARMLESS);
        g_assert_cmpint(tcpdump_parse_line("tcpdump: Warning: setgid/setuid failed !", &st), ==,
                        TCPDUMP_LINE_HARMLESS);
        g_assert_cmpint(tcpdump_parse_line("Warning: setgid/setuid failed ! and more", &st), ==, TCPDUMP_LINE_OTHER);
        g_assert_cmpuint(st.seen, ==, 0);
}

/* Issue 11: -Z only for a daemon run as root; there an empty TcpdumpUser=
 * keeps tcpdump root (Debian's tcpdump would drop to "tcpdump" by itself). */
static void test_switch_user(void) {
        g_assert_cmpstr(tcpdump_switch_user(0, "tcpdump"), ==, "tcpdump");
        g_assert_cmpstr(tcpdump_switch_user(0, ""), ==, "root");
        g_assert_cmpstr(tcpdump_switch_user(0, NULL), ==, "root");
        g_assert_null(tcpdump_switch_user(994, "tcpdump"));
        g_assert_null(tcpdump_switch_user(994, ""));
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/tcpdump/listening", test_listening);
        g_test_add_func("/tcpdump/statistics-one-line", test_statistics_one_line);
        g_test_add_func("/tcpdump/statistics-singular-interface", test_statistics_singular_and_interface);
        g_test_add_func("/tcpdump/statistics-at-exit", test_statistics_at_exit);
        g_test_add_func("/tcpdump/other-lines", test_other_lines);
        g_test_add_func("/tcpdump/argv-ring", test_argv_ring);
        g_test_add_func("/tcpdump/argv-time-rotation", test_argv_time_rotation);
        g_test_add_func("/tcpdump/harmless-warning", test_harmless_warning);
        g_test_add_func("/tcpdump/switch-user", test_switch_user);
        return g_test_run();
}
