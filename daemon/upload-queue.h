/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "time-util.h"
#include "upload-target.h"

/* The upload queue (SPEC §7): finished files waiting for, or done with,
 * an upload. Runs inside the daemon's event loop with libcurl's multi
 * interface; persisted in the state directory so that pending uploads
 * resume after a restart and a file is never uploaded twice after a
 * success. */

typedef enum UploadState {
        UPLOAD_NONE,         /* not queued */
        UPLOAD_PENDING,      /* waiting (first try or backoff) */
        UPLOAD_UPLOADING,
        UPLOAD_DONE,
        UPLOAD_FAILED,       /* gave up; the file is kept */
        _UPLOAD_STATE_MAX,
} UploadState;

const char *upload_state_to_string(UploadState s);

typedef struct UploadQueue UploadQueue;

/* Called at the end of every attempt (success or not). detail is the
 * remote URL on success, the error otherwise. final is true when the file
 * reached DONE or FAILED. */
typedef void (*UploadFinishedCallback)(void *userdata, const char *interface, const char *path,
                                       const char *target, bool success, bool final, const char *detail);

/* Retries: exponential backoff from UPLOAD_RETRY_BASE_USEC, doubling up
 * to UPLOAD_RETRY_MAX_USEC, each delay ±25 % at random; a file that failed
 * UPLOAD_MAX_ATTEMPTS times is FAILED. For tests only, the environment
 * variable CAPTURED_UPLOAD_RETRY="BASE_MSEC MAX_MSEC MAX_ATTEMPTS" overrides
 * these (it is read by upload_queue_new()). */
#define UPLOAD_RETRY_BASE_USEC (2 * USEC_PER_SEC)
#define UPLOAD_RETRY_MAX_USEC (600 * USEC_PER_SEC)
#define UPLOAD_MAX_ATTEMPTS 12

/* The callback is called from the event loop; it may call any function
 * here, including upload_queue_forget() of the file it is told about. */
int upload_queue_new(UploadQueue **ret, sd_event *event, const char *state_dir,
                     UploadFinishedCallback callback, void *userdata);
UploadQueue *upload_queue_free(UploadQueue *q);
DEFINE_POINTER_CLEANUP(UploadQueue, upload_queue_free);

/* Changes are saved to the state file once per event loop iteration; this
 * writes a pending save now (upload_queue_free() does too). */
void upload_queue_flush_state(UploadQueue *q);

/* Replaces the targets (at start and reload); takes ownership. Queued
 * files whose target disappeared stay pending until it comes back. */
void upload_queue_set_targets(UploadQueue *q, UploadTarget **targets);
const UploadTarget *upload_queue_find_target(const UploadQueue *q, const char *name);

/* Loads the persisted queue and resumes pending uploads. */
int upload_queue_load(UploadQueue *q);

/* Queues a finished file for each target of targets (an Upload= value:
 * names separated by spaces); each target is tracked on its own. A file
 * already DONE for a target is not queued again (nor one pending or
 * uploading); a FAILED one is queued afresh. Returns 1 if queued for any,
 * 0 if not. */
int upload_queue_add(UploadQueue *q, const char *interface, const char *path, const char *targets);

/* A manual re-upload to one target: queued even if it was DONE.
 * -EBUSY if it is pending or uploading already. Returns 1. */
int upload_queue_reupload(UploadQueue *q, const char *interface, const char *path, const char *target);

/* What ListFiles shows: state and remote URL or last error. With several
 * targets, the most pressing state (uploading, pending, failed, done) and
 * "target: detail; ..." for each. The detail is borrowed until the next
 * call. */
UploadState upload_queue_get_state(UploadQueue *q, const char *path, const char **ret_detail);

/* One file's upload to one target (strings borrowed from the queue). */
typedef struct UploadInfo {
        const char *target;
        UploadState state;
        const char *remote;      /* "" until done */
        const char *error;       /* "" if none */
        unsigned attempts;
} UploadInfo;

/* Every target's upload of path; free *ret with free(). */
int upload_queue_get_uploads(const UploadQueue *q, const char *path, UploadInfo **ret, size_t *ret_n);

/* Whether retention must keep the file (pending or uploading for any
 * target). */
bool upload_queue_is_pending(const UploadQueue *q, const char *path);

/* The file is gone (retention, disk guard): forget it for every target,
 * aborting running uploads. Returns true if it was still pending. */
bool upload_queue_forget(UploadQueue *q, const char *path);

void upload_queue_set_retry(UploadQueue *q, uint64_t base_usec, uint64_t max_usec, unsigned max_attempts);

/* Per-interface counters for the Capture properties: uploads (a file per
 * target) pending or uploading now; files uploaded and files given up on since the daemon
 * started. */
void upload_queue_get_counts(const UploadQueue *q, const char *interface,
                             uint32_t *ret_pending, uint64_t *ret_succeeded, uint64_t *ret_failed);
