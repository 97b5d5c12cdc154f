/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "child.h"
#include "log.h"
#include "tcpdump.h"

typedef struct ArgvBuilder {
        char **argv;
        size_t n;
        int error;
} ArgvBuilder;

static void add(ArgvBuilder *b, const char *format, ...) _printf_(2, 3);
static void add(ArgvBuilder *b, const char *format, ...) {
        va_list ap;

        if (b->error < 0)
                return;

        if (ARRAY_GROW(b->argv, NULL, b->n + 2) < 0) {
                b->error = -ENOMEM;
                return;
        }

        va_start(ap, format);
        if (vasprintf(&b->argv[b->n], format, ap) < 0)
                b->error = -ENOMEM;
        else
                b->argv[++b->n] = NULL;
        va_end(ap);
}

int tcpdump_build_argv(const TcpdumpCommand *cmd, char ***ret) {
        const CaptureOptions *o = cmd->options;
        ArgvBuilder b = {};

        add(&b, "%s", cmd->path);
        add(&b, "-n");
        add(&b, "--interface=%s", cmd->interface);
        add(&b, "-w");
        add(&b, "%s", cmd->output_prefix);
        add(&b, "-C");
        add(&b, "%" PRIu32, o->file_size);
        if (o->rotate_seconds > 0) {
                /* With -G, -W would make tcpdump exit after N rotations. */
                add(&b, "-G");
                add(&b, "%" PRIu32, o->rotate_seconds);
        } else {
                add(&b, "-W");
                add(&b, "%" PRIu32, o->file_count);
        }
        add(&b, "-s");
        add(&b, "%" PRIu32, o->snap_length);
        add(&b, "-B");
        add(&b, "%" PRIu32, o->buffer_size);
        if (!o->promiscuous)
                add(&b, "-p");
        if (cmd->user && cmd->user[0]) {
                add(&b, "-Z");
                add(&b, "%s", cmd->user);
        }
        /* The filter is one argument after "--": never an option. */
        if (o->filter && o->filter[0]) {
                add(&b, "--");
                add(&b, "%s", o->filter);
        }

        if (b.error < 0) {
                strv_free(b.argv);
                return b.error;
        }
        *ret = b.argv;
        return 0;
}

const char *tcpdump_switch_user(uid_t euid, const char *configured_user) {
        if (euid != 0)
                return NULL;
        return configured_user && configured_user[0] ? configured_user : "root";
}

static _Noreturn void run_tcpdump(char **argv, const Guardian *guardian, pid_t parent, int stderr_fd) {
        /* With -Z, hand the guardian a pidfd before exec: from the setuid()
         * on, the death signal is forgotten and only the guardian can end
         * tcpdump. The guardian's socket must survive child_prepare()'s
         * closing of fds, so this comes first (the death signal covers the
         * moment until). Without -Z (a daemon that is not root) there is no
         * guardian: the death signal survives the exec. */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
                _exit(EXIT_FAILURE);
        if (guardian && guardian_register_self(guardian) < 0)
                _exit(EXIT_FAILURE);
        if (child_prepare(parent, -1, stderr_fd) < 0)
                _exit(EXIT_FAILURE);
        umask(0027);
        child_exec(argv);
}

int tcpdump_spawn(const TcpdumpCommand *cmd, const Guardian *guardian, pid_t *ret_pid, int *ret_stderr_fd) {
        _cleanup_(strv_freep) char **argv = NULL;
        TcpdumpCommand effective = *cmd;
        int pipe_fds[2];
        pid_t parent = getpid(), pid;
        int r;

        effective.user = tcpdump_switch_user(geteuid(), cmd->user);
        r = tcpdump_build_argv(&effective, &argv);
        if (r < 0)
                return r;

        if (pipe2(pipe_fds, O_CLOEXEC) < 0)
                return -errno;

        pid = fork();
        if (pid < 0) {
                r = -errno;
                close(pipe_fds[0]);
                close(pipe_fds[1]);
                return r;
        }
        if (pid == 0)
                run_tcpdump(argv, guardian, parent, pipe_fds[1]);

        close(pipe_fds[1]);
        if (fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK) < 0)
                log_warning_errno(errno, "Failed to make tcpdump's stderr non-blocking: %m");

        *ret_pid = pid;
        *ret_stderr_fd = pipe_fds[0];
        return 0;
}

/* Parses "N packet(s) <what>" fragments, e.g. "3 packets captured". */
static bool parse_counter(const char *fragment, TcpdumpStatistics *stats) {
        static const struct {
                const char *suffix;
                unsigned bit;
                size_t offset;
        } counters[] = {
                { "captured", TCPDUMP_STAT_CAPTURED, offsetof(TcpdumpStatistics, captured) },
                { "received by filter", TCPDUMP_STAT_RECEIVED, offsetof(TcpdumpStatistics, received) },
                { "dropped by kernel", TCPDUMP_STAT_DROPPED_KERNEL, offsetof(TcpdumpStatistics, dropped_kernel) },
                { "dropped by interface", TCPDUMP_STAT_DROPPED_INTERFACE, offsetof(TcpdumpStatistics, dropped_interface) },
        };
        uint64_t value;
        int consumed = 0;

        if (sscanf(fragment, "%" SCNu64 " packet%n", &value, &consumed) != 1 || consumed == 0)
                return false;
        fragment += consumed;
        if (*fragment == 's')
                fragment++;
        if (*fragment++ != ' ')
                return false;

        for (size_t i = 0; i < ELEMENTSOF(counters); i++)
                if (strcmp(fragment, counters[i].suffix) == 0) {
                        *(uint64_t *) ((uint8_t *) stats + counters[i].offset) = value;
                        stats->seen |= counters[i].bit;
                        return true;
                }
        return false;
}

TcpdumpLineType tcpdump_parse_line(const char *line, TcpdumpStatistics *stats) {
        char buffer[512];
        bool any = false;

        if (strncmp(line, "tcpdump: ", 9) == 0)
                line += 9;
        if (strncmp(line, "listening on ", 13) == 0)
                return TCPDUMP_LINE_LISTENING;
        /* After opening the device tcpdump calls setgid(getgid()) and
         * setuid(getuid()), which change nothing here; the unit's
         * SystemCallFilter=~@privileged makes them fail with EPERM. */
        if (strcmp(line, "Warning: setgid/setuid failed !") == 0)
                return TCPDUMP_LINE_HARMLESS;

        if (strlen(line) >= sizeof(buffer))
                return TCPDUMP_LINE_OTHER;
        strcpy(buffer, line);

        for (char *saveptr = NULL, *fragment = strtok_r(buffer, ",", &saveptr);
             fragment;
             fragment = strtok_r(NULL, ",", &saveptr)) {
                fragment += strspn(fragment, " ");
                if (!parse_counter(fragment, stats))
                        return any ? TCPDUMP_LINE_STATISTICS : TCPDUMP_LINE_OTHER;
                any = true;
        }

        return any ? TCPDUMP_LINE_STATISTICS : TCPDUMP_LINE_OTHER;
}
