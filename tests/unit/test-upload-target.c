/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>

#include "test-dir.h"
#include "time-util.h"
#include "upload-target.h"


typedef struct Fixture {
        char *dir;
        UploadTarget **targets;
} Fixture;

static void write_file(Fixture *f, const char *name, const char *contents, int mode) {
        test_dir_write(f->dir, name, contents, mode);
}

static void setup(Fixture *f, gconstpointer data) {
        f->dir = test_dir_new("test-upload-target-XXXXXX");
        g_unsetenv("CREDENTIALS_DIRECTORY");
}

static void teardown(Fixture *f, gconstpointer data) {
        upload_targets_free(f->targets);
        test_dir_remove(f->dir);
        g_unsetenv("CREDENTIALS_DIRECTORY");
}

static size_t load(Fixture *f) {
        size_t n = 0;

        upload_targets_free(f->targets);
        f->targets = NULL;
        g_assert_cmpint(upload_targets_load(f->dir, &f->targets), ==, 0);
        g_assert_nonnull(f->targets);
        while (f->targets[n])
                n++;
        return n;
}

static void test_no_directory(Fixture *f, gconstpointer data) {
        g_assert_cmpuint(load(f), ==, 0);
}

static void test_all_keys(Fixture *f, gconstpointer data) {
        const UploadTarget *t;

        write_file(f, "upload.d/lab.conf",
                   "[Upload]\n"
                   "Type=cloudshark\n"
                   "URL=https://cloudshark.example.com/\n"
                   "Token=0123456789abcdef\n"
                   "Tags=site-a,router 1\n"
                   "ReplaceExisting=yes\n"
                   "MaxConcurrent=5\n"
                   "Timeout=60\n"
                   "CAFile=/etc/ssl/lab-ca.pem\n", 0600);

        g_assert_cmpuint(load(f), ==, 1);
        t = f->targets[0];
        g_assert_cmpstr(t->name, ==, "lab");
        g_assert_cmpint(t->type, ==, UPLOAD_TARGET_CLOUDSHARK);
        g_assert_cmpstr(t->url, ==, "https://cloudshark.example.com");
        g_assert_cmpstr(t->token, ==, "0123456789abcdef");
        g_assert_cmpstr(t->tags, ==, "site-a,router 1");
        g_assert_true(t->replace_existing);
        g_assert_cmpuint(t->max_concurrent, ==, 5);
        g_assert_cmpuint(t->timeout_usec, ==, 60 * USEC_PER_SEC);
        g_assert_cmpstr(t->ca_file, ==, "/etc/ssl/lab-ca.pem");
}

static void test_defaults_and_bad_lines(Fixture *f, gconstpointer data) {
        const UploadTarget *t;

        /* Each bad line is skipped; the rest of the file still loads. */
        write_file(f, "upload.d/cs.conf",
                   "[Upload]\n"
                   "Type=CloudShark\n"
                   "URL=http://127.0.0.1:8080\n"
                   "Token=t\n"
                   "MaxConcurrent=0\n"
                   "MaxConcurrent=65\n"
                   "Timeout=soon\n"
                   "ReplaceExisting=maybe\n"
                   "CAFile=relative.pem\n"
                   "URL=ftp://elsewhere\n"
                   "Colour=blue\n"
                   "not a key value line\n"
                   "[Other]\n"
                   "Key=value\n", 0600);

        g_assert_cmpuint(load(f), ==, 1);
        t = f->targets[0];
        g_assert_cmpstr(t->url, ==, "http://127.0.0.1:8080");
        g_assert_cmpstr(t->tags, ==, "");
        g_assert_false(t->replace_existing);
        g_assert_cmpuint(t->max_concurrent, ==, UPLOAD_TARGET_DEFAULT_MAX_CONCURRENT);
        g_assert_cmpuint(t->timeout_usec, ==, UPLOAD_TARGET_DEFAULT_TIMEOUT_SEC * USEC_PER_SEC);
        g_assert_null(t->ca_file);
}

static void test_unusable_files_skipped(Fixture *f, gconstpointer data) {
        write_file(f, "upload.d/a-unknown-type.conf", "[Upload]\nType=s3\nURL=https://x\nToken=t\n", 0600);
        write_file(f, "upload.d/b-no-type.conf", "[Upload]\nURL=https://x\nToken=t\n", 0600);
        write_file(f, "upload.d/c-no-url.conf", "[Upload]\nType=cloudshark\nToken=t\n", 0600);
        write_file(f, "upload.d/d-bad-url.conf", "[Upload]\nType=cloudshark\nURL=file:///etc/passwd\nToken=t\n", 0600);
        write_file(f, "upload.d/d-userinfo.conf",
                   "[Upload]\nType=cloudshark\nURL=https://user:secret@x/\nToken=t\n", 0600);
        write_file(f, "upload.d/e-no-token.conf", "[Upload]\nType=cloudshark\nURL=https://x\n", 0600);
        write_file(f, "upload.d/f-missing-token-file.conf",
                   "[Upload]\nType=cloudshark\nURL=https://x\nTokenFile=/nonexistent/token\n", 0600);
        write_file(f, "upload.d/bad name.conf", "[Upload]\nType=cloudshark\nURL=https://x\nToken=t\n", 0600);
        write_file(f, "upload.d/not-a-conf.txt", "[Upload]\nType=cloudshark\nURL=https://x\nToken=t\n", 0600);
        write_file(f, "upload.d/z-good.conf", "[Upload]\nType=cloudshark\nURL=https://x\nToken=t\n", 0600);

        g_assert_cmpuint(load(f), ==, 1);
        g_assert_cmpstr(f->targets[0]->name, ==, "z-good");
}

static void test_token_sources(Fixture *f, gconstpointer data) {
        g_autofree char *token_file = g_build_filename(f->dir, "secret", NULL);
        g_autofree char *credentials = g_build_filename(f->dir, "credentials", NULL);
        g_autofree char *config = g_strdup_printf("[Upload]\nType=cloudshark\nURL=https://x\n"
                                                  "Token=from-config\nTokenFile=%s\n", token_file);

        write_file(f, "upload.d/cs.conf", "[Upload]\nType=cloudshark\nURL=https://x\nToken=from-config\n", 0600);
        g_assert_cmpuint(load(f), ==, 1);
        g_assert_cmpstr(f->targets[0]->token, ==, "from-config");

        /* TokenFile= wins over Token=; the line end is not part of it. */
        write_file(f, "secret", "from-file  \n", 0600);
        write_file(f, "upload.d/cs.conf", config, 0600);
        g_assert_cmpuint(load(f), ==, 1);
        g_assert_cmpstr(f->targets[0]->token, ==, "from-file");

        /* The credential wins over both; another target's is not used. */
        write_file(f, "credentials/upload-other", "not-ours\n", 0600);
        g_setenv("CREDENTIALS_DIRECTORY", credentials, true);
        g_assert_cmpuint(load(f), ==, 1);
        g_assert_cmpstr(f->targets[0]->token, ==, "from-file");

        write_file(f, "credentials/upload-cs", "from-credential", 0600);
        g_assert_cmpuint(load(f), ==, 1);
        g_assert_cmpstr(f->targets[0]->token, ==, "from-credential");

        /* A credential alone is enough. */
        write_file(f, "upload.d/cs.conf", "[Upload]\nType=cloudshark\nURL=https://x\n", 0600);
        g_assert_cmpuint(load(f), ==, 1);
        g_assert_cmpstr(f->targets[0]->token, ==, "from-credential");

        /* An empty token file is no token. */
        write_file(f, "credentials/upload-cs", "\n", 0600);
        g_assert_cmpuint(load(f), ==, 0);
}

static void test_dup_and_redact(Fixture *f, gconstpointer data) {
        _cleanup_(upload_target_freep) UploadTarget *copy = NULL;
        g_autofree char *redacted = NULL, *unchanged = NULL;

        write_file(f, "upload.d/cs.conf",
                   "[Upload]\nType=cloudshark\nURL=https://x\nToken=s3cr3t\nCAFile=/ca.pem\n", 0600);
        g_assert_cmpuint(load(f), ==, 1);

        g_assert_cmpint(upload_target_dup(f->targets[0], &copy), ==, 0);
        g_assert_cmpstr(copy->name, ==, "cs");
        g_assert_cmpstr(copy->token, ==, "s3cr3t");
        g_assert_cmpstr(copy->ca_file, ==, "/ca.pem");
        g_assert_true(copy->token != f->targets[0]->token);

        redacted = upload_target_redact(copy, "https://x/api/v1/s3cr3t/upload: s3cr3ts3cr3t");
        g_assert_cmpstr(redacted, ==, "https://x/api/v1/***/upload: ******");
        unchanged = upload_target_redact(copy, "Connection refused");
        g_assert_cmpstr(unchanged, ==, "Connection refused");
}

static void test_type_names(void) {
        g_assert_cmpstr(upload_target_type_to_string(UPLOAD_TARGET_CLOUDSHARK), ==, "cloudshark");
        g_assert_cmpint(upload_target_type_from_string("cloudshark"), ==, UPLOAD_TARGET_CLOUDSHARK);
        g_assert_cmpint(upload_target_type_from_string("S3"), ==, UPLOAD_TARGET_S3);
        g_assert_cmpint(upload_target_type_from_string("http"), ==, UPLOAD_TARGET_HTTP);
        g_assert_cmpint(upload_target_type_from_string("webdav"), ==, _UPLOAD_TARGET_TYPE_MAX);
        g_assert_null(upload_target_type_to_string(_UPLOAD_TARGET_TYPE_MAX));
}

/* Issue 13: Type=s3 and Type=http. */
static void test_s3_keys(Fixture *f, gconstpointer data) {
        g_autofree char *secret = g_build_filename(f->dir, "s3.secret", NULL);
        g_autofree char *conf = g_strdup_printf(
                   "[Upload]\n"
                   "Type=s3\n"
                   "Endpoint=https://s3.example.net/\n"
                   "Bucket=captures\n"
                   "Region=eu-central-1\n"
                   "KeyTemplate=%%H/%%i/%%Y/%%m/%%d/%%f\n"
                   "AddressingStyle=virtual\n"
                   "StorageClass=STANDARD_IA\n"
                   "AccessKeyId=AKIAEXAMPLE\n"
                   "SecretAccessKeyFile=%s\n"
                   "MultipartThreshold=100M\n"
                   "PartSize=8M\n", secret);
        const UploadTarget *t;

        write_file(f, "s3.secret", "s3-secret-key\n", 0600);
        write_file(f, "upload.d/central.conf", conf, 0600);

        g_assert_cmpuint(load(f), ==, 1);
        t = f->targets[0];
        g_assert_cmpint(t->type, ==, UPLOAD_TARGET_S3);
        g_assert_cmpstr(t->url, ==, "https://s3.example.net");
        g_assert_cmpstr(t->bucket, ==, "captures");
        g_assert_cmpstr(t->region, ==, "eu-central-1");
        g_assert_cmpstr(t->key_template, ==, "%H/%i/%Y/%m/%d/%f");
        g_assert_cmpint(t->addressing, ==, S3_ADDRESSING_VIRTUAL);
        g_assert_cmpstr(t->storage_class, ==, "STANDARD_IA");
        g_assert_cmpstr(t->access_key_id, ==, "AKIAEXAMPLE");
        g_assert_cmpstr(t->token, ==, "s3-secret-key");
        g_assert_cmpuint(t->multipart_threshold, ==, 100 * 1024 * 1024);
        g_assert_cmpuint(t->part_size, ==, 8 * 1024 * 1024);

        /* The credentials win; the defaults. */
        write_file(f, "credentials/upload-central-access-key-id", "ID-FROM-CREDENTIAL\n", 0600);
        write_file(f, "credentials/upload-central-secret-access-key", "SECRET-FROM-CREDENTIAL\n", 0600);
        {
                g_autofree char *credentials = g_build_filename(f->dir, "credentials", NULL);
                g_setenv("CREDENTIALS_DIRECTORY", credentials, TRUE);
        }
        write_file(f, "upload.d/central.conf",
                   "[Upload]\nType=s3\nEndpoint=http://127.0.0.1:8080\nBucket=captures\n", 0600);
        g_assert_cmpuint(load(f), ==, 1);
        t = f->targets[0];
        g_assert_cmpstr(t->access_key_id, ==, "ID-FROM-CREDENTIAL");
        g_assert_cmpstr(t->token, ==, "SECRET-FROM-CREDENTIAL");
        g_assert_cmpstr(t->region, ==, "us-east-1");
        g_assert_cmpstr(t->key_template, ==, "%H/%i/%f");
        g_assert_cmpint(t->addressing, ==, S3_ADDRESSING_PATH);
        g_assert_cmpuint(t->multipart_threshold, ==, UPLOAD_TARGET_DEFAULT_MULTIPART_THRESHOLD);
        g_assert_cmpuint(t->part_size, ==, UPLOAD_TARGET_DEFAULT_PART_SIZE);
}

static void test_s3_unusable(Fixture *f, gconstpointer data) {
        g_autofree char *credentials = g_build_filename(f->dir, "credentials", NULL);

        write_file(f, "credentials/upload-a-access-key-id", "ID\n", 0600);
        write_file(f, "credentials/upload-a-secret-access-key", "SECRET\n", 0600);
        g_setenv("CREDENTIALS_DIRECTORY", credentials, TRUE);

        /* Plain http only on loopback; a bucket is required and valid. */
        write_file(f, "upload.d/a.conf", "[Upload]\nType=s3\nEndpoint=http://s3.example.net\nBucket=captures\n", 0600);
        g_assert_cmpuint(load(f), ==, 0);
        /* A host name that starts with "127." is not a loopback address. */
        write_file(f, "upload.d/a.conf", "[Upload]\nType=s3\nEndpoint=http://127.example.net\nBucket=captures\n", 0600);
        g_assert_cmpuint(load(f), ==, 0);
        write_file(f, "upload.d/a.conf", "[Upload]\nType=s3\nEndpoint=http://127.0.0.1.nip.io:8080\nBucket=captures\n", 0600);
        g_assert_cmpuint(load(f), ==, 0);
        write_file(f, "upload.d/a.conf", "[Upload]\nType=s3\nEndpoint=http://127.1.2.3:8080\nBucket=captures\n", 0600);
        g_assert_cmpuint(load(f), ==, 1);
        write_file(f, "upload.d/a.conf", "[Upload]\nType=s3\nEndpoint=http://[::1]:8080\nBucket=captures\n", 0600);
        g_assert_cmpuint(load(f), ==, 1);
        write_file(f, "upload.d/a.conf", "[Upload]\nType=s3\nEndpoint=http://localhost:8080\nBucket=captures\n", 0600);
        g_assert_cmpuint(load(f), ==, 1);
        write_file(f, "upload.d/a.conf", "[Upload]\nType=s3\nEndpoint=https://s3.example.net\n", 0600);
        g_assert_cmpuint(load(f), ==, 0);
        write_file(f, "upload.d/a.conf", "[Upload]\nType=s3\nEndpoint=https://s3.example.net\nBucket=Bad_Bucket\n", 0600);
        g_assert_cmpuint(load(f), ==, 0);
        /* Bad values are ignored (defaults stay), the target loads. */
        write_file(f, "upload.d/a.conf",
                   "[Upload]\nType=s3\nEndpoint=https://s3.example.net\nBucket=captures\n"
                   "PartSize=1M\nKeyTemplate=/abs/%f\nKeyTemplate=%q\nKeyTemplate=%H/../%f\nKeyTemplate=./%f\nAddressingStyle=sideways\nRegion=eu west\n", 0600);
        g_assert_cmpuint(load(f), ==, 1);
        g_assert_cmpuint(f->targets[0]->part_size, ==, UPLOAD_TARGET_DEFAULT_PART_SIZE);
        g_assert_cmpstr(f->targets[0]->key_template, ==, "%H/%i/%f");
        g_assert_cmpint(f->targets[0]->addressing, ==, S3_ADDRESSING_PATH);
        g_assert_cmpstr(f->targets[0]->region, ==, "us-east-1");

        /* No secret: skipped; a secret in Token= is not taken for s3. */
        g_unsetenv("CREDENTIALS_DIRECTORY");
        write_file(f, "upload.d/a.conf",
                   "[Upload]\nType=s3\nEndpoint=https://s3.example.net\nBucket=captures\nAccessKeyId=ID\nToken=SECRET\n", 0600);
        g_assert_cmpuint(load(f), ==, 0);
}

static void test_http_keys(Fixture *f, gconstpointer data) {
        write_file(f, "upload.d/c.conf", "[Upload]\nType=http\nURL=https://collector.example.net/in/\n", 0600);
        g_assert_cmpuint(load(f), ==, 1);
        g_assert_cmpint(f->targets[0]->type, ==, UPLOAD_TARGET_HTTP);
        g_assert_cmpstr(f->targets[0]->url, ==, "https://collector.example.net/in");
        g_assert_cmpint(f->targets[0]->auth, ==, HTTP_AUTH_NONE);
        g_assert_null(f->targets[0]->token);

        write_file(f, "upload.d/c.conf", "[Upload]\nType=http\nURL=https://c.example.net\nToken=T0K\n", 0600);
        g_assert_cmpuint(load(f), ==, 1);
        g_assert_cmpint(f->targets[0]->auth, ==, HTTP_AUTH_BEARER);
        g_assert_cmpstr(f->targets[0]->token, ==, "T0K");

        write_file(f, "upload.d/c.conf",
                   "[Upload]\nType=http\nURL=https://c.example.net\nAuthorization=basic\nToken=user:pw\n", 0600);
        g_assert_cmpuint(load(f), ==, 1);
        g_assert_cmpint(f->targets[0]->auth, ==, HTTP_AUTH_BASIC);

        /* basic without user:password, bearer without a token: unusable. */
        write_file(f, "upload.d/c.conf",
                   "[Upload]\nType=http\nURL=https://c.example.net\nAuthorization=basic\nToken=nocolon\n", 0600);
        g_assert_cmpuint(load(f), ==, 0);
        write_file(f, "upload.d/c.conf", "[Upload]\nType=http\nURL=https://c.example.net\nAuthorization=bearer\n", 0600);
        g_assert_cmpuint(load(f), ==, 0);
}

static void test_expand_key(void) {
        /* 2026-12-01T09:36:19.5Z */
        uint64_t t = UINT64_C(1796117779) * USEC_PER_SEC + 500000;
        g_autofree char *a = upload_target_expand_key("%H/%i/%f", "sensor7", "eth0", "pcap-eth0-x.pcap", "s3", t);
        g_autofree char *b = upload_target_expand_key("%t/%Y/%m/%d/%h:%M:%S %%f %f", "h", "eth0", "f.pcap", "s3", t);

        g_assert_cmpstr(a, ==, "sensor7/eth0/pcap-eth0-x.pcap");
        g_assert_cmpstr(b, ==, "s3/2026/12/01/09:36:19 %f f.pcap");
}

#define ADD(name, func) g_test_add(name, Fixture, NULL, setup, func, teardown)

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        ADD("/upload-target/no-directory", test_no_directory);
        ADD("/upload-target/all-keys", test_all_keys);
        ADD("/upload-target/defaults-and-bad-lines", test_defaults_and_bad_lines);
        ADD("/upload-target/unusable-files-skipped", test_unusable_files_skipped);
        ADD("/upload-target/token-sources", test_token_sources);
        ADD("/upload-target/dup-and-redact", test_dup_and_redact);
        g_test_add_func("/upload-target/type-names", test_type_names);
        ADD("/upload-target/s3-keys", test_s3_keys);
        ADD("/upload-target/s3-unusable", test_s3_unusable);
        ADD("/upload-target/http-keys", test_http_keys);
        g_test_add_func("/upload-target/expand-key", test_expand_key);

        return g_test_run();
}
