/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "backoff.h"
#include "bus-errors.h"
#include "captured-bus.h"
#include "capture.h"
#include "log.h"
#include "manager.h"
#include "netif.h"
#include "time-util.h"

#define STOP_TIMEOUT_USEC (5 * USEC_PER_SEC)
/* tcpdump's read timeout (1 s, libpcap's block retire timeout) and a margin. */
#define STOP_DRAIN_USEC (1200 * USEC_PER_MSEC)
#define READY_REPLY_TIMEOUT_USEC (10 * USEC_PER_SEC)
#define BACKOFF_MIN_USEC (500 * USEC_PER_MSEC)
#define BACKOFF_MAX_USEC (30 * USEC_PER_SEC)
/* rtnetlink says when the interface is back; this is only a safety net. */
#define WAITING_RECHECK_USEC (30 * USEC_PER_SEC)
/* A tcpdump that ran this long before dying counts as having worked. */
#define STABLE_RUN_USEC (10 * USEC_PER_SEC)
#define MAX_FAILURES_IN_ROW 5
/* Counters (issue 10): a read gets figures at most this old, waiting at most
 * STATISTICS_WAIT_USEC for tcpdump's answer; while they move they are also
 * refreshed (and announced) at this pace, and not at all while idle. */
#define STATISTICS_FRESH_USEC (250 * USEC_PER_MSEC)
#define STATISTICS_WAIT_USEC (100 * USEC_PER_MSEC)
#define STATISTICS_FOLLOW_UP_USEC (1 * USEC_PER_SEC)
#define STATISTICS_MIN_GAP_USEC (1 * USEC_PER_SEC)
/* While waiting for room after a full disk, how often to look again. */

static const char *const state_names[_CAPTURE_STATE_MAX] = {
        [CAPTURE_STARTING] = "starting",
        [CAPTURE_RUNNING] = "running",
        [CAPTURE_WAITING] = "waiting",
        [CAPTURE_RESTARTING] = "restarting",
        [CAPTURE_STOPPING] = "stopping",
        [CAPTURE_STOPPED] = "stopped",
        [CAPTURE_FAILED] = "failed",
};

const char *capture_state_to_string(CaptureState s) {
        return s >= 0 && s < _CAPTURE_STATE_MAX ? state_names[s] : NULL;
}

static int add_monotonic_timer(sd_event *e, sd_event_source **ret, uint64_t usec, sd_event_time_handler_t handler,
                               void *userdata) {
        return sd_event_add_time_relative(e, ret, CLOCK_MONOTONIC, usec, 0, handler, userdata);
}

const CaptureSystemOps capture_system_ops = {
        .spawn = tcpdump_spawn,
        .interface_exists = netif_exists,
        .add_timer = add_monotonic_timer,
};

bool capture_is_active(const Capture *c) {
        return c->state == CAPTURE_STARTING || c->state == CAPTURE_RUNNING ||
                c->state == CAPTURE_WAITING || c->state == CAPTURE_RESTARTING;
}

bool capture_writes_live_file(const Capture *c) {
        /* After SIGTERM tcpdump opens no new file: the one it closes is its last. */
        return c->pid > 0 && !(c->state == CAPTURE_STOPPING && c->term_sent);
}

int capture_new(Capture **ret, Manager *m, const char *interface) {
        _cleanup_(capture_freep) Capture *c = NULL;
        int r;

        c = calloc(1, sizeof(Capture));
        if (!c)
                return -ENOMEM;

        c->manager = m;
        c->system = &capture_system_ops;
        c->state = CAPTURE_STOPPED;
        c->pid = 0;
        capture_options_init_default(&c->options);
        capture_options_init_default(&c->overrides);

        c->interface = strdup(interface);
        if (!c->interface)
                return -ENOMEM;

        r = sd_bus_path_encode(CAPTURED_CAPTURE_PATH_PREFIX, interface, &c->object_path);
        if (r < 0)
                return r;

        if (asprintf(&c->directory, "%s/%s", m->config->capture_directory, interface) < 0)
                return -ENOMEM;
        file_ring_init(&c->files, c->directory, c->interface);

        *ret = TAKE_PTR(c);
        return 0;
}

static void reply_all(Capture *c, const sd_bus_error *error, bool only_settled);

static void upload_error_done(UploadError *e) {
        free(e->target);
        free(e->error);
}

Capture *capture_free(Capture *c) {
        if (!c)
                return NULL;

        reply_all(c, &SD_BUS_ERROR_MAKE_CONST(SD_BUS_ERROR_FAILED, "The capture was removed."), false);
        capture_flush_changed(c);
        sd_event_source_disable_unref(c->changed_source);
        free(c->replies);
        sd_event_source_disable_unref(c->reply_timeout_source);
        sd_event_source_disable_unref(c->child_source);
        sd_event_source_disable_unref(c->stderr_source);
        sd_event_source_disable_unref(c->timer_source);
        sd_event_source_disable_unref(c->statistics_timer);
        traffic_watch_free(c->traffic_watch);
        if (c->pid > 0)
                (void) kill(c->pid, SIGKILL);
        capture_files_close(c);
        file_index_done(&c->files);

        free(c->interface);
        free(c->object_path);
        free(c->directory);
        free(c->last_stderr_line);
        free(c->last_error);
        for (size_t i = 0; i < c->n_upload_errors; i++)
                upload_error_done(&c->upload_errors[i]);
        free(c->upload_errors);
        free(c->last_hook_error);
        free(c->current_file);
        capture_options_done(&c->options);
        capture_options_done(&c->overrides);
        free(c);
        return NULL;
}

void capture_flush_changed(Capture *c) {
        const char *names[ELEMENTSOF(c->changed_properties) + 1];
        size_t n = c->n_changed_properties;

        if (n == 0)
                return;
        memcpy(names, c->changed_properties, n * sizeof(names[0]));
        names[n] = NULL;
        c->n_changed_properties = 0;
        if (c->manager->bus)
                (void) sd_bus_emit_properties_changed_strv(c->manager->bus, c->object_path,
                                                           CAPTURED_CAPTURE_INTERFACE, (char **) names);
}

static int on_changed_deferred(sd_event_source *s, void *userdata) {
        capture_flush_changed(userdata);
        return 0;
}

/* names: NULL-terminated; nothing is queued if it is empty. */
static void emit_changed_strv(Capture *c, const char **names) {
        if (!c->manager->bus || !names[0])
                return;

        for (; *names; names++) {
                bool queued = false;

                for (size_t i = 0; i < c->n_changed_properties && !queued; i++)
                        queued = strcmp(c->changed_properties[i], *names) == 0;
                if (queued)
                        continue;
                if (c->n_changed_properties == ELEMENTSOF(c->changed_properties))
                        capture_flush_changed(c);
                c->changed_properties[c->n_changed_properties++] = *names;
        }

        if (!c->changed_source &&
            sd_event_add_defer(c->manager->event, &c->changed_source, on_changed_deferred, c) >= 0)
                return;   /* a new defer source is enabled (oneshot) */
        if (!c->changed_source || sd_event_source_set_enabled(c->changed_source, SD_EVENT_ONESHOT) < 0)
                /* Not deferred: announced at once, not lost. */
                capture_flush_changed(c);
}

void capture_emit_changed(Capture *c, const char *property, ...) {
        const char *names[16];
        size_t n = 0;
        va_list ap;

        va_start(ap, property);
        for (const char *p = property; p && n < ELEMENTSOF(names) - 1; p = va_arg(ap, const char *))
                names[n++] = p;
        va_end(ap);
        names[n] = NULL;

        emit_changed_strv(c, names);
}

int capture_set_overrides(Capture *c, const CaptureOptions *o, OptionMask mask) {
        int r = capture_options_copy(&c->overrides, o);

        if (r >= 0)
                c->override_mask = mask;
        return r;
}

void capture_set_enabled(Capture *c, bool enabled) {
        if (c->enabled == enabled)
                return;
        c->enabled = enabled;
        capture_emit_changed(c, "Enabled", NULL);
}

/* Takes new options, announcing those that differ. */
static int set_options(Capture *c, const CaptureOptions *o) {
        const CaptureOptions *was = &c->options;
        const char *changed[9];
        size_t n = 0;
        int r;

        if (strcmp(strempty(was->filter), strempty(o->filter)) != 0)
                changed[n++] = "Filter";
        if (was->file_size != o->file_size)
                changed[n++] = "FileSize";
        if (was->file_count != o->file_count)
                changed[n++] = "FileCount";
        if (was->snap_length != o->snap_length)
                changed[n++] = "SnapLength";
        if (was->buffer_size != o->buffer_size)
                changed[n++] = "BufferSize";
        if (was->promiscuous != o->promiscuous)
                changed[n++] = "Promiscuous";
        if (was->rotate_seconds != o->rotate_seconds)
                changed[n++] = "RotateSeconds";
        if (strcmp(strempty(was->upload), strempty(o->upload)) != 0)
                changed[n++] = "Upload";
        changed[n] = NULL;

        r = capture_options_copy(&c->options, o);
        if (r < 0)
                return r;
        emit_changed_strv(c, changed);
        return 0;
}

void capture_emit_upload_counts(Capture *c) {
        uint64_t succeeded = 0, failed = 0;
        uint32_t pending = 0;
        const char *changed[4];
        size_t n = 0;

        upload_queue_get_counts(c->manager->uploads, c->interface, &pending, &succeeded, &failed);
        if (pending != c->announced_uploads_pending)
                changed[n++] = "UploadsPending";
        if (succeeded != c->announced_uploads_succeeded)
                changed[n++] = "UploadsSucceeded";
        if (failed != c->announced_uploads_failed)
                changed[n++] = "UploadsFailed";
        changed[n] = NULL;

        c->announced_uploads_pending = pending;
        c->announced_uploads_succeeded = succeeded;
        c->announced_uploads_failed = failed;
        emit_changed_strv(c, changed);
}

int capture_update_options(Capture *c, const CaptureOptions *o) {
        int r;

        if (capture_options_equal(&c->options, o))
                return 0;

        r = set_options(c, o);
        if (r < 0)
                return r;

        if (capture_is_active(c)) {
                log_capture(LOG_INFO, 0, c->interface, "%s: options changed, restarting tcpdump.", c->interface);
                (void) capture_transition(c, CAPTURE_EVENT_RESTART);
        } else
                /* A lower FileCount applies now; a restart applies it as it starts. */
                capture_files_enforce_retention(c);
        return 1;
}

int capture_set_options(Capture *c, const CaptureOptions *o) {
        if (capture_is_active(c))
                return -EBUSY;

        return set_options(c, o);
}


int capture_set_last_error(Capture *c, const char *format, ...) {
        char *text = NULL;
        va_list ap;

        va_start(ap, format);
        if (vasprintf(&text, format, ap) < 0)
                text = NULL;
        va_end(ap);
        if (!text)
                return -ENOMEM;

        c->last_error_at = now_usec(CLOCK_REALTIME);
        if (c->last_error && strcmp(c->last_error, text) == 0) {
                /* The same error again: only when it happened changed. */
                free(text);
                capture_emit_changed(c, "LastErrorTimestamp", NULL);
                return 0;
        }
        free(c->last_error);
        c->last_error = text;
        capture_emit_changed(c, "LastError", "LastErrorTimestamp", NULL);
        return 0;
}

void capture_clear_last_error(Capture *c) {
        if (!c->last_error)
                return;
        c->last_error = mfree_str(c->last_error);
        c->last_error_at = 0;
        capture_emit_changed(c, "LastError", "LastErrorTimestamp", NULL);
}

int capture_note_upload_result(Capture *c, const char *target, bool success, const char *detail) {
        UploadError *e = NULL;
        char *error;

        for (size_t i = 0; i < c->n_upload_errors && !e; i++)
                if (strcmp(c->upload_errors[i].target, target) == 0)
                        e = &c->upload_errors[i];

        if (success) {
                if (!e)
                        return 0;
                upload_error_done(e);
                *e = c->upload_errors[--c->n_upload_errors];
                capture_emit_changed(c, "UploadErrors", NULL);
                return 0;
        }

        error = strdup(isempty(detail) ? "upload failed" : detail);
        if (!error)
                return -ENOMEM;
        if (!e) {
                char *name = strdup(target);

                if (!name || ARRAY_GROW(c->upload_errors, NULL, c->n_upload_errors + 1) < 0) {
                        free(name);
                        free(error);
                        return -ENOMEM;
                }
                e = &c->upload_errors[c->n_upload_errors++];
                *e = (UploadError) { .target = name };
        }
        free(e->error);
        e->error = error;
        e->at = now_usec(CLOCK_REALTIME);
        capture_emit_changed(c, "UploadErrors", NULL);
        return 0;
}

int capture_note_hook_result(Capture *c, const char *error) {
        if (!error) {
                if (!c->last_hook_error)
                        return 0;
                c->last_hook_error = mfree_str(c->last_hook_error);
                c->last_hook_error_at = 0;
        } else if (c->last_hook_error && strcmp(c->last_hook_error, error) == 0) {
                c->last_hook_error_at = now_usec(CLOCK_REALTIME);
                capture_emit_changed(c, "LastHookErrorTimestamp", NULL);
                return 0;
        } else {
                int r = free_and_strdup(&c->last_hook_error, error);

                if (r < 0)
                        return r;
                c->last_hook_error_at = now_usec(CLOCK_REALTIME);
        }
        capture_emit_changed(c, "LastHookError", "LastHookErrorTimestamp", NULL);
        return 0;
}

/* The states a user searches the journal for, with their MESSAGE_ID=
 * (captured.catalog). */
static const char *state_message_id(CaptureState state, int *ret_priority) {
        *ret_priority = LOG_INFO;
        switch (state) {
        case CAPTURE_RUNNING:
                return MESSAGE_CAPTURE_STARTED;
        case CAPTURE_STOPPED:
                return MESSAGE_CAPTURE_STOPPED;
        case CAPTURE_RESTARTING:
                *ret_priority = LOG_WARNING;
                return MESSAGE_CAPTURE_RESTARTING;
        case CAPTURE_FAILED:
                *ret_priority = LOG_ERR;
                return MESSAGE_CAPTURE_FAILED;
        default:
                return NULL;
        }
}

/* The only place that changes c->state. Every entry into a state goes to
 * the manager's one hook, manager_capture_state_changed(): also a resting
 * state entered again (a stop request on a stopped capture confirms it). */
static void set_state(Capture *c, CaptureState state) {
        CaptureState old = c->state;

        if (old != state) {
                const char *message_id;
                bool why;
                int priority;

                message_id = state_message_id(state, &priority);
                why = (state == CAPTURE_RESTARTING || state == CAPTURE_FAILED) && c->last_error;
                log_capture_event(priority, message_id, c->interface, "%s: %s → %s%s%s", c->interface,
                                  capture_state_to_string(old), capture_state_to_string(state),
                                  why ? ": " : "", why ? c->last_error : "");
                c->state = state;
                capture_emit_changed(c, "State", NULL);
        }
        manager_capture_state_changed(c->manager, c, old, state);
}

/* ---- Pending method replies ---------------------------------------------------- */

int capture_add_pending_reply(Capture *c, sd_bus_message *message, ReplyKind kind, CaptureState until) {
        if (ARRAY_GROW(c->replies, NULL, c->n_replies + 1) < 0)
                return -ENOMEM;
        c->replies[c->n_replies++] = (PendingReply) {
                .message = sd_bus_message_ref(message),
                .kind = kind,
                .until = until,
        };
        return 0;
}

static void send_reply(Capture *c, const PendingReply *p, const sd_bus_error *error) {
        int r;

        if (error)
                r = sd_bus_reply_method_error(p->message, error);
        else if (p->kind == REPLY_WITH_PATH)
                r = sd_bus_reply_method_return(p->message, "o", c->object_path);
        else
                r = sd_bus_reply_method_return(p->message, NULL);
        if (r < 0)
                log_capture(LOG_WARNING, r, c->interface, "%s: failed to send a method reply: %m", c->interface);
}

/* Replies to the callers waiting for the current state (or, with an error,
 * to everyone: the state they waited for will not come). */
static void reply_all(Capture *c, const sd_bus_error *error, bool only_settled) {
        size_t kept = 0;

        for (size_t i = 0; i < c->n_replies; i++) {
                PendingReply *p = &c->replies[i];

                if (only_settled && !error && p->until != c->state) {
                        c->replies[kept++] = *p;
                        continue;
                }
                send_reply(c, p, error);
                sd_bus_message_unref(p->message);
        }
        c->n_replies = kept;

        if (c->n_replies == 0)
                c->reply_timeout_source = sd_event_source_disable_unref(c->reply_timeout_source);
}

static int on_reply_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Capture *c = userdata;

        /* tcpdump is slow to open the interface: answer the starters with
         * the object path anyway; State tells the rest. */
        for (size_t i = 0; i < c->n_replies; i++)
                if (c->replies[i].until == CAPTURE_RUNNING)
                        c->replies[i].until = c->state;
        reply_all(c, NULL, true);
        return 0;
}

static void arm_reply_timeout(Capture *c) {
        if (c->reply_timeout_source)
                return;
        (void) sd_event_add_time_relative(c->manager->event, &c->reply_timeout_source, CLOCK_MONOTONIC,
                                          READY_REPLY_TIMEOUT_USEC, 0, on_reply_timeout, c);
}

/* ---- Capture directory ------------------------------------------------------------ */

/* Run as root, the daemon has tcpdump drop to TcpdumpUser before it opens
 * its first file (SPEC §9): the directory must be writable by that user.
 * Otherwise tcpdump is the daemon's user, who owns the directory. Its group
 * is the capture group, and so is every finished file's (set when it is
 * finished: no setgid directory, which RestrictSUIDSGID= would forbid). */
static int prepare_directory(Capture *c) {
        const Config *config = c->manager->config;
        const char *tcpdump_user = tcpdump_switch_user(geteuid(), config->tcpdump_user);
        uid_t uid = geteuid();
        gid_t gid = getegid();
        struct stat st;
        int r;

        /* Explicit modes: the service's UMask= must not lock tcpdump out. */
        if (mkdir(config->capture_directory, 0755) >= 0)
                (void) chmod(config->capture_directory, 0755);
        else if (errno != EEXIST)
                return log_error_errno(errno, "Failed to create %s: %m", config->capture_directory);
        if (mkdir(c->directory, 0750) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create %s: %m", c->directory);

        if (tcpdump_user) {
                struct passwd *pw = getpwnam(tcpdump_user);
                if (!pw)
                        return log_error_errno(ESRCH, "TcpdumpUser=%s does not exist.", tcpdump_user);
                uid = pw->pw_uid;
                gid = pw->pw_gid;
        }
        if (config->capture_group) {
                struct group *gr = getgrnam(config->capture_group);
                if (!gr)
                        return log_error_errno(ESRCH, "CaptureGroup=%s does not exist.", config->capture_group);
                gid = gr->gr_gid;
        }

        /* Only when it differs: not root, the unit's system call filter
         * forbids chown() (and the directory is ours already). */
        if (stat(c->directory, &st) < 0)
                return log_error_errno(errno, "Failed to stat %s: %m", c->directory);
        if ((tcpdump_user && st.st_uid != uid) || st.st_gid != gid) {
                r = chown(c->directory, tcpdump_user ? uid : (uid_t) -1, gid);
                if (r < 0 && errno == EPERM && geteuid() != 0)
                        return log_error_errno(errno, "Failed to give %s the group %u: %m (not root, the "
                                               "daemon keeps its own group; set Group= in the unit instead "
                                               "of CaptureGroup=)", c->directory, (unsigned) gid);
                if (r < 0)
                        return log_error_errno(errno, "Failed to chown %s: %m", c->directory);
        }
        c->file_group = gid;
        if (chmod(c->directory, 0750) < 0)
                return log_error_errno(errno, "Failed to chmod %s: %m", c->directory);
        return 0;
}

/* ---- tcpdump process ---------------------------------------------------------------- */

static uint64_t packets_dropped(const TcpdumpStatistics *st) {
        return st->dropped_kernel + st->dropped_interface;
}

/* Takes new counters, announcing only those that changed: a statistics
 * line comes whenever a counter is read, mostly with the same figures. */
static void set_statistics(Capture *c, const TcpdumpStatistics *st) {
        const char *changed[4];
        size_t n = 0;

        if (st->captured != c->statistics.captured)
                changed[n++] = "PacketsCaptured";
        if (st->received != c->statistics.received)
                changed[n++] = "PacketsReceived";
        if (packets_dropped(st) != packets_dropped(&c->statistics))
                changed[n++] = "PacketsDropped";
        changed[n] = NULL;

        c->statistics = *st;
        emit_changed_strv(c, changed);
}

static void begin_stop(Capture *c);
static void send_statistics_request(Capture *c);

/* A full disk: tcpdump goes on counting and never writes again, even once
 * there is room (SPEC §9). Seen with each statistics line: this run's files
 * did not grow although more packets were captured than its buffer holds.
 * All of the run's files count, not only the one last seen created (a
 * statistics line can come before the inotify events of a rotation), and
 * they are measured when the counters are asked for, not when the answer is
 * read: a late answer would otherwise compare counters from before a burst
 * with the files after it. */
static void check_writing(Capture *c) {
        uint64_t written = c->written_at_request, unwritten;

        if (c->state != CAPTURE_RUNNING || c->pid <= 0 || !c->current_file)
                return;

        if (written != c->written_size || c->statistics.captured < c->written_at_captured) {
                c->written_size = written;
                c->written_at_captured = c->statistics.captured;
                c->stalled_answers = 0;
                return;
        }

        unwritten = c->statistics.captured - c->written_at_captured;
        if (!capture_file_stopped_growing(unwritten, 0))
                return;
        /* Twice in a row: a burst that began just as the counters were
         * asked for is counted, but not yet written, once. Ask again now:
         * what this answer counted is written by then, unless the disk is
         * full. */
        if (++c->stalled_answers < 2) {
                send_statistics_request(c);
                return;
        }
        c->stalled_answers = 0;

        log_capture(LOG_ERR, 0, c->interface,
                    "%s: tcpdump stopped writing to %s at %" PRIu64 " bytes: %" PRIu64 " packets captured since then "
                    "were not written (the disk was full). Restarting it on a new file once there is room.",
                    c->interface, c->current_file, c->written_size, unwritten);
        capture_set_last_error(c, "tcpdump stopped writing to %s (disk full, %" PRIu64 " packets not written); "
                               "restarting it on a new file once there is room", c->current_file, unwritten);
        c->written_size = c->written_at_captured = 0;
        c->waiting_for_room = true;
        c->restart_after_stop = true;
        begin_stop(c);
}

static void statistics_answered(Capture *c, const TcpdumpStatistics *parsed);

static void handle_stderr_line(Capture *c, const char *line) {
        TcpdumpStatistics parsed = c->statistics;

        parsed.seen = 0;
        switch (tcpdump_parse_line(line, &parsed)) {
        case TCPDUMP_LINE_LISTENING:
                log_capture(LOG_INFO, 0, c->interface, "%s: %s", c->interface, line);
                (void) capture_transition(c, CAPTURE_EVENT_READY);
                break;
        case TCPDUMP_LINE_STATISTICS:
                statistics_answered(c, &parsed);
                check_writing(c);
                break;
        case TCPDUMP_LINE_HARMLESS:
                log_capture(LOG_DEBUG, 0, c->interface, "%s: %s", c->interface, line);
                break;
        case TCPDUMP_LINE_OTHER:
                log_capture(LOG_NOTICE, 0, c->interface, "%s: %s", c->interface, line);
                (void) free_and_strdup(&c->last_stderr_line, line);
                break;
        }
}

static void on_stderr_line(const char *line, void *userdata) {
        if (line[0] != '\0')
                handle_stderr_line(userdata, line);
}

/* Reads what tcpdump printed; at its exit also a last line without a
 * newline, and then stops listening. */
static void drain_stderr(Capture *c, bool at_exit) {
        int r;

        /* A line's handler may drop the source: look again before each read. */
        do {
                int fd = c->stderr_source ? sd_event_source_get_io_fd(c->stderr_source) : -EBADF;

                r = fd >= 0 ? line_reader_read(&c->stderr_reader, fd, on_stderr_line, c) : 0;
        } while (r > 0);
        if (at_exit)
                line_reader_flush(&c->stderr_reader, on_stderr_line, c);
        if (r == 0 || at_exit)
                c->stderr_source = sd_event_source_disable_unref(c->stderr_source);
}

static int on_stderr(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        drain_stderr(userdata, false);
        return 0;
}

static void describe_exit(Capture *c, const siginfo_t *si) {
        const char *line = c->last_stderr_line;

        if (si->si_code == CLD_EXITED)
                capture_set_last_error(c, "tcpdump exited with status %d%s%s", si->si_status,
                               line ? ": " : "", strempty(line));
        else
                capture_set_last_error(c, "tcpdump was killed by signal SIG%s%s%s", sigabbrev_np(si->si_status),
                               line ? "; last message: " : "", strempty(line));
}

static int on_child_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Capture *c = userdata;
        bool expected = c->state == CAPTURE_STOPPING;

        drain_stderr(c, true);
        log_capture(LOG_INFO, 0, c->interface, "%s: tcpdump (PID %d) %s %d.", c->interface, (int) si->si_pid,
                 si->si_code == CLD_EXITED ? "exited with status" : "was killed by signal", si->si_status);

        if (!expected)
                describe_exit(c, si);

        c->child_source = sd_event_source_disable_unref(c->child_source);
        c->statistics_timer = sd_event_source_disable_unref(c->statistics_timer);
        c->traffic_watch = traffic_watch_free(c->traffic_watch);
        c->pid = 0;
        c->started_at = 0;
        /* The counters keep tcpdump's final figures until the next run. */
        capture_emit_changed(c, "MainPID", "StartedAt", NULL);

        /* The file open at exit is finished like any other (tcpdump -z never
         * ran for it). */
        capture_files_finish_closed(c);
        if (c->current_file) {
                c->current_file = mfree_str(c->current_file);
                capture_emit_changed(c, "CurrentFile", NULL);
        }

        return capture_transition(c, CAPTURE_EVENT_EXITED);
}

static int escape_percent(const char *s, char **ret) {
        size_t n = 0;
        char *out, *p;

        for (const char *q = s; *q; q++)
                n += *q == '%' ? 2 : 1;
        out = p = malloc(n + 1);
        if (!out)
                return -ENOMEM;
        for (const char *q = s; *q; q++) {
                *p++ = *q;
                if (*q == '%')
                        *p++ = '%';
        }
        *p = 0;
        *ret = out;
        return 0;
}

static int build_output_prefix(Capture *c, char **ret) {
        _cleanup_(freep) char *directory = NULL, *interface = NULL;
        int r;

        if (c->options.rotate_seconds == 0)
                return asprintf(ret, "%s/" TCPDUMP_LIVE_PREFIX "%s-%u.pcap",
                                c->directory, c->interface, c->generation) < 0 ? -ENOMEM : 0;

        /* With -G the name is a strftime(3) pattern. */
        r = escape_percent(c->directory, &directory);
        if (r < 0)
                return r;
        r = escape_percent(c->interface, &interface);
        if (r < 0)
                return r;
        return asprintf(ret, "%s/" TCPDUMP_LIVE_PREFIX "%s-%u-%%Y%%m%%d%%H%%M%%S.pcap",
                        directory, interface, c->generation) < 0 ? -ENOMEM : 0;
}

/* The directory watch outlives a stop (its events are ignored while no
 * tcpdump runs): closing the last inotify watch waits for an RCU grace
 * period (~20 ms), which would hold up the next request. It is made anew
 * only if the directory is not the one watched (deleted and made again
 * while the capture was stopped). */
static int open_directory_watch(Capture *c) {
        struct stat st;
        int r;

        if (c->inotify_source &&
            (stat(c->directory, &st) < 0 || st.st_dev != c->watched_dev || st.st_ino != c->watched_ino))
                capture_files_close(c);
        r = capture_files_open(c);
        if (r >= 0 && stat(c->directory, &st) >= 0) {
                c->watched_dev = st.st_dev;
                c->watched_ino = st.st_ino;
        }
        return r;
}

/* tcpdump runs but cannot be supervised: it is killed and reaped here (no
 * exit event will come for it), and the start fails with one error. */
static int spawn_abort(Capture *c, int error, const char *what) {
        assert(c->pid > 0);

        (void) kill(c->pid, SIGKILL);
        (void) waitpid(c->pid, NULL, 0);
        c->child_source = sd_event_source_disable_unref(c->child_source);
        c->stderr_source = sd_event_source_disable_unref(c->stderr_source);
        c->pid = 0;
        log_capture(LOG_ERR, error, c->interface, "%s: cannot %s, killed it: %s", c->interface, what,
                    strerror(-error));
        (void) capture_set_last_error(c, "Cannot %s: %s", what, strerror(-error));
        return error;
}

static int spawn(Capture *c) {
        const Config *config = c->manager->config;
        _cleanup_(freep) char *prefix = NULL;
        _cleanup_(closep) int stderr_fd = -EBADF;
        TcpdumpCommand cmd;
        pid_t pid;
        int r;

        r = prepare_directory(c);
        if (r < 0)
                return capture_set_last_error(c, "Cannot prepare %s: %s", c->directory, strerror(-r)), r;

        r = open_directory_watch(c);
        if (r < 0)
                return capture_set_last_error(c, "Cannot watch %s: %s", c->directory, strerror(-r)), r;

        /* Whatever an earlier tcpdump left (a crash) is finished first; each
         * run writes names of its own, so a late event for an old file can
         * never touch the new one. */
        capture_files_finish_closed(c);
        /* Files of earlier runs count against FileCount from the start, not
         * only from the first rotation (the live file's slot is taken then). */
        capture_files_enforce_retention(c);
        c->generation++;
        c->generation_finished_bytes = c->written_size = c->written_at_captured = c->written_at_request = 0;

        r = build_output_prefix(c, &prefix);
        if (r < 0)
                return r;

        cmd = (TcpdumpCommand) {
                .path = config->tcpdump_path,
                .user = config->tcpdump_user,
                .interface = c->interface,
                .output_prefix = prefix,
                .options = &c->options,
        };

        r = c->system->spawn(&cmd, c->manager->guardian, &pid, &stderr_fd);
        if (r < 0)
                return capture_set_last_error(c, "Cannot start tcpdump: %s", strerror(-r)), r;

        c->pid = pid;
        c->spawned_monotonic = now_usec(CLOCK_MONOTONIC);
        c->last_stderr_line = mfree_str(c->last_stderr_line);
        set_statistics(c, &(TcpdumpStatistics) {});
        line_reader_reset(&c->stderr_reader);

        r = sd_event_add_child(c->manager->event, &c->child_source, pid, WEXITED, on_child_exit, c);
        if (r < 0)
                return spawn_abort(c, r, "watch tcpdump");

        r = sd_event_add_io(c->manager->event, &c->stderr_source, stderr_fd, EPOLLIN, on_stderr, c);
        if (r < 0)
                return spawn_abort(c, r, "read tcpdump's stderr");
        (void) sd_event_source_set_io_fd_own(c->stderr_source, true);
        TAKE_FD(stderr_fd);

        log_capture(LOG_INFO, 0, c->interface, "%s: started tcpdump as PID %d.", c->interface, (int) pid);
        capture_emit_changed(c, "MainPID", "PacketsCaptured", "PacketsReceived", "PacketsDropped", NULL);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Capture *c = userdata;

        c->timer_source = sd_event_source_disable_unref(c->timer_source);
        return capture_transition(c, CAPTURE_EVENT_TIMER);
}

static void enter_failed(Capture *c);

/* Every state that waits (stopping, restarting, waiting) leaves by its
 * timer: one that cannot be armed fails the transition visibly instead of
 * leaving the capture there for good. A tcpdump still running is killed;
 * its exit ends the stop. */
static void arm_timer(Capture *c, uint64_t usec) {
        int r;

        c->timer_source = sd_event_source_disable_unref(c->timer_source);
        r = c->system->add_timer(c->manager->event, &c->timer_source, usec, on_timer, c);
        if (r >= 0)
                return;

        log_capture(LOG_ERR, r, c->interface, "%s: cannot arm a timer (%s): %m", c->interface,
                    capture_state_to_string(c->state));
        (void) capture_set_last_error(c, "Cannot arm a timer while %s: %s", capture_state_to_string(c->state),
                                      strerror(-r));
        if (c->pid > 0) {
                c->restart_after_stop = false;
                (void) kill(c->pid, SIGKILL);
        } else
                enter_failed(c);
}

static void send_term(Capture *c) {
        if (c->pid <= 0)
                return;
        (void) kill(c->pid, SIGTERM);
        c->term_sent = true;
        arm_timer(c, STOP_TIMEOUT_USEC);
}

static void send_statistics_request(Capture *c) {
        /* What was written before tcpdump counts: see check_writing(). With
         * an answer still outstanding, the next answer may be that one's,
         * so the earlier figure stays. */
        if (!c->statistics_unanswered)
                c->written_at_request = capture_files_written_bytes(c);
        c->statistics_requested = now_usec(CLOCK_MONOTONIC);
        c->statistics_unanswered = true;
        (void) kill(c->pid, SIGUSR1);
}

/* SIGTERM loses what libpcap still holds in its ring: packets sit in an
 * unretired block for up to tcpdump's 1 s read timeout (SPEC §9). A running
 * tcpdump therefore gets SIGTERM only once every packet that arrived before
 * the stop request has been handed to it and written: after the drain, or
 * at once if its counters, asked for after the request, show none in flight
 * (stop_probe_answered()). */
static void begin_stop(Capture *c) {
        bool drain = c->state == CAPTURE_RUNNING;

        set_state(c, CAPTURE_STOPPING);
        c->term_sent = false;
        if (!drain) {
                send_term(c);
                return;
        }
        arm_timer(c, STOP_DRAIN_USEC);
        /* An answer to an earlier SIGUSR1 may still be on its way, with
         * counters from before the request: wait for the one after it. If
         * the two signals merge into one answer, the drain decides. */
        c->stop_probe_answers = c->statistics_unanswered ? 2 : 1;
        send_statistics_request(c);
}

/* Packets the kernel put into tcpdump's ring that tcpdump has not taken
 * out yet: "received by filter" counts every packet that passed the
 * filter, those dropped for want of room included; "captured" those
 * tcpdump wrote. On loopback (each packet counted twice) and with filters
 * that libpcap finishes in user space this overestimates: the drain then
 * runs as before. */
static uint64_t packets_in_flight(const TcpdumpStatistics *st) {
        uint64_t handled = st->captured + st->dropped_kernel;

        return st->received > handled ? st->received - handled : 0;
}

static void stop_probe_answered(Capture *c) {
        uint64_t in_flight = packets_in_flight(&c->statistics);

        if (c->stop_probe_answers == 0 || --c->stop_probe_answers > 0)
                return;
        if (in_flight > 0) {
                log_capture(LOG_DEBUG, 0, c->interface, "%s: %" PRIu64 " packets in flight, draining.",
                            c->interface, in_flight);
                return;
        }
        log_capture(LOG_INFO, 0, c->interface, "%s: no packets in flight, stopping at once.", c->interface);
        send_term(c);
}

static int on_statistics_timer(sd_event_source *s, uint64_t usec, void *userdata);

static void arm_statistics_timer(Capture *c, uint64_t usec) {
        if (!c->statistics_timer)
                (void) sd_event_add_time_relative(c->manager->event, &c->statistics_timer, CLOCK_MONOTONIC, usec,
                                                  50 * USEC_PER_MSEC, on_statistics_timer, c);
}

/* Asks for figures at most once a second; a request that comes sooner is
 * put off until then, not dropped (the answer keeps the refreshes going). */
static void statistics_request_async(Capture *c) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        if (c->state != CAPTURE_RUNNING || c->pid <= 0)
                return;
        if (c->statistics_requested > 0 && now - c->statistics_requested < STATISTICS_MIN_GAP_USEC) {
                arm_statistics_timer(c, c->statistics_requested + STATISTICS_MIN_GAP_USEC - now);
                return;
        }
        send_statistics_request(c);
}

static void on_traffic(void *userdata) {
        statistics_request_async(userdata);
}

static int on_statistics_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Capture *c = userdata;

        c->statistics_timer = sd_event_source_disable_unref(c->statistics_timer);
        statistics_request_async(c);
        return 0;
}

/* While the counts move, or packets wait in the ring (they come out within
 * the 1 s block timeout), ask again a second later; once they stand still,
 * only tcpdump's next write to its file (or a reader) asks again. */
static void schedule_next_refresh(Capture *c, bool moved) {
        if (c->state != CAPTURE_RUNNING)
                return;
        if (moved || packets_in_flight(&c->statistics) > 0) {
                arm_statistics_timer(c, STATISTICS_FOLLOW_UP_USEC);
                return;
        }
        if (!c->traffic_watch &&
            traffic_watch_new(&c->traffic_watch, c->manager->event, c->directory, on_traffic, c) < 0)
                return;
        (void) traffic_watch_arm(c->traffic_watch);
}

/* A statistics line: the SIGUSR1 answer holds captured and received
 * together; at exit tcpdump prints one line per counter. */
static void statistics_answered(Capture *c, const TcpdumpStatistics *parsed) {
        const unsigned answer = TCPDUMP_STAT_CAPTURED | TCPDUMP_STAT_RECEIVED;
        bool moved = parsed->captured != c->statistics.captured || parsed->received != c->statistics.received ||
                parsed->dropped_kernel != c->statistics.dropped_kernel;
        unsigned seen = parsed->seen;

        set_statistics(c, parsed);
        c->statistics.seen |= seen;
        if ((seen & answer) == answer) {
                c->statistics_answered = now_usec(CLOCK_MONOTONIC);
                c->statistics_unanswered = false;
        }
        if ((seen & answer) != answer)
                return;

        if (c->state == CAPTURE_STOPPING && !c->term_sent)
                stop_probe_answered(c);
        else
                schedule_next_refresh(c, moved);
}

void capture_request_statistics(Capture *c) {
        if (c->state == CAPTURE_RUNNING && c->pid > 0 && c->stderr_source)
                send_statistics_request(c);
}

void capture_refresh_statistics(Capture *c) {
        uint64_t now = now_usec(CLOCK_MONOTONIC), deadline = now + STATISTICS_WAIT_USEC;
        uint64_t before;

        if (c->state != CAPTURE_RUNNING || c->pid <= 0 || !c->stderr_source)
                return;
        if (c->statistics_answered > 0 && now - c->statistics_answered < STATISTICS_FRESH_USEC)
                return;

        /* tcpdump answers from its signal handler: this wait is short, and
         * bounded (a reader then gets the last figures). */
        before = c->statistics_answered;
        send_statistics_request(c);
        while (c->statistics_answered == before && c->stderr_source && (now = now_usec(CLOCK_MONOTONIC)) < deadline) {
                struct pollfd p = { .fd = sd_event_source_get_io_fd(c->stderr_source), .events = POLLIN };
                int k = poll(&p, 1, (int) ((deadline - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC));

                if (k < 0 && errno != EINTR)
                        break;
                if (k > 0)
                        drain_stderr(c, false);
        }
}

/* ---- The state machine ---------------------------------------------------------------- */

static void enter_failed(Capture *c) {
        const char *message = c->last_error ? c->last_error : "tcpdump failed";

        c->timer_source = sd_event_source_disable_unref(c->timer_source);
        c->user_waiting_ready = false;
        set_state(c, CAPTURE_FAILED);
        reply_all(c, &SD_BUS_ERROR_MAKE_CONST(SD_BUS_ERROR_FAILED, message), false);
}

static void enter_stopped(Capture *c) {
        c->timer_source = sd_event_source_disable_unref(c->timer_source);
        c->user_waiting_ready = false;
        set_state(c, CAPTURE_STOPPED);
        /* Starters still waiting learn that it was stopped meanwhile. */
        for (size_t i = 0; i < c->n_replies; i++)
                if (c->replies[i].until == CAPTURE_RUNNING)
                        c->replies[i].until = CAPTURE_STOPPED;
        reply_all(c, NULL, true);
        /* Every file was finished at exit. The directory watch stays: see
         * open_directory_watch(). */
}

static void enter_waiting(Capture *c);
static void respawn(Capture *c);

/* After a full disk: no tcpdump until there is room for a new file. The
 * manager, told by the state change, has the disk guard look (deleting old
 * files if it must) at once and then every second, and sends
 * CAPTURE_EVENT_ROOM once it finds room. */
static void wait_for_room(Capture *c) {
        assert(c->waiting_for_room);
        set_state(c, CAPTURE_RESTARTING);
}

static void enter_starting(Capture *c) {
        int r;

        c->timer_source = sd_event_source_disable_unref(c->timer_source);
        if (!c->system->interface_exists(c->interface)) {
                enter_waiting(c);
                return;
        }
        set_state(c, CAPTURE_STARTING);
        r = spawn(c);
        if (r < 0) {
                enter_failed(c);
                return;
        }
        if (c->n_replies > 0)
                arm_reply_timeout(c);
}

/* The interface went away: wait for it instead of burning restarts. */
static void enter_waiting(Capture *c) {
        if (c->state != CAPTURE_WAITING)
                capture_set_last_error(c, "Interface %s is not present; waiting for it", c->interface);
        set_state(c, CAPTURE_WAITING);
        arm_timer(c, WAITING_RECHECK_USEC);
}

static void schedule_restart(Capture *c) {
        uint64_t ran = now_usec(CLOCK_MONOTONIC) - c->spawned_monotonic;

        if (ran >= STABLE_RUN_USEC)
                c->failures_in_row = 0;
        c->failures_in_row++;

        if (c->failures_in_row > MAX_FAILURES_IN_ROW) {
                log_capture(LOG_ERR, 0, c->interface, "%s: tcpdump failed %u times in a row, giving up.",
                            c->interface, MAX_FAILURES_IN_ROW);
                enter_failed(c);
                return;
        }

        set_state(c, CAPTURE_RESTARTING);
        arm_timer(c, jitter_usec(backoff_usec(BACKOFF_MIN_USEC, BACKOFF_MAX_USEC, c->failures_in_row), 0, 25));
}

static void handle_unexpected_exit(Capture *c) {
        if (!c->system->interface_exists(c->interface)) {
                enter_waiting(c);
                return;
        }
        /* A start the caller is waiting on fails fast: the options or the
         * system are wrong, and retrying would only hide it. */
        if (c->user_waiting_ready) {
                enter_failed(c);
                return;
        }
        schedule_restart(c);
}

static void respawn(Capture *c) {
        c->restarts++;
        capture_emit_changed(c, "Restarts", NULL);
        enter_starting(c);
}

int capture_transition(Capture *c, CaptureEvent event) {
        switch (event) {

        case CAPTURE_EVENT_START:
        case CAPTURE_EVENT_RESTART:
                c->user_waiting_ready = true;
                c->failures_in_row = 0;
                c->waiting_for_room = false;
                /* A new run: what went wrong before is history (and in the log). */
                capture_clear_last_error(c);
                if (c->pid > 0) {
                        /* Running or stopping: (re)spawn once it has exited. */
                        c->restart_after_stop = true;
                        if (c->state != CAPTURE_STOPPING)
                                begin_stop(c);
                } else
                        enter_starting(c);
                return 0;

        case CAPTURE_EVENT_STOP:
                c->restart_after_stop = false;
                c->waiting_for_room = false;
                if (c->pid > 0) {
                        if (c->state != CAPTURE_STOPPING)
                                begin_stop(c);
                } else
                        enter_stopped(c);
                return 0;

        case CAPTURE_EVENT_READY:
                if (c->state != CAPTURE_STARTING)
                        return 0;
                c->user_waiting_ready = false;
                c->started_at = now_usec(CLOCK_REALTIME);
                /* Running again (the interface is back, an automatic restart
                 * worked): the error that stopped it is history, in the log. */
                capture_clear_last_error(c);
                set_state(c, CAPTURE_RUNNING);
                capture_emit_changed(c, "StartedAt", NULL);
                c->statistics_requested = c->statistics_answered = 0;
                c->statistics_unanswered = false;
                schedule_next_refresh(c, false);
                reply_all(c, NULL, true);
                return 0;

        case CAPTURE_EVENT_EXITED:
                if (c->state == CAPTURE_STOPPING) {
                        c->timer_source = sd_event_source_disable_unref(c->timer_source);
                        if (c->restart_after_stop && !c->manager->exiting) {
                                c->restart_after_stop = false;
                                if (c->waiting_for_room)
                                        wait_for_room(c);
                                else
                                        enter_starting(c);
                        } else
                                enter_stopped(c);
                } else
                        handle_unexpected_exit(c);
                return 0;

        case CAPTURE_EVENT_ROOM:
                if (c->state == CAPTURE_RESTARTING && c->waiting_for_room) {
                        log_capture(LOG_NOTICE, 0, c->interface, "%s: the disk has room again, restarting tcpdump.",
                                    c->interface);
                        c->waiting_for_room = false;
                        respawn(c);
                }
                return 0;

        case CAPTURE_EVENT_INTERFACE_APPEARED:
                if (c->state == CAPTURE_WAITING) {
                        log_capture(LOG_INFO, 0, c->interface, "%s: the interface is back.", c->interface);
                        c->failures_in_row = 0;
                        enter_starting(c);
                }
                return 0;

        case CAPTURE_EVENT_TIMER:
                switch (c->state) {
                case CAPTURE_STOPPING:
                        if (!c->term_sent) {
                                send_term(c);
                                break;
                        }
                        log_capture(LOG_WARNING, 0, c->interface, "%s: tcpdump did not stop in time, killing it.",
                                    c->interface);
                        if (c->pid > 0)
                                (void) kill(c->pid, SIGKILL);
                        break;
                case CAPTURE_RESTARTING:
                        if (!c->waiting_for_room)   /* CAPTURE_EVENT_ROOM ends that wait */
                                respawn(c);
                        break;
                case CAPTURE_WAITING:
                        if (c->system->interface_exists(c->interface)) {
                                c->failures_in_row = 0;
                                enter_starting(c);
                        } else
                                arm_timer(c, WAITING_RECHECK_USEC);
                        break;
                default:
                        break;
                }
                return 0;
        }

        return -EINVAL;
}
