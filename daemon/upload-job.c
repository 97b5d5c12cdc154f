/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "upload-job.h"

int upload_job_base_init(UploadJobBase *b, sd_event *event, CurlEvent *curl, const UploadTarget *target,
                         const UploadRequest *request, const UploadJobCallbacks *callbacks) {
        *b = (UploadJobBase) {
                .event = event,
                .curl = curl,
                .fd = -EBADF,
                .callbacks = *callbacks,
                .path = strdup(request->path),
                .interface = strdup(request->interface),
        };
        if (!b->path || !b->interface)
                return -ENOMEM;
        return upload_target_dup(target, &b->target);
}

void upload_job_base_done(UploadJobBase *b) {
        b->scan = upload_scan_free(b->scan);
        if (b->fd >= 0)
                close(b->fd);
        b->fd = -EBADF;
        upload_target_free(b->target);
        b->target = NULL;
        free(b->path);
        free(b->interface);
        b->path = b->interface = NULL;
}
