/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "curl-event.h"
#include "upload-scan.h"
#include "upload-target.h"

/* What the upload queue asks of a target type (CloudShark, S3, HTTP PUT):
 * start one file's upload, abort it. Each type is a leaf module that
 * reports through these callbacks and knows nothing of the queue. */

typedef struct UploadJobCallbacks {
        /* The upload itself ended: detail is the remote location on
         * success, else why not (never holding a secret). If finished is
         * false, clean-up work goes on and finished() comes later. */
        void (*uploaded)(void *userdata, bool success, const char *detail, bool finished);
        void (*finished)(void *userdata);
        /* State that must survive a daemon restart (an S3 UploadId whose
         * parts must be aborted), or NULL when there is none any more. */
        void (*save_resume)(void *userdata, const char *resume);
        void *userdata;
} UploadJobCallbacks;

typedef struct UploadRequest {
        const char *path;
        const char *interface;
        const char *resume;       /* what save_resume() said last, or NULL */
} UploadRequest;

/* What a job of every target type holds: the loop and curl multi handle it
 * runs on, its copy of the target, the file and its interface, the file's
 * scan, the file's descriptor while it is sent, and whom it tells. A job
 * struct starts with one. */
typedef struct UploadJobBase {
        sd_event *event;
        CurlEvent *curl;
        UploadTarget *target;
        char *path;
        char *interface;
        UploadScan *scan;
        int fd;
        UploadJobCallbacks callbacks;
} UploadJobBase;

/* Copies what start() was given; -ENOMEM. upload_job_base_done() frees it
 * (also after a failed init). */
int upload_job_base_init(UploadJobBase *b, sd_event *event, CurlEvent *curl, const UploadTarget *target,
                         const UploadRequest *request, const UploadJobCallbacks *callbacks);
void upload_job_base_done(UploadJobBase *b);

typedef struct UploadTargetOps {
        /* The target is copied. Callbacks are the last thing the job does,
         * so they may free it. */
        int (*start)(void **ret_job, sd_event *event, CurlEvent *curl, const UploadTarget *target, const UploadRequest *request,
                     const UploadJobCallbacks *callbacks);
        /* Aborts whatever request runs; no callback is called. */
        void (*free)(void *job);
} UploadTargetOps;

extern const UploadTargetOps s3_upload_ops;
extern const UploadTargetOps http_put_upload_ops;
