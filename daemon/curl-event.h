/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "macro.h"

/* Runs libcurl's multi interface inside the daemon's sd-event loop: every
 * socket curl wants watched becomes an sd-event I/O source, curl's single
 * timeout becomes one sd-event timer, and finished transfers are handed
 * back through a per-transfer callback. Nothing here blocks. */

typedef struct CurlEvent CurlEvent;

/* A transfer ended (result is CURLE_OK or why not). The handle has been
 * removed from the multi handle and belongs to the caller again, who may
 * clean it up or start another transfer from the callback. */
typedef void (*CurlDoneCallback)(CURL *easy, CURLcode result, void *userdata);

int curl_event_new(CurlEvent **ret, sd_event *event);
CurlEvent *curl_event_free(CurlEvent *ce);
DEFINE_POINTER_CLEANUP(CurlEvent, curl_event_free);

/* Starts a transfer. The easy handle's CURLOPT_PRIVATE is used by this
 * module. */
int curl_event_add(CurlEvent *ce, CURL *easy, CurlDoneCallback callback, void *userdata);

/* Aborts a running transfer; its callback is not called. Does nothing if
 * the handle is not running. */
void curl_event_remove(CurlEvent *ce, CURL *easy);

/* A response body kept in memory, up to a limit: the transfer fails
 * (CURLE_WRITE_ERROR, too_large set) rather than grow past it. */
typedef struct CurlResponse {
        char *data;              /* NUL-terminated */
        size_t size;
        size_t max_size;
        bool too_large;
        bool headers_done;       /* the blank line after the headers came */
} CurlResponse;

int curl_response_attach(CurlResponse *response, CURL *easy, size_t max_size);
void curl_response_done(CurlResponse *response);
/* Whether a transfer that ended with result failed on a response header
 * too large for curl (which then reports it as out of memory). */
bool curl_response_header_too_large(const CurlResponse *response, CURLcode result);
