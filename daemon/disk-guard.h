/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "configuration.h"

typedef struct Manager Manager;

/* Keeps free space and usage within the limits across all captures,
 * deleting the oldest finished files first, and reports in LastError when
 * it cannot. Ahead of the disk: it reserves room for every live file to
 * reach FileSize, since tcpdump writes nothing on a full disk and never
 * says so (SPEC §9). */
/* Returns whether the limits hold afterwards (room for every live file,
 * and for the file of a capture that waits for room to restart). */
bool disk_guard_check(Manager *m);

/* Arms the periodic check while any capture is active. */
void disk_guard_schedule(Manager *m);
