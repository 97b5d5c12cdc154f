/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "cloudshark.h"
#include "curl-event.h"
#include "fileio.h"
#include "list.h"
#include "log.h"
#include "capture-options.h"
#include "strv.h"
#include "time-util.h"
#include "upload-job.h"
#include "upload-queue.h"

#define STATE_FILE "uploads.json"
#define STATE_FILE_VERSION 1

static const char *const state_names[_UPLOAD_STATE_MAX] = {
        [UPLOAD_NONE] = "none",
        [UPLOAD_PENDING] = "pending",
        [UPLOAD_UPLOADING] = "uploading",
        [UPLOAD_DONE] = "done",
        [UPLOAD_FAILED] = "failed",
};

const char *upload_state_to_string(UploadState s) {
        return s >= 0 && s < _UPLOAD_STATE_MAX ? state_names[s] : NULL;
}

static UploadState upload_state_from_string(const char *s) {
        for (UploadState state = 0; state < _UPLOAD_STATE_MAX; state++)
                if (streq_ptr(s, state_names[state]))
                        return state;
        return _UPLOAD_STATE_MAX;
}

/* What happens to a queued file. */
typedef enum UploadEvent {
        UPLOAD_EVENT_START,       /* its turn came: an attempt begins */
        UPLOAD_EVENT_SUCCEEDED,   /* the attempt worked */
        UPLOAD_EVENT_FAILED,      /* the attempt failed: retry later if attempts are left */
        UPLOAD_EVENT_GIVE_UP,     /* no point in retrying (the file is gone) */
        UPLOAD_EVENT_RESUME,      /* found uploading in the state file after a restart */
        UPLOAD_EVENT_REQUEUE,     /* queued again after it had failed */
} UploadEvent;

/* The state machine; _UPLOAD_STATE_MAX means the event makes no sense in
 * that state. */
static bool event_ends_attempt(UploadEvent event) {
        return event == UPLOAD_EVENT_SUCCEEDED || event == UPLOAD_EVENT_FAILED || event == UPLOAD_EVENT_GIVE_UP;
}

static UploadState upload_state_next(UploadState state, UploadEvent event, bool attempts_left) {
        switch (event) {
        case UPLOAD_EVENT_START:
                return state == UPLOAD_PENDING ? UPLOAD_UPLOADING : _UPLOAD_STATE_MAX;
        case UPLOAD_EVENT_SUCCEEDED:
                return state == UPLOAD_UPLOADING ? UPLOAD_DONE : _UPLOAD_STATE_MAX;
        case UPLOAD_EVENT_FAILED:
                if (state != UPLOAD_UPLOADING)
                        return _UPLOAD_STATE_MAX;
                return attempts_left ? UPLOAD_PENDING : UPLOAD_FAILED;
        case UPLOAD_EVENT_GIVE_UP:
                return state == UPLOAD_PENDING || state == UPLOAD_UPLOADING ? UPLOAD_FAILED : _UPLOAD_STATE_MAX;
        case UPLOAD_EVENT_RESUME:
                return state == UPLOAD_UPLOADING ? UPLOAD_PENDING : _UPLOAD_STATE_MAX;
        case UPLOAD_EVENT_REQUEUE:
                return state == UPLOAD_FAILED ? UPLOAD_PENDING : _UPLOAD_STATE_MAX;
        }
        return _UPLOAD_STATE_MAX;
}

typedef struct UploadEntry {
        UploadQueue *queue;
        LIST_FIELDS(struct UploadEntry);

        char *path;
        char *interface;
        char *target;
        UploadState state;
        unsigned attempts;
        char *remote;               /* the remote URL once DONE */
        char *error;                /* why the last attempt failed */
        char *resume;               /* the job's state across restarts (an S3 UploadId) */
        uint64_t next_attempt_usec; /* CLOCK_MONOTONIC, while PENDING */
        const UploadTargetOps *ops; /* of the job */
        void *job;                  /* while UPLOADING, and while DONE cleans up */
} UploadEntry;

/* Since the daemon started, per interface. */
typedef struct UploadCounters {
        LIST_FIELDS(struct UploadCounters);
        char *interface;
        uint64_t succeeded;
        uint64_t failed;
} UploadCounters;

struct UploadQueue {
        sd_event *event;
        CurlEvent *curl;
        char *state_dir;
        char *state_file;
        UploadTarget **targets;
        size_t n_targets;
        UploadEntry *entries, *last_entry;  /* in the order they were queued */
        UploadCounters *counters;
        sd_event_source *timer;
        sd_event_source *save_source;   /* the state file is saved once per loop iteration */
        bool save_pending;

        char *detail;               /* what upload_queue_get_state() lends */

        uint64_t retry_base_usec;
        uint64_t retry_max_usec;
        unsigned max_attempts;

        UploadFinishedCallback callback;
        void *userdata;
};

static UploadEntry *entry_free(UploadEntry *e) {
        if (!e)
                return NULL;

        if (e->job)
                e->ops->free(e->job);
        free(e->path);
        free(e->interface);
        free(e->target);
        free(e->remote);
        free(e->error);
        free(e->resume);
        free(e);
        return NULL;
}

static int entry_new(UploadEntry **ret, const char *path, const char *interface, const char *target) {
        UploadEntry *e;

        e = calloc(1, sizeof(UploadEntry));
        if (!e)
                return -ENOMEM;

        e->path = strdup(path);
        e->interface = strdup(interface);
        e->target = strdup(target);
        if (!e->path || !e->interface || !e->target) {
                entry_free(e);
                return -ENOMEM;
        }
        e->state = UPLOAD_PENDING;

        *ret = e;
        return 0;
}

static void queue_append(UploadQueue *q, UploadEntry *e) {
        e->queue = q;
        LIST_INSERT_AFTER(q->entries, q->last_entry, e);
        q->last_entry = e;
}

static void queue_remove(UploadQueue *q, UploadEntry *e) {
        if (q->last_entry == e)
                q->last_entry = e->prev;
        LIST_REMOVE(q->entries, e);
        entry_free(e);
}

/* A file has one entry per target. target NULL: the first of any. */
static UploadEntry *queue_find(const UploadQueue *q, const char *path, const char *target) {
        for (UploadEntry *e = q->entries; e; e = e->next)
                if (strcmp(e->path, path) == 0 && (!target || strcmp(e->target, target) == 0))
                        return e;
        return NULL;
}

static UploadEntry *queue_find_next(const UploadEntry *after, const char *path) {
        for (UploadEntry *e = after->next; e; e = e->next)
                if (strcmp(e->path, path) == 0)
                        return e;
        return NULL;
}

static bool entry_is_pending(const UploadEntry *e) {
        return e->state == UPLOAD_PENDING || e->state == UPLOAD_UPLOADING;
}

static UploadCounters *queue_counters(UploadQueue *q, const char *interface) {
        UploadCounters *c;

        for (c = q->counters; c; c = c->next)
                if (strcmp(c->interface, interface) == 0)
                        return c;

        c = calloc(1, sizeof(UploadCounters));
        if (!c)
                return NULL;
        c->interface = strdup(interface);
        if (!c->interface) {
                free(c);
                return NULL;
        }
        LIST_PREPEND(q->counters, c);
        return c;
}

/* The state file: written whole to a temporary file, synced, renamed over
 * the old one, so that a crash leaves the old or the new, never half. */
static json_object *entry_to_json(const UploadEntry *e) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        if (json_object_object_add(o, "path", json_object_new_string(e->path)) < 0 ||
            json_object_object_add(o, "interface", json_object_new_string(e->interface)) < 0 ||
            json_object_object_add(o, "target", json_object_new_string(e->target)) < 0 ||
            json_object_object_add(o, "state", json_object_new_string(upload_state_to_string(e->state))) < 0 ||
            json_object_object_add(o, "attempts", json_object_new_int((int) e->attempts)) < 0 ||
            json_object_object_add(o, "remote", json_object_new_string(strempty(e->remote))) < 0 ||
            json_object_object_add(o, "error", json_object_new_string(strempty(e->error))) < 0 ||
            (e->resume && json_object_object_add(o, "resume", json_object_new_string(e->resume)) < 0)) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

static int write_state_file(const char *dir, const char *path, const char *text) {
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return negative_errno();
        return write_file_atomic(path, text, strlen(text), 0600);
}

static int queue_save(UploadQueue *q) {
        json_object *root, *list;
        int r = -ENOMEM;

        root = json_object_new_object();
        list = json_object_new_array();
        if (!root || !list) {
                json_object_put(root);
                json_object_put(list);
                return log_oom();
        }
        json_object_object_add(root, "version", json_object_new_int(STATE_FILE_VERSION));
        json_object_object_add(root, "uploads", list);

        for (UploadEntry *e = q->entries; e; e = e->next) {
                json_object *o = entry_to_json(e);

                if (!o || json_object_array_add(list, o) < 0) {
                        json_object_put(o);
                        goto finish;
                }
        }

        r = write_state_file(q->state_dir, q->state_file,
                             json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
finish:
        json_object_put(root);
        if (r < 0)
                log_warning_errno(r, "Failed to save the upload queue to %s: %m", q->state_file);
        return r;
}

void upload_queue_flush_state(UploadQueue *q) {
        if (!q->save_pending)
                return;
        q->save_pending = false;
        (void) queue_save(q);
}

static int on_save_deferred(sd_event_source *s, void *userdata) {
        upload_queue_flush_state(userdata);
        return 0;
}

/* Every change of the queue ends here: the state file is written once,
 * when this iteration of the event loop is done, not on every change. */
static void queue_save_soon(UploadQueue *q) {
        q->save_pending = true;
        if (!q->save_source &&
            sd_event_add_defer(q->event, &q->save_source, on_save_deferred, q) >= 0) {
                (void) sd_event_source_set_description(q->save_source, "upload-queue-save");
                return;
        }
        if (!q->save_source || sd_event_source_set_enabled(q->save_source, SD_EVENT_ONESHOT) < 0)
                upload_queue_flush_state(q);   /* not deferred: saved at once, not lost */
}

/* Runs queue_dispatch() from the event loop: at once (usec 0) or at a
 * retry time; never from inside the callers, which may be in the middle
 * of walking the queue or of a transfer's callback. */
static void queue_wake_at(UploadQueue *q, uint64_t usec) {
        int r;

        r = sd_event_source_set_time(q->timer, usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(q->timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_warning_errno(r, "Failed to schedule the upload queue: %m");
}

static uint64_t retry_delay(const UploadQueue *q, unsigned attempts) {
        return jitter_usec(backoff_usec(q->retry_base_usec, q->retry_max_usec, attempts), 25, 25);
}

/* The only place an entry's state changes. After an event that ends an
 * attempt the callback is told, last: it may free the entry, so callers
 * must not touch it afterwards. */
static void entry_transition(UploadEntry *e, UploadEvent event, const char *detail) {
        UploadQueue *q = e->queue;
        UploadState next;
        UploadCounters *counters;
        _cleanup_(freep) char *interface = NULL, *path = NULL, *target = NULL, *text = NULL;
        bool final;

        next = upload_state_next(e->state, event, e->attempts < q->max_attempts);
        if (next == _UPLOAD_STATE_MAX) {
                log_error("Upload of %s: event %d in state %s ignored; this is a bug.",
                          e->path, (int) event, upload_state_to_string(e->state));
                return;
        }

        switch (event) {
        case UPLOAD_EVENT_START:
                e->attempts++;
                break;
        case UPLOAD_EVENT_SUCCEEDED:
                (void) free_and_strdup(&e->remote, detail);
                e->error = mfree_str(e->error);
                break;
        case UPLOAD_EVENT_FAILED:
        case UPLOAD_EVENT_GIVE_UP:
                (void) free_and_strdup(&e->error, detail);
                if (next == UPLOAD_PENDING)
                        e->next_attempt_usec = now_usec(CLOCK_MONOTONIC) + retry_delay(q, e->attempts);
                break;
        case UPLOAD_EVENT_RESUME:
                e->next_attempt_usec = 0;
                break;
        case UPLOAD_EVENT_REQUEUE:
                e->attempts = 0;
                e->next_attempt_usec = 0;
                break;
        }
        e->state = next;

        queue_save_soon(q);
        queue_wake_at(q, 0);

        if (!event_ends_attempt(event))
                return;

        final = next == UPLOAD_DONE || next == UPLOAD_FAILED;
        /* An upload's outcome is on disk before anyone is told of it: a
         * daemon that dies after announcing a success never sends the file
         * again. */
        if (final)
                upload_queue_flush_state(q);
        counters = final ? queue_counters(q, e->interface) : NULL;
        if (counters) {
                if (next == UPLOAD_DONE)
                        counters->succeeded++;
                else
                        counters->failed++;
        }

        if (next == UPLOAD_DONE)
                log_upload_event(LOG_INFO, MESSAGE_UPLOAD_FINISHED, e->interface, e->path, e->target,
                                 "Uploaded %s to %s: %s", e->path, e->target, strempty(detail));
        else if (next == UPLOAD_FAILED && e->attempts == 0)
                log_upload_event(LOG_WARNING, MESSAGE_UPLOAD_FAILED, e->interface, e->path, e->target,
                                 "Giving up uploading %s to %s: %s", e->path, e->target, strempty(detail));
        else if (next == UPLOAD_FAILED)
                log_upload_event(LOG_WARNING, MESSAGE_UPLOAD_FAILED, e->interface, e->path, e->target,
                                 "Giving up uploading %s to %s after %u attempt%s: %s", e->path, e->target,
                                 e->attempts, e->attempts == 1 ? "" : "s", strempty(detail));
        else
                log_upload(LOG_NOTICE, 0, e->interface, e->path, e->target,
                           "Uploading %s to %s failed (attempt %u of %u), retrying in %.3g s: %s",
                           e->path, e->target, e->attempts, q->max_attempts,
                           (double) (e->next_attempt_usec - now_usec(CLOCK_MONOTONIC)) / USEC_PER_SEC, strempty(detail));

        if (!q->callback)
                return;

        /* The callback may forget the entry: give it copies. */
        interface = strdup(e->interface);
        path = strdup(e->path);
        target = strdup(e->target);
        text = strdup(strempty(detail));
        if (!interface || !path || !target || !text) {
                log_oom();
                return;
        }
        q->callback(q->userdata, interface, path, target, next == UPLOAD_DONE, final, text);
}

static const UploadTarget *queue_target(const UploadQueue *q, const char *name, size_t *ret_index) {
        for (size_t i = 0; i < q->n_targets; i++)
                if (strcmp(q->targets[i]->name, name) == 0) {
                        if (ret_index)
                                *ret_index = i;
                        return q->targets[i];
                }
        return NULL;
}

static void entry_free_job(UploadEntry *e) {
        if (e->job)
                e->ops->free(e->job);
        e->job = NULL;
}

static void on_job_uploaded(void *userdata, bool success, const char *detail, bool finished) {
        UploadEntry *e = userdata;
        _cleanup_(freep) char *copy = strdup(detail);   /* detail may belong to the job */

        if (finished)
                entry_free_job(e);
        entry_transition(e, success ? UPLOAD_EVENT_SUCCEEDED : UPLOAD_EVENT_FAILED, copy ? copy : "out of memory");
}

static void on_job_finished(void *userdata) {
        entry_free_job(userdata);
}

static void on_job_save_resume(void *userdata, const char *resume) {
        UploadEntry *e = userdata;

        if (streq_ptr(e->resume, resume))
                return;
        if (!resume)
                e->resume = mfree_str(e->resume);
        else if (free_and_strdup(&e->resume, resume) < 0)
                log_oom();
        queue_save_soon(e->queue);
}

/* CloudShark's job predates the common interface; this adapts it. */
static int cloudshark_start(void **ret, sd_event *event, CurlEvent *curl, const UploadTarget *target,
                            const UploadRequest *request, const UploadJobCallbacks *callbacks) {
        return cloudshark_job_start((CloudsharkJob **) ret, curl, target, request->path, callbacks->uploaded,
                                    callbacks->finished, callbacks->userdata);
}

static void cloudshark_free(void *job) {
        cloudshark_job_free(job);
}

static const UploadTargetOps cloudshark_upload_ops = {
        .start = cloudshark_start,
        .free = cloudshark_free,
};

static const UploadTargetOps *const target_ops[_UPLOAD_TARGET_TYPE_MAX] = {
        [UPLOAD_TARGET_CLOUDSHARK] = &cloudshark_upload_ops,
        [UPLOAD_TARGET_S3] = &s3_upload_ops,
        [UPLOAD_TARGET_HTTP] = &http_put_upload_ops,
};

static void entry_start(UploadEntry *e, const UploadTarget *t) {
        _cleanup_(freep) char *error = NULL;
        int r;

        if (access(e->path, R_OK) < 0) {
                r = negative_errno();
                if (asprintf(&error, "Cannot read the file: %s", strerror(-r)) < 0)
                        error = NULL;
                entry_transition(e, UPLOAD_EVENT_GIVE_UP, error ? error : "Cannot read the file");
                return;
        }

        entry_transition(e, UPLOAD_EVENT_START, NULL);
        log_upload(LOG_DEBUG, 0, e->interface, e->path, e->target,
                   "Uploading %s to %s (attempt %u).", e->path, e->target, e->attempts);

        e->ops = t->type >= 0 && t->type < _UPLOAD_TARGET_TYPE_MAX ? target_ops[t->type] : NULL;
        if (e->ops)
                r = e->ops->start(&e->job, e->queue->event, e->queue->curl, t,
                                  &(const UploadRequest) { .path = e->path, .interface = e->interface, .resume = e->resume },
                                  &(const UploadJobCallbacks) {
                                          .uploaded = on_job_uploaded,
                                          .finished = on_job_finished,
                                          .save_resume = on_job_save_resume,
                                          .userdata = e,
                                  });
        else
                r = -EOPNOTSUPP;
        if (r < 0) {
                if (asprintf(&error, "Cannot start the upload: %s", strerror(-r)) < 0)
                        error = NULL;
                entry_transition(e, UPLOAD_EVENT_FAILED, error ? error : "Cannot start the upload");
        }
}

/* Finds the first pending file whose time has come and whose target has a
 * free slot. Also says when the next retry is due. */
static UploadEntry *queue_next_ready(UploadQueue *q, const UploadTarget **ret_target, uint64_t *ret_next_usec) {
        _cleanup_(freep) unsigned *running = NULL;
        uint64_t now = now_usec(CLOCK_MONOTONIC), next = UINT64_MAX;
        size_t i;

        running = calloc(q->n_targets + 1, sizeof(unsigned));
        if (!running)
                return NULL;
        for (UploadEntry *e = q->entries; e; e = e->next)
                if (e->state == UPLOAD_UPLOADING && queue_target(q, e->target, &i))
                        running[i]++;

        for (UploadEntry *e = q->entries; e; e = e->next) {
                const UploadTarget *t;

                if (e->state != UPLOAD_PENDING)
                        continue;
                t = queue_target(q, e->target, &i);
                if (!t)
                        continue;               /* until a reload brings it back */
                if (running[i] >= t->max_concurrent)
                        continue;               /* a finishing upload wakes us */
                if (e->next_attempt_usec > now) {
                        if (e->next_attempt_usec < next)
                                next = e->next_attempt_usec;
                        continue;
                }

                *ret_target = t;
                return e;
        }

        *ret_next_usec = next;
        return NULL;
}

static int on_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        UploadQueue *q = userdata;
        const UploadTarget *t;
        uint64_t next = UINT64_MAX;
        UploadEntry *e;

        /* Starting one may change anything (a callback may forget
         * entries), so look again from the start after each. */
        while ((e = queue_next_ready(q, &t, &next)))
                entry_start(e, t);

        if (next != UINT64_MAX)
                queue_wake_at(q, next);
        return 0;
}

static void parse_retry_environment(UploadQueue *q) {
        const char *e = getenv("CAPTURED_UPLOAD_RETRY");
        unsigned long long base, max;
        unsigned attempts;

        if (!e)
                return;
        if (sscanf(e, "%llu %llu %u", &base, &max, &attempts) != 3 || base == 0 || max < base || attempts == 0) {
                log_warning("Ignoring CAPTURED_UPLOAD_RETRY=%s (expected \"BASE_MSEC MAX_MSEC MAX_ATTEMPTS\").", e);
                return;
        }
        log_notice("Upload retries from CAPTURED_UPLOAD_RETRY: %llu ms doubling to %llu ms, %u attempts.",
                   base, max, attempts);
        upload_queue_set_retry(q, base * USEC_PER_MSEC, max * USEC_PER_MSEC, attempts);
}

int upload_queue_new(UploadQueue **ret, sd_event *event, const char *state_dir,
                     UploadFinishedCallback callback, void *userdata) {
        _cleanup_(upload_queue_freep) UploadQueue *q = NULL;
        int r;

        q = calloc(1, sizeof(UploadQueue));
        if (!q)
                return -ENOMEM;

        q->event = sd_event_ref(event);
        q->callback = callback;
        q->userdata = userdata;
        upload_queue_set_retry(q, UPLOAD_RETRY_BASE_USEC, UPLOAD_RETRY_MAX_USEC, UPLOAD_MAX_ATTEMPTS);
        parse_retry_environment(q);

        q->state_dir = strdup(state_dir);
        if (!q->state_dir || asprintf(&q->state_file, "%s/" STATE_FILE, state_dir) < 0)
                return -ENOMEM;

        q->targets = calloc(1, sizeof(UploadTarget *));
        if (!q->targets)
                return -ENOMEM;

        r = curl_event_new(&q->curl, event);
        if (r < 0)
                return r;

        r = sd_event_add_time(event, &q->timer, CLOCK_MONOTONIC, 0, 10 * USEC_PER_MSEC, on_timer, q);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(q->timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(q->timer, "upload-queue");

        *ret = TAKE_PTR(q);
        return 0;
}

UploadQueue *upload_queue_free(UploadQueue *q) {
        if (!q)
                return NULL;

        upload_queue_flush_state(q);
        q->save_source = sd_event_source_disable_unref(q->save_source);

        /* Transfers end with their entries, before the multi handle goes. */
        for (UploadEntry *e; (e = LIST_POP(q->entries));)
                entry_free(e);
        for (UploadCounters *c; (c = LIST_POP(q->counters));) {
                free(c->interface);
                free(c);
        }

        curl_event_free(q->curl);
        upload_targets_free(q->targets);
        sd_event_source_disable_unref(q->timer);
        sd_event_unref(q->event);
        free(q->state_dir);
        free(q->state_file);
        free(q->detail);
        free(q);
        return NULL;
}

void upload_queue_set_retry(UploadQueue *q, uint64_t base_usec, uint64_t max_usec, unsigned max_attempts) {
        q->retry_base_usec = base_usec;
        q->retry_max_usec = max_usec;
        q->max_attempts = max_attempts;
}

void upload_queue_set_targets(UploadQueue *q, UploadTarget **targets) {
        upload_targets_free(q->targets);
        q->targets = targets;
        for (q->n_targets = 0; targets && targets[q->n_targets]; q->n_targets++)
                ;
        queue_wake_at(q, 0);
}

const UploadTarget *upload_queue_find_target(const UploadQueue *q, const char *name) {
        return name ? queue_target(q, name, NULL) : NULL;
}

static const char *json_string_field(json_object *o, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

/* One entry of the state file; returns 0 if it was skipped. */
static int load_entry(UploadQueue *q, json_object *o) {
        const char *path, *interface, *target, *remote, *error, *resume;
        UploadState state;
        UploadEntry *e;
        json_object *attempts;
        int r;

        path = json_string_field(o, "path");
        interface = json_string_field(o, "interface");
        target = json_string_field(o, "target");
        state = upload_state_from_string(json_string_field(o, "state"));
        remote = json_string_field(o, "remote");
        error = json_string_field(o, "error");
        resume = json_string_field(o, "resume");
        if (!path || path[0] != '/' || !interface || !target || state == _UPLOAD_STATE_MAX || state == UPLOAD_NONE) {
                log_warning("%s: skipping an entry that is not understood.", q->state_file);
                return 0;
        }
        if (queue_find(q, path, target))
                return 0;
        if (access(path, F_OK) < 0) {
                log_upload(LOG_INFO, 0, interface, path, target,
                           "%s is gone, forgetting its upload (%s).", path, upload_state_to_string(state));
                return 0;
        }

        r = entry_new(&e, path, interface, target);
        if (r < 0)
                return r;
        e->state = state;
        if (json_object_object_get_ex(o, "attempts", &attempts))
                e->attempts = (unsigned) json_object_get_int(attempts);
        if ((remote && remote[0] && free_and_strdup(&e->remote, remote) < 0) ||
            (error && error[0] && free_and_strdup(&e->error, error) < 0) ||
            (resume && resume[0] && free_and_strdup(&e->resume, resume) < 0)) {
                entry_free(e);
                return -ENOMEM;
        }
        queue_append(q, e);

        if (state == UPLOAD_UPLOADING) {
                log_upload(LOG_INFO, 0, interface, path, target, "Resuming the upload of %s to %s.", path, target);
                entry_transition(e, UPLOAD_EVENT_RESUME, NULL);
        }
        return 1;
}

int upload_queue_load(UploadQueue *q) {
        json_object *root, *list;
        size_t n;
        int r = 0;

        if (access(q->state_file, F_OK) < 0) {
                if (errno == ENOENT)
                        return 0;
                return log_warning_errno(errno, "Cannot read %s: %m", q->state_file);
        }

        root = json_object_from_file(q->state_file);
        if (!root || !json_object_object_get_ex(root, "uploads", &list) ||
            !json_object_is_type(list, json_type_array)) {
                json_object_put(root);
                log_warning("%s is not a valid upload queue, starting with an empty one.", q->state_file);
                return 0;
        }

        n = json_object_array_length(list);
        for (size_t i = 0; i < n && r >= 0; i++)
                r = load_entry(q, json_object_array_get_idx(list, i));
        json_object_put(root);
        if (r < 0)
                return r;

        /* Forgotten entries go from the file too. */
        queue_save_soon(q);
        queue_wake_at(q, 0);
        return 0;
}

/* Queues path for one target. again: a file already uploaded is queued
 * afresh too (a manual re-upload). */
static int queue_add_one(UploadQueue *q, const char *interface, const char *path, const char *target, bool again) {
        UploadEntry *e;
        int r;

        e = queue_find(q, path, target);
        if (e) {
                if (e->state == UPLOAD_DONE && again)
                        e->state = UPLOAD_FAILED;   /* done once; REQUEUE starts it over */
                if (e->state != UPLOAD_FAILED)
                        return 0;
                entry_transition(e, UPLOAD_EVENT_REQUEUE, NULL);
                return 1;
        }

        r = entry_new(&e, path, interface, target);
        if (r < 0)
                return r;
        queue_append(q, e);

        if (!queue_target(q, target, NULL))
                log_upload(LOG_WARNING, 0, interface, path, target,
                           "Queued %s for upload target %s, which does not exist (yet).", path, target);
        else
                log_upload(LOG_DEBUG, 0, interface, path, target, "Queued %s for upload to %s.", path, target);

        queue_save_soon(q);
        queue_wake_at(q, 0);
        return 1;
}

int upload_queue_add(UploadQueue *q, const char *interface, const char *path, const char *targets) {
        _cleanup_(strv_freep) char **names = NULL;
        int r, queued = 0;

        if (!path || path[0] != '/' || !interface || !targets)
                return -EINVAL;
        r = upload_list_split(targets, &names);
        if (r < 0)
                return r;
        if (!names[0])
                return -EINVAL;

        for (char **name = names; *name; name++) {
                r = queue_add_one(q, interface, path, *name, false);
                if (r < 0)
                        return r;
                queued += r;
        }
        return queued > 0;
}

int upload_queue_reupload(UploadQueue *q, const char *interface, const char *path, const char *target) {
        UploadEntry *e;

        if (!path || path[0] != '/' || !interface || !target || !target[0])
                return -EINVAL;
        e = queue_find(q, path, target);
        if (e && entry_is_pending(e))
                return -EBUSY;
        return queue_add_one(q, interface, path, target, true);
}

/* Several targets: the most pressing state, and each target's detail. */
static UploadState aggregate_state(UploadState a, UploadState b) {
        static const int rank[_UPLOAD_STATE_MAX] = {
                [UPLOAD_NONE] = 0, [UPLOAD_DONE] = 1, [UPLOAD_FAILED] = 2, [UPLOAD_PENDING] = 3, [UPLOAD_UPLOADING] = 4,
        };

        return rank[a] >= rank[b] ? a : b;
}

static const char *entry_detail(const UploadEntry *e) {
        return e->state == UPLOAD_DONE ? e->remote : e->error;
}

UploadState upload_queue_get_state(UploadQueue *q, const char *path, const char **ret_detail) {
        const UploadEntry *first = queue_find(q, path, NULL);
        UploadState state = UPLOAD_NONE;
        char *buffer = NULL;
        size_t size = 0;
        FILE *f;

        if (ret_detail)
                *ret_detail = NULL;
        if (!first)
                return UPLOAD_NONE;
        if (!queue_find_next(first, path)) {
                if (ret_detail)
                        *ret_detail = entry_detail(first);
                return first->state;
        }

        /* "lab: https://...; s3-central: HTTP 403 ..." */
        f = open_memstream(&buffer, &size);
        for (const UploadEntry *e = first; e; e = queue_find_next(e, path)) {
                state = aggregate_state(state, e->state);
                if (f)
                        fprintf(f, "%s%s: %s", e == first ? "" : "; ", e->target,
                                entry_detail(e) ? entry_detail(e) : upload_state_to_string(e->state));
        }
        if (f && fclose(f) == 0) {
                free(q->detail);
                q->detail = buffer;
                if (ret_detail)
                        *ret_detail = q->detail;
        } else
                free(buffer);
        return state;
}

int upload_queue_get_uploads(const UploadQueue *q, const char *path, UploadInfo **ret, size_t *ret_n) {
        UploadInfo *infos;
        size_t n = 0, k = 0;

        for (const UploadEntry *e = q->entries; e; e = e->next)
                n += strcmp(e->path, path) == 0;
        infos = calloc(n + 1, sizeof(UploadInfo));
        if (!infos)
                return -ENOMEM;
        for (const UploadEntry *e = q->entries; e; e = e->next)
                if (strcmp(e->path, path) == 0)
                        infos[k++] = (UploadInfo) {
                                .target = e->target,
                                .state = e->state,
                                .remote = strempty(e->remote),
                                .error = strempty(e->error),
                                .attempts = e->attempts,
                        };
        *ret = infos;
        *ret_n = n;
        return 0;
}

bool upload_queue_is_pending(const UploadQueue *q, const char *path) {
        for (const UploadEntry *e = queue_find(q, path, NULL); e; e = queue_find_next(e, path))
                if (entry_is_pending(e))
                        return true;
        return false;
}

bool upload_queue_forget(UploadQueue *q, const char *path) {
        bool pending = false;
        UploadEntry *e;

        while ((e = queue_find(q, path, NULL))) {
                pending = pending || entry_is_pending(e);
                if (e->state == UPLOAD_UPLOADING)
                        log_upload(LOG_NOTICE, 0, e->interface, path, e->target,
                                   "Aborting the upload of %s to %s: the file is going away.", path, e->target);
                if (e->resume)
                        log_upload(LOG_WARNING, 0, e->interface, path, e->target,
                                   "%s is going away with a multipart upload to %s unfinished; a bucket lifecycle rule must remove its parts.",
                                   path, e->target);
                queue_remove(q, e);  /* frees the job, which aborts its transfer */
        }
        queue_save_soon(q);
        queue_wake_at(q, 0);
        return pending;
}

void upload_queue_get_counts(const UploadQueue *q, const char *interface,
                             uint32_t *ret_pending, uint64_t *ret_succeeded, uint64_t *ret_failed) {
        uint32_t pending = 0;
        uint64_t succeeded = 0, failed = 0;

        for (const UploadEntry *e = q->entries; e; e = e->next)
                if (entry_is_pending(e) && strcmp(e->interface, interface) == 0)
                        pending++;

        for (const UploadCounters *c = q->counters; c; c = c->next)
                if (strcmp(c->interface, interface) == 0) {
                        succeeded = c->succeeded;
                        failed = c->failed;
                }

        if (ret_pending)
                *ret_pending = pending;
        if (ret_succeeded)
                *ret_succeeded = succeeded;
        if (ret_failed)
                *ret_failed = failed;
}
