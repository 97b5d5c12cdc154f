/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "capture-files.h"
#include "capture-options.h"
#include "line-reader.h"
#include "tcpdump.h"
#include "traffic-watch.h"

typedef struct Manager Manager;

/* One capture: a supervised tcpdump on one interface (SPEC §3). Its life
 * is the state machine in capture.c: requests (start, stop, restart) and
 * what tcpdump does (ready, exits) are events; capture_transition() is the
 * only place that changes the state. */

typedef enum CaptureState {
        CAPTURE_STARTING,
        CAPTURE_RUNNING,
        CAPTURE_WAITING,
        CAPTURE_RESTARTING,
        CAPTURE_STOPPING,
        CAPTURE_STOPPED,
        CAPTURE_FAILED,
        _CAPTURE_STATE_MAX,
} CaptureState;

const char *capture_state_to_string(CaptureState s);

typedef enum CaptureEvent {
        CAPTURE_EVENT_START,      /* a caller asked to start */
        CAPTURE_EVENT_RESTART,    /* a caller asked to restart */
        CAPTURE_EVENT_STOP,       /* a caller (or daemon shutdown) asked to stop */
        CAPTURE_EVENT_READY,      /* tcpdump printed "listening on" */
        CAPTURE_EVENT_EXITED,     /* tcpdump exited */
        CAPTURE_EVENT_TIMER,      /* backoff over, or stop timeout */
        CAPTURE_EVENT_INTERFACE_APPEARED,
        CAPTURE_EVENT_ROOM,       /* the disk guard found room for a new file (after a full disk) */
} CaptureEvent;

typedef enum ReplyKind {
        REPLY_WITH_PATH,          /* StartCapture: reply (o) once running */
        REPLY_EMPTY,              /* Stop/Restart: reply () once done */
} ReplyKind;

typedef struct PendingReply {
        sd_bus_message *message;
        ReplyKind kind;
        CaptureState until;       /* reply when this state is reached */
} PendingReply;

/* The last failed upload to one target, until an upload to it succeeds. */
typedef struct UploadError {
        char *target;
        uint64_t at;              /* CLOCK_REALTIME µs */
        char *error;
} UploadError;

/* What a capture asks of the system: a tcpdump, whether its interface is
 * there, and the state machine's timer (sd_event_add_time_relative() on
 * CLOCK_MONOTONIC). The state machine's unit tests give it their own. */
typedef struct CaptureSystemOps {
        int (*spawn)(const TcpdumpCommand *cmd, const Guardian *guardian, pid_t *ret_pid, int *ret_stderr_fd);
        bool (*interface_exists)(const char *name);
        int (*add_timer)(sd_event *e, sd_event_source **ret, uint64_t usec, sd_event_time_handler_t handler,
                         void *userdata);
} CaptureSystemOps;

extern const CaptureSystemOps capture_system_ops;   /* tcpdump_spawn(), netif_exists() */

typedef struct Capture {
        Manager *manager;
        const CaptureSystemOps *system;
        struct Capture *next;

        char *interface;
        char *object_path;
        char *directory;          /* <CaptureDirectory>/<interface> */
        CaptureOptions options;   /* effective */
        CaptureOptions overrides; /* given at start or enable, where override_mask says */
        OptionMask override_mask;
        CaptureState state;
        bool enabled;
        bool stopped_by_request;  /* StopCapture since the last start: a reload leaves it stopped */

        pid_t pid;
        sd_event_source *child_source;
        sd_event_source *stderr_source;
        sd_event_source *timer_source;
        LineReader stderr_reader;
        char *last_stderr_line;

        bool term_sent;           /* stopping: SIGTERM sent (after the drain) */
        bool restart_after_stop;  /* RESTART while stopping: spawn on exit */
        bool user_waiting_ready;  /* a start/restart not yet seen ready: fail fast */
        unsigned failures_in_row;
        uint64_t started_at;      /* CLOCK_REALTIME µs, 0 if not running */
        uint64_t spawned_monotonic;

        unsigned restarts;
        char *last_error;
        uint64_t last_error_at;   /* CLOCK_REALTIME µs, 0 if no error */
        UploadError *upload_errors;
        size_t n_upload_errors;
        char *last_hook_error;    /* until hooks succeed on a later file */
        uint64_t last_hook_error_at;
        TcpdumpStatistics statistics;
        sd_event_source *statistics_timer;   /* the next refresh while counts move */
        uint64_t statistics_requested;    /* CLOCK_MONOTONIC µs of the last SIGUSR1 */
        uint64_t statistics_answered;     /* CLOCK_MONOTONIC µs of the last answer */
        bool statistics_unanswered;       /* a SIGUSR1 is waiting for its line */
        TrafficWatch *traffic_watch;      /* tcpdump writes: counts move */
        unsigned stop_probe_answers;      /* stopping: answers until the in-flight check */
        uint64_t files_completed;
        char *current_file;
        FileRing files;           /* the finished files; the manager gets its callbacks */
        gid_t file_group;         /* CaptureGroup (or the tcpdump user's group) */
        sd_event_source *inotify_source;
        dev_t watched_dev;        /* the directory inotify_source watches */
        ino_t watched_ino;
        unsigned generation;      /* of tcpdump runs, in the live file names */
        uint64_t generation_finished_bytes;   /* this run's files finished so far */
        /* A full disk (SPEC §9): tcpdump counts packets but its live file
         * stops growing, for good. What this tcpdump run had written when
         * its counters last moved (capture_files_written_bytes()): */
        uint64_t written_size;
        uint64_t written_at_captured;     /* PacketsCaptured then */
        uint64_t written_at_request;      /* written when the counters were last asked for */
        unsigned stalled_answers;         /* answers in a row that saw no growth */
        bool waiting_for_room;    /* stopped writing: restart once the disk has room */
        uint64_t uploads_dropped; /* pending uploads the disk guard deleted */
        uint32_t announced_uploads_pending;   /* as last announced */
        uint64_t announced_uploads_succeeded, announced_uploads_failed;
        bool disk_low_reported;

        PendingReply *replies;
        size_t n_replies;
        sd_event_source *reply_timeout_source;

        /* Properties changed in this loop iteration (static names): one
         * deferred event source announces them in one PropertiesChanged. */
        const char *changed_properties[48];
        size_t n_changed_properties;
        sd_event_source *changed_source;
} Capture;

int capture_new(Capture **ret, Manager *m, const char *interface);
Capture *capture_free(Capture *c);
DEFINE_POINTER_CLEANUP(Capture, capture_free);

/* Delivers an event to the state machine. */
int capture_transition(Capture *c, CaptureEvent event);

/* Whether tcpdump runs or is meant to (starting, running, waiting, restarting). */
bool capture_is_active(const Capture *c);

/* Whether tcpdump has, or is about to open, a live file (it runs and was
 * not told to stop yet). */
bool capture_writes_live_file(const Capture *c);

/* Replaces the options; only while not active. */
int capture_set_options(Capture *c, const CaptureOptions *o);

/* Remembers the options given at start/enable, which win over the
 * configuration when it is reloaded. */
int capture_set_overrides(Capture *c, const CaptureOptions *o, OptionMask mask);

/* Applies new effective options (a reload): nothing if they are equal, a
 * restart if the capture is active. Returns 1 if anything changed. */
int capture_update_options(Capture *c, const CaptureOptions *o);

void capture_set_enabled(Capture *c, bool enabled);

/* Queues a method reply to send when the capture reaches a state (RUNNING
 * for start/restart, STOPPED for stop); failures reply with an error. */
int capture_add_pending_reply(Capture *c, sd_bus_message *message, ReplyKind kind, CaptureState until);

/* Queues changed properties (NULL-terminated, names of static storage): they
 * are announced together, with one PropertiesChanged, once this iteration
 * of the event loop is done. */
void capture_emit_changed(Capture *c, const char *property, ...);
/* Announces the queued changes now. */
void capture_flush_changed(Capture *c);

/* Announces those of UploadsPending, UploadsSucceeded and UploadsFailed
 * that changed since they were last announced. */
void capture_emit_upload_counts(Capture *c);

/* Sets LastError and LastErrorTimestamp (and announces them). */
int capture_set_last_error(Capture *c, const char *format, ...) _printf_(2, 3);
/* The capture recovered (tcpdump runs again, disk space is back): LastError is history. */
void capture_clear_last_error(Capture *c);

/* An upload attempt of one of its files ended: a failure becomes the
 * target's entry in UploadErrors, a success removes it. */
int capture_note_upload_result(Capture *c, const char *target, bool success, const char *detail);
/* A file's ExecPostRotate hooks ran: error NULL if all succeeded. */
int capture_note_hook_result(Capture *c, const char *error);

/* Makes the counters fresh for a reader: unless tcpdump answered within the
 * last STATISTICS_FRESH_USEC, asks it (SIGUSR1; SPEC §9) and waits briefly
 * for the answer. Only while running (before "listening on" SIGUSR1 would
 * kill it). */
void capture_refresh_statistics(Capture *c);

/* Asks tcpdump for fresh counters without waiting: the answer arrives on
 * its stderr and is announced with PropertiesChanged. Only while running. */
void capture_request_statistics(Capture *c);
