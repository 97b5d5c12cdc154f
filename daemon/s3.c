/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http-put.h"
#include "log.h"
#include "s3.h"
#include "time-util.h"
#include "upload-scan.h"

/* S3's answers are small XML documents. */
#define RESPONSE_MAX (1024 * 1024)
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

char *s3_object_url(const UploadTarget *t, const char *encoded_key) {
        char *scheme = NULL, *host = NULL, *port = NULL, *url = NULL;
        CURLU *u;

        if (t->addressing == S3_ADDRESSING_PATH)
                return asprintf(&url, "%s/%s/%s", t->url, t->bucket, encoded_key) < 0 ? NULL : url;

        /* Parts from curl_url(), the URL put together here: curl_url_get()
         * of the whole would write the key's hex in lower case, which no
         * longer matches the signature. The endpoint's path is not used. */
        u = curl_url();
        if (!u)
                return NULL;
        if (curl_url_set(u, CURLUPART_URL, t->url, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
                (void) curl_url_get(u, CURLUPART_PORT, &port, 0);
                if (asprintf(&url, "%s://%s.%s%s%s/%s", scheme, t->bucket, host, port ? ":" : "", strempty(port),
                             encoded_key) < 0)
                        url = NULL;
        }
        curl_free(scheme);
        curl_free(host);
        curl_free(port);
        curl_url_cleanup(u);
        return url;
}

char *s3_location(const UploadTarget *t, const char *key) {
        char *s;

        return asprintf(&s, "s3://%s/%s", t->bucket, key) < 0 ? NULL : s;
}

char *s3_complete_body(char **etags, size_t n) {
        char *buffer = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buffer, &size);
        if (!f)
                return NULL;
        fputs("<CompleteMultipartUpload>", f);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "<Part><PartNumber>%zu</PartNumber><ETag>%s</ETag></Part>", i + 1, etags[i]);
        fputs("</CompleteMultipartUpload>", f);
        if (fclose(f) != 0) {
                free(buffer);
                return NULL;
        }
        return buffer;
}

char *s3_resume_format(const char *upload_id, const char *key) {
        char *s;

        return asprintf(&s, "%s\n%s", upload_id, key) < 0 ? NULL : s;
}

int s3_resume_parse(const char *resume, char **ret_upload_id, char **ret_key) {
        const char *newline = resume ? strchr(resume, '\n') : NULL;

        if (!newline || newline == resume || !newline[1])
                return -EINVAL;
        *ret_upload_id = strndup(resume, (size_t) (newline - resume));
        *ret_key = strdup(newline + 1);
        if (!*ret_upload_id || !*ret_key) {
                *ret_upload_id = mfree_str(*ret_upload_id);
                *ret_key = mfree_str(*ret_key);
                return -ENOMEM;
        }
        return 0;
}

typedef enum S3Step {
        S3_STEP_ABORT_OLD,    /* a multipart upload left by an earlier attempt or daemon */
        S3_STEP_PUT,
        S3_STEP_CREATE,
        S3_STEP_PART,
        S3_STEP_COMPLETE,
        S3_STEP_ABORT,        /* this attempt failed: no invisible parts left */
} S3Step;

typedef struct S3Job {
        UploadJobBase base;
        char *old_upload_id, *old_key;

        const UploadScanResult *scanned;   /* owned by base.scan */
        char *key;
        char *location;

        char *upload_id;
        char **etags;
        size_t part;                       /* index of the part being sent */
        char *complete_body;
        char *failure;                     /* why, while S3_STEP_ABORT runs */

        S3Step step;
        CURL *easy;
        struct curl_slist *headers;
        FileBody body;
        CurlResponse response;
        char errbuf[CURL_ERROR_SIZE];
} S3Job;

static const char *const step_names[] = {
        [S3_STEP_ABORT_OLD] = "AbortMultipartUpload (earlier)",
        [S3_STEP_PUT] = "PutObject",
        [S3_STEP_CREATE] = "CreateMultipartUpload",
        [S3_STEP_PART] = "UploadPart",
        [S3_STEP_COMPLETE] = "CompleteMultipartUpload",
        [S3_STEP_ABORT] = "AbortMultipartUpload",
};

#define log_job(j, priority, error, ...) \
        log_upload((priority), (error), (j)->base.interface, (j)->base.path, (j)->base.target->name, __VA_ARGS__)

static void job_end_request(S3Job *j) {
        curl_event_remove(j->base.curl, j->easy);
        if (j->easy)
                curl_easy_cleanup(j->easy);
        j->easy = NULL;
        curl_slist_free_all(j->headers);
        j->headers = NULL;
        curl_response_done(&j->response);
}

static void s3_job_free(void *userdata) {
        S3Job *j = userdata;

        if (!j)
                return;
        job_end_request(j);
        if (j->etags)
                for (size_t i = 0; i < j->scanned->n_parts; i++)
                        free(j->etags[i]);
        free(j->etags);
        upload_job_base_done(&j->base);      /* after the etags: its scan owns j->scanned */
        free(j->old_upload_id);
        free(j->old_key);
        free(j->key);
        free(j->location);
        free(j->upload_id);
        free(j->complete_body);
        free(j->failure);
        free(j);
}

static int add_header(S3Job *j, const char *name, const char *value) {
        _cleanup_(freep) char *line = NULL;
        struct curl_slist *l;

        if (asprintf(&line, "%s: %s", name, value) < 0)
                return -ENOMEM;
        l = curl_slist_append(j->headers, line);
        if (!l)
                return -ENOMEM;
        j->headers = l;
        return 0;
}

static char *format_time(uint64_t usec) {
        time_t seconds = (time_t) (usec / USEC_PER_SEC);
        char stamp[32], *s;
        struct tm tm;

        if (!gmtime_r(&seconds, &tm) || strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
                return NULL;
        return asprintf(&s, "%s.%06lluZ", stamp, (unsigned long long) (usec % USEC_PER_SEC)) < 0 ? NULL : s;
}

/* x-amz-meta-*: what the capture was. Values are percent-encoded where
 * they are not plain (header values must be ASCII). */
static int add_object_headers(S3Job *j) {
        const UploadScanResult *s = j->scanned;
        char hostname[256] = "localhost", packets[32];
        _cleanup_(freep) char *first = NULL, *last = NULL;
        char *interface = NULL, *host = NULL;
        int r;

        if (gethostname(hostname, sizeof(hostname) - 1) < 0)
                strcpy(hostname, "localhost");
        interface = curl_easy_escape(NULL, j->base.interface, 0);
        host = curl_easy_escape(NULL, hostname, 0);
        snprintf(packets, sizeof(packets), "%llu", (unsigned long long) s->packets);
        if (s->packets > 0) {
                first = format_time(s->first_usec);
                last = format_time(s->last_usec);
        }

        r = !interface || !host || (s->packets > 0 && (!first || !last)) ? -ENOMEM : 0;
        if (r >= 0)
                r = add_header(j, "Content-Type", "application/vnd.tcpdump.pcap");
        if (r >= 0)
                r = add_header(j, "x-amz-meta-interface", interface);
        if (r >= 0)
                r = add_header(j, "x-amz-meta-host", host);
        if (r >= 0)
                r = add_header(j, "x-amz-meta-packets", packets);
        if (r >= 0 && first)
                r = add_header(j, "x-amz-meta-first-packet", first);
        if (r >= 0 && last)
                r = add_header(j, "x-amz-meta-last-packet", last);
        if (r >= 0)
                r = add_header(j, "x-amz-meta-captured-version", PACKAGE_VERSION);
        if (r >= 0 && j->base.target->storage_class)
                r = add_header(j, "x-amz-storage-class", j->base.target->storage_class);
        curl_free(interface);
        curl_free(host);
        return r;
}

static void on_request_done(CURL *easy, CURLcode result, void *userdata);

/* A signed request for key with query (sorted, encoded, or NULL) whose
 * payload has hash payload_sha256. The caller adds the body. */
static int job_new_request(S3Job *j, S3Step step, const char *key, const char *query, const char *payload_sha256) {
        _cleanup_(freep) char *encoded = NULL, *url = NULL, *full = NULL, *sigv4 = NULL;
        CURLcode c = CURLE_OK;
        int r;

        job_end_request(j);
        j->step = step;
        j->errbuf[0] = '\0';
        r = upload_target_new_easy(j->base.target, &j->easy);
        if (r < 0)
                return r;

        encoded = http_put_encode_key(key);
        url = encoded ? s3_object_url(j->base.target, encoded) : NULL;
        if (!url || asprintf(&full, "%s%s%s", url, query ? "?" : "", strempty(query)) < 0 ||
            asprintf(&sigv4, "aws:amz:%s:s3", j->base.target->region) < 0)
                return -ENOMEM;

        r = curl_response_attach(&j->response, j->easy, RESPONSE_MAX);
        if (r >= 0)
                r = add_header(j, "x-amz-content-sha256", payload_sha256);
        if (r < 0)
                return r;

#define SET(option, value) if (c == CURLE_OK) c = curl_easy_setopt(j->easy, option, value)
        SET(CURLOPT_URL, full);
        SET(CURLOPT_ERRORBUFFER, j->errbuf);
        SET(CURLOPT_AWS_SIGV4, sigv4);
        SET(CURLOPT_USERNAME, j->base.target->access_key_id);
        SET(CURLOPT_PASSWORD, j->base.target->token);
#undef SET
        if (c != CURLE_OK)
                return log_job(j, LOG_WARNING, EIO, "Failed to set up a request to %s: %s", full, curl_easy_strerror(c));
        log_job(j, LOG_DEBUG, 0, "%s %s", step_names[step], full);
        return 0;
}

static int job_send(S3Job *j) {
        if (curl_easy_setopt(j->easy, CURLOPT_HTTPHEADER, j->headers) != CURLE_OK)
                return -EIO;
        return curl_event_add(j->base.curl, j->easy, on_request_done, j);
}

static int job_post(S3Job *j, const char *body) {
        CURLcode c = curl_easy_setopt(j->easy, CURLOPT_POSTFIELDS, body);

        if (c == CURLE_OK)
                c = curl_easy_setopt(j->easy, CURLOPT_POSTFIELDSIZE, (long) strlen(body));
        return c == CURLE_OK ? job_send(j) : -EIO;
}

static int job_delete(S3Job *j) {
        return curl_easy_setopt(j->easy, CURLOPT_CUSTOMREQUEST, "DELETE") == CURLE_OK ? job_send(j) : -EIO;
}

/* libcurl ignores the handle of curl_easy_escape() since 7.82. */
static char *upload_id_query(const char *upload_id, size_t part_number) {
        char *escaped = curl_easy_escape(NULL, upload_id, 0), *query = NULL;
        int r;

        if (!escaped)
                return NULL;
        /* Sorted: partNumber before uploadId. */
        if (part_number > 0)
                r = asprintf(&query, "partNumber=%zu&uploadId=%s", part_number, escaped);
        else
                r = asprintf(&query, "uploadId=%s", escaped);
        curl_free(escaped);
        return r < 0 ? NULL : query;
}

static int job_start_abort(S3Job *j, S3Step step, const char *upload_id, const char *key) {
        _cleanup_(freep) char *query = NULL;
        int r;

        query = upload_id_query(upload_id, 0);
        if (!query)
                return -ENOMEM;
        r = job_new_request(j, step, key, query, EMPTY_SHA256);
        return r < 0 ? r : job_delete(j);
}

static int job_start_put(S3Job *j) {
        int r;

        r = job_new_request(j, S3_STEP_PUT, j->key, NULL, j->scanned->part_sha256[0]);
        if (r >= 0)
                r = add_object_headers(j);
        if (r >= 0)
                r = http_put_attach_file(j->easy, &j->body, j->base.fd, 0, j->scanned->size);
        return r < 0 ? r : job_send(j);
}

static int job_start_create(S3Job *j) {
        int r;

        r = job_new_request(j, S3_STEP_CREATE, j->key, "uploads=", EMPTY_SHA256);
        if (r >= 0)
                r = add_object_headers(j);
        return r < 0 ? r : job_post(j, "");
}

static int job_start_part(S3Job *j) {
        const UploadScanResult *s = j->scanned;
        uint64_t offset = (uint64_t) j->part * s->part_size;
        _cleanup_(freep) char *query = NULL;
        int r;

        query = upload_id_query(j->upload_id, j->part + 1);
        if (!query)
                return -ENOMEM;
        r = job_new_request(j, S3_STEP_PART, j->key, query, s->part_sha256[j->part]);
        if (r >= 0)
                r = http_put_attach_file(j->easy, &j->body, j->base.fd, offset,
                                         j->part + 1 < s->n_parts ? s->part_size : s->size - offset);
        return r < 0 ? r : job_send(j);
}

static int job_start_complete(S3Job *j) {
        _cleanup_(freep) char *query = NULL;
        char hash[65];
        int r;

        free(j->complete_body);
        j->complete_body = s3_complete_body(j->etags, j->scanned->n_parts);
        if (!j->complete_body)
                return -ENOMEM;
        upload_sha256_hex(j->complete_body, strlen(j->complete_body), hash);

        query = upload_id_query(j->upload_id, 0);
        if (!query)
                return -ENOMEM;
        r = job_new_request(j, S3_STEP_COMPLETE, j->key, query, hash);
        return r < 0 ? r : job_post(j, j->complete_body);
}

/* The first request after the scan (and after an old multipart upload is
 * gone). */
static int job_start_upload(S3Job *j) {
        if (j->scanned->size <= j->base.target->multipart_threshold)
                return job_start_put(j);
        return job_start_create(j);
}

static void job_save_resume(S3Job *j, const char *upload_id) {
        _cleanup_(freep) char *resume = upload_id ? s3_resume_format(upload_id, j->key) : NULL;

        j->base.callbacks.save_resume(j->base.callbacks.userdata, resume);
}

/* The end: the callback may free the job. */
static void job_report(S3Job *j, bool success, const char *detail) {
        job_end_request(j);
        j->base.callbacks.uploaded(j->base.callbacks.userdata, success, detail ? detail : "out of memory", true);
}

static void job_fail(S3Job *j, const char *failure) {
        _cleanup_(freep) char *copy = strdup(failure ? failure : "out of memory");
        int r;

        if (!j->upload_id) {
                job_report(j, false, copy);
                return;
        }
        /* Parts of this attempt exist: remove them before saying so. */
        free(j->failure);
        j->failure = TAKE_PTR(copy);
        r = job_start_abort(j, S3_STEP_ABORT, j->upload_id, j->key);
        if (r < 0) {
                log_job(j, LOG_WARNING, r, "Cannot abort multipart upload of %s, retrying with the next attempt: %m",
                        j->key);
                job_report(j, false, j->failure);
        }
}

static bool abort_worked(CURL *easy, CURLcode result) {
        long status = 0;

        if (result != CURLE_OK)
                return false;
        (void) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        return status == 204 || status == 200 || status == 404;   /* 404: NoSuchUpload, gone already */
}

static char *response_etag(CURL *easy) {
        struct curl_header *h = NULL;

        if (curl_easy_header(easy, "ETag", 0, CURLH_HEADER, -1, &h) != CURLHE_OK || !h->value || !h->value[0] ||
            strpbrk(h->value, "<>&\r\n"))
                return NULL;
        return strdup(h->value);
}

static int job_continue(S3Job *j, CURL *easy) {
        switch (j->step) {
        case S3_STEP_CREATE:
                j->upload_id = http_put_xml_text(j->response.data, j->response.size, "UploadId");
                if (!j->upload_id)
                        return -EBADMSG;
                job_save_resume(j, j->upload_id);
                j->etags = calloc(j->scanned->n_parts, sizeof(char *));
                if (!j->etags)
                        return -ENOMEM;
                j->part = 0;
                return job_start_part(j);
        case S3_STEP_PART:
                j->etags[j->part] = response_etag(easy);
                if (!j->etags[j->part])
                        return -EBADMSG;
                if (++j->part < j->scanned->n_parts)
                        return job_start_part(j);
                return job_start_complete(j);
        default:
                return -EINVAL;
        }
}

static void on_request_done(CURL *easy, CURLcode result, void *userdata) {
        S3Job *j = userdata;
        _cleanup_(freep) char *failure = NULL, *message = NULL;
        int r;

        switch (j->step) {
        case S3_STEP_ABORT_OLD:
                if (!abort_worked(easy, result)) {
                        failure = http_put_request_failure(j->base.target, easy, result, j->errbuf, j->response.data,
                                                           j->response.size);
                        if (asprintf(&message, "Cannot abort the earlier multipart upload: %s",
                                     failure ? failure : "unexpected answer") < 0)
                                message = NULL;
                        job_report(j, false, message);
                        return;
                }
                log_job(j, LOG_INFO, 0, "Aborted the multipart upload of %s left by an earlier attempt.", j->old_key);
                j->base.callbacks.save_resume(j->base.callbacks.userdata, NULL);
                r = job_start_upload(j);
                break;

        case S3_STEP_ABORT:
                if (abort_worked(easy, result))
                        job_save_resume(j, NULL);
                else
                        log_job(j, LOG_WARNING, 0, "Cannot abort multipart upload of %s now, retrying with the next attempt.",
                                j->key);
                job_report(j, false, j->failure);
                return;

        default:
                failure = http_put_request_failure(j->base.target, easy, result, j->errbuf, j->response.data,
                                                   j->response.size);
                /* CompleteMultipartUpload may fail with 200 and an error document. */
                if (!failure && j->step == S3_STEP_COMPLETE &&
                    (!j->response.data || strstr(j->response.data, "<Error>") ||
                     !strstr(j->response.data, "CompleteMultipartUploadResult"))) {
                        _cleanup_(freep) char *code = http_put_xml_text(j->response.data, j->response.size, "Code");

                        if (asprintf(&failure, "CompleteMultipartUpload failed: %s", code ? code : "unexpected answer") < 0)
                                failure = NULL;
                }
                if (failure) {
                        job_fail(j, failure);
                        return;
                }
                if (j->step == S3_STEP_PUT || j->step == S3_STEP_COMPLETE) {
                        if (j->step == S3_STEP_COMPLETE)
                                job_save_resume(j, NULL);
                        job_report(j, true, j->location);
                        return;
                }
                r = job_continue(j, easy);
        }

        if (r < 0) {
                if (asprintf(&message, "%s", r == -EBADMSG ? "unexpected answer from the server" : strerror(-r)) < 0)
                        message = NULL;
                job_fail(j, message);
        }
}

static void on_scan_done(void *userdata, int error, const UploadScanResult *scan) {
        S3Job *j = userdata;
        _cleanup_(freep) char *message = NULL;
        UploadRequest request = { .path = j->base.path, .interface = j->base.interface };
        int r = error;

        if (r >= 0) {
                j->scanned = scan;
                if (scan->n_parts > UPLOAD_TARGET_PARTS_MAX)
                        r = -EFBIG;
        }
        if (r >= 0) {
                j->key = http_put_object_key(j->base.target, &request, scan);
                j->location = j->key ? s3_location(j->base.target, j->key) : NULL;
                r = j->location ? 0 : -ENOMEM;
        }
        if (r >= 0) {
                j->base.fd = open(j->base.path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                r = j->base.fd < 0 ? negative_errno() : 0;
        }
        if (r >= 0)
                r = j->old_upload_id ? job_start_abort(j, S3_STEP_ABORT_OLD, j->old_upload_id, j->old_key) :
                                       job_start_upload(j);
        if (r >= 0)
                return;

        if (asprintf(&message, "Cannot upload %s: %s", j->base.path,
                     r == -EFBIG ? "more than 10000 parts, raise PartSize=" : strerror(-r)) < 0)
                message = NULL;
        job_report(j, false, message);
}

static int s3_job_start(void **ret, sd_event *event, CurlEvent *curl, const UploadTarget *target,
                        const UploadRequest *request, const UploadJobCallbacks *callbacks) {
        S3Job *j;
        int r;

        j = calloc(1, sizeof(S3Job));
        if (!j)
                return -ENOMEM;
        r = upload_job_base_init(&j->base, event, curl, target, request, callbacks);
        if (r >= 0 && request->resume && s3_resume_parse(request->resume, &j->old_upload_id, &j->old_key) < 0)
                log_job(j, LOG_WARNING, 0, "Ignoring unreadable multipart upload state of %s.", j->base.path);
        if (r >= 0)
                r = upload_scan_start(&j->base.scan, event, j->base.path, target->part_size, target->multipart_threshold,
                                      on_scan_done, j);
        if (r < 0) {
                s3_job_free(j);
                return r;
        }
        *ret = j;
        return 0;
}

const UploadTargetOps s3_upload_ops = {
        .start = s3_job_start,
        .free = s3_job_free,
};
