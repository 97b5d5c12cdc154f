/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "configuration.h"

/* The disk guard's decision (MinFreeSpace=, MaxDiskUsage=; SPEC §6, §9), a
 * function of plain data: given every capture's finished files, the file
 * system's figures and the limits, which files to delete, oldest first
 * across all captures. The manager gathers the figures and deletes
 * (manager.c). Ahead of the disk: room is reserved for every live file to
 * reach FileSize, since tcpdump writes nothing on a full disk and never
 * says so. */

typedef struct DiskGuardFile {
        const char *name;          /* the caller's; not looked at here */
        uint64_t size;
        uint64_t completed_at;     /* CLOCK_REALTIME µs */
        bool busy;                 /* its ExecPostRotate hooks still run: never deleted */
        bool pending_upload;       /* deleted only when no other file is left */
} DiskGuardFile;

typedef struct DiskGuardCapture {
        const DiskGuardFile *files;   /* finished, oldest first */
        size_t n_files;
        uint64_t live_size;        /* bytes of the live file, 0 if none */
        uint64_t file_size;        /* FileSize= in bytes */
        bool reserve;              /* tcpdump runs, or waits for room to restart:
                                    * its live file may grow to file_size */
} DiskGuardCapture;

typedef struct DiskGuardInput {
        uint64_t filesystem_size;  /* bytes */
        uint64_t free;             /* bytes available (f_bavail) */
        SpaceLimit min_free_space, max_disk_usage;   /* max_disk_usage 0: no limit */
        const DiskGuardCapture *captures;
        size_t n_captures;
} DiskGuardInput;

typedef struct DiskGuardVictim {
        size_t capture, file;      /* indices into the input */
        bool pending_upload;       /* deleting it drops its upload */
} DiskGuardVictim;

typedef struct DiskGuardPlan {
        DiskGuardVictim *victims;  /* in the order to delete them */
        size_t n_victims;
        bool low;                  /* the limits do not hold even after deleting them all */
        uint64_t free;             /* bytes free after the deletions */
        uint64_t needed;           /* MinFreeSpace plus the live files' reserve */
} DiskGuardPlan;

/* Fills *ret (disk_guard_plan_done() frees it); -ENOMEM. */
int disk_guard_plan(const DiskGuardInput *in, DiskGuardPlan *ret);
void disk_guard_plan_done(DiskGuardPlan *p);
