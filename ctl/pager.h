/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* A pager for output to a terminal, as systemctl runs one: stdout goes into
 * the pager's stdin until pager_close(). */
typedef struct Pager {
        pid_t pid;                  /* 0: no pager runs */
        int saved_stdout;           /* the terminal, restored at close; -1 if none */
} Pager;

#define PAGER_NULL ((Pager) { .pid = 0, .saved_stdout = -1 })

/* Starts a pager if stdout is a terminal: $CAPTURECTL_PAGER, else $PAGER
 * (run by /bin/sh; empty or "cat" for none), else less with $LESS
 * defaulting to FRSXMK, else more. Under sudo, pkexec or a setuid bit only
 * less, in its secure mode. Settles on_tty() and colors_enabled() first, so
 * that output still looks as on the terminal. Returns 1 when a pager runs,
 * 0 when none is wanted or found, or a negative errno (output then goes to
 * the terminal as without a pager). */
int pager_open(Pager *p);

/* Ends the output to the pager and waits until the user quits it. */
void pager_close(Pager *p);
