/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <glib/gstdio.h>
#include <systemd/sd-event.h>

#include "http-put.h"
#include "s3.h"
#include "test-dir.h"
#include "upload-scan.h"

/* Issue 13: the pure parts of the S3 and HTTP PUT targets and the scan of a
 * file before its upload. The signed requests themselves are tested against
 * OpenStack Swift (tests/integration/test_s3.py). */

static UploadTarget target(S3Addressing addressing) {
        return (UploadTarget) {
                .name = (char *) "s3", .url = (char *) "https://s3.example.net:9000", .bucket = (char *) "captures",
                .addressing = addressing,
        };
}

static void test_encode_key(void) {
        g_autofree char *a = http_put_encode_key("sensor 1/eth0/2026-12-01T09:36:19 pcap+x~y.pcap");
        g_autofree char *b = http_put_encode_key("a//b/ü");

        /* Upper-case hex, '/' kept, unreserved characters kept. */
        g_assert_cmpstr(a, ==, "sensor%201/eth0/2026-12-01T09%3A36%3A19%20pcap%2Bx~y.pcap");
        g_assert_cmpstr(b, ==, "a//b/%C3%BC");

        /* "." and ".." segments (a template, a host name) are encoded:
         * libcurl would remove them and put the file elsewhere. */
        g_autofree char *c = http_put_encode_key("../in/./x/../f.pcap");
        g_autofree char *d = http_put_encode_key("..x/.../a.");
        g_assert_cmpstr(c, ==, "%2E%2E/in/%2E/x/%2E%2E/f.pcap");
        g_assert_cmpstr(d, ==, "..x/.../a.");
}

static void test_object_url(void) {
        UploadTarget path = target(S3_ADDRESSING_PATH), virtual = target(S3_ADDRESSING_VIRTUAL);
        g_autofree char *a = s3_object_url(&path, "h/eth0/f%3A1.pcap");
        g_autofree char *b = s3_object_url(&virtual, "h/eth0/f%3A1.pcap");
        g_autofree char *c = s3_location(&path, "h/eth0/f:1.pcap");

        g_assert_cmpstr(a, ==, "https://s3.example.net:9000/captures/h/eth0/f%3A1.pcap");
        g_assert_cmpstr(b, ==, "https://captures.s3.example.net:9000/h/eth0/f%3A1.pcap");
        g_assert_cmpstr(c, ==, "s3://captures/h/eth0/f:1.pcap");
}

static void test_complete_body_and_resume(void) {
        char *etags[] = { (char *) "\"aa\"", (char *) "\"bb\"" };
        g_autofree char *body = s3_complete_body(etags, 2);
        g_autofree char *resume = s3_resume_format("up~load/id=", "k/with space");
        g_autofree char *id = NULL, *key = NULL;

        g_assert_cmpstr(body, ==, "<CompleteMultipartUpload>"
                        "<Part><PartNumber>1</PartNumber><ETag>\"aa\"</ETag></Part>"
                        "<Part><PartNumber>2</PartNumber><ETag>\"bb\"</ETag></Part>"
                        "</CompleteMultipartUpload>");
        g_assert_cmpint(s3_resume_parse(resume, &id, &key), ==, 0);
        g_assert_cmpstr(id, ==, "up~load/id=");
        g_assert_cmpstr(key, ==, "k/with space");
        g_assert_cmpint(s3_resume_parse("no-newline", &id, &key), ==, -EINVAL);
        g_assert_cmpint(s3_resume_parse("\nkey", &id, &key), ==, -EINVAL);
}

static void test_xml_and_failure_text(void) {
        static const char error[] = "<?xml version='1.0'?><Error><Code>SignatureDoesNotMatch</Code>"
                                    "<Message>The request signature we calculated does not match</Message></Error>";
        static const char created[] = "<InitiateMultipartUploadResult><UploadId>abc-123</UploadId></InitiateMultipartUploadResult>";
        g_autofree char *code = http_put_xml_text(error, sizeof(error) - 1, "Code");
        g_autofree char *id = http_put_xml_text(created, sizeof(created) - 1, "UploadId");

        g_assert_cmpstr(code, ==, "SignatureDoesNotMatch");
        g_assert_cmpstr(id, ==, "abc-123");
        g_assert_null(http_put_xml_text(created, sizeof(created) - 1, "Code"));
        g_assert_null(http_put_xml_text("<UploadId><x/></UploadId>", 25, "UploadId"));
        g_assert_null(http_put_xml_text("<UploadId></UploadId>", 21, "UploadId"));
}

/* A pcap with n records of size bytes each, little-endian, µs. */
static GByteArray *make_pcap(unsigned n, unsigned size, guint32 first_second) {
        GByteArray *a = g_byte_array_new();
        guint32 header[6] = { 0xa1b2c3d4, 2 | (4 << 16), 0, 0, 262144, 1 };

        g_byte_array_append(a, (const guint8 *) header, sizeof(header));
        for (unsigned i = 0; i < n; i++) {
                guint32 record[4] = { first_second + i, 1000 + i, size, size };
                g_autofree guint8 *payload = g_malloc0(size);

                g_byte_array_append(a, (const guint8 *) record, sizeof(record));
                g_byte_array_append(a, payload, size);
        }
        return a;
}

static void test_pcap_summary_any_chunking(void) {
        g_autoptr(GByteArray) pcap = make_pcap(50, 37, 1796117779);

        /* The same answer however the file is cut into chunks. */
        for (size_t chunk = 1; chunk <= pcap->len; chunk += chunk < 40 ? 1 : 97) {
                PcapSummary p = {};

                for (size_t off = 0; off < pcap->len; off += chunk)
                        pcap_summary_feed(&p, pcap->data + off, MIN(chunk, pcap->len - off));
                g_assert_true(p.valid);
                g_assert_cmpuint(p.packets, ==, 50);
                g_assert_cmpuint(p.first_usec, ==, UINT64_C(1796117779) * 1000000 + 1000);
                g_assert_cmpuint(p.last_usec, ==, UINT64_C(1796117828) * 1000000 + 1049);
        }

        PcapSummary not_pcap = {};
        pcap_summary_feed(&not_pcap, (const guint8 *) "this is not a pcap file at all", 30);
        g_assert_false(not_pcap.valid);
        g_assert_cmpuint(not_pcap.packets, ==, 0);
}

typedef struct ScanOutcome {
        int error;
        UploadScanResult result;
        char hashes[8][65];
        bool done;
} ScanOutcome;

static void on_scan_done(void *userdata, int error, const UploadScanResult *result) {
        ScanOutcome *o = userdata;

        o->done = true;
        o->error = error;
        if (result) {
                o->result = *result;
                for (size_t i = 0; i < result->n_parts && i < 8; i++)
                        memcpy(o->hashes[i], result->part_sha256[i], 65);
                o->result.part_sha256 = NULL;
        }
}

static void scan(const char *path, uint64_t part_size, uint64_t threshold, ScanOutcome *o) {
        sd_event *event = NULL;
        UploadScan *s = NULL;

        *o = (ScanOutcome) {};
        g_assert_cmpint(sd_event_new(&event), >=, 0);
        g_assert_cmpint(upload_scan_start(&s, event, path, part_size, threshold, on_scan_done, o), ==, 0);
        while (!o->done)
                g_assert_cmpint(sd_event_run(event, UINT64_MAX), >=, 0);
        upload_scan_free(s);
        sd_event_unref(event);
}

static void test_scan_parts(void) {
        char *dir = test_dir_new("test-s3-XXXXXX");   /* freed by test_dir_remove() */
        g_autofree char *path = g_build_filename(dir, "f.pcap", NULL);
        g_autoptr(GByteArray) pcap = make_pcap(3000, 1000, 1796117779);   /* about 3 MB: 3 chunks */
        g_autofree char *whole = g_compute_checksum_for_data(G_CHECKSUM_SHA256, pcap->data, pcap->len);
        ScanOutcome o;

        g_assert_true(g_file_set_contents(path, (const char *) pcap->data, pcap->len, NULL));

        /* Below the threshold: one part, the whole file's hash. */
        scan(path, 1000000, pcap->len, &o);
        g_assert_cmpint(o.error, ==, 0);
        g_assert_cmpuint(o.result.n_parts, ==, 1);
        g_assert_cmpstr(o.hashes[0], ==, whole);
        g_assert_cmpuint(o.result.packets, ==, 3000);
        g_assert_true(o.result.pcap);

        /* Above: parts of part_size, the last shorter. */
        scan(path, 1000000, 1, &o);
        g_assert_cmpuint(o.result.n_parts, ==, (pcap->len + 999999) / 1000000);
        for (size_t i = 0; i < o.result.n_parts; i++) {
                size_t off = i * 1000000, n = MIN(1000000, pcap->len - off);
                g_autofree char *h = g_compute_checksum_for_data(G_CHECKSUM_SHA256, pcap->data + off, n);

                g_assert_cmpstr(o.hashes[i], ==, h);
        }

        /* Empty file: one part, the hash of nothing. */
        g_assert_true(g_file_set_contents(path, "", 0, NULL));
        scan(path, 0, UINT64_MAX, &o);
        g_assert_cmpint(o.error, ==, 0);
        g_assert_cmpuint(o.result.n_parts, ==, 1);
        g_assert_cmpstr(o.hashes[0], ==, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

        test_dir_remove(dir);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/s3/encode-key", test_encode_key);
        g_test_add_func("/s3/object-url", test_object_url);
        g_test_add_func("/s3/complete-body-and-resume", test_complete_body_and_resume);
        g_test_add_func("/s3/xml-and-failure-text", test_xml_and_failure_text);
        g_test_add_func("/s3/pcap-summary-any-chunking", test_pcap_summary_any_chunking);
        g_test_add_func("/s3/scan-parts", test_scan_parts);

        return g_test_run();
}
