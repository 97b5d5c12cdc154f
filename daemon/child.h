/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/* What every program the daemon starts (tcpdump, ExecPostRotate hooks)
 * needs between fork() and exec: default signal handling and an empty mask
 * (sd-event blocks the signals it handles), death with the daemon
 * (PR_SET_PDEATHSIG), a session of its own (terminal signals are the
 * daemon's), stdin on /dev/null, stdout and stderr on the given fds, no
 * other fds. Returns 0, or -1 after which the child must _exit(). */
int child_prepare(pid_t parent, int stdout_fd, int stderr_fd);

/* For a program that must get no capability (ExecPostRotate= hooks),
 * between fork() and exec: clears the ambient set (PR_CAP_AMBIENT_CLEAR_ALL),
 * so that the daemon's CAP_NET_RAW does not pass the exec, and, where the
 * system call filter allows it, empties the other sets too; where it does
 * not, refuses a program that carries file capabilities. Returns 0, or -1
 * (having said why on stderr, if it was the program) after which the child
 * must _exit(). */
int child_drop_capabilities(const char *program);

/* execve() with a minimal environment; on failure says so on stderr and
 * exits 127. */
_Noreturn void child_exec(char *const *argv);
