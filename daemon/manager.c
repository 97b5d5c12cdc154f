/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "array.h"
#include "bus-errors.h"
#include "captured-bus.h"
#include "log.h"
#include "disk-guard.h"
#include "manager.h"
#include "names.h"
#include "reload-plan.h"
#include "strv.h"
#include "time-util.h"

/* The disk guard (SPEC §6, §9): keeps free space and usage within
 * MinFreeSpace= and MaxDiskUsage= across all captures, deleting what
 * disk_guard_plan() chooses, and reports in LastError when it cannot.
 * Returns whether the limits hold afterwards (room for every live file,
 * and for the file of a capture that waits for room to restart). */
static bool disk_guard_check(Manager *m);
/* Arms the periodic check while any capture is active (every second while
 * one waits for room); _now() looks at once. */
static void disk_guard_schedule(Manager *m);
static void disk_guard_schedule_now(Manager *m);

/* Hooks running at once, all captures together. */
#define POST_ROTATE_MAX_CONCURRENT 4
/* At shutdown, how long the last files' hooks may take (the unit's
 * TimeoutStopSec= is 30 s). */
#define EXIT_HOOK_TIMEOUT_USEC (20 * USEC_PER_SEC)

int manager_new(Manager **ret, const char *config_dir, const char *state_dir, const char *runtime_dir,
                Guardian *guardian) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;

        m->guardian = guardian;
        m->config_dir = strdup(config_dir);
        m->state_dir = strdup(state_dir);
        m->runtime_dir = strdup(runtime_dir);
        if (!m->config_dir || !m->state_dir || !m->runtime_dir)
                return -ENOMEM;

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;

        while (m->captures) {
                Capture *c = m->captures;
                m->captures = c->next;
                capture_free(c);
        }

        post_rotate_free(m->post_rotate);
        upload_queue_free(m->uploads);
        netif_watch_free(m->netif_watch);
        capture_settings_vector_free(m->persisted);
        sd_event_source_disable_unref(m->disk_guard_timer);
        sd_event_source_disable_unref(m->exit_timer);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);
        config_free(m->config);
        free(m->config_dir);
        free(m->state_dir);
        free(m->runtime_dir);
        free(m);
        return NULL;
}

Capture *manager_find_capture(Manager *m, const char *interface) {
        for (Capture *c = m->captures; c; c = c->next)
                if (strcmp(c->interface, interface) == 0)
                        return c;
        return NULL;
}

Capture *manager_find_capture_by_path(Manager *m, const char *path) {
        for (Capture *c = m->captures; c; c = c->next)
                if (strcmp(c->object_path, path) == 0)
                        return c;
        return NULL;
}

static const FileRingOps file_ring_ops;

int manager_add_capture(Manager *m, const char *interface, Capture **ret) {
        Capture *c, **tail;
        int r;

        r = capture_new(&c, m, interface);
        if (r < 0)
                return r;
        /* Its finished files: the ring tells us, we do the rest. */
        file_ring_set_ops(&c->files, &file_ring_ops, c);
        c->enabled = manager_is_enabled(m, interface);

        for (tail = &m->captures; *tail; tail = &(*tail)->next)
                ;
        *tail = c;

        (void) sd_bus_emit_object_added(m->bus, c->object_path);
        *ret = c;
        return 0;
}

static void manager_capture_settled(Manager *m);
static void manager_note_running(Manager *m, Capture *c);
static void manager_forget_running(Manager *m, Capture *c, bool stopped_by_user);

static void on_post_rotate_done(void *userdata, const char *interface, const char *path, const char *failure) {
        Manager *m = userdata;
        Capture *c = manager_find_capture(m, interface);

        if (!c) {
                manager_capture_settled(m);
                return;
        }
        if (capture_note_hook_result(c, failure) < 0)
                log_oom();
        file_ring_release(&c->files, strrchr(path, '/') + 1);
        capture_files_enforce_retention(c);
        manager_capture_settled(m);   /* shutting down: this may have been the last hook */
}

/* A capture's ring finished a file: announce it, run the hooks, queue the
 * upload, then apply retention and the disk guard. */
static void manager_file_completed(FileRing *ring, const char *name, const char *path, uint64_t size, void *userdata) {
        Capture *c = userdata;
        Manager *m = c->manager;
        int r;

        log_file_event(LOG_INFO, MESSAGE_FILE_COMPLETED, c->interface, path, "%s: finished %s (%llu bytes).",
                       c->interface, path, (unsigned long long) size);
        (void) sd_bus_emit_signal(m->bus, CAPTURED_MANAGER_PATH, CAPTURED_MANAGER_INTERFACE, "FileCompleted",
                                  "sst", c->interface, path, size);
        capture_emit_changed(c, "FilesKept", "FilesCompleted", NULL);

        if (!isempty(c->options.upload)) {
                r = upload_queue_add(m->uploads, c->interface, path, c->options.upload);
                if (r < 0)
                        log_capture(LOG_ERR, r, c->interface, "%s: cannot queue %s for upload to %s: %m",
                                    c->interface, path,
                                        c->options.upload);
                capture_emit_upload_counts(c);
        }

        if (m->config->post_rotate) {
                r = post_rotate_queue(m->post_rotate, m->config->post_rotate, c->interface, path);
                if (r > 0)
                        file_ring_hold(ring, name);
                else if (r < 0)
                        log_capture(LOG_ERR, r, c->interface, "%s: cannot run ExecPostRotate on %s: %m",
                                    c->interface, path);
        }

        capture_files_enforce_retention(c);
        disk_guard_check(m);
}

static void on_file_deleted(FileRing *ring, const char *path, void *userdata) {
        Capture *c = userdata;

        if (upload_queue_forget(c->manager->uploads, path))
                capture_emit_upload_counts(c);
        capture_emit_changed(c, "FilesKept", NULL);
}

static bool on_file_pinned(FileRing *ring, const char *path, void *userdata) {
        Capture *c = userdata;

        return upload_queue_is_pending(c->manager->uploads, path);
}

static const FileRingOps file_ring_ops = {
        .completed = manager_file_completed,
        .deleted = on_file_deleted,
        .pinned = on_file_pinned,
};

bool manager_file_is_pending_upload(Manager *m, const char *path) {
        return upload_queue_is_pending(m->uploads, path);
}

const char *manager_file_upload_state(Manager *m, const char *path, const char **ret_detail) {
        const char *detail = NULL;
        UploadState state = upload_queue_get_state(m->uploads, path, &detail);

        *ret_detail = strempty(detail);
        return upload_state_to_string(state);
}

static void on_upload_finished(void *userdata, const char *interface, const char *path, const char *target,
                               bool success, bool final, const char *detail) {
        Manager *m = userdata;
        Capture *c = manager_find_capture(m, interface);

        (void) sd_bus_emit_signal(m->bus, CAPTURED_MANAGER_PATH, CAPTURED_MANAGER_INTERFACE, "UploadFinished",
                                  "sssbs", interface, path, target, (int) success, strempty(detail));
        if (!c)
                return;
        if (capture_note_upload_result(c, target, success, detail) < 0)
                log_oom();
        capture_emit_upload_counts(c);
        /* An uploaded file no longer holds retention back. */
        if (final)
                capture_files_enforce_retention(c);
}

static int load_upload_targets(Manager *m) {
        UploadTarget **targets = NULL;
        int r;

        r = upload_targets_load(m->config_dir, &targets);
        if (r < 0)
                return log_error_errno(r, "Failed to load the upload targets: %m");
        upload_queue_set_targets(m->uploads, targets);
        return 0;
}

static void exit_now(Manager *m) {
        m->exit_requested = true;
        m->exit_timer = sd_event_source_disable_unref(m->exit_timer);
        (void) sd_event_exit(m->event, 0);
}

static int on_exit_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        /* The files stay; only their hooks did not run. */
        log_warning("ExecPostRotate hooks for %u finished file(s) did not complete in time; exiting anyway.",
                    post_rotate_pending(m->post_rotate));
        exit_now(m);
        return 0;
}

void manager_update_status(Manager *m) {
        unsigned running = 0, waiting = 0, failed = 0;

        if (m->exiting)
                return;
        for (Capture *c = m->captures; c; c = c->next) {
                running += c->state == CAPTURE_RUNNING;
                waiting += c->state == CAPTURE_WAITING;
                failed += c->state == CAPTURE_FAILED;
        }
        (void) sd_notifyf(false, "STATUS=%u capture(s) running, %u waiting for their interface, %u failed.",
                          running, waiting, failed);
}

/* A capture reached a resting state (stopped or failed), or a hook ended. */
static void manager_capture_settled(Manager *m) {
        if (!m->exiting || m->exit_requested)
                return;

        for (Capture *c = m->captures; c; c = c->next)
                if (c->pid > 0)
                        return;

        /* The last files were finished as the captures stopped: their hooks
         * run before we go, as tcpdump -z never did. */
        if (!post_rotate_is_idle(m->post_rotate)) {
                if (!m->exit_timer) {
                        log_info("All captures stopped; waiting for %u ExecPostRotate hook(s).",
                                 post_rotate_pending(m->post_rotate));
                        (void) sd_event_add_time_relative(m->event, &m->exit_timer, CLOCK_MONOTONIC,
                                                          EXIT_HOOK_TIMEOUT_USEC, 0, on_exit_timeout, m);
                }
                return;
        }

        log_info("All captures stopped, exiting.");
        exit_now(m);
}

void manager_capture_state_changed(Manager *m, Capture *c, CaptureState old, CaptureState new) {
        assert(m);
        assert(c);

        if (old != new)
                manager_update_status(m);

        switch (new) {
        case CAPTURE_RUNNING:
                manager_note_running(m, c);
                disk_guard_schedule(m);
                break;
        case CAPTURE_RESTARTING:
                /* A full disk stopped it: look for room now, not in 5 s. */
                if (c->waiting_for_room)
                        disk_guard_schedule_now(m);
                break;
        case CAPTURE_FAILED:
                manager_forget_running(m, c, false);
                manager_capture_settled(m);
                break;
        case CAPTURE_STOPPED:
                manager_forget_running(m, c, true);
                manager_capture_settled(m);
                break;
        default:
                break;
        }
}

void manager_begin_exit(Manager *m) {
        if (m->exiting)
                return;

        log_info("Stopping all captures.");
        m->exiting = true;
        for (Capture *c = m->captures; c; c = c->next)
                (void) capture_transition(c, CAPTURE_EVENT_STOP);

        manager_capture_settled(m);
}

static char *persisted_directory(Manager *m) {
        char *dir;

        return asprintf(&dir, "%s/captures", m->state_dir) < 0 ? NULL : dir;
}

bool manager_is_enabled(Manager *m, const char *interface) {
        const CaptureSettings *s = capture_settings_find(m->persisted, interface);

        /* EnableCapture/DisableCapture win over capture.d/'s Enabled=. */
        if (s && s->enabled >= 0)
                return s->enabled;
        return config_capture_enabled(m->config, interface) == 1;
}

int manager_base_options(Manager *m, const char *interface, CaptureOptions *ret) {
        const CaptureSettings *p = capture_settings_find(m->persisted, interface);
        int r = config_capture_options(m->config, interface, ret);

        if (r < 0 || !p || p->enabled != 1)
                return r;
        return capture_options_merge(ret, &p->options, p->mask);
}

int manager_effective_options(Manager *m, const char *interface, const CaptureOptions *given,
                              OptionMask mask, CaptureOptions *ret) {
        int r = manager_base_options(m, interface, ret);

        return r < 0 ? r : capture_options_merge(ret, given, mask);
}

static void forget_running_interface(Manager *m, const char *interface);
static void mark_stopped(Manager *m, const char *interface, bool stopped);
static bool stopped_since_boot(Manager *m, const char *interface);

int manager_persist_enabled(Manager *m, const char *interface, bool enabled,
                            const CaptureOptions *o, OptionMask mask) {
        _cleanup_(capture_settings_freep) CaptureSettings *s = NULL;
        _cleanup_(freep) char *dir = persisted_directory(m);
        size_t n = 0;
        int r;

        if (!dir)
                return -ENOMEM;
        r = capture_settings_new(&s, interface);
        if (r < 0)
                return r;
        s->enabled = enabled;
        if (o) {
                r = capture_options_copy(&s->options, o);
                if (r < 0)
                        return r;
                s->mask = mask;
        }

        r = capture_settings_save(dir, s);
        if (r < 0)
                return r;
        /* Disabled: not started when the daemon starts again, even if it runs
         * now. Enabled: started with the daemon again, even if a user stopped it. */
        if (!enabled)
                forget_running_interface(m, interface);
        else
                mark_stopped(m, interface, false);

        /* Replace the entry in memory too. */
        for (; m->persisted && m->persisted[n]; n++)
                if (strcmp(m->persisted[n]->interface, interface) == 0) {
                        capture_settings_free(m->persisted[n]);
                        m->persisted[n] = TAKE_PTR(s);
                        return 0;
                }
        if (ARRAY_GROW(m->persisted, NULL, n + 2) < 0)
                return -ENOMEM;
        m->persisted[n] = TAKE_PTR(s);
        m->persisted[n + 1] = NULL;
        return 0;
}

bool manager_find_upload_target(Manager *m, const char *name) {
        return upload_queue_find_target(m->uploads, name) != NULL;
}

int manager_check_upload_targets(Manager *m, const char *list, char **ret_missing) {
        _cleanup_(strv_freep) char **names = NULL;
        int r;

        *ret_missing = NULL;
        r = upload_list_split(strempty(list), &names);
        if (r < 0)
                return r;
        for (char **name = names; *name; name++)
                if (!manager_find_upload_target(m, *name)) {
                        *ret_missing = strdup(*name);
                        return *ret_missing ? -ENOENT : -ENOMEM;
                }
        return 0;
}

int manager_reupload_file(Manager *m, Capture *c, const char *path, const char *target) {
        _cleanup_(strv_freep) char **names = NULL;
        int r, queued = 0;

        r = upload_list_split(isempty(target) ? strempty(c->options.upload) : target, &names);
        if (r < 0)
                return r;
        if (!names[0])
                return -ENOKEY;
        for (char **name = names; *name; name++) {
                r = upload_queue_reupload(m->uploads, c->interface, path, *name);
                if (r < 0)
                        return r;
                queued += r;
                log_upload(LOG_INFO, 0, c->interface, path, *name, "%s: %s queued again for upload to %s.",
                           c->interface, path, *name);
        }
        capture_emit_changed(c, "UploadsPending", NULL);
        return queued;
}

/* ---- The disk guard: disk-guard.c decides, the manager deletes ------------------------------ */

#define DISK_GUARD_INTERVAL_USEC (5 * USEC_PER_SEC)
#define ROOM_RECHECK_USEC (1 * USEC_PER_SEC)   /* while a full disk keeps a capture from restarting */

/* What the planner looks at: every capture's files and figures, borrowed
 * from the captures (names included) until the plan is carried out. */
typedef struct DiskGuardSnapshot {
        DiskGuardInput input;
        DiskGuardCapture *captures;
        DiskGuardFile **files;    /* the captures' files, owned here */
        Capture **owners;
} DiskGuardSnapshot;

static void disk_guard_snapshot_done(DiskGuardSnapshot *s) {
        for (size_t k = 0; s->files && k < s->input.n_captures; k++)
                free(s->files[k]);
        free(s->files);
        free(s->captures);
        free(s->owners);
}

static int disk_guard_snapshot(Manager *m, const struct statvfs *sv, DiskGuardSnapshot *s) {
        size_t n = 0;

        for (Capture *c = m->captures; c; c = c->next)
                n++;
        *s = (DiskGuardSnapshot) {
                .input = {
                        .filesystem_size = (uint64_t) sv->f_blocks * sv->f_frsize,
                        .free = (uint64_t) sv->f_bavail * sv->f_frsize,
                        .min_free_space = m->config->min_free_space,
                        .max_disk_usage = m->config->max_disk_usage,
                },
                .captures = calloc(n + 1, sizeof(DiskGuardCapture)),
                .files = calloc(n + 1, sizeof(DiskGuardFile *)),
                .owners = calloc(n + 1, sizeof(Capture *)),
        };
        if (!s->captures || !s->files || !s->owners)
                return -ENOMEM;

        for (Capture *c = m->captures; c; c = c->next) {
                DiskGuardCapture *k = &s->captures[s->input.n_captures];
                DiskGuardFile *files = calloc(c->files.n + 1, sizeof(DiskGuardFile));

                if (!files)
                        return -ENOMEM;
                s->files[s->input.n_captures] = files;
                s->owners[s->input.n_captures++] = c;
                *k = (DiskGuardCapture) {
                        .files = files,
                        .n_files = c->files.n,
                        .live_size = capture_files_live_size(c),
                        .file_size = (uint64_t) c->options.file_size * 1000000ULL,
                        /* A capture restarting after a full disk needs room for its new file. */
                        .reserve = c->pid > 0 || c->waiting_for_room,
                };
                for (size_t i = 0; i < c->files.n; i++) {
                        const CaptureFile *f = &c->files.files[i];

                        files[i] = (DiskGuardFile) {
                                .name = f->name,
                                .size = f->size,
                                .completed_at = f->completed_at,
                                .busy = f->busy > 0,
                        };
                }
        }
        s->input.captures = s->captures;
        return 0;
}

/* Pending uploads only change which files go first, never whether any
 * must: they are looked up once the limits are known to be exceeded. */
static void disk_guard_snapshot_add_uploads(Manager *m, DiskGuardSnapshot *s) {
        for (size_t k = 0; k < s->input.n_captures; k++)
                for (size_t i = 0; i < s->captures[k].n_files; i++) {
                        DiskGuardFile *f = &s->files[k][i];
                        _cleanup_(freep) char *path = capture_file_path(s->owners[k], f->name);

                        /* Out of memory: deleted last, as if pending. */
                        f->pending_upload = !path || manager_file_is_pending_upload(m, path);
                }
}

static void report_low_space(Manager *m, uint64_t free_bytes, uint64_t needed, bool low) {
        for (Capture *c = m->captures; c; c = c->next) {
                if (low == c->disk_low_reported || !capture_is_active(c))
                        continue;
                c->disk_low_reported = low;
                if (low) {
                        log_error("%s: disk space low under %s: %" PRIu64 " bytes free, %" PRIu64
                                  " needed, and no finished file left to delete.",
                                  c->interface, m->config->capture_directory, free_bytes, needed);
                        capture_set_last_error(c, "Disk space low: %" PRIu64 " bytes free, %" PRIu64
                                               " needed; nothing left to delete", free_bytes, needed);
                } else {
                        log_capture(LOG_INFO, 0, c->interface, "%s: disk space is sufficient again.", c->interface);
                        /* While tcpdump runs, low disk space is the only error it can have. */
                        if (c->state == CAPTURE_RUNNING)
                                capture_clear_last_error(c);
                }
        }
}

/* Deletes one file the plan chose; the file's name finds it again, since
 * deleting moves the others in their index. */
static int disk_guard_delete(Capture *c, const DiskGuardFile *victim, bool pending_upload) {
        CaptureFile *f = file_index_find(&c->files, victim->name);

        if (!f)
                return -ENOENT;
        if (pending_upload) {
                c->uploads_dropped++;
                log_capture_event(LOG_WARNING, MESSAGE_UPLOAD_DROPPED, c->interface,
                                  "%s: the disk guard deletes %s before its upload.", c->interface, f->name);
                capture_emit_changed(c, "UploadsDropped", NULL);
        }
        return capture_files_delete(c, f - c->files.files, MESSAGE_FILE_DELETED_DISK_GUARD,
                                    "disk guard: MinFreeSpace/MaxDiskUsage");
}

static bool disk_guard_check(Manager *m) {
        _cleanup_(disk_guard_snapshot_done) DiskGuardSnapshot s = {};
        _cleanup_(disk_guard_plan_done) DiskGuardPlan plan = {};
        struct statvfs sv;
        uint64_t free_bytes;
        bool low;

        if (statvfs(m->config->capture_directory, &sv) < 0)
                return true;   /* nothing known: nothing to hold back */
        if (disk_guard_snapshot(m, &sv, &s) < 0 || disk_guard_plan(&s.input, &plan) < 0) {
                log_oom();
                return true;
        }
        if (plan.n_victims > 0) {
                disk_guard_plan_done(&plan);
                disk_guard_snapshot_add_uploads(m, &s);
                if (disk_guard_plan(&s.input, &plan) < 0) {
                        log_oom();
                        return true;
                }
        }

        low = plan.low;
        free_bytes = s.input.free;
        for (size_t i = 0; i < plan.n_victims; i++) {
                const DiskGuardVictim *v = &plan.victims[i];
                const DiskGuardFile *f = &s.captures[v->capture].files[v->file];

                if (disk_guard_delete(s.owners[v->capture], f, v->pending_upload) < 0) {
                        low = true;   /* still over the limits: that is why it was chosen */
                        break;
                }
                free_bytes += f->size;
        }

        report_low_space(m, free_bytes, plan.needed, low);
        /* Short of space, tcpdump may have hit a full disk: fresh counters
         * show whether its file still grows (capture.c). */
        if (low || plan.n_victims > 0)
                for (Capture *c = m->captures; c; c = c->next)
                        capture_request_statistics(c);
        return !low;
}

static bool any_waiting_for_room(Manager *m) {
        for (Capture *c = m->captures; c; c = c->next)
                if (c->waiting_for_room)
                        return true;
        return false;
}

static int on_disk_guard_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        m->disk_guard_timer = sd_event_source_disable_unref(m->disk_guard_timer);
        if (disk_guard_check(m))
                /* Room: the captures a full disk stopped start a new file. */
                for (Capture *c = m->captures; c; c = c->next)
                        if (c->waiting_for_room)
                                (void) capture_transition(c, CAPTURE_EVENT_ROOM);
        disk_guard_schedule(m);
        return 0;
}

static void disk_guard_arm(Manager *m, uint64_t usec) {
        int r;

        r = sd_event_add_time_relative(m->event, &m->disk_guard_timer, CLOCK_MONOTONIC,
                                       usec, usec / 10, on_disk_guard_timer, m);
        if (r < 0)
                log_error_errno(r, "Cannot arm the disk guard's timer: %m");
}

static void disk_guard_schedule(Manager *m) {
        bool any_active = false;

        if (m->disk_guard_timer)
                return;
        for (Capture *c = m->captures; c && !any_active; c = c->next)
                any_active = c->pid > 0;
        /* A capture waiting for room is looked after every second. */
        if (any_waiting_for_room(m))
                disk_guard_arm(m, ROOM_RECHECK_USEC);
        else if (any_active)
                disk_guard_arm(m, DISK_GUARD_INTERVAL_USEC);
}

static void disk_guard_schedule_now(Manager *m) {
        m->disk_guard_timer = sd_event_source_disable_unref(m->disk_guard_timer);
        disk_guard_arm(m, 0);
}

static int capture_start_enabled(Manager *m, const char *interface) {
        _cleanup_(capture_options_done) CaptureOptions o = {};
        Capture *c;
        int r;

        /* reload_plan_capture() said RELOAD_START: it is idle, and no user stopped it. */
        c = manager_find_capture(m, interface);
        capture_options_init_default(&o);
        r = manager_base_options(m, interface, &o);
        if (r < 0)
                return r;

        if (!c) {
                r = manager_add_capture(m, interface, &c);
                if (r < 0)
                        return r;
        }
        /* Nothing given at start: the enabled options are in the base. */
        (void) capture_set_overrides(c, &o, 0);
        r = capture_set_options(c, &o);
        if (r < 0)
                return r;

        /* As StartCapture would say; the next reload tries again. */
        if (!tcpdump_user_exists(m->config->tcpdump_user)) {
                log_capture(LOG_ERR, 0, interface, "%s: enabled, not started: TcpdumpUser=%s: no such user",
                            interface, m->config->tcpdump_user);
                return capture_set_last_error(c, "TcpdumpUser=%s: no such user", m->config->tcpdump_user);
        }

        log_info("%s: enabled, starting.", interface);
        return capture_transition(c, CAPTURE_EVENT_START);
}

/* The interfaces enabled now, NULL-terminated. */
static char **enabled_interfaces(Manager *m) {
        char **v = calloc(1, sizeof(char *));
        size_t n = 0;

        for (int pass = 0; pass < 2 && v; pass++) {
                CaptureSettings **list = pass == 0 ? m->persisted : m->config->captures;

                for (size_t i = 0; list && list[i] && v; i++) {
                        const char *interface = list[i]->interface;

                        if (!manager_is_enabled(m, interface) || strv_contains(v, interface))
                                continue;
                        if (ARRAY_GROW(v, NULL, n + 2) < 0 || !(v[n] = strdup(interface))) {
                                strv_free(v);
                                return NULL;
                        }
                        v[++n] = NULL;
                }
        }
        return v;
}


/* <runtime>/running/<iface>.conf: the options of every capture that runs.
 * A user's stop, a DisableCapture and a failure for good remove it; the
 * daemon's own exit does not. What is left at start ran when the daemon
 * stopped (a restart, an upgrade, a crash). <runtime>/stopped/<iface>: a
 * user stopped it, so it stays stopped even if it is enabled. The runtime
 * directory lives on /run, which a reboot empties: then the enabled
 * captures start, and only they. */
static char *running_directory(Manager *m) {
        char *dir;

        return asprintf(&dir, "%s/running", m->runtime_dir) < 0 ? NULL : dir;
}

static char *stopped_directory(Manager *m) {
        char *dir;

        return asprintf(&dir, "%s/stopped", m->runtime_dir) < 0 ? NULL : dir;
}

static void mark_stopped(Manager *m, const char *interface, bool stopped) {
        _cleanup_(freep) char *dir = stopped_directory(m), *path = NULL;
        int fd;

        if (!dir || asprintf(&path, "%s/%s", dir, interface) < 0) {
                log_oom();
                return;
        }
        if (!stopped) {
                if (unlink(path) < 0 && errno != ENOENT)
                        log_capture(LOG_WARNING, errno, interface, "%s: cannot remove %s: %m", interface, path);
                return;
        }
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
                log_capture(LOG_WARNING, errno, interface, "%s: cannot create %s: %m", interface, dir);
                return;
        }
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                log_capture(LOG_WARNING, errno, interface, "%s: cannot create %s: %m", interface, path);
        else
                close(fd);
}

static bool stopped_since_boot(Manager *m, const char *interface) {
        _cleanup_(freep) char *path = NULL;

        return asprintf(&path, "%s/stopped/%s", m->runtime_dir, interface) >= 0 && access(path, F_OK) == 0;
}

static void manager_note_running(Manager *m, Capture *c) {
        _cleanup_(capture_settings_freep) CaptureSettings *s = NULL;
        _cleanup_(freep) char *dir = running_directory(m);
        int r;

        if (!dir || capture_settings_new(&s, c->interface) < 0 || capture_options_copy(&s->options, &c->options) < 0) {
                log_oom();
                return;
        }
        s->mask = ~(OptionMask) 0;
        r = capture_settings_save(dir, s);
        if (r < 0)
                log_capture(LOG_WARNING, r, c->interface, "%s: cannot note the running capture in %s: %m",
                            c->interface, dir);
        mark_stopped(m, c->interface, false);
}

static void forget_running_interface(Manager *m, const char *interface) {
        _cleanup_(freep) char *path = NULL;

        if (asprintf(&path, "%s/running/%s.conf", m->runtime_dir, interface) < 0)
                return;
        if (unlink(path) < 0 && errno != ENOENT)
                log_capture(LOG_WARNING, errno, interface, "%s: cannot remove %s: %m", interface, path);
}

static void manager_forget_running(Manager *m, Capture *c, bool stopped_by_user) {
        /* Stopping with the daemon: it resumes when the daemon starts again. */
        if (m->exiting)
                return;
        forget_running_interface(m, c->interface);
        if (stopped_by_user)
                mark_stopped(m, c->interface, true);
}

/* Captures of earlier runs: their directories hold finished files (listed,
 * counted by the disk guard) and maybe what a crash left behind. Each gets
 * a stopped capture object, and its leftovers are finished now. */
static void adopt_capture_directories(Manager *m, CaptureSettings **running) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;

        d = opendir(m->config->capture_directory);
        if (!d)
                return;

        while ((de = readdir(d))) {
                _cleanup_(capture_options_done) CaptureOptions o = {};
                const CaptureSettings *was_running;
                Capture *c;

                if (de->d_type != DT_DIR || !interface_name_is_valid(de->d_name) ||
                    manager_find_capture(m, de->d_name))
                        continue;
                if (manager_add_capture(m, de->d_name, &c) < 0)
                        break;

                /* Its leftovers are finished with the options it ran with
                 * (its Upload= above all), if it ran when the daemon died. */
                capture_options_init_default(&o);
                was_running = capture_settings_find(running, c->interface);
                if (was_running) {
                        (void) capture_set_options(c, &was_running->options);
                        (void) capture_set_overrides(c, &was_running->options, was_running->mask);
                } else if (manager_base_options(m, c->interface, &o) >= 0)
                        (void) capture_set_options(c, &o);
                if (capture_files_index(c) < 0)
                        continue;
                capture_files_finish_closed(c);
                log_capture(LOG_DEBUG, 0, c->interface, "%s: %zu finished file(s) from earlier runs.",
                            c->interface, c->files.n);
        }
}

/* What reload_plan_capture() decides from: c may be NULL (no capture on
 * that interface yet), o NULL (the options are not looked at). */
static ReloadFacts reload_facts(Manager *m, const char *interface, const Capture *c, const CaptureOptions *o) {
        return (ReloadFacts) {
                .active = c && capture_is_active(c),
                .options_changed = c && o && !capture_options_equal(&c->options, o),
                .enabled = manager_is_enabled(m, interface),
                .stopped_by_request = c && c->stopped_by_request,
                .stopped_since_boot = stopped_since_boot(m, interface),
        };
}

/* At daemon start and at every reload: each enabled capture that does not
 * run is started (it waits if its interface is absent), except one that an
 * operator stopped, which a reload must not undo (reload-plan.h). */
void manager_start_enabled(Manager *m) {
        _cleanup_(strv_freep) char **enabled = enabled_interfaces(m);

        for (size_t i = 0; enabled && enabled[i]; i++) {
                ReloadFacts f = reload_facts(m, enabled[i], manager_find_capture(m, enabled[i]), NULL);

                if (reload_plan_capture(&f) & RELOAD_START)
                        (void) capture_start_enabled(m, enabled[i]);
        }
}

/* The daemon stopped while these captures ran (systemctl restart, a package
 * upgrade, a crash, SIGKILL, the OOM killer): they go on as they were. */
static void resume_running(Manager *m, CaptureSettings **running) {
        for (size_t i = 0; running && running[i]; i++) {
                Capture *c = manager_find_capture(m, running[i]->interface);

                if (!c) {
                        if (manager_add_capture(m, running[i]->interface, &c) < 0)
                                continue;
                        (void) capture_set_options(c, &running[i]->options);
                        (void) capture_set_overrides(c, &running[i]->options, running[i]->mask);
                }
                if (capture_is_active(c))
                        continue;
                log_capture(LOG_NOTICE, 0, c->interface,
                            "%s: was running when the daemon stopped, resuming.", c->interface);
                (void) capture_transition(c, CAPTURE_EVENT_START);
        }
}

static void on_interface_change(const char *name, bool present, void *userdata) {
        Manager *m = userdata;
        Capture *c;

        if (!present)
                return;  /* tcpdump notices by itself */
        c = manager_find_capture(m, name);
        if (c)
                (void) capture_transition(c, CAPTURE_EVENT_INTERFACE_APPEARED);
}

int manager_reload(Manager *m) {
        _cleanup_(config_freep) Config *config = NULL;
        int r;

        r = config_load(&config, m->config_dir);
        if (r < 0)
                return log_error_errno(r, "Failed to reload the configuration, keeping the old one: %m");

        if (strcmp(config->capture_directory, m->config->capture_directory) != 0) {
                log_warning("CaptureDirectory= changed; it takes effect when the daemon restarts.");
                r = free_and_strdup(&config->capture_directory, m->config->capture_directory);
                if (r < 0)
                        return r;
        }

        config_free(m->config);
        m->config = TAKE_PTR(config);
        (void) load_upload_targets(m);

        for (Capture *c = m->captures; c; c = c->next) {
                _cleanup_(capture_options_done) CaptureOptions o = {};
                ReloadFacts f;

                capture_options_init_default(&o);
                r = manager_effective_options(m, c->interface, &c->overrides, c->override_mask, &o);
                if (r < 0)
                        return r;
                f = reload_facts(m, c->interface, c, &o);
                /* capture_update_options() restarts an active capture: RELOAD_RESTART. */
                if (reload_plan_capture(&f) & RELOAD_TAKE_OPTIONS)
                        (void) capture_update_options(c, &o);
                else
                        log_capture(LOG_DEBUG, 0, c->interface, "%s: options unchanged.", c->interface);
                capture_set_enabled(c, f.enabled);
        }

        /* RELOAD_START, once every capture has its new options. */
        manager_start_enabled(m);
        log_info("Configuration reloaded.");
        return 0;
}

int manager_start(Manager *m) {
        _cleanup_(freep) char *persisted = NULL, *running_dir = NULL;
        CaptureSettings **running = NULL;
        int r;

        r = config_load(&m->config, m->config_dir);
        if (r < 0)
                return log_error_errno(r, "Failed to load configuration from %s: %m", m->config_dir);

        persisted = persisted_directory(m);
        if (!persisted)
                return log_oom();
        r = capture_settings_load_directory(persisted, &m->persisted);
        if (r < 0)
                return log_error_errno(r, "Failed to load the enabled captures from %s: %m", persisted);

        r = upload_queue_new(&m->uploads, m->event, m->state_dir, on_upload_finished, m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up uploads: %m");
        r = load_upload_targets(m);
        if (r < 0)
                return r;

        r = netif_watch_new(&m->netif_watch, m->event, on_interface_change, m);
        if (r < 0)
                log_warning_errno(r, "Cannot follow interfaces with rtnetlink, waiting captures will poll: %m");

        r = post_rotate_new(&m->post_rotate, m->event, POST_ROTATE_MAX_CONCURRENT, on_post_rotate_done, m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up ExecPostRotate: %m");

        r = sd_bus_open_system(&m->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");

        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");

        r = manager_bus_register(m);
        if (r < 0)
                return r;

        r = capture_bus_register(m);
        if (r < 0)
                return r;

        r = sd_bus_request_name(m->bus, CAPTURED_BUS_NAME, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to take the bus name %s: %m", CAPTURED_BUS_NAME);

        log_info("Listening on the system bus as %s; captures go to %s.",
                 CAPTURED_BUS_NAME, m->config->capture_directory);

        /* Pending uploads resume (after the bus, so that their signals go out). */
        r = upload_queue_load(m->uploads);
        if (r < 0)
                log_error_errno(r, "Failed to load the upload queue, pending uploads are not resumed: %m");

        running_dir = running_directory(m);
        if (!running_dir)
                return log_oom();
        r = capture_settings_load_directory(running_dir, &running);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s: %m", running_dir);

        adopt_capture_directories(m, running);
        resume_running(m, running);

        capture_settings_vector_free(running);
        manager_start_enabled(m);
        return 0;
}
