/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <glib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "capture-options.h"
#include "captured-bus.h"
#include "macro.h"
#include "names.h"

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(CaptureOptions, capture_options_done)

/* ---- option table ---- */

static void test_find_by_key(void) {
        static const struct {
                const char *key, *cli;
                OptionType type;
        } expected[] = {
                { "FileSize", "file-size", OPTION_UINT32 },
                { "FileCount", "file-count", OPTION_UINT32 },
                { "Filter", "filter", OPTION_STRING },
                { "SnapLength", "snaplen", OPTION_UINT32 },
                { "BufferSize", "buffer-size", OPTION_UINT32 },
                { "Promiscuous", "promiscuous", OPTION_BOOLEAN },
                { "RotateSeconds", "rotate-seconds", OPTION_UINT32 },
                { "Upload", "upload", OPTION_STRING },
        };

        g_assert_cmpuint(capture_option_table_size, ==, G_N_ELEMENTS(expected));

        for (gsize i = 0; i < G_N_ELEMENTS(expected); i++) {
                const OptionSpec *by_key = capture_option_find(expected[i].key);
                const OptionSpec *by_cli = capture_option_find_cli(expected[i].cli);

                g_test_message("option %s / --%s", expected[i].key, expected[i].cli);
                g_assert_nonnull(by_key);
                g_assert_true(by_key == by_cli);
                g_assert_cmpstr(by_key->key, ==, expected[i].key);
                g_assert_cmpstr(by_key->cli_name, ==, expected[i].cli);
                g_assert_cmpint(by_key->type, ==, expected[i].type);
                g_assert_nonnull(by_key->help);
                g_assert_cmpstr(by_key->help, !=, "");
        }
}

static void test_find_unknown(void) {
        g_assert_null(capture_option_find("filesize"));     /* keys are case-sensitive */
        g_assert_null(capture_option_find("file-size"));    /* a cli name is not a key */
        g_assert_null(capture_option_find(""));
        g_assert_null(capture_option_find("Frobnicate"));
        g_assert_null(capture_option_find_cli("FileSize")); /* a key is not a cli name */
        g_assert_null(capture_option_find_cli("snap-length"));
        g_assert_null(capture_option_find_cli(""));
}

static void test_type_signature(void) {
        g_assert_cmpint(option_type_signature(OPTION_UINT32), ==, 'u');
        g_assert_cmpint(option_type_signature(OPTION_BOOLEAN), ==, 'b');
        g_assert_cmpint(option_type_signature(OPTION_STRING), ==, 's');
}

/* ---- option_value_parse ---- */

static void assert_parse_fails(const char *key, const char *text) {
        const OptionSpec *spec = capture_option_find(key);
        OptionValue v = { .type = OPTION_UINT32, .u = 4242 };
        g_autofree char *error = NULL;
        int r;

        g_test_message("parse %s='%s' must fail", key, text);
        r = option_value_parse(spec, text, &v, &error);
        g_assert_cmpint(r, ==, -EINVAL);
        g_assert_nonnull(error);
        g_assert_nonnull(strstr(error, key));
        /* the output is left alone on failure */
        g_assert_cmpint(v.type, ==, OPTION_UINT32);
        g_assert_cmpuint(v.u, ==, 4242);
}

static void test_parse_uint(void) {
        const OptionSpec *spec = capture_option_find("FileSize");
        static const struct {
                const char *text;
                uint32_t value;
        } good[] = {
                { "0", 0 }, { "1", 1 }, { "42", 42 }, { "007", 7 }, { "100001", 100001 },
                { "4294967295", UINT32_MAX }, /* parse does not range-check, set does */
        };
        static const char *const bad[] = {
                "abc", "-1", "99999999999", "4294967296", "18446744073709551616", "",
                " 1", "1 ", "+1", "12abc", "0x10", "1.5", "1e3",
        };

        for (gsize i = 0; i < G_N_ELEMENTS(good); i++) {
                g_autofree char *error = NULL;
                OptionValue v;

                g_assert_cmpint(option_value_parse(spec, good[i].text, &v, &error), ==, 0);
                g_assert_null(error);
                g_assert_cmpint(v.type, ==, OPTION_UINT32);
                g_assert_cmpuint(v.u, ==, good[i].value);
        }

        for (gsize i = 0; i < G_N_ELEMENTS(bad); i++)
                assert_parse_fails("FileSize", bad[i]);
}

static void test_parse_bool(void) {
        const OptionSpec *spec = capture_option_find("Promiscuous");
        static const char *const yes[] = { "yes", "YES", "y", "true", "True", "t", "on", "1" };
        static const char *const no[] = { "no", "NO", "n", "false", "f", "off", "0" };
        static const char *const bad[] = { "maybe", "", "2", "yess", "onn", " yes", "-1" };

        for (gsize i = 0; i < G_N_ELEMENTS(yes); i++) {
                OptionValue v = { .b = false };
                g_assert_cmpint(option_value_parse(spec, yes[i], &v, NULL), ==, 0);
                g_assert_cmpint(v.type, ==, OPTION_BOOLEAN);
                g_assert_true(v.b);
        }
        for (gsize i = 0; i < G_N_ELEMENTS(no); i++) {
                OptionValue v = { .b = true };
                g_assert_cmpint(option_value_parse(spec, no[i], &v, NULL), ==, 0);
                g_assert_cmpint(v.type, ==, OPTION_BOOLEAN);
                g_assert_false(v.b);
        }
        for (gsize i = 0; i < G_N_ELEMENTS(bad); i++)
                assert_parse_fails("Promiscuous", bad[i]);
}

static void test_parse_string(void) {
        const OptionSpec *spec = capture_option_find("Filter");
        const char *text = "tcp port 80 and not host 10.0.0.1";
        OptionValue v;

        g_assert_cmpint(option_value_parse(spec, text, &v, NULL), ==, 0);
        g_assert_cmpint(v.type, ==, OPTION_STRING);
        g_assert_true(v.s == text); /* borrowed, not copied */

        g_assert_cmpint(option_value_parse(spec, "", &v, NULL), ==, 0);
        g_assert_cmpstr(v.s, ==, "");
}

static void test_parse_no_error_pointer(void) {
        OptionValue v;

        /* Callers that do not want the message may pass NULL. */
        g_assert_cmpint(option_value_parse(capture_option_find("FileCount"), "abc", &v, NULL), ==, -EINVAL);
}

/* ---- capture_options_set ---- */

static OptionValue uint_value(uint32_t u) {
        return (OptionValue) { .type = OPTION_UINT32, .u = u };
}

static uint32_t get_uint(const CaptureOptions *o, const char *key) {
        OptionValue v = capture_options_get(o, capture_option_find(key));
        g_assert_cmpint(v.type, ==, OPTION_UINT32);
        return v.u;
}

static void assert_set_refused(CaptureOptions *o, const OptionSpec *spec, const OptionValue *value) {
        g_auto(CaptureOptions) before = {};
        g_autofree char *error = NULL;

        g_assert_cmpint(capture_options_copy(&before, o), ==, 0);
        g_assert_cmpint(capture_options_set(o, spec, value, &error), ==, -EINVAL);
        g_assert_nonnull(error);
        g_test_message("refused: %s", error);
        g_assert_nonnull(strstr(error, spec->key));
        g_assert_true(capture_options_equal(o, &before)); /* unchanged */
}

/* The expected stored value: "0 = default" options store the default. */
static uint32_t effective(const OptionSpec *spec, uint32_t u) {
        if (u == 0 && g_str_equal(spec->key, "SnapLength"))
                return CAPTURE_OPTIONS_DEFAULT_SNAP_LENGTH;
        if (u == 0 && g_str_equal(spec->key, "BufferSize"))
                return CAPTURE_OPTIONS_DEFAULT_BUFFER_SIZE;
        return u;
}

static void test_set_uint_ranges(void) {
        unsigned n_uint = 0;

        for (gsize i = 0; i < capture_option_table_size; i++) {
                const OptionSpec *spec = &capture_option_table[i];
                g_auto(CaptureOptions) o = {};
                OptionValue v;

                if (spec->type != OPTION_UINT32)
                        continue;
                n_uint++;

                g_test_message("%s: range %u…%u", spec->key, spec->min, spec->max);
                g_assert_cmpuint(spec->min, <=, spec->max);
                capture_options_init_default(&o);

                if (spec->min > 0) {
                        v = uint_value(spec->min - 1);
                        assert_set_refused(&o, spec, &v);
                }

                v = uint_value(spec->min);
                g_assert_cmpint(capture_options_set(&o, spec, &v, NULL), ==, 0);
                g_assert_cmpuint(get_uint(&o, spec->key), ==, effective(spec, spec->min));

                v = uint_value(spec->max);
                g_assert_cmpint(capture_options_set(&o, spec, &v, NULL), ==, 0);
                g_assert_cmpuint(get_uint(&o, spec->key), ==, effective(spec, spec->max));

                if (spec->max < UINT32_MAX) {
                        v = uint_value(spec->max + 1);
                        assert_set_refused(&o, spec, &v);
                }
                v = uint_value(UINT32_MAX);
                if (spec->max < UINT32_MAX)
                        assert_set_refused(&o, spec, &v);
        }

        g_assert_cmpuint(n_uint, ==, 5);
}

static void test_set_specific_ranges(void) {
        /* The ranges users rely on, spelled out so that a table edit shows. */
        static const struct {
                const char *key;
                uint32_t min, max;
        } ranges[] = {
                { "FileSize", 1, 100000 },
                { "FileCount", 2, 1000000 },
                { "SnapLength", 0, 262144 },
                { "BufferSize", 0, 4194304 },
                { "RotateSeconds", 0, 31 * 24 * 3600 },
        };

        for (gsize i = 0; i < G_N_ELEMENTS(ranges); i++) {
                const OptionSpec *spec = capture_option_find(ranges[i].key);
                g_assert_nonnull(spec);
                g_assert_cmpuint(spec->min, ==, ranges[i].min);
                g_assert_cmpuint(spec->max, ==, ranges[i].max);
        }
}

static void test_set_wrong_type(void) {
        g_auto(CaptureOptions) o = {};
        OptionValue b = { .type = OPTION_BOOLEAN, .b = true };
        OptionValue s = { .type = OPTION_STRING, .s = "25" };
        OptionValue u = uint_value(1);

        capture_options_init_default(&o);
        assert_set_refused(&o, capture_option_find("FileSize"), &b);
        assert_set_refused(&o, capture_option_find("FileSize"), &s);
        assert_set_refused(&o, capture_option_find("Filter"), &u);
        assert_set_refused(&o, capture_option_find("Promiscuous"), &u);
}

static void test_set_strings(void) {
        const OptionSpec *filter = capture_option_find("Filter");
        const OptionSpec *upload = capture_option_find("Upload");
        g_auto(CaptureOptions) o = {};
        g_autofree char *long_filter = NULL;
        OptionValue v;

        capture_options_init_default(&o);

        v = (OptionValue) { .type = OPTION_STRING, .s = "udp port 53" };
        g_assert_cmpint(capture_options_set(&o, filter, &v, NULL), ==, 0);
        g_assert_cmpstr(o.filter, ==, "udp port 53");
        g_assert_true(o.filter != v.s); /* copied */

        long_filter = g_strnfill(FILTER_MAX, 'x');
        v.s = long_filter;
        g_assert_cmpint(capture_options_set(&o, filter, &v, NULL), ==, 0);
        g_assert_cmpuint(strlen(o.filter), ==, FILTER_MAX);
        g_free(long_filter);
        long_filter = g_strnfill(FILTER_MAX + 1, 'x');
        v.s = long_filter;
        assert_set_refused(&o, filter, &v);

        /* Several targets are separated by spaces (issue 13); each is a valid name, named once. */
        static const char *const bad_uploads[] = { "../x", "a/b", ".x", "..", "a;b", "a ../x", "a b a" };
        for (gsize i = 0; i < G_N_ELEMENTS(bad_uploads); i++) {
                v.s = bad_uploads[i];
                assert_set_refused(&o, upload, &v);
        }

        v.s = "cs-1";
        g_assert_cmpint(capture_options_set(&o, upload, &v, NULL), ==, 0);
        g_assert_cmpstr(o.upload, ==, "cs-1");

        v.s = "lab s3-central";
        g_assert_cmpint(capture_options_set(&o, upload, &v, NULL), ==, 0);
        g_assert_cmpstr(o.upload, ==, "lab s3-central");

        v.s = ""; /* "" = no upload */
        g_assert_cmpint(capture_options_set(&o, upload, &v, NULL), ==, 0);
        g_assert_cmpstr(o.upload, ==, "");

        g_autofree char *too_long = g_strnfill(UPLOAD_TARGET_NAME_MAX + 1, 'u');
        v.s = too_long;
        assert_set_refused(&o, upload, &v);
}

static void test_zero_means_default(void) {
        g_auto(CaptureOptions) o = {};
        g_auto(CaptureOptions) d = {};
        OptionValue zero = uint_value(0), small = uint_value(64);

        capture_options_init_default(&d);
        capture_options_init_default(&o);

        g_assert_cmpint(capture_options_set(&o, capture_option_find("SnapLength"), &small, NULL), ==, 0);
        g_assert_cmpuint(o.snap_length, ==, 64);
        g_assert_cmpint(capture_options_set(&o, capture_option_find("SnapLength"), &zero, NULL), ==, 0);
        g_assert_cmpuint(o.snap_length, ==, CAPTURE_OPTIONS_DEFAULT_SNAP_LENGTH);

        g_assert_cmpint(capture_options_set(&o, capture_option_find("BufferSize"), &small, NULL), ==, 0);
        g_assert_cmpuint(o.buffer_size, ==, 64);
        g_assert_cmpint(capture_options_set(&o, capture_option_find("BufferSize"), &zero, NULL), ==, 0);
        g_assert_cmpuint(o.buffer_size, ==, CAPTURE_OPTIONS_DEFAULT_BUFFER_SIZE);

        /* so that "0" and the default are the same effective options */
        g_assert_true(capture_options_equal(&o, &d));

        /* RotateSeconds=0 means "size only", not a default: it stays 0 */
        g_assert_cmpint(capture_options_set(&o, capture_option_find("RotateSeconds"), &zero, NULL), ==, 0);
        g_assert_cmpuint(o.rotate_seconds, ==, 0);
}

static void test_defaults(void) {
        g_auto(CaptureOptions) o = {};

        capture_options_init_default(&o);
        g_assert_cmpuint(o.file_size, ==, 25);
        g_assert_cmpuint(o.file_count, ==, 10);
        g_assert_cmpuint(o.snap_length, ==, 262144);
        g_assert_cmpuint(o.buffer_size, ==, 32768);
        g_assert_true(o.promiscuous);
        g_assert_cmpuint(o.rotate_seconds, ==, 0);
        g_assert_cmpstr(capture_options_get(&o, capture_option_find("Filter")).s, ==, "");
        g_assert_cmpstr(capture_options_get(&o, capture_option_find("Upload")).s, ==, "");
}

/* ---- equal / copy ---- */

static void test_equal_and_copy(void) {
        g_auto(CaptureOptions) a = {};
        g_auto(CaptureOptions) b = {};
        g_auto(CaptureOptions) c = {};

        capture_options_init_default(&a);
        capture_options_init_default(&b);
        g_assert_true(capture_options_equal(&a, &b));

        /* NULL and "" strings mean the same */
        g_assert_cmpint(free_and_strdup(&b.filter, ""), ==, 0);
        g_assert_true(capture_options_equal(&a, &b));

        g_assert_cmpint(free_and_strdup(&a.filter, "tcp"), ==, 0);
        g_assert_cmpint(free_and_strdup(&a.upload, "cs-1"), ==, 0);
        a.file_size = 7;
        a.promiscuous = false;

        g_assert_cmpint(capture_options_copy(&c, &a), ==, 0);
        g_assert_true(capture_options_equal(&a, &c));
        g_assert_true(c.filter != a.filter); /* deep copy */
        g_assert_true(c.upload != a.upload);
        g_assert_cmpstr(c.filter, ==, "tcp");
        g_assert_cmpstr(c.upload, ==, "cs-1");

        /* copying over an existing value replaces it */
        g_assert_cmpint(capture_options_copy(&c, &b), ==, 0);
        g_assert_true(capture_options_equal(&c, &b));
        g_assert_false(capture_options_equal(&c, &a));
}

static void test_equal_each_field(void) {
        for (gsize i = 0; i < capture_option_table_size; i++) {
                const OptionSpec *spec = &capture_option_table[i];
                g_auto(CaptureOptions) a = {};
                g_auto(CaptureOptions) b = {};
                OptionValue v;

                capture_options_init_default(&a);
                capture_options_init_default(&b);
                v = capture_options_get(&a, spec);

                switch (spec->type) {
                case OPTION_UINT32:
                        v.u = v.u == spec->max ? spec->max - 1 : v.u + 1;
                        break;
                case OPTION_BOOLEAN:
                        v.b = !v.b;
                        break;
                case OPTION_STRING:
                        v.s = "other";
                        break;
                }

                g_test_message("differing %s", spec->key);
                g_assert_cmpint(capture_options_set(&b, spec, &v, NULL), ==, 0);
                g_assert_false(capture_options_equal(&a, &b));
                g_assert_false(capture_options_equal(&b, &a));
        }
}

/* ---- format ---- */

static void test_format(void) {
        static const struct {
                OptionValue value;
                const char *text;
        } cases[] = {
                { { .type = OPTION_UINT32, .u = 0 }, "0" },
                { { .type = OPTION_UINT32, .u = UINT32_MAX }, "4294967295" },
                { { .type = OPTION_BOOLEAN, .b = true }, "yes" },
                { { .type = OPTION_BOOLEAN, .b = false }, "no" },
                { { .type = OPTION_STRING, .s = "tcp port 22" }, "tcp port 22" },
                { { .type = OPTION_STRING, .s = "" }, "" },
        };

        for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autofree char *text = NULL;
                g_assert_cmpint(option_value_format(&cases[i].value, &text), ==, 0);
                g_assert_cmpstr(text, ==, cases[i].text);
        }
}

/* ---- sd_bus_message round trips ---- */

/* sd-bus only builds messages on an open bus: give it one end of a socket
 * pair. Nothing is ever sent; the peer end is just kept open. */
typedef struct BusFixture {
        sd_bus *bus;
        int peer_fd;
} BusFixture;

static void bus_fixture_setup(BusFixture *f, gconstpointer data) {
        int fds[2];

        g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
        g_assert_cmpint(sd_bus_new(&f->bus), >=, 0);
        g_assert_cmpint(sd_bus_set_fd(f->bus, fds[0], fds[0]), >=, 0);
        g_assert_cmpint(sd_bus_start(f->bus), >=, 0);
        f->peer_fd = fds[1];
}

static void bus_fixture_teardown(BusFixture *f, gconstpointer data) {
        f->bus = sd_bus_close_unref(f->bus);
        close(f->peer_fd);
}

static sd_bus_message *new_call(BusFixture *f) {
        sd_bus_message *m = NULL;

        g_assert_cmpint(sd_bus_message_new_method_call(f->bus, &m, CAPTURED_BUS_NAME, CAPTURED_MANAGER_PATH,
                                                       CAPTURED_MANAGER_INTERFACE, "StartCapture"), >=, 0);
        return m;
}

static void seal_and_rewind(sd_bus_message *m) {
        g_assert_cmpint(sd_bus_message_seal(m, 1, 0), >=, 0);
        g_assert_cmpint(sd_bus_message_rewind(m, 1), >=, 0);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(sd_bus_message, sd_bus_message_unref)

/* Reads a message holding one a{sv} and expects InvalidArgs naming key;
 * the options must stay as they were. */
static void assert_read_refused(sd_bus_message *m, const char *key) {
        g_auto(CaptureOptions) o = {};
        g_auto(CaptureOptions) before = {};
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        capture_options_init_default(&o);
        o.file_size = 3; /* something not the default, to see it kept */
        g_assert_cmpint(capture_options_copy(&before, &o), ==, 0);

        seal_and_rewind(m);
        r = capture_options_read_message(&o, m, &error);
        g_test_message("%s: %s", strempty(error.name), strempty(error.message));
        g_assert_cmpint(r, <, 0);
        g_assert_cmpstr(error.name, ==, SD_BUS_ERROR_INVALID_ARGS);
        g_assert_nonnull(error.message);
        g_assert_nonnull(strstr(error.message, key));
        g_assert_true(capture_options_equal(&o, &before));
        sd_bus_error_free(&error);
}

static void test_read_valid(BusFixture *f, gconstpointer data) {
        g_autoptr(sd_bus_message) m = new_call(f);
        sd_bus_error error = SD_BUS_ERROR_NULL;
        g_auto(CaptureOptions) o = {};

        g_assert_cmpint(sd_bus_message_append(m, "a{sv}", 8,
                                              "FileSize", "u", 5,
                                              "FileCount", "u", 3,
                                              "Filter", "s", "udp port 9",
                                              "SnapLength", "u", 128,
                                              "BufferSize", "u", 0,
                                              "Promiscuous", "b", 0,
                                              "RotateSeconds", "u", 60,
                                              "Upload", "s", "cs-1"), >=, 0);
        seal_and_rewind(m);

        capture_options_init_default(&o);
        g_assert_cmpint(capture_options_read_message(&o, m, &error), >=, 0);
        g_assert_false(sd_bus_error_is_set(&error));
        g_assert_cmpuint(o.file_size, ==, 5);
        g_assert_cmpuint(o.file_count, ==, 3);
        g_assert_cmpstr(o.filter, ==, "udp port 9");
        g_assert_cmpuint(o.snap_length, ==, 128);
        g_assert_cmpuint(o.buffer_size, ==, CAPTURE_OPTIONS_DEFAULT_BUFFER_SIZE);
        g_assert_false(o.promiscuous);
        g_assert_cmpuint(o.rotate_seconds, ==, 60);
        g_assert_cmpstr(o.upload, ==, "cs-1");

        /* the whole argument was consumed */
        g_assert_cmpint(sd_bus_message_at_end(m, false), >, 0);
}

static void test_read_empty_keeps_base(BusFixture *f, gconstpointer data) {
        g_autoptr(sd_bus_message) m = new_call(f);
        sd_bus_error error = SD_BUS_ERROR_NULL;
        g_auto(CaptureOptions) o = {};
        g_auto(CaptureOptions) base = {};

        g_assert_cmpint(sd_bus_message_append(m, "a{sv}", 0), >=, 0);
        seal_and_rewind(m);

        capture_options_init_default(&o);
        o.file_count = 77;
        g_assert_cmpint(free_and_strdup(&o.filter, "arp"), ==, 0);
        g_assert_cmpint(capture_options_copy(&base, &o), ==, 0);

        g_assert_cmpint(capture_options_read_message(&o, m, &error), >=, 0);
        g_assert_true(capture_options_equal(&o, &base));
}

static void test_read_partial_keeps_others(BusFixture *f, gconstpointer data) {
        g_autoptr(sd_bus_message) m = new_call(f);
        sd_bus_error error = SD_BUS_ERROR_NULL;
        g_auto(CaptureOptions) o = {};

        g_assert_cmpint(sd_bus_message_append(m, "a{sv}", 1, "FileCount", "u", 4), >=, 0);
        seal_and_rewind(m);

        capture_options_init_default(&o);
        g_assert_cmpint(capture_options_read_message(&o, m, &error), >=, 0);
        g_assert_cmpuint(o.file_count, ==, 4);
        g_assert_cmpuint(o.file_size, ==, CAPTURE_OPTIONS_DEFAULT_FILE_SIZE);
        g_assert_true(o.promiscuous);
}

static void test_read_unknown_key(BusFixture *f, gconstpointer data) {
        g_autoptr(sd_bus_message) m = new_call(f);

        g_assert_cmpint(sd_bus_message_append(m, "a{sv}", 2, "FileSize", "u", 5, "Frobnicate", "u", 1), >=, 0);
        assert_read_refused(m, "Frobnicate");
}

static void test_read_wrong_type(BusFixture *f, gconstpointer data) {
        static const struct {
                const char *key, *sig;
        } cases[] = {
                { "FileSize", "s" },
                { "FileCount", "t" },
                { "Filter", "u" },
                { "Promiscuous", "u" },
                { "Upload", "b" },
        };

        for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autoptr(sd_bus_message) m = new_call(f);
                int r;

                switch (cases[i].sig[0]) {
                case 's':
                        r = sd_bus_message_append(m, "a{sv}", 1, cases[i].key, "s", "25");
                        break;
                case 't':
                        r = sd_bus_message_append(m, "a{sv}", 1, cases[i].key, "t", (uint64_t) 25);
                        break;
                case 'u':
                        r = sd_bus_message_append(m, "a{sv}", 1, cases[i].key, "u", 1);
                        break;
                default:
                        r = sd_bus_message_append(m, "a{sv}", 1, cases[i].key, "b", 1);
                        break;
                }
                g_assert_cmpint(r, >=, 0);
                assert_read_refused(m, cases[i].key);
        }
}

static void test_read_out_of_range(BusFixture *f, gconstpointer data) {
        for (gsize i = 0; i < capture_option_table_size; i++) {
                const OptionSpec *spec = &capture_option_table[i];

                if (spec->type != OPTION_UINT32)
                        continue;

                if (spec->min > 0) {
                        g_autoptr(sd_bus_message) m = new_call(f);
                        g_assert_cmpint(sd_bus_message_append(m, "a{sv}", 1, spec->key, "u", spec->min - 1), >=, 0);
                        assert_read_refused(m, spec->key);
                }
                {
                        g_autoptr(sd_bus_message) m = new_call(f);
                        g_assert_cmpint(sd_bus_message_append(m, "a{sv}", 1, spec->key, "u", spec->max + 1), >=, 0);
                        assert_read_refused(m, spec->key);
                }
        }
}

static void test_read_bad_upload_name(BusFixture *f, gconstpointer data) {
        g_autoptr(sd_bus_message) m = new_call(f);

        g_assert_cmpint(sd_bus_message_append(m, "a{sv}", 1, "Upload", "s", "../x"), >=, 0);
        assert_read_refused(m, "Upload");
}

static void test_read_error_after_valid_keys(BusFixture *f, gconstpointer data) {
        /* A bad key after good ones must not leave the good ones applied. */
        g_autoptr(sd_bus_message) m = new_call(f);

        g_assert_cmpint(sd_bus_message_append(m, "a{sv}", 3,
                                              "FileSize", "u", 9,
                                              "Filter", "s", "tcp",
                                              "FileCount", "u", 0), >=, 0);
        assert_read_refused(m, "FileCount");
}

static void test_append_read_round_trip(BusFixture *f, gconstpointer data) {
        g_autoptr(sd_bus_message) m = new_call(f);
        sd_bus_error error = SD_BUS_ERROR_NULL;
        g_auto(CaptureOptions) in = {};
        g_auto(CaptureOptions) out = {};

        capture_options_init_default(&in);
        in.file_size = 11;
        in.file_count = 12;
        in.snap_length = 13;
        in.buffer_size = 14;
        in.promiscuous = false;
        in.rotate_seconds = 15;
        g_assert_cmpint(free_and_strdup(&in.filter, "icmp"), ==, 0);
        g_assert_cmpint(free_and_strdup(&in.upload, "target_1"), ==, 0);

        g_assert_cmpint(capture_options_append(m, &in), >=, 0);
        seal_and_rewind(m);

        capture_options_init_default(&out);
        g_assert_cmpint(capture_options_read_message(&out, m, &error), >=, 0);
        g_assert_true(capture_options_equal(&in, &out));
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/capture-options/table/find-by-key-and-cli", test_find_by_key);
        g_test_add_func("/capture-options/table/find-unknown", test_find_unknown);
        g_test_add_func("/capture-options/table/type-signature", test_type_signature);
        g_test_add_func("/capture-options/parse/uint", test_parse_uint);
        g_test_add_func("/capture-options/parse/bool", test_parse_bool);
        g_test_add_func("/capture-options/parse/string", test_parse_string);
        g_test_add_func("/capture-options/parse/no-error-pointer", test_parse_no_error_pointer);
        g_test_add_func("/capture-options/set/uint-ranges", test_set_uint_ranges);
        g_test_add_func("/capture-options/set/specific-ranges", test_set_specific_ranges);
        g_test_add_func("/capture-options/set/wrong-type", test_set_wrong_type);
        g_test_add_func("/capture-options/set/strings", test_set_strings);
        g_test_add_func("/capture-options/set/zero-means-default", test_zero_means_default);
        g_test_add_func("/capture-options/defaults", test_defaults);
        g_test_add_func("/capture-options/equal-and-copy", test_equal_and_copy);
        g_test_add_func("/capture-options/equal-each-field", test_equal_each_field);
        g_test_add_func("/capture-options/format", test_format);

#define ADD_BUS_TEST(path, func) \
        g_test_add(path, BusFixture, NULL, bus_fixture_setup, func, bus_fixture_teardown)
        ADD_BUS_TEST("/capture-options/message/valid", test_read_valid);
        ADD_BUS_TEST("/capture-options/message/empty-keeps-base", test_read_empty_keeps_base);
        ADD_BUS_TEST("/capture-options/message/partial-keeps-others", test_read_partial_keeps_others);
        ADD_BUS_TEST("/capture-options/message/unknown-key", test_read_unknown_key);
        ADD_BUS_TEST("/capture-options/message/wrong-type", test_read_wrong_type);
        ADD_BUS_TEST("/capture-options/message/out-of-range", test_read_out_of_range);
        ADD_BUS_TEST("/capture-options/message/bad-upload-name", test_read_bad_upload_name);
        ADD_BUS_TEST("/capture-options/message/error-after-valid-keys", test_read_error_after_valid_keys);
        ADD_BUS_TEST("/capture-options/message/append-read-round-trip", test_append_read_round_trip);

        return g_test_run();
}
