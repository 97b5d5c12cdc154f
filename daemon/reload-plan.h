/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* What a reload (SIGHUP) and the daemon's start do to one capture, a
 * function of plain data (SPEC §5: a reload does not interrupt running
 * captures whose options did not change). A reload never stops a capture:
 * one no longer enabled runs on until it is stopped, and does not start
 * with the daemon again. The manager gathers the facts and acts
 * (manager_reload(), manager_start_enabled()). */

typedef struct ReloadFacts {
        bool active;               /* tcpdump runs or is meant to (capture_is_active) */
        bool options_changed;      /* the effective options now differ from the capture's */
        bool enabled;              /* EnableCapture, or capture.d/'s Enabled=yes, as now loaded */
        bool stopped_by_request;   /* StopCapture since it last started */
        bool stopped_since_boot;   /* a user stopped it, maybe before the daemon restarted */
} ReloadFacts;

typedef enum ReloadAction {
        RELOAD_TAKE_OPTIONS = 1 << 0,   /* the new options apply now (a lower FileCount at once) */
        RELOAD_RESTART      = 1 << 1,   /* tcpdump restarts to apply them */
        RELOAD_START        = 1 << 2,   /* enabled and idle: start it (it waits for a missing interface) */
} ReloadAction;

ReloadAction reload_plan_capture(const ReloadFacts *f);
