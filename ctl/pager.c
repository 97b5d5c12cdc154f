/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "output.h"
#include "pager.h"

/* The pager the user chose: $CAPTURECTL_PAGER, else $PAGER; NULL when
 * neither is set, "" when the choice is no pager (empty, blank or "cat"). */
static const char *pager_from_environment(void) {
        const char *pager = getenv("CAPTURECTL_PAGER");

        if (!pager)
                pager = getenv("PAGER");
        if (pager && (pager[strspn(pager, " \t\n")] == '\0' || strcmp(pager, "cat") == 0))
                return "";
        return pager;
}

/* With someone else's rights (sudo, pkexec, setuid) a pager must not let
 * its user run commands: less has a secure mode for that, other pagers
 * may not (systemd's answer to CVE-2023-26604). */
static bool pager_needs_secure_mode(void) {
        return getuid() != geteuid() || getenv("SUDO_UID") || getenv("PKEXEC_UID");
}

static _Noreturn void exec_pager(int input_fd, int notify_fd, pid_t parent, const char *pager, bool secure) {
        int error;

        if (dup2(input_fd, STDIN_FILENO) < 0)
                goto fail;
        if (input_fd != STDIN_FILENO)
                close(input_fd);

        /* The pager must not outlive us, nor start for a parent already gone. */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
                _exit(EXIT_FAILURE);

        /* Our output is UTF-8 (the state dot, "×") whatever the locale says. */
        if (setenv("LESS", "FRSXMK", false) < 0 || setenv("LESSCHARSET", "utf-8", false) < 0 ||
            (secure && setenv("LESSSECURE", "1", true) < 0))
                goto fail;

        if (pager && !secure)
                execl("/bin/sh", "sh", "-c", pager, (char *) NULL);
        else {
                execlp("less", "less", (char *) NULL);
                if (!secure)
                        execlp("more", "more", (char *) NULL);
        }

fail:
        error = errno;
        (void) !write(notify_fd, &error, sizeof(error));
        _exit(EXIT_FAILURE);
}

/* Waits until the child exec'd a pager (the close-on-exec pipe closes
 * empty) or gave up (it writes its errno). Returns 0 or that -errno. */
static int wait_for_exec(int notify_fd) {
        int error = 0;
        ssize_t n;

        while ((n = read(notify_fd, &error, sizeof(error))) < 0 && errno == EINTR)
                ;
        if (n < 0)
                return -errno;
        return n == 0 ? 0 : -(error > 0 ? error : EIO);
}

static void reap(pid_t pid) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}

int pager_open(Pager *p) {
        int data[2] = { -EBADF, -EBADF }, notify[2] = { -EBADF, -EBADF };
        _cleanup_(closep) int saved_stdout = -EBADF;
        const char *pager;
        bool secure;
        pid_t parent = getpid(), pid;
        int r;

        if (p->pid > 0)
                return 1;

        /* Decided now, while stdout is still the terminal. */
        if (!on_tty())
                return 0;
        (void) colors_enabled();

        pager = pager_from_environment();
        if (pager && pager[0] == '\0')
                return 0;
        secure = pager_needs_secure_mode();

        if (fflush(stdout) != 0)
                return negative_errno();

        if (pipe2(data, O_CLOEXEC) < 0 || pipe2(notify, O_CLOEXEC) < 0) {
                r = -errno;
                goto finish;
        }

        pid = fork();
        if (pid < 0) {
                r = -errno;
                goto finish;
        }
        if (pid == 0) {
                close(data[1]);
                close(notify[0]);
                exec_pager(data[0], notify[1], parent, pager, secure);
        }

        close(TAKE_FD(data[0]));
        close(TAKE_FD(notify[1]));
        r = wait_for_exec(notify[0]);
        if (r < 0) {
                reap(pid);
                r = 0;          /* no pager to be found: the terminal it is */
                goto finish;
        }

        saved_stdout = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
        if (saved_stdout < 0 || dup2(data[1], STDOUT_FILENO) < 0) {
                r = -errno;
                close(TAKE_FD(data[1]));        /* EOF: the pager ends */
                reap(pid);
                goto finish;
        }

        *p = (Pager) { .pid = pid, .saved_stdout = TAKE_FD(saved_stdout) };
        r = 1;

finish:
        for (size_t i = 0; i < 2; i++) {
                closep(&data[i]);
                closep(&notify[i]);
        }
        return r;
}

void pager_close(Pager *p) {
        if (p->pid <= 0)
                return;

        /* The pager sees the end of its input once our stdout no longer is its pipe. */
        (void) fflush(stdout);
        if (dup2(p->saved_stdout, STDOUT_FILENO) < 0)
                close(STDOUT_FILENO);
        close(p->saved_stdout);

        (void) kill(p->pid, SIGCONT);
        reap(p->pid);
        *p = PAGER_NULL;
}
