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

static char **parse_search(const char *body, const char *filename, const char *keep_id) {
        g_autofree char *error = NULL;
        char **ids = NULL;

        g_assert_cmpint(cloudshark_parse_search_response(body, strlen(body), filename, keep_id, &ids, &error), ==, 0);
        g_assert_null(error);
        g_assert_nonnull(ids);
        return ids;
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

        /* Without a filename the server's search is trusted. */
        unnamed = parse_search("{\"captures\": [{\"id\": \"a\"}, {\"id\": \"b\"}], \"total\": 2}", "x.pcap", "b");
        g_assert_cmpuint(strv_length(unnamed), ==, 1);
        g_assert_cmpstr(unnamed[0], ==, "a");
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
                                                                 "x.pcap", "new", &ids, &error), ==, -EBADMSG);
                g_assert_null(ids);
                g_assert_cmpstr(error, ==, cases[i].error);
        }
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/cloudshark/api-url", test_api_url);
        g_test_add_func("/cloudshark/search-url", test_search_url);
        g_test_add_func("/cloudshark/delete-and-capture-url", test_delete_and_capture_url);
        g_test_add_func("/cloudshark/parse-upload", test_parse_upload);
        g_test_add_func("/cloudshark/parse-search", test_parse_search);
        g_test_add_func("/cloudshark/parse-search-bad", test_parse_search_bad);

        return g_test_run();
}
