/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http-put.h"
#include "log.h"

/* Error bodies are small; a collector's answer is not read. */
#define RESPONSE_MAX (64 * 1024)
/* What an error message quotes of a body that is not S3's XML. */
#define BODY_QUOTE_MAX 200

static size_t on_read(char *buffer, size_t size, size_t nitems, void *userdata) {
        FileBody *body = userdata;
        size_t want = size * nitems;
        ssize_t n;

        if (want > body->remaining)
                want = (size_t) body->remaining;
        if (want == 0)
                return 0;
        n = pread(body->fd, buffer, want, (off_t) body->offset);
        if (n <= 0)
                return CURL_READFUNC_ABORT;   /* the file shrank or cannot be read */
        body->offset += (uint64_t) n;
        body->remaining -= (uint64_t) n;
        return (size_t) n;
}

int http_put_attach_file(CURL *easy, FileBody *body, int fd, uint64_t offset, uint64_t length) {
        CURLcode c;

        *body = (FileBody) { .fd = fd, .offset = offset, .remaining = length };
        c = curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
        if (c == CURLE_OK)
                c = curl_easy_setopt(easy, CURLOPT_READFUNCTION, on_read);
        if (c == CURLE_OK)
                c = curl_easy_setopt(easy, CURLOPT_READDATA, body);
        if (c == CURLE_OK)
                c = curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t) length);
        return c == CURLE_OK ? 0 : -EIO;
}

char *http_put_encode_key(const char *key) {
        char *buffer = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buffer, &size);
        if (!f)
                return NULL;
        for (const char *p = key;; ) {
                size_t n = strcspn(p, "/");
                /* The handle is ignored since 7.82; a length of 0 would mean strlen(). */
                char *segment = n > 0 ? curl_easy_escape(NULL, p, (int) n) : NULL;

                if (n > 0 && !segment) {
                        fclose(f);
                        free(buffer);
                        return NULL;
                }
                /* libcurl removes "." and ".." segments, which would put the
                 * file elsewhere: they are encoded too. */
                if ((n == 1 || n == 2) && strspn(p, ".") == n)
                        fputs(n == 1 ? "%2E" : "%2E%2E", f);
                else
                        fputs(strempty(segment), f);
                curl_free(segment);
                if (!p[n])
                        break;
                fputc('/', f);
                p += n + 1;
        }
        if (fclose(f) != 0) {
                free(buffer);
                return NULL;
        }
        return buffer;
}

char *http_put_object_key(const UploadTarget *t, const UploadRequest *request, const UploadScanResult *scan) {
        char hostname[256] = "localhost";
        const char *slash = strrchr(request->path, '/');

        if (gethostname(hostname, sizeof(hostname) - 1) < 0)
                strcpy(hostname, "localhost");
        return upload_target_expand_key(t->key_template, hostname, request->interface, slash ? slash + 1 : request->path,
                                        t->name, scan->packets > 0 ? scan->first_usec : scan->mtime_usec);
}

char *http_put_xml_text(const char *body, size_t size, const char *tag) {
        _cleanup_(freep) char *open_tag = NULL, *close_tag = NULL;
        const char *start, *end;

        if (!body || asprintf(&open_tag, "<%s>", tag) < 0 || asprintf(&close_tag, "</%s>", tag) < 0)
                return NULL;
        start = memmem(body, size, open_tag, strlen(open_tag));
        if (!start)
                return NULL;
        start += strlen(open_tag);
        end = memmem(start, size - (size_t) (start - body), close_tag, strlen(close_tag));
        if (!end || end == start)
                return NULL;
        for (const char *p = start; p < end; p++)
                if ((unsigned char) *p < 0x20 || *p == '<' || *p == 0x7f)
                        return NULL;
        return strndup(start, (size_t) (end - start));
}

/* A body that is not S3's XML: its first line, if it is printable text. */
static char *body_quote(const char *body, size_t size) {
        size_t n = 0;

        while (n < size && n < BODY_QUOTE_MAX && body[n] != '\n' && body[n] != '\r') {
                if ((unsigned char) body[n] < 0x20 || (unsigned char) body[n] >= 0x7f)
                        return NULL;
                n++;
        }
        return n > 0 ? strndup(body, n) : NULL;
}

char *http_put_request_failure(const UploadTarget *t, CURL *easy, CURLcode result, const char *errbuf,
                               const char *body, size_t body_size) {
        _cleanup_(freep) char *code = NULL, *message = NULL, *text = NULL;
        long status = 0;

        if (result != CURLE_OK)
                return upload_target_describe_failure(t, easy, result, errbuf);

        (void) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && status < 300)
                return NULL;

        code = http_put_xml_text(body, body_size, "Code");
        message = http_put_xml_text(body, body_size, "Message");
        if (code && asprintf(&text, "HTTP %ld from server: %s%s%s", status, code, message ? ": " : "",
                             strempty(message)) < 0)
                return NULL;
        if (!code) {
                _cleanup_(freep) char *quote = body ? body_quote(body, body_size) : NULL;

                if (asprintf(&text, "HTTP %ld from server%s%s", status, quote ? ": " : "", strempty(quote)) < 0)
                        return NULL;
        }
        return upload_target_redact(t, text);
}

/* Type=http */

typedef struct HttpPutJob {
        UploadJobBase base;
        char *location;
        CURL *easy;
        struct curl_slist *headers;
        FileBody body;
        CurlResponse response;
        char errbuf[CURL_ERROR_SIZE];
} HttpPutJob;

static void http_put_job_free(void *userdata) {
        HttpPutJob *j = userdata;

        if (!j)
                return;
        curl_event_remove(j->base.curl, j->easy);
        if (j->easy)
                curl_easy_cleanup(j->easy);
        curl_slist_free_all(j->headers);
        curl_response_done(&j->response);
        upload_job_base_done(&j->base);
        free(j->location);
        free(j);
}

static void job_report(HttpPutJob *j, bool success, const char *detail) {
        j->base.callbacks.uploaded(j->base.callbacks.userdata, success, detail ? detail : "out of memory", true);
}

static void on_put_done(CURL *easy, CURLcode result, void *userdata) {
        HttpPutJob *j = userdata;
        _cleanup_(freep) char *failure = NULL;

        failure = http_put_request_failure(j->base.target, easy, result, j->errbuf, j->response.data, j->response.size);
        job_report(j, !failure, failure ? failure : j->location);
}

static int job_start_put(HttpPutJob *j, const UploadScanResult *scan) {
        UploadRequest request = { .path = j->base.path, .interface = j->base.interface };
        _cleanup_(freep) char *key = NULL, *encoded = NULL, *authorization = NULL;
        CURLcode c = CURLE_OK;
        int r;

        r = upload_target_new_easy(j->base.target, &j->easy);
        if (r < 0)
                return r;
        key = http_put_object_key(j->base.target, &request, scan);
        encoded = key ? http_put_encode_key(key) : NULL;
        if (!encoded || asprintf(&j->location, "%s/%s", j->base.target->url, encoded) < 0)
                return -ENOMEM;

        j->base.fd = open(j->base.path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (j->base.fd < 0)
                return negative_errno();
        r = http_put_attach_file(j->easy, &j->body, j->base.fd, 0, scan->size);
        if (r >= 0)
                r = curl_response_attach(&j->response, j->easy, RESPONSE_MAX);
        if (r < 0)
                return r;

        j->headers = curl_slist_append(NULL, "Content-Type: application/vnd.tcpdump.pcap");
        if (!j->headers)
                return -ENOMEM;
        if (j->base.target->auth == HTTP_AUTH_BEARER) {
                struct curl_slist *l;

                if (asprintf(&authorization, "Authorization: Bearer %s", j->base.target->token) < 0)
                        return -ENOMEM;
                l = curl_slist_append(j->headers, authorization);
                explicit_bzero(authorization, strlen(authorization));
                if (!l)
                        return -ENOMEM;
                j->headers = l;
        } else if (j->base.target->auth == HTTP_AUTH_BASIC) {
                c = curl_easy_setopt(j->easy, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
                if (c == CURLE_OK)
                        c = curl_easy_setopt(j->easy, CURLOPT_USERPWD, j->base.target->token);
        }
        if (c == CURLE_OK)
                c = curl_easy_setopt(j->easy, CURLOPT_HTTPHEADER, j->headers);
        if (c == CURLE_OK)
                c = curl_easy_setopt(j->easy, CURLOPT_URL, j->location);
        if (c == CURLE_OK)
                c = curl_easy_setopt(j->easy, CURLOPT_ERRORBUFFER, j->errbuf);
        if (c != CURLE_OK)
                return -EIO;

        log_upload(LOG_DEBUG, 0, j->base.interface, j->base.path, j->base.target->name, "PUT %s (%llu bytes)", j->location,
                   (unsigned long long) scan->size);
        return curl_event_add(j->base.curl, j->easy, on_put_done, j);
}

static void on_scan_done(void *userdata, int error, const UploadScanResult *scan) {
        HttpPutJob *j = userdata;
        _cleanup_(freep) char *message = NULL;
        int r = error;

        if (r >= 0)
                r = job_start_put(j, scan);
        j->base.scan = upload_scan_free(j->base.scan);
        if (r >= 0)
                return;
        if (asprintf(&message, "Cannot upload %s: %s", j->base.path, strerror(-r)) < 0)
                message = NULL;
        job_report(j, false, message);
}

static int http_put_job_start(void **ret, sd_event *event, CurlEvent *curl, const UploadTarget *target,
                              const UploadRequest *request, const UploadJobCallbacks *callbacks) {
        HttpPutJob *j;
        int r;

        j = calloc(1, sizeof(HttpPutJob));
        if (!j)
                return -ENOMEM;
        r = upload_job_base_init(&j->base, event, curl, target, request, callbacks);
        if (r >= 0)
                r = upload_scan_start(&j->base.scan, event, j->base.path, 0, UINT64_MAX, on_scan_done, j);
        if (r < 0) {
                http_put_job_free(j);
                return r;
        }
        *ret = j;
        return 0;
}

const UploadTargetOps http_put_upload_ops = {
        .start = http_put_job_start,
        .free = http_put_job_free,
};
