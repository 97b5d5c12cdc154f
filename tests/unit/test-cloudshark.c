/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <glib.h>
#include <string.h>
#include <sys/types.h>

#include "cloudshark.h"
#include "strv.h"

#define BASE "https://cs.example.com"

static void test_api_url(void) {
        g_autofree char *upload = cloudshark_api_url(BASE, "0123abcd", "upload");
        g_autofree char *odd = cloudshark_api_url(BASE, "a/b c?", "upload");
        g_autofree char *redacted = cloudshark_api_url(BASE, CLOUDSHARK_REDACTED_TOKEN, "upload");

        g_assert_cmpstr(upload, ==, BASE "/api/v1/0123abcd/upload");
        /* A token can never escape its path segment. */
        g_assert_cmpstr(odd, ==, BASE "/api/v1/a%2Fb%20c%3F/upload");
        g_assert_cmpstr(redacted, ==, BASE "/api/v1/***/upload");
}

static void test_search_url(void) {
        g_autofree char *plain = cloudshark_search_url(BASE, "T", "pcap-eth0-20240101T120000.pcap");
        g_autofree char *odd = cloudshark_search_url(BASE, "T", "a b&c=d[1]+é.pcap");
        g_autofree char *redacted = cloudshark_search_url(BASE, CLOUDSHARK_REDACTED_TOKEN, "x.pcap");

        g_assert_cmpstr(plain, ==, BASE "/api/v1/T/search?search%5Bfilename%5D=pcap-eth0-20240101T120000.pcap");
        g_assert_cmpstr(odd, ==, BASE "/api/v1/T/search?search%5Bfilename%5D=a%20b%26c%3Dd%5B1%5D%2B%C3%A9.pcap");
        g_assert_cmpstr(redacted, ==, BASE "/api/v1/***/search?search%5Bfilename%5D=x.pcap");
}

static void test_delete_and_capture_url(void) {
        g_autofree char *del = cloudshark_delete_url(BASE, "T", "4f2a9c");
        g_autofree char *del_odd = cloudshark_delete_url(BASE, "T", "../x");
        g_autofree char *capture = cloudshark_capture_url(BASE, "4f2a9c");
        g_autofree char *capture_odd = cloudshark_capture_url(BASE, "a/b");

        g_assert_cmpstr(del, ==, BASE "/api/v1/T/delete/4f2a9c");
        g_assert_cmpstr(del_odd, ==, BASE "/api/v1/T/delete/..%2Fx");
        g_assert_cmpstr(capture, ==, BASE "/captures/4f2a9c");
        g_assert_cmpstr(capture_odd, ==, BASE "/captures/a%2Fb");
}

static void assert_upload_ok(const char *body, const char *expected_id) {
        g_autofree char *id = NULL, *error = NULL;

        g_assert_cmpint(cloudshark_parse_upload_response(body, strlen(body), &id, &error), ==, 0);
        g_assert_cmpstr(id, ==, expected_id);
        g_assert_null(error);
}

/* size -1: all of body */
static void assert_upload_bad(const char *body, ssize_t size, const char *expected_error) {
        g_autofree char *id = NULL, *error = NULL;

        if (size < 0)
                size = strlen(body);

        g_assert_cmpint(cloudshark_parse_upload_response(body, size, &id, &error), ==, -EBADMSG);
        g_assert_null(id);
        g_assert_cmpstr(error, ==, expected_error);
}

static void test_parse_upload(void) {
        const char *truncated = "{\"id\": \"abc\", \"filename\": \"x.pcap\"}";

        assert_upload_ok("{\"id\": \"8e2e5e8ed79c5fe5\", \"filename\": \"x.pcap\"}", "8e2e5e8ed79c5fe5");
        assert_upload_ok("  {\"filename\": \"x.pcap\", \"id\": 1234}\r\n", "1234");
        assert_upload_ok("{\"id\": \"abc\"}", "abc");

        assert_upload_bad("", -1, "invalid JSON in response");
        assert_upload_bad("<html>Bad gateway</html>", -1, "invalid JSON in response");
        assert_upload_bad(truncated, strlen(truncated) - 5, "invalid JSON in response");
        assert_upload_bad("{\"id\": \"abc\"} trailing", -1, "invalid JSON in response");
        assert_upload_bad("[{\"id\": \"abc\"}]", -1, "invalid JSON in response");
        assert_upload_bad("{\"filename\": \"x.pcap\"}", -1, "no capture id in response");
        assert_upload_bad("{\"id\": \"\"}", -1, "no capture id in response");
        assert_upload_bad("{\"id\": null}", -1, "no capture id in response");
        assert_upload_bad("{\"id\": {\"x\": 1}}", -1, "no capture id in response");
}

static char **parse_search_invalid(const char *body, const char *filename, const char *keep_id, size_t *ret_invalid) {
        g_autofree char *error = NULL;
        char **ids = NULL;

        g_assert_cmpint(cloudshark_parse_search_response(body, strlen(body), filename, keep_id, &ids, ret_invalid,
                                                         &error), ==, 0);
        g_assert_null(error);
        g_assert_nonnull(ids);
        return ids;
}

static char **parse_search(const char *body, const char *filename, const char *keep_id) {
        return parse_search_invalid(body, filename, keep_id, NULL);
}

static void test_parse_search(void) {
        _cleanup_(strv_freep) char **none = NULL, **others = NULL, **unnamed = NULL;

        none = parse_search("{\"captures\": []}", "x.pcap", "new");
        g_assert_null(none[0]);

        /* The new copy stays; a capture of another name is not ours to delete. */
        others = parse_search("{\"captures\": ["
                              "{\"id\": \"old1\", \"filename\": \"x.pcap\"},"
                              "{\"id\": \"new\", \"filename\": \"x.pcap\"},"
                              "{\"id\": \"other\", \"filename\": \"x.pcap.gz\"},"
                              "{\"id\": 42, \"filename\": \"x.pcap\"},"
                              "{\"filename\": \"x.pcap\"},"
                              "17]}", "x.pcap", "new");
        g_assert_cmpuint(strv_length(others), ==, 2);
        g_assert_cmpstr(others[0], ==, "old1");
        g_assert_cmpstr(others[1], ==, "42");

        /* Without a filename (or with one that is not a string, or that
         * only starts like it) the server's search is not trusted. */
        unnamed = parse_search("{\"captures\": [{\"id\": \"victim\"}, {\"id\": \"b\", \"filename\": null},"
                               "{\"id\": \"c\", \"filename\": [\"x.pcap\"]},"
                               "{\"id\": \"d\", \"filename\": \"x.pcap\\u0000.gz\"}], \"total\": 4}",
                               "x.pcap", "new");
        g_assert_null(unnamed[0]);
}

static void test_parse_search_bad(void) {
        static const struct {
                const char *body;
                const char *error;
        } cases[] = {
                { "not json", "invalid JSON in response" },
                { "{\"captures\": [", "invalid JSON in response" },
                { "{}", "no captures list in response" },
                { "{\"captures\": {\"id\": \"a\"}}", "no captures list in response" },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autofree char *error = NULL;
                char **ids = NULL;

                g_assert_cmpint(cloudshark_parse_search_response(cases[i].body, strlen(cases[i].body),
                                                                 "x.pcap", "new", &ids, NULL, &error), ==, -EBADMSG);
                g_assert_null(ids);
                g_assert_cmpstr(error, ==, cases[i].error);
        }
}

/* Ids go into the delete URL (where libcurl removes dot segments), the
 * capture URL, a D-Bus signal and uploads.json. */
static void test_hostile_ids(void) {
        static const char *const bad[] = {
                "\".\"", "\"..\"", "\"a/b\"", "\"../x\"", "\"a\\u0000b\"", "\"a b\"", "\"%2e%2e\"", "\"a?b\"",
                "\"a#b\"", "\"\\n\"", "\"\xc3\xa9\"",
        };
        g_autofree char *longest = g_strnfill(CLOUDSHARK_ID_MAX, 'a');
        g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
        g_autofree char *upload = NULL, *search = NULL;
        _cleanup_(strv_freep) char **found = NULL;

        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
                g_ptr_array_add(ids, g_strdup(bad[i]));
        g_ptr_array_add(ids, g_strdup_printf("\"a%s\"", longest));
        g_ptr_array_add(ids, g_strdup_printf("\"%0900000d\"", 0));

        for (size_t i = 0; i < ids->len; i++) {
                const char *id = ids->pdata[i];
                g_autofree char *bad_upload = g_strdup_printf("{\"id\": %s, \"filename\": \"x.pcap\"}", id);
                g_autofree char *bad_search = g_strdup_printf("{\"captures\": [{\"id\": %s, \"filename\": \"x.pcap\"},"
                                                              "{\"id\": \"old\", \"filename\": \"x.pcap\"}]}", id);
                _cleanup_(strv_freep) char **only_old = NULL;
                size_t invalid = 0;

                g_test_message("id %.40s", id);
                assert_upload_bad(bad_upload, -1, "invalid capture id in response");
                only_old = parse_search_invalid(bad_search, "x.pcap", "new", &invalid);
                g_assert_cmpuint(invalid, ==, 1);
                g_assert_cmpuint(strv_length(only_old), ==, 1);
                g_assert_cmpstr(only_old[0], ==, "old");
        }

        /* CLOUDSHARK_ID_MAX characters, and dots that are no dot segment, are fine. */
        upload = g_strdup_printf("{\"id\": \"%s\"}", longest);
        assert_upload_ok(upload, longest);
        assert_upload_ok("{\"id\": \"Ab-09._~\"}", "Ab-09._~");
        assert_upload_ok("{\"id\": \"...\"}", "...");
        search = g_strdup_printf("{\"captures\": [{\"id\": \"%s\", \"filename\": \"x.pcap\"}]}", longest);
        found = parse_search(search, "x.pcap", "new");
        g_assert_cmpuint(strv_length(found), ==, 1);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/cloudshark/api-url", test_api_url);
        g_test_add_func("/cloudshark/search-url", test_search_url);
        g_test_add_func("/cloudshark/delete-and-capture-url", test_delete_and_capture_url);
        g_test_add_func("/cloudshark/parse-upload", test_parse_upload);
        g_test_add_func("/cloudshark/parse-search", test_parse_search);
        g_test_add_func("/cloudshark/parse-search-bad", test_parse_search_bad);
        g_test_add_func("/cloudshark/hostile-ids", test_hostile_ids);

        return g_test_run();
}
