/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "child.h"

int child_prepare(pid_t parent, int stdout_fd, int stderr_fd) {
        sigset_t none;
        int null_fd;

        for (int sig = 1; sig < _NSIG; sig++)
                (void) signal(sig, SIG_DFL);
        sigemptyset(&none);
        if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
                return -1;

        /* The parent may already be gone: then the signal never comes. */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
                return -1;

        (void) setsid();
        if (chdir("/") < 0)
                return -1;

        null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null_fd < 0 ||
            dup2(null_fd, STDIN_FILENO) < 0 ||
            dup2(stdout_fd >= 0 ? stdout_fd : null_fd, STDOUT_FILENO) < 0 ||
            dup2(stderr_fd, STDERR_FILENO) < 0)
                return -1;
        close_range(3, ~0U, 0);
        return 0;
}

int child_drop_capabilities(const char *program) {
        struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3] = {};

        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
                return -1;
        /* Root gets every capability back at exec anyway. */
        if (geteuid() == 0 || syscall(SYS_capset, &header, none) >= 0)
                return 0;

        /* The unit's SystemCallFilter=~@privileged refuses capset(): the
         * permitted set keeps CAP_NET_RAW until exec, and a program with
         * file capabilities would keep it across exec, NoNewPrivileges= or
         * not (which only stops gains beyond what we hold). Any other
         * program ends up with none. */
        if (getxattr(program, "security.capability", NULL, 0) >= 0) {
                dprintf(STDERR_FILENO, "refusing to run %s: it has file capabilities\n", program);
                return -1;
        }
        return 0;
}

_Noreturn void child_exec(char *const *argv) {
        static char *const envp[] = {
                (char *) "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                (char *) "LC_ALL=C",
                NULL,
        };

        execve(argv[0], argv, envp);
        dprintf(STDERR_FILENO, "cannot execute %s: %s\n", argv[0], strerror(errno));
        _exit(127);
}
