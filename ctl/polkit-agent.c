/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <systemd/sd-login.h>
#include <unistd.h>

#include "polkit-agent.h"

/* Where polkit installs it on every distribution we know. */
#define PKTTYAGENT_PATH "/usr/bin/pkttyagent"

static _Noreturn void exec_agent(int notify_fd, pid_t parent, bool in_session) {
        char notify[16], process[16];

        /* The agent must not outlive us, nor start for a parent already gone. */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
                _exit(EXIT_FAILURE);

        snprintf(notify, sizeof(notify), "%d", notify_fd);
        snprintf(process, sizeof(process), "%d", (int) parent);

        /* --fallback lets a graphical agent of our login session go first. polkit
         * consults a fallback agent only after it found the caller's session,
         * though: outside of one (no logind, a container) it would never ask us. */
        if (in_session)
                execl(PKTTYAGENT_PATH, PKTTYAGENT_PATH, "--notify-fd", notify, "--fallback", "--process", process,
                      (char *) NULL);
        else
                execl(PKTTYAGENT_PATH, PKTTYAGENT_PATH, "--notify-fd", notify, "--process", process, (char *) NULL);
        _exit(EXIT_FAILURE);
}

pid_t polkit_agent_open(void) {
        struct pollfd ready;
        int pipe_fds[2];
        pid_t parent = getpid(), pid;
        bool in_session;

        /* The password is read from stdin: without a terminal there, no one can type it. */
        if (!isatty(STDIN_FILENO))
                return 0;

        in_session = sd_pid_get_session(0, NULL) >= 0;

        if (pipe2(pipe_fds, 0) < 0)
                return -errno;
        (void) fcntl(pipe_fds[0], F_SETFD, FD_CLOEXEC);

        pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(pipe_fds[0]);
                close(pipe_fds[1]);
                return r;
        }
        if (pid == 0) {
                close(pipe_fds[0]);
                exec_agent(pipe_fds[1], parent, in_session);
        }
        close(pipe_fds[1]);

        /* pkttyagent closes the notify fd once it is registered; it is also
         * closed when pkttyagent cannot start or exits. */
        ready = (struct pollfd) { .fd = pipe_fds[0], .events = POLLIN };
        while (poll(&ready, 1, -1) < 0 && errno == EINTR)
                ;
        close(pipe_fds[0]);

        if (waitpid(pid, NULL, WNOHANG) == pid)
                return 0;       /* it gave up: go on without it */
        return pid;
}

void polkit_agent_close(pid_t pid) {
        if (pid <= 0)
                return;

        (void) kill(pid, SIGTERM);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}
