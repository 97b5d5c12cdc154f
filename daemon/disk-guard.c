/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "disk-guard.h"
#include "macro.h"

typedef struct DiskState {
        uint64_t free, usage, headroom;
        uint64_t min_free, max_usage;
} DiskState;

static bool over_limits(const DiskState *d) {
        if (d->free < d->min_free + d->headroom)
                return true;
        return d->max_usage > 0 && d->usage + d->headroom > d->max_usage;
}

static bool deletable(const DiskGuardFile *f, bool allow_pending) {
        return !f->busy && (allow_pending || !f->pending_upload);
}

/* The oldest file not yet chosen, of all captures; with allow_pending also
 * those still waiting for an upload. Ties go to the earlier capture. */
static bool find_oldest(const DiskGuardInput *in, const bool *const *chosen, bool allow_pending,
                        size_t *ret_capture, size_t *ret_file) {
        const DiskGuardFile *best = NULL;

        for (size_t c = 0; c < in->n_captures; c++)
                for (size_t i = 0; i < in->captures[c].n_files; i++) {
                        const DiskGuardFile *f = &in->captures[c].files[i];

                        if (chosen[c][i] || !deletable(f, allow_pending))
                                continue;
                        if (!best || f->completed_at < best->completed_at) {
                                best = f;
                                *ret_capture = c;
                                *ret_file = i;
                        }
                        break;   /* files are oldest first */
                }
        return best;
}

static void free_chosen(bool **chosen, size_t n) {
        for (size_t c = 0; chosen && c < n; c++)
                free(chosen[c]);
        free(chosen);
}

int disk_guard_plan(const DiskGuardInput *in, DiskGuardPlan *ret) {
        _cleanup_(freep) DiskGuardVictim *victims = NULL;
        bool **chosen;
        size_t n_victims = 0, n_files = 0;
        DiskState d = {
                .free = in->free,
                .min_free = space_limit_resolve(&in->min_free_space, in->filesystem_size),
                .max_usage = space_limit_resolve(&in->max_disk_usage, in->filesystem_size),
        };

        chosen = calloc(in->n_captures + 1, sizeof(bool *));
        if (!chosen)
                return -ENOMEM;
        for (size_t c = 0; c < in->n_captures; c++) {
                const DiskGuardCapture *k = &in->captures[c];

                chosen[c] = calloc(k->n_files + 1, sizeof(bool));
                if (!chosen[c]) {
                        free_chosen(chosen, in->n_captures);
                        return -ENOMEM;
                }
                n_files += k->n_files;
                for (size_t i = 0; i < k->n_files; i++)
                        d.usage += k->files[i].size;
                d.usage += k->live_size;
                if (k->reserve && k->live_size < k->file_size)
                        d.headroom += k->file_size - k->live_size;
        }

        victims = calloc(n_files + 1, sizeof(DiskGuardVictim));
        if (!victims) {
                free_chosen(chosen, in->n_captures);
                return -ENOMEM;
        }

        while (over_limits(&d)) {
                DiskGuardVictim v = {};
                uint64_t size;

                if (!find_oldest(in, (const bool *const *) chosen, false, &v.capture, &v.file)) {
                        if (!find_oldest(in, (const bool *const *) chosen, true, &v.capture, &v.file))
                                break;
                        v.pending_upload = true;
                }
                chosen[v.capture][v.file] = true;
                victims[n_victims++] = v;

                size = in->captures[v.capture].files[v.file].size;
                d.free += size;
                d.usage = d.usage > size ? d.usage - size : 0;
        }
        free_chosen(chosen, in->n_captures);

        *ret = (DiskGuardPlan) {
                .victims = TAKE_PTR(victims),
                .n_victims = n_victims,
                .low = over_limits(&d),
                .free = d.free,
                .needed = d.min_free + d.headroom,
        };
        return 0;
}

void disk_guard_plan_done(DiskGuardPlan *p) {
        free(p->victims);
        p->victims = NULL;
        p->n_victims = 0;
}
