/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guardian.h"
#include "log.h"

#define GUARDIAN_MAX_WATCHED 4096
#define GUARDIAN_TERM_TIMEOUT_MS 3000

struct Guardian {
        pid_t pid;
        int fd;         /* our end of the SOCK_SEQPACKET pair */
};

static int receive_pidfd(int sock) {
        char control[CMSG_SPACE(sizeof(int))] = {};
        char byte;
        struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
        struct msghdr msg = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = control,
                .msg_controllen = sizeof(control),
        };
        struct cmsghdr *cmsg;
        ssize_t n;

        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        if (n < 0)
                return errno == EINTR || errno == EAGAIN ? -EAGAIN : -errno;
        if (n == 0)
                return -EPIPE;  /* every sender is gone: the daemon died */

        cmsg = CMSG_FIRSTHDR(&msg);
        if (!cmsg || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
                return -EAGAIN;

        int fd;
        memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
        return fd;
}

static void signal_all(struct pollfd *fds, size_t n, int sig) {
        for (size_t i = 1; i < n; i++)
                if (fds[i].fd >= 0)
                        (void) pidfd_send_signal(fds[i].fd, sig, NULL, 0);
}

static size_t drop_exited(struct pollfd *fds, size_t n) {
        size_t kept = 1;

        for (size_t i = 1; i < n; i++) {
                if (fds[i].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) {
                        close(fds[i].fd);
                        continue;
                }
                fds[kept++] = fds[i];
        }
        return kept;
}

static _Noreturn void guardian_main(int sock) {
        static struct pollfd fds[GUARDIAN_MAX_WATCHED + 1];
        size_t n = 1;
        bool daemon_gone = false;
        int timeout = -1;

        fds[0] = (struct pollfd) { .fd = sock, .events = POLLIN };

        for (;;) {
                int r = poll(fds, n, timeout);

                if (r < 0 && errno != EINTR)
                        _exit(EXIT_FAILURE);
                if (r == 0 && daemon_gone) {
                        signal_all(fds, n, SIGKILL);
                        _exit(EXIT_SUCCESS);
                }

                if (!daemon_gone && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
                        int fd = receive_pidfd(sock);

                        if (fd >= 0 && n <= GUARDIAN_MAX_WATCHED)
                                fds[n++] = (struct pollfd) { .fd = fd, .events = POLLIN };
                        else if (fd >= 0)
                                close(fd);
                        else if (fd != -EAGAIN) {
                                daemon_gone = true;
                                fds[0].fd = -1;
                                signal_all(fds, n, SIGTERM);
                                timeout = GUARDIAN_TERM_TIMEOUT_MS;
                        }
                }
                fds[0].revents = 0;

                n = drop_exited(fds, n);
                if (daemon_gone && n == 1)
                        _exit(EXIT_SUCCESS);
        }
}

int guardian_start(Guardian **ret) {
        _cleanup_(freep) Guardian *g = NULL;
        int pair[2];
        pid_t pid;

        g = calloc(1, sizeof(Guardian));
        if (!g)
                return -ENOMEM;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;

        pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(pair[0]);
                close(pair[1]);
                return r;
        }

        if (pid == 0) {
                sigset_t all;

                close(pair[0]);
                (void) prctl(PR_SET_NAME, "captured-guard");
                /* Terminal and service-manager signals are for the daemon;
                 * the guardian acts only when the daemon is gone. */
                signal(SIGINT, SIG_IGN);
                signal(SIGTERM, SIG_IGN);
                signal(SIGHUP, SIG_IGN);
                signal(SIGPIPE, SIG_IGN);
                signal(SIGUSR1, SIG_IGN);
                signal(SIGUSR2, SIG_IGN);
                sigemptyset(&all);
                sigprocmask(SIG_SETMASK, &all, NULL);
                close_range(3, pair[1] - 1, 0);
                close_range(pair[1] + 1, ~0U, 0);
                guardian_main(pair[1]);
        }

        close(pair[1]);
        g->pid = pid;
        g->fd = pair[0];
        *ret = TAKE_PTR(g);
        return 0;
}

Guardian *guardian_free(Guardian *g) {
        if (!g)
                return NULL;

        /* Closing our end tells the guardian to finish; by now every capture
         * has been stopped, so it exits at once. */
        closep(&g->fd);
        if (g->pid > 0)
                (void) waitpid(g->pid, NULL, 0);
        free(g);
        return NULL;
}

int guardian_register_self(const Guardian *g) {
        char control[CMSG_SPACE(sizeof(int))] = {};
        char byte = 'p';
        struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
        struct msghdr msg = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = control,
                .msg_controllen = sizeof(control),
        };
        struct cmsghdr *cmsg;
        int pidfd, r = 0;

        pidfd = pidfd_open(getpid(), 0);
        if (pidfd < 0)
                return -errno;

        cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cmsg), &pidfd, sizeof(int));

        if (sendmsg(g->fd, &msg, MSG_NOSIGNAL) < 0)
                r = -errno;
        close(pidfd);
        return r;
}
