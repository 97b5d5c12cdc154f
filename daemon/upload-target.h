/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

/* An upload target, from upload.d/<name>.conf (SPEC §5, §7). */

typedef enum UploadTargetType {
        UPLOAD_TARGET_CLOUDSHARK,
        _UPLOAD_TARGET_TYPE_MAX,
} UploadTargetType;

typedef struct UploadTarget {
        char *name;
        UploadTargetType type;
        char *url;               /* base URL, no trailing slash */
        char *token;             /* secret: never logged, never exported */
        char *tags;              /* additional_tags, "" = none */
        bool replace_existing;
        unsigned max_concurrent; /* uploads at once for this target */
        uint64_t timeout_usec;   /* per request */
        char *ca_file;           /* NULL = the system's CA store */
} UploadTarget;

#define UPLOAD_TARGET_DEFAULT_MAX_CONCURRENT 2
#define UPLOAD_TARGET_MAX_CONCURRENT_MAX 64
#define UPLOAD_TARGET_DEFAULT_TIMEOUT_SEC 300
#define UPLOAD_TARGET_CONNECT_TIMEOUT_SEC 30

const char *upload_target_type_to_string(UploadTargetType type);
UploadTargetType upload_target_type_from_string(const char *s);

UploadTarget *upload_target_free(UploadTarget *t);
DEFINE_POINTER_CLEANUP(UploadTarget, upload_target_free);

/* A private copy, for a transfer that must outlive a reload. */
int upload_target_dup(const UploadTarget *t, UploadTarget **ret);

/* Loads one upload.d file; name is the file name without ".conf". */
int upload_target_load_file(const char *path, const char *name, UploadTarget **ret);

/* Loads <config_dir>/upload.d/ *.conf. The token comes from the systemd
 * credential "upload-<name>" in $CREDENTIALS_DIRECTORY if present, else
 * from TokenFile=, else from Token=. A bad file is logged and skipped.
 * Returns a NULL-terminated vector. */
int upload_targets_load(const char *config_dir, UploadTarget ***ret);
void upload_targets_free(UploadTarget **targets);

/* A curl handle with what every request to the target shares: TLS
 * verified (CAFile= as the CA store if set), http/https only, no
 * redirects, Timeout= for the whole request and a connect timeout, no
 * signals, never verbose. */
int upload_target_new_easy(const UploadTarget *t, CURL **ret);

/* s with every occurrence of the token replaced by "***": for anything
 * that may be logged or exported. */
char *upload_target_redact(const UploadTarget *t, const char *s);

/* One line saying why a request failed, without the token: "Connection
 * refused", "Timeout after 300 s", the HTTP status, ... errbuf is the
 * request's CURLOPT_ERRORBUFFER. */
char *upload_target_describe_failure(const UploadTarget *t, CURL *easy, CURLcode result, const char *errbuf);
