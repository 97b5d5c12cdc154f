/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

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

UploadTarget *upload_target_free(UploadTarget *t);
DEFINE_POINTER_CLEANUP(UploadTarget, upload_target_free);

/* Loads <config_dir>/upload.d/ *.conf. The token comes from the systemd
 * credential "upload-<name>" in $CREDENTIALS_DIRECTORY if present, else
 * from TokenFile=, else from Token=. A bad file is logged and skipped.
 * Returns a NULL-terminated vector. */
int upload_targets_load(const char *config_dir, UploadTarget ***ret);
void upload_targets_free(UploadTarget **targets);
