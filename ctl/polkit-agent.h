/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/* A text polkit agent (pkttyagent) registered for this process, as systemctl
 * runs one: polkit then asks for a password on our terminal when a call
 * needs authentication. */

/* Starts pkttyagent for this process if stdin is a terminal, and waits until
 * it is registered. Returns its PID, 0 when none was started (no terminal,
 * or pkttyagent missing or failing: the call then goes on without it), or a
 * negative errno. */
pid_t polkit_agent_open(void);

/* Ends the agent started by polkit_agent_open() (pid <= 0: nothing). */
void polkit_agent_close(pid_t pid);
