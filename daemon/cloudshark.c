/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloudshark.h"
#include "log.h"
#include "strv.h"

/* Answers are small JSON documents; anything bigger is not CloudShark. */
#define RESPONSE_MAX (1024 * 1024)

/* RFC 3986's unreserved characters: what an id may hold. */
static bool is_unreserved(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '.' || c == '_' || c == '~';
}

/* RFC 3986: everything but the unreserved characters is encoded (libcurl
 * ignores the handle since 7.82). Returns a string for free(). */
static char *percent_encode(const char *s) {
        char *escaped = curl_easy_escape(NULL, s, 0), *copy;

        if (!escaped)
                return NULL;
        copy = strdup(escaped);
        curl_free(escaped);
        return copy;
}

char *cloudshark_api_url(const char *base, const char *token, const char *action) {
        _cleanup_(freep) char *encoded = NULL;
        char *url;

        if (strcmp(token, CLOUDSHARK_REDACTED_TOKEN) == 0)
                encoded = strdup(token);
        else
                encoded = percent_encode(token);
        if (!encoded)
                return NULL;

        if (asprintf(&url, "%s/api/v1/%s/%s", base, encoded, action) < 0)
                return NULL;
        return url;
}

/* prefix followed by value, percent-encoded. */
static char *concat_encoded(const char *prefix, const char *value) {
        _cleanup_(freep) char *encoded = percent_encode(value);
        char *s;

        if (!encoded || asprintf(&s, "%s%s", prefix, encoded) < 0)
                return NULL;
        return s;
}

char *cloudshark_search_url(const char *base, const char *token, const char *filename) {
        /* search[filename]=NAME, brackets encoded. */
        _cleanup_(freep) char *action = concat_encoded("search?search%5Bfilename%5D=", filename);

        return action ? cloudshark_api_url(base, token, action) : NULL;
}

char *cloudshark_delete_url(const char *base, const char *token, const char *id) {
        _cleanup_(freep) char *action = concat_encoded("delete/", id);

        return action ? cloudshark_api_url(base, token, action) : NULL;
}

char *cloudshark_capture_url(const char *base, const char *id) {
        _cleanup_(freep) char *path = concat_encoded("/captures/", id);
        char *url;

        if (!path || asprintf(&url, "%s%s", base, path) < 0)
                return NULL;
        return url;
}

static int set_error(char **ret_error, const char *message) {
        if (ret_error)
                *ret_error = strdup(message);
        return -EBADMSG;
}

static void json_object_putp(json_object **o) {
        if (*o)
                json_object_put(*o);
}

static void json_tokener_freep(json_tokener **t) {
        if (*t)
                json_tokener_free(*t);
}

/* The whole body must be one JSON object (white space around it is fine). */
static int parse_json_object(const char *body, size_t size, json_object **ret, char **ret_error) {
        _cleanup_(json_tokener_freep) json_tokener *tokener = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        size_t end;

        if (size > INT32_MAX)
                return set_error(ret_error, "response too large");

        tokener = json_tokener_new();
        if (!tokener)
                return -ENOMEM;

        o = json_tokener_parse_ex(tokener, body, (int) size);
        if (!o || json_tokener_get_error(tokener) != json_tokener_success)
                return set_error(ret_error, "invalid JSON in response");

        for (end = json_tokener_get_parse_end(tokener); end < size; end++)
                if (!strchr(" \t\r\n", body[end]))
                        return set_error(ret_error, "invalid JSON in response");

        if (!json_object_is_type(o, json_type_object))
                return set_error(ret_error, "invalid JSON in response");

        *ret = TAKE_PTR(o);
        return 0;
}

bool cloudshark_id_is_valid(const char *id, size_t length) {
        if (length == 0 || length > CLOUDSHARK_ID_MAX)
                return false;
        /* libcurl removes dot segments: delete/.. would be the API root. */
        if ((length == 1 && id[0] == '.') || (length == 2 && id[0] == '.' && id[1] == '.'))
                return false;
        for (size_t i = 0; i < length; i++)
                if (!is_unreserved(id[i]))
                        return false;
        return true;
}

/* A capture's id: a string or an integer, which goes into URLs, a D-Bus
 * signal and uploads.json, so only a short one of URL-safe characters.
 * Returns 0, -ENOENT if there is none, -EINVAL if it is not one of those. */
static int id_of(json_object *capture, const char **ret) {
        json_object *id;
        const char *s;

        if (!json_object_is_type(capture, json_type_object) ||
            !json_object_object_get_ex(capture, "id", &id))
                return -ENOENT;
        if (!json_object_is_type(id, json_type_string) && !json_object_is_type(id, json_type_int))
                return -ENOENT;

        s = json_object_get_string(id);
        if (!s || !s[0])
                return -ENOENT;
        /* The length, not strlen(): a JSON string may hold a NUL. */
        if (!cloudshark_id_is_valid(s, json_object_is_type(id, json_type_string) ?
                                               (size_t) json_object_get_string_len(id) : strlen(s)))
                return -EINVAL;
        *ret = s;
        return 0;
}

int cloudshark_parse_upload_response(const char *body, size_t size, char **ret_id, char **ret_error) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        const char *id = NULL;
        int r;

        r = parse_json_object(body, size, &o, ret_error);
        if (r < 0)
                return r;

        r = id_of(o, &id);
        if (r == -EINVAL)
                return set_error(ret_error, "invalid capture id in response");
        if (r < 0)
                return set_error(ret_error, "no capture id in response");

        *ret_id = strdup(id);
        return *ret_id ? 0 : -ENOMEM;
}

int cloudshark_parse_search_response(const char *body, size_t size, const char *filename, const char *keep_id,
                                     char ***ret_ids, size_t *ret_invalid, char **ret_error) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_object *captures;
        char **ids;
        size_t n, k = 0, invalid = 0;
        int r;

        r = parse_json_object(body, size, &o, ret_error);
        if (r < 0)
                return r;

        if (!json_object_object_get_ex(o, "captures", &captures) ||
            !json_object_is_type(captures, json_type_array))
                return set_error(ret_error, "no captures list in response");

        n = json_object_array_length(captures);
        ids = calloc(n + 1, sizeof(char *));
        if (!ids)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                json_object *capture = json_object_array_get_idx(captures, i), *name;
                const char *id = NULL;

                r = id_of(capture, &id);
                if (r == -EINVAL)
                        invalid++;
                if (r < 0 || streq_ptr(id, keep_id))
                        continue;
                /* Deleted only what says it has the name: a server's search
                 * is not trusted to have matched. */
                if (!json_object_object_get_ex(capture, "filename", &name) ||
                    !json_object_is_type(name, json_type_string) ||
                    (size_t) json_object_get_string_len(name) != strlen(filename) ||
                    !streq_ptr(json_object_get_string(name), filename))
                        continue;

                ids[k] = strdup(id);
                if (!ids[k]) {
                        strv_free(ids);
                        return -ENOMEM;
                }
                k++;
        }

        *ret_ids = ids;
        if (ret_invalid)
                *ret_invalid = invalid;
        return 0;
}

typedef enum CloudsharkStep {
        STEP_UPLOAD,
        STEP_SEARCH,
        STEP_DELETE,
} CloudsharkStep;

struct CloudsharkJob {
        CurlEvent *curl;
        UploadTarget *target;     /* private copy */
        char *path;
        int fd;                   /* the file, opened once: what is sent */
        char *filename;           /* base name: what CloudShark calls it */
        char *id;                 /* of the new capture */
        char **old_ids;           /* ReplaceExisting: copies to delete */
        size_t next_old;

        CloudsharkStep step;
        CURL *easy;
        curl_mime *mime;
        CurlResponse response;
        char errbuf[CURL_ERROR_SIZE];

        CloudsharkUploadedCallback uploaded;
        CloudsharkFinishedCallback finished;
        void *userdata;
};

/* With the journal fields of the file and target. */
#define log_job(j, priority, error, ...) \
        log_upload((priority), (error), NULL, (j)->path, (j)->target->name, __VA_ARGS__)

static void job_end_request(CloudsharkJob *j) {
        curl_event_remove(j->curl, j->easy);
        if (j->easy)
                curl_easy_cleanup(j->easy);
        j->easy = NULL;
        curl_mime_free(j->mime);
        j->mime = NULL;
        curl_response_done(&j->response);
}

CloudsharkJob *cloudshark_job_free(CloudsharkJob *j) {
        if (!j)
                return NULL;

        job_end_request(j);
        upload_target_free(j->target);
        free(j->path);
        closep(&j->fd);
        free(j->filename);
        free(j->id);
        strv_free(j->old_ids);
        free(j);
        return NULL;
}

static const char *step_name(CloudsharkStep step) {
        switch (step) {
        case STEP_UPLOAD:
                return "upload";
        case STEP_SEARCH:
                return "search";
        case STEP_DELETE:
                return "delete";
        }
        return "request";
}

static void on_request_done(CURL *easy, CURLcode result, void *userdata);

/* Starts one request on j->easy (made here unless the caller did):
 * a multipart POST with j->mime, else an empty POST or a GET. url and
 * log_url say the same, log_url without the token. */
static int job_start_request(CloudsharkJob *j, CloudsharkStep step, const char *url, const char *log_url, bool post) {
        CURLcode c;
        int r;

        if (!url || !log_url)
                return -ENOMEM;

        if (!j->easy) {
                r = upload_target_new_easy(j->target, &j->easy);
                if (r < 0)
                        return r;
        }

        j->step = step;
        j->errbuf[0] = '\0';
        r = curl_response_attach(&j->response, j->easy, RESPONSE_MAX);
        if (r < 0)
                return r;

        c = curl_easy_setopt(j->easy, CURLOPT_URL, url);
        if (c == CURLE_OK)
                c = curl_easy_setopt(j->easy, CURLOPT_ERRORBUFFER, j->errbuf);
        if (c == CURLE_OK && j->mime)
                c = curl_easy_setopt(j->easy, CURLOPT_MIMEPOST, j->mime);
        else if (c == CURLE_OK && post) {
                c = curl_easy_setopt(j->easy, CURLOPT_POSTFIELDS, "");
                if (c == CURLE_OK)
                        c = curl_easy_setopt(j->easy, CURLOPT_POSTFIELDSIZE, 0L);
        }
        if (c != CURLE_OK)
                return log_job(j, LOG_WARNING, EIO, "Failed to set up the %s request to %s: %s",
                               step_name(step), log_url, curl_easy_strerror(c));

        log_job(j, LOG_DEBUG, 0, "%s %s (%s)", post ? "POST" : "GET", log_url, j->filename);
        return curl_event_add(j->curl, j->easy, on_request_done, j);
}

static int add_text_part(curl_mime *mime, const char *name, const char *value) {
        curl_mimepart *part = curl_mime_addpart(mime);

        if (!part ||
            curl_mime_name(part, name) != CURLE_OK ||
            curl_mime_data(part, value, CURL_ZERO_TERMINATED) != CURLE_OK)
                return -ENOMEM;
        return 0;
}

static size_t read_file(char *buffer, size_t size, size_t n, void *userdata) {
        CloudsharkJob *j = userdata;
        ssize_t k = read(j->fd, buffer, size * n);

        return k < 0 ? CURL_READFUNC_ABORT : (size_t) k;
}

static int seek_file(void *userdata, curl_off_t offset, int origin) {
        CloudsharkJob *j = userdata;

        return lseek(j->fd, (off_t) offset, origin) < 0 ? CURL_SEEKFUNC_FAIL : CURL_SEEKFUNC_OK;
}

/* The capture directory belongs to the tcpdump user, who may swap a
 * finished file for a symbolic link to a file only the daemon can read:
 * what is sent is the regular file the name holds, never followed. */
static int open_capture_file(CloudsharkJob *j, curl_off_t *ret_size) {
        struct stat st;

        j->fd = open(j->path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        if (j->fd < 0 && errno == ELOOP)
                return log_job(j, LOG_WARNING, ELOOP, "%s is a symbolic link, not a capture file: not uploaded.",
                               j->path);
        if (j->fd < 0)
                return -errno;
        if (fstat(j->fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return log_job(j, LOG_WARNING, S_ISDIR(st.st_mode) ? EISDIR : EINVAL,
                               "%s is not a regular file: not uploaded.", j->path);
        *ret_size = (curl_off_t) st.st_size;
        return 0;
}

static int job_start_upload(CloudsharkJob *j) {
        _cleanup_(freep) char *url = NULL, *log_url = NULL;
        const UploadTarget *t = j->target;
        curl_mimepart *part;
        curl_off_t size = 0;
        CURLcode c;
        int r;

        r = upload_target_new_easy(t, &j->easy);
        if (r < 0)
                return r;
        j->mime = curl_mime_init(j->easy);
        if (!j->mime)
                return -ENOMEM;

        r = open_capture_file(j, &size);
        if (r < 0)
                return r;

        /* Streamed from disk while sending: memory does not grow with the file. */
        part = curl_mime_addpart(j->mime);
        if (!part)
                return -ENOMEM;
        c = curl_mime_name(part, "file");
        if (c == CURLE_OK)
                c = curl_mime_data_cb(part, size, read_file, seek_file, NULL, j);
        if (c == CURLE_OK)
                c = curl_mime_filename(part, j->filename);
        if (c == CURLE_OK)
                c = curl_mime_type(part, "application/vnd.tcpdump.pcap");
        if (c != CURLE_OK)
                return log_job(j, LOG_WARNING, EIO, "Failed to attach %s to the upload: %s",
                               j->path, curl_easy_strerror(c));

        r = add_text_part(j->mime, "filename", j->filename);
        if (r >= 0 && t->tags && t->tags[0])
                r = add_text_part(j->mime, "additional_tags", t->tags);
        if (r < 0)
                return r;

        url = cloudshark_api_url(t->url, t->token, "upload");
        log_url = cloudshark_api_url(t->url, CLOUDSHARK_REDACTED_TOKEN, "upload");
        return job_start_request(j, STEP_UPLOAD, url, log_url, true);
}

static int job_start_search(CloudsharkJob *j) {
        _cleanup_(freep) char *url = NULL, *log_url = NULL;
        const UploadTarget *t = j->target;

        url = cloudshark_search_url(t->url, t->token, j->filename);
        log_url = cloudshark_search_url(t->url, CLOUDSHARK_REDACTED_TOKEN, j->filename);
        return job_start_request(j, STEP_SEARCH, url, log_url, false);
}

static int job_start_next_delete(CloudsharkJob *j) {
        _cleanup_(freep) char *url = NULL, *log_url = NULL;
        const UploadTarget *t = j->target;
        const char *id = j->old_ids[j->next_old++];

        url = cloudshark_delete_url(t->url, t->token, id);
        log_url = cloudshark_delete_url(t->url, CLOUDSHARK_REDACTED_TOKEN, id);
        return job_start_request(j, STEP_DELETE, url, log_url, true);
}

/* Why a request did not work, or NULL if it did (HTTP 200). */
static char *request_failure(CloudsharkJob *j, CURLcode result) {
        long status = 0;
        char *message;

        if (result == CURLE_WRITE_ERROR && j->response.too_large)
                return strdup("response too large");
        if (curl_response_header_too_large(&j->response, result))
                return strdup("response header too large");
        if (result != CURLE_OK)
                return upload_target_describe_failure(j->target, j->easy, result, j->errbuf);

        (void) curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
        if (status == 200)
                return NULL;
        if (asprintf(&message, "HTTP %ld from server", status) < 0)
                return NULL;
        return message;
}

/* ReplaceExisting: what comes after a successful upload. Returns 1 if a
 * request was started, 0 if there is nothing (more) to do. Failures are
 * logged only: the new copy exists, the old ones stay. */
static int job_continue_replace(CloudsharkJob *j, const char *failure) {
        const char *name = j->target->name;
        int r;

        switch (j->step) {
        case STEP_UPLOAD:
                r = job_start_search(j);
                if (r < 0)
                        log_job(j, LOG_WARNING, r, "Upload target %s: cannot search for older copies of %s: %m",
                                name, j->filename);
                return r >= 0;

        case STEP_SEARCH: {
                _cleanup_(freep) char *error = NULL;
                size_t invalid = 0;

                if (failure) {
                        log_job(j, LOG_WARNING, 0, "Upload target %s: searching for older copies of %s failed, keeping them: %s",
                                name, j->filename, failure);
                        return 0;
                }
                r = cloudshark_parse_search_response(j->response.data, j->response.size, j->filename, j->id,
                                                     &j->old_ids, &invalid, &error);
                if (r < 0) {
                        log_job(j, LOG_WARNING, 0, "Upload target %s: searching for older copies of %s failed, keeping them: %s",
                                name, j->filename, error ? error : strerror(-r));
                        return 0;
                }
                if (invalid > 0)
                        log_job(j, LOG_WARNING, 0, "Upload target %s: the search for %s returned %zu invalid capture "
                                "id%s, ignored.", name, j->filename, invalid, invalid == 1 ? "" : "s");
                if (!j->old_ids[0])
                        log_job(j, LOG_INFO, 0, "Upload target %s: no older copy of %s to delete.", name, j->filename);
                break;
        }

        case STEP_DELETE:
                if (failure)
                        log_job(j, LOG_WARNING, 0, "Upload target %s: failed to delete older copy %s of %s: %s",
                                name, j->old_ids[j->next_old - 1], j->filename, failure);
                else
                        log_job(j, LOG_INFO, 0, "Upload target %s: deleted older copy %s of %s.",
                                name, j->old_ids[j->next_old - 1], j->filename);
                break;
        }

        if (!j->old_ids[j->next_old])
                return 0;
        r = job_start_next_delete(j);
        if (r < 0)
                log_job(j, LOG_WARNING, r, "Upload target %s: cannot delete older copies of %s: %m", name, j->filename);
        return r >= 0;
}

/* The upload request ended: returns the detail for the uploaded callback
 * and whether it worked. */
static char *job_finish_upload(CloudsharkJob *j, const char *failure, bool *ret_success) {
        _cleanup_(freep) char *error = NULL;
        char *url;
        int r;

        *ret_success = false;
        if (failure)
                return strdup(failure);

        r = cloudshark_parse_upload_response(j->response.data, j->response.size, &j->id, &error);
        if (r < 0)
                return error ? TAKE_PTR(error) : strdup(strerror(-r));

        url = cloudshark_capture_url(j->target->url, j->id);
        if (url)
                *ret_success = true;
        return url;
}

static void on_request_done(CURL *easy, CURLcode result, void *userdata) {
        CloudsharkJob *j = userdata;
        _cleanup_(freep) char *failure = NULL, *detail = NULL;
        CloudsharkStep step = j->step;
        bool success = false, more = false;

        failure = request_failure(j, result);
        if (step == STEP_UPLOAD)
                detail = job_finish_upload(j, failure, &success);

        /* The response stays until job_continue_replace() has read it. */
        curl_easy_cleanup(TAKE_PTR(j->easy));
        curl_mime_free(TAKE_PTR(j->mime));

        if (step != STEP_UPLOAD || (success && j->target->replace_existing))
                more = job_continue_replace(j, failure) > 0;
        if (!more)
                job_end_request(j);

        /* Callbacks last: they may free the job. */
        if (step == STEP_UPLOAD)
                j->uploaded(j->userdata, success, detail ? detail : "out of memory", !more);
        else if (!more)
                j->finished(j->userdata);
}

int cloudshark_job_start(CloudsharkJob **ret, CurlEvent *curl, const UploadTarget *target, const char *path,
                         CloudsharkUploadedCallback uploaded, CloudsharkFinishedCallback finished, void *userdata) {
        _cleanup_(cloudshark_job_freep) CloudsharkJob *j = NULL;
        const char *slash;
        int r;

        j = calloc(1, sizeof(CloudsharkJob));
        if (!j)
                return -ENOMEM;

        j->curl = curl;
        j->fd = -EBADF;
        j->uploaded = uploaded;
        j->finished = finished;
        j->userdata = userdata;

        r = upload_target_dup(target, &j->target);
        if (r < 0)
                return r;

        slash = strrchr(path, '/');
        j->path = strdup(path);
        j->filename = strdup(slash ? slash + 1 : path);
        if (!j->path || !j->filename)
                return -ENOMEM;

        r = job_start_upload(j);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(j);
        return 0;
}
