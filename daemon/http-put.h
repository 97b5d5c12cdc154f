/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <curl/curl.h>
#include <stdint.h>

#include "upload-job.h"
#include "upload-scan.h"

/* Type=http: PUT {URL}/{key} of a finished file to any server that takes
 * PUT (nginx with WebDAV, a collector), success on 2xx; optional bearer
 * token or basic auth. Also the streamed PUT that Type=s3 builds on. */

/* A byte range of an open file as a request body, read while sending:
 * memory does not grow with the file. */
typedef struct FileBody {
        int fd;                  /* borrowed */
        uint64_t offset;
        uint64_t remaining;
} FileBody;

/* Makes easy a PUT of length bytes of fd from offset. */
int http_put_attach_file(CURL *easy, FileBody *body, int fd, uint64_t offset, uint64_t length);

/* key with every path segment percent-encoded (RFC 3986 unreserved
 * characters kept, upper-case hex, as SigV4 wants it), '/' kept. */
char *http_put_encode_key(const char *key);

/* The key of a file for a target (s3 and http): the target's KeyTemplate
 * expanded with this host's name, the file's interface and name, and the
 * time of its first packet (its modification time if it has none). */
char *http_put_object_key(const UploadTarget *t, const UploadRequest *request, const UploadScanResult *scan);

/* Why a request did not work: curl's error, or the HTTP status (with
 * what the server said, for S3 its error code and message), or NULL if
 * the status is 2xx. */
char *http_put_request_failure(const UploadTarget *t, CURL *easy, CURLcode result, const char *errbuf,
                               const char *body, size_t body_size);

/* The text of the first <tag>...</tag> in an XML body (S3's answers are
 * flat and small), if it is printable and has no markup; else NULL. */
char *http_put_xml_text(const char *body, size_t size, const char *tag);
