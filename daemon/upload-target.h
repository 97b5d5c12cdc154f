/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

/* An upload target, from upload.d/<name>.conf (SPEC §5, §7). */

typedef enum UploadTargetType {
        UPLOAD_TARGET_CLOUDSHARK,
        UPLOAD_TARGET_S3,
        UPLOAD_TARGET_HTTP,
        _UPLOAD_TARGET_TYPE_MAX,
} UploadTargetType;

typedef enum S3Addressing {
        S3_ADDRESSING_PATH,      /* {Endpoint}/{Bucket}/{key} */
        S3_ADDRESSING_VIRTUAL,   /* {scheme}://{Bucket}.{host}/{key} */
        _S3_ADDRESSING_MAX,
} S3Addressing;

typedef enum HttpAuth {
        HTTP_AUTH_NONE,
        HTTP_AUTH_BEARER,        /* Authorization: Bearer {secret} */
        HTTP_AUTH_BASIC,         /* the secret is user:password */
        _HTTP_AUTH_MAX,
} HttpAuth;

typedef struct UploadTarget {
        char *name;
        UploadTargetType type;
        char *url;               /* base URL (cloudshark, http) or Endpoint= (s3), no trailing slash */
        char *token;             /* the secret: CloudShark token, S3 secret access key, HTTP
                                  * bearer token or user:password; never logged, never exported */
        char *tags;              /* additional_tags, "" = none */
        bool replace_existing;
        unsigned max_concurrent; /* uploads at once for this target */
        uint64_t timeout_usec;   /* per request */
        char *ca_file;           /* NULL = the system's CA store */

        /* s3 and http */
        char *key_template;      /* see upload_target_expand_key() */
        /* s3 */
        char *bucket;
        char *region;
        S3Addressing addressing;
        char *storage_class;     /* NULL = the bucket's default */
        char *access_key_id;     /* not a secret, but kept off the bus too */
        uint64_t multipart_threshold;  /* bytes: larger files go in parts */
        uint64_t part_size;
        /* http */
        HttpAuth auth;
} UploadTarget;

#define UPLOAD_TARGET_DEFAULT_KEY_TEMPLATE "%H/%i/%f"
#define UPLOAD_TARGET_DEFAULT_REGION "us-east-1"
#define UPLOAD_TARGET_DEFAULT_MULTIPART_THRESHOLD (UINT64_C(64) * 1024 * 1024)
#define UPLOAD_TARGET_DEFAULT_PART_SIZE (UINT64_C(16) * 1024 * 1024)
/* S3's limits: parts of 5 MiB (all but the last) to 5 GiB, at most 10000. */
#define UPLOAD_TARGET_PART_SIZE_MIN (UINT64_C(5) * 1024 * 1024)
#define UPLOAD_TARGET_PART_SIZE_MAX (UINT64_C(5) * 1024 * 1024 * 1024)
#define UPLOAD_TARGET_PARTS_MAX 10000

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
 * from TokenFile=, else from Token=; for Type=s3 the keys from the
 * credentials "upload-<name>-access-key-id" and
 * "upload-<name>-secret-access-key", else AccessKeyId=/AccessKeyIdFile=
 * and SecretAccessKeyFile=. A bad file is logged and skipped. Returns a
 * NULL-terminated vector. */
int upload_targets_load(const char *config_dir, UploadTarget ***ret);
void upload_targets_free(UploadTarget **targets);

/* A curl handle with what every request to the target shares: TLS
 * verified (CAFile= as the CA store if set), http/https only, no
 * redirects, Timeout= for the whole request and a connect timeout, no
 * signals, never verbose. */
int upload_target_new_easy(const UploadTarget *t, CURL **ret);

/* Where a file goes: the key template with %H (host name), %i (interface),
 * %f (file name), %t (target name), %Y %m %d %h %M %S (UTC year, month,
 * day, hour, minute, second of start_usec) and %% expanded. */
char *upload_target_expand_key(const char *template, const char *hostname, const char *interface,
                               const char *filename, const char *target, uint64_t start_usec);

/* s with every occurrence of the token replaced by "***": for anything
 * that may be logged or exported. */
char *upload_target_redact(const UploadTarget *t, const char *s);

/* One line saying why a request failed, without the token: "Connection
 * refused", "Timeout after 300 s", the HTTP status, ... errbuf is the
 * request's CURLOPT_ERRORBUFFER. */
char *upload_target_describe_failure(const UploadTarget *t, CURL *easy, CURLcode result, const char *errbuf);
