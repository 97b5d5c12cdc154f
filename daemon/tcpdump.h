/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "capture-options.h"
#include "guardian.h"
#include "strv.h"

/* Everything tcpdump-specific: its command line, how it is started, and
 * what its stderr lines mean (SPEC §9). */

typedef struct TcpdumpCommand {
        const char *path;
        const char *user;            /* -Z; NULL or "" = none (tcpdump_spawn() passes TcpdumpUser=
                                      * through tcpdump_switch_user()) */
        const char *interface;
        const char *output_prefix;   /* -w; with RotateSeconds a strftime(3) pattern */
        const CaptureOptions *options;
} TcpdumpCommand;

/* The prefix tcpdump writes to inside a capture's directory. The ring slots
 * are <prefix>0 … <prefix>N-1 (SPEC §9); they are dot files, the finished
 * files are not. */
#define TCPDUMP_LIVE_PREFIX ".live-"

/* The user tcpdump is told to change to (-Z), NULL for none. Only a daemon
 * running as root has tcpdump change user; as its own system user
 * (captured.service) the daemon hands tcpdump its uid and its ambient
 * CAP_NET_RAW instead, and TcpdumpUser= has no effect. As root an empty
 * TcpdumpUser= keeps tcpdump root: -Z root, since Debian's tcpdump would
 * otherwise drop to user tcpdump by itself. */
const char *tcpdump_switch_user(uid_t euid, const char *configured_user);

/* Builds argv (NULL-terminated, strings owned by the returned vector). */
int tcpdump_build_argv(const TcpdumpCommand *cmd, char ***ret);

/* Forks and execs tcpdump, with -Z as tcpdump_switch_user() says: stdin and
 * stdout on /dev/null, stderr into a pipe whose read end is returned, in its
 * own session, umask 0027, dying with the daemon (PR_SET_PDEATHSIG; with -Z,
 * which makes the kernel forget it, the guardian, if given). */
int tcpdump_spawn(const TcpdumpCommand *cmd, const Guardian *guardian, pid_t *ret_pid, int *ret_stderr_fd);

typedef enum TcpdumpLineType {
        TCPDUMP_LINE_OTHER,
        TCPDUMP_LINE_LISTENING,     /* "tcpdump: listening on IF, link-type ..." */
        TCPDUMP_LINE_STATISTICS,    /* one or more of the counters below */
        TCPDUMP_LINE_HARMLESS,      /* a warning that means nothing here */
} TcpdumpLineType;

typedef struct TcpdumpStatistics {
        uint64_t captured, received, dropped_kernel, dropped_interface;
        unsigned seen;              /* bit mask of TCPDUMP_STAT_* parsed */
} TcpdumpStatistics;

enum {
        TCPDUMP_STAT_CAPTURED = 1 << 0,
        TCPDUMP_STAT_RECEIVED = 1 << 1,
        TCPDUMP_STAT_DROPPED_KERNEL = 1 << 2,
        TCPDUMP_STAT_DROPPED_INTERFACE = 1 << 3,
};

/* Classifies one stderr line. The statistics come as one line after
 * SIGUSR1 ("tcpdump: 3 packets captured, 6 packets received by filter, 0
 * packets dropped by kernel") and as one line per counter at exit; stats
 * accumulates whatever counters the line holds. */
TcpdumpLineType tcpdump_parse_line(const char *line, TcpdumpStatistics *stats);
