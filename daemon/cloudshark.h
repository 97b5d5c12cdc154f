/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "curl-event.h"
#include "macro.h"
#include "upload-target.h"

/* The CloudShark API subset of SPEC §7:
 *   POST {URL}/api/v1/{token}/upload            multipart: file, filename, additional_tags
 *   GET  {URL}/api/v1/{token}/search?search[filename]=NAME
 *   POST {URL}/api/v1/{token}/delete/{id}
 * and a capture's place: {URL}/captures/{id}. */

/* Where logs may say a request went: the token is shown as "***". */
#define CLOUDSHARK_REDACTED_TOKEN "***"

/* {base}/api/v1/{token}/{action}; the token is percent-encoded, except
 * CLOUDSHARK_REDACTED_TOKEN, which is used as it is. */
char *cloudshark_api_url(const char *base, const char *token, const char *action);
char *cloudshark_search_url(const char *base, const char *token, const char *filename);
char *cloudshark_delete_url(const char *base, const char *token, const char *id);
char *cloudshark_capture_url(const char *base, const char *id);

/* A capture id from the server goes into URLs, a D-Bus signal and
 * uploads.json: it is at most this long, of RFC 3986 unreserved characters
 * only, and neither "." nor "..". */
#define CLOUDSHARK_ID_MAX 256
bool cloudshark_id_is_valid(const char *id, size_t length);

/* Reads {"id": ..., "filename": ...}; the id may be a string or a number.
 * On failure returns -EBADMSG and *ret_error says why. */
int cloudshark_parse_upload_response(const char *body, size_t size, char **ret_id, char **ret_error);

/* Reads {"captures": [{"id": ..., "filename": ...}, ...]} and returns the
 * NULL-terminated ids of the captures named filename, except keep_id. Only
 * a capture whose "filename" is there and equal is ours to delete; one
 * with an invalid id is skipped and counted in *ret_invalid. Free with
 * strv_free(). */
int cloudshark_parse_search_response(const char *body, size_t size, const char *filename, const char *keep_id,
                                     char ***ret_ids, size_t *ret_invalid, char **ret_error);

/* One file's upload to a CloudShark target: the upload, then with
 * ReplaceExisting=yes the search for older copies and their deletion. */
typedef struct CloudsharkJob CloudsharkJob;

/* Called once, when the upload request ended: detail is the capture's URL
 * on success, else why not (never containing the token). finished says
 * whether the job is over; if not (ReplaceExisting work goes on), the
 * finished callback comes later. */
typedef void (*CloudsharkUploadedCallback)(void *userdata, bool success, const char *detail, bool finished);
typedef void (*CloudsharkFinishedCallback)(void *userdata);

/* Starts uploading path. The target is copied. Callbacks are the last
 * thing the job does, so they may free it (which aborts what is left). */
int cloudshark_job_start(CloudsharkJob **ret, CurlEvent *curl, const UploadTarget *target, const char *path,
                         CloudsharkUploadedCallback uploaded, CloudsharkFinishedCallback finished, void *userdata);

/* Aborts whatever request is running; no callback is called. */
CloudsharkJob *cloudshark_job_free(CloudsharkJob *j);
DEFINE_POINTER_CLEANUP(CloudsharkJob, cloudshark_job_free);
