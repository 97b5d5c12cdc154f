/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "disk-guard.h"
#include "log.h"
#include "manager.h"

#define DISK_GUARD_INTERVAL_USEC (5ULL * 1000000ULL)

typedef struct DiskState {
        uint64_t free, usage, headroom;
        uint64_t min_free, max_usage;
} DiskState;

static bool over_limits(const DiskState *d) {
        if (d->free < d->min_free + d->headroom)
                return true;
        return d->max_usage > 0 && d->usage + d->headroom > d->max_usage;
}

/* The oldest finished file of all captures; with allow_pending also those
 * still waiting for an upload. */
static Capture *find_oldest(Manager *m, bool allow_pending, size_t *ret_index) {
        Capture *best = NULL;
        size_t best_index = 0;

        for (Capture *c = m->captures; c; c = c->next)
                for (size_t i = 0; i < c->files.n; i++) {
                        const CaptureFile *f = &c->files.files[i];
                        _cleanup_(freep) char *path = NULL;

                        if (f->busy > 0)
                                continue;
                        if (best && best->files.files[best_index].completed_at <= f->completed_at)
                                break;   /* files are oldest first */
                        if (!allow_pending) {
                                if (!(path = capture_file_path(c, f->name)))
                                        continue;
                                if (manager_file_is_pending_upload(m, path))
                                        continue;
                        }
                        best = c;
                        best_index = i;
                        break;
                }

        *ret_index = best_index;
        return best;
}

static void report_low_space(Manager *m, const DiskState *d, bool low) {
        for (Capture *c = m->captures; c; c = c->next) {
                if (low == c->disk_low_reported || !capture_is_active(c))
                        continue;
                c->disk_low_reported = low;
                if (low) {
                        log_error("%s: disk space low under %s: %" PRIu64 " bytes free, %" PRIu64
                                  " needed, and no finished file left to delete.",
                                  c->interface, m->config->capture_directory, d->free, d->min_free + d->headroom);
                        capture_set_last_error(c, "Disk space low: %" PRIu64 " bytes free, %" PRIu64
                                               " needed; nothing left to delete", d->free, d->min_free + d->headroom);
                } else {
                        log_capture(LOG_INFO, 0, c->interface, "%s: disk space is sufficient again.", c->interface);
                        /* While tcpdump runs, low disk space is the only error it can have. */
                        if (c->state == CAPTURE_RUNNING)
                                capture_clear_last_error(c);
                }
        }
}

bool disk_guard_check(Manager *m) {
        struct statvfs sv;
        uint64_t fs_size;
        DiskState d = {};
        bool low, deleted = false;

        if (statvfs(m->config->capture_directory, &sv) < 0)
                return true;   /* nothing known: nothing to hold back */

        fs_size = (uint64_t) sv.f_blocks * sv.f_frsize;
        d.free = (uint64_t) sv.f_bavail * sv.f_frsize;
        d.min_free = space_limit_resolve(&m->config->min_free_space, fs_size);
        d.max_usage = space_limit_resolve(&m->config->max_disk_usage, fs_size);

        for (Capture *c = m->captures; c; c = c->next) {
                uint64_t live = capture_files_live_size(c);
                uint64_t limit = (uint64_t) c->options.file_size * 1000000ULL;

                d.usage += file_index_total_size(&c->files) + live;
                /* A capture restarting after a full disk needs room for its new file. */
                if ((c->pid > 0 || c->waiting_for_room) && live < limit)
                        d.headroom += limit - live;
        }

        while (over_limits(&d)) {
                bool pending = false;
                size_t i;
                Capture *c = find_oldest(m, false, &i);
                uint64_t size;

                if (!c) {
                        c = find_oldest(m, true, &i);
                        pending = true;
                }
                if (!c)
                        break;

                size = c->files.files[i].size;
                if (pending) {
                        c->uploads_dropped++;
                        log_capture_event(LOG_WARNING, MESSAGE_UPLOAD_DROPPED, c->interface,
                                          "%s: the disk guard deletes %s before its upload.", c->interface,
                                          c->files.files[i].name);
                        capture_emit_changed(c, "UploadsDropped", NULL);
                }
                if (capture_files_delete(c, i, MESSAGE_FILE_DELETED_DISK_GUARD,
                                         "disk guard: MinFreeSpace/MaxDiskUsage") < 0)
                        break;
                d.free += size;
                d.usage = d.usage > size ? d.usage - size : 0;
                deleted = true;
        }

        low = over_limits(&d);
        report_low_space(m, &d, low);
        /* Short of space, tcpdump may have hit a full disk: fresh counters
         * show whether its file still grows (capture.c). */
        if (low || deleted)
                for (Capture *c = m->captures; c; c = c->next)
                        capture_request_statistics(c);
        return !low;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        m->disk_guard_timer = sd_event_source_disable_unref(m->disk_guard_timer);
        disk_guard_check(m);
        disk_guard_schedule(m);
        return 0;
}

void disk_guard_schedule(Manager *m) {
        bool any_active = false;

        for (Capture *c = m->captures; c && !any_active; c = c->next)
                any_active = c->pid > 0;

        if (!any_active || m->disk_guard_timer)
                return;

        (void) sd_event_add_time_relative(m->event, &m->disk_guard_timer, CLOCK_MONOTONIC,
                                          DISK_GUARD_INTERVAL_USEC, DISK_GUARD_INTERVAL_USEC / 10, on_timer, m);
}
