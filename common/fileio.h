/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Replaces path with size bytes of data, atomically and durably: a reader
 * sees the old file or the new one, never a part, and after a crash the
 * new one is there if this returned 0. The data goes to a hidden
 * temporary file next to path (".name.XXXXXX") with the given mode, which
 * is fsynced, renamed over path, and then the directory is fsynced so that
 * the rename itself is on disk. The directory must exist. Returns 0 or a
 * negative errno; no temporary is left, and path is unchanged unless only
 * the directory's fsync failed. */
int write_file_atomic(const char *path, const void *data, size_t size, mode_t mode);
