/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/* tcpdump -Z drops privileges with setuid(), and the kernel then clears
 * PR_SET_PDEATHSIG: a tcpdump would outlive a daemon killed with SIGKILL.
 * The guardian is a small process forked at start-up by a daemon that runs
 * as root (only root has tcpdump change user; otherwise the death signal
 * holds and there is no guardian: test_unprivileged). Each tcpdump child
 * hands it a pidfd of itself before exec; when the daemon's end of the
 * socket closes (the daemon died, however), the guardian terminates every
 * tcpdump still alive and exits. */
typedef struct Guardian Guardian;

/* Forks the guardian. Call before anything else owns file descriptors. */
int guardian_start(Guardian **ret);
Guardian *guardian_free(Guardian *g);
DEFINE_POINTER_CLEANUP(Guardian, guardian_free);

/* In a freshly forked child: hands the guardian a pidfd of the calling
 * process. Safe between fork and exec (no allocation). */
int guardian_register_self(const Guardian *g);
