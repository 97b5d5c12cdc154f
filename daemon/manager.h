/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "capture.h"
#include "configuration.h"
#include "guardian.h"
#include "netif.h"
#include "post-rotate.h"
#include "upload-queue.h"

/* The daemon's state: event loop, bus, configuration and the captures. */
typedef struct Manager {
        sd_event *event;
        sd_bus *bus;
        Config *config;
        char *config_dir;
        char *state_dir;
        char *runtime_dir;        /* running/: what runs, kept across daemon restarts, not reboots */
        Guardian *guardian;
        Capture *captures;        /* singly linked, in creation order */
        PostRotate *post_rotate;
        UploadQueue *uploads;
        NetifWatch *netif_watch;
        CaptureSettings **persisted; /* <state_dir>/captures/: EnableCapture/DisableCapture */
        sd_event_source *disk_guard_timer;
        sd_event_source *exit_timer;     /* shutdown: waiting for hooks */
        bool exiting;             /* stopping every capture */
        bool exit_requested;      /* all stopped, the loop is told to end */
} Manager;

int manager_new(Manager **ret, const char *config_dir, const char *state_dir, const char *runtime_dir,
                Guardian *guardian);
Manager *manager_free(Manager *m);
DEFINE_POINTER_CLEANUP(Manager, manager_free);

/* Loads configuration, connects to the system bus, exports the objects and
 * takes the bus name. */
int manager_start(Manager *m);

/* Re-reads the configuration (SIGHUP): captures whose effective options
 * changed restart, the others are not touched. */
int manager_reload(Manager *m);

/* Starts the captures that are enabled (EnableCapture, or Enabled=yes in
 * capture.d/) and not running yet; those whose interface is missing wait.
 * At daemon start and at every reload; not those stopped by StopCapture
 * since they last started or were enabled. */
void manager_start_enabled(Manager *m);

/* Persists a capture as enabled (with the options given) or disabled. */
int manager_persist_enabled(Manager *m, const char *interface, bool enabled,
                            const CaptureOptions *o, OptionMask mask);

/* Whether a capture on interface starts with the daemon. */
bool manager_is_enabled(Manager *m, const char *interface);

/* The options a capture starts from: the configuration's (built-in <
 * [Defaults] < capture.d/), then those given when it was enabled. */
int manager_base_options(Manager *m, const char *interface, CaptureOptions *ret);

/* The effective options of a capture: the base, then the given ones. */
int manager_effective_options(Manager *m, const char *interface, const CaptureOptions *given,
                              OptionMask mask, CaptureOptions *ret);

/* Whether an upload target of that name is configured. */
bool manager_find_upload_target(Manager *m, const char *name);
/* Whether every name of an Upload= list is configured: -ENOENT and the
 * first that is not in *ret_missing otherwise. */
int manager_check_upload_targets(Manager *m, const char *list, char **ret_missing);
/* A manual re-upload of a finished file of c to target, or to each of the
 * capture's Upload= targets if target is "": -ENOKEY if there are none,
 * -EBUSY if one is pending already. */
int manager_reupload_file(Manager *m, Capture *c, const char *path, const char *target);

/* Stops every capture; the event loop exits once all have stopped. */
void manager_begin_exit(Manager *m);

Capture *manager_find_capture(Manager *m, const char *interface);
Capture *manager_find_capture_by_path(Manager *m, const char *path);
int manager_add_capture(Manager *m, const char *interface, Capture **ret);

/* What ListFiles says of a file's upload: none, pending, uploading, done,
 * failed; *ret_detail the remote URL or last error (borrowed). */
const char *manager_file_upload_state(Manager *m, const char *path, const char **ret_detail);
/* Whether the file still waits for its upload. */
bool manager_file_is_pending_upload(Manager *m, const char *path);

/* Tells the service manager how many captures run (sd_notify STATUS=). */
void manager_update_status(Manager *m);

/* The one hook a capture calls: its state went from old to new (new may
 * equal old when a request confirmed a resting state). The manager does
 * what follows from it: the status line, the running notes in the runtime
 * directory (a capture that runs is noted, so that the daemon resumes it
 * when it starts again; a user's stop or a failure for good forgets it,
 * the daemon's exit does not; a capture stopped by a user also stays
 * stopped if it is enabled, until it runs again or the machine reboots),
 * the disk guard's schedule and, at shutdown, whether all have settled. */
void manager_capture_state_changed(Manager *m, Capture *c, CaptureState old, CaptureState new);

/* The D-Bus side, in manager-bus.c and capture-bus.c. Stop and restart
 * are shared by the Manager's and the Capture's methods. */
int manager_method_stop(sd_bus_message *message, Manager *m, const char *interface, sd_bus_error *error);
int manager_method_restart(sd_bus_message *message, Manager *m, const char *interface, sd_bus_error *error);
int manager_bus_register(Manager *m);
int capture_bus_register(Manager *m);
