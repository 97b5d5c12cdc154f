/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "macro.h"

/* ExecPostRotate= hooks: the replacement for tcpdump -z. Each finished file
 * gets every configured command run on it, in order, as
 * "COMMAND ARGS... FILE"; files are handled concurrently up to a limit, the
 * rest wait in a queue. Output goes to the log, line by line. */

typedef struct PostRotate PostRotate;

/* Called when all commands have run for a file (whatever they returned);
 * failure says how the last command that failed did, NULL if none did. */
typedef void (*PostRotateDone)(void *userdata, const char *interface, const char *path, const char *failure);

int post_rotate_new(PostRotate **ret, sd_event *event, unsigned max_concurrent,
                    PostRotateDone done, void *userdata);
PostRotate *post_rotate_free(PostRotate *p);
DEFINE_POINTER_CLEANUP(PostRotate, post_rotate_free);

/* Whether no hook runs or waits. */
bool post_rotate_is_idle(const PostRotate *p);

/* How many files still wait for or run their hooks. */
unsigned post_rotate_pending(const PostRotate *p);

/* commands: NULL-terminated list of argv vectors (copied). */
int post_rotate_queue(PostRotate *p, char ***commands, const char *interface, const char *path);
