/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "config.h"
#include "bus-errors.h"
#include "guardian.h"
#include "log.h"
#include "manager.h"

static const char *arg_config_dir = CONFIG_DIR;
static const char *arg_state_dir = STATE_DIR;
static const char *arg_runtime_dir = RUNTIME_DIR;

static void help(void) {
        printf("Usage: captured [OPTIONS]\n\n"
               "Runs one supervised tcpdump ring-buffer capture per network interface,\n"
               "controlled over D-Bus as io.captured.Capture1 on the system bus.\n\n"
               "  -h --help              Show this help\n"
               "     --version           Show the version\n"
               "     --config-dir=DIR    Configuration directory (default: %s)\n"
               "     --state-dir=DIR     State directory (default: %s, or $STATE_DIRECTORY)\n"
               "     --runtime-dir=DIR   Runtime directory: what runs, resumed after a restart\n"
               "                         (default: %s, or $RUNTIME_DIRECTORY)\n"
               "     --debug             Log debug messages\n\n"
               "The bus is taken from $DBUS_SYSTEM_BUS_ADDRESS if set. See captured(8).\n",
               CONFIG_DIR, STATE_DIR, RUNTIME_DIR);
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_CONFIG_DIR, ARG_STATE_DIR, ARG_RUNTIME_DIR, ARG_DEBUG };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "config-dir", required_argument, NULL, ARG_CONFIG_DIR },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "runtime-dir", required_argument, NULL, ARG_RUNTIME_DIR },
                { "debug", no_argument, NULL, ARG_DEBUG },
                {}
        };
        const char *state_directory = getenv("STATE_DIRECTORY");
        const char *runtime_directory = getenv("RUNTIME_DIRECTORY");
        int c;

        /* systemd's StateDirectory= hands us a colon-separated list. */
        if (state_directory && state_directory[0] == '/' && !strchr(state_directory, ':'))
                arg_state_dir = state_directory;
        if (runtime_directory && runtime_directory[0] == '/' && !strchr(runtime_directory, ':'))
                arg_runtime_dir = runtime_directory;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("captured %s\n", PACKAGE_VERSION);
                        return 0;
                case ARG_CONFIG_DIR:
                        arg_config_dir = optarg;
                        break;
                case ARG_STATE_DIR:
                        arg_state_dir = optarg;
                        break;
                case ARG_RUNTIME_DIR:
                        arg_runtime_dir = optarg;
                        break;
                case ARG_DEBUG:
                        log_set_max_level(LOG_DEBUG);
                        break;
                default:
                        return -EINVAL;
                }

        if (optind < argc) {
                fprintf(stderr, "captured: unexpected argument '%s'; see --help.\n", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        log_info("Received SIG%s.", sigabbrev_np((int) si->ssi_signo));
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Stopping captures…");
        manager_begin_exit(m);
        return 0;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        log_info("Received SIGHUP, reloading the configuration.");
        (void) sd_notify(false, "RELOADING=1\nSTATUS=Reloading the configuration…");
        (void) manager_reload(m);
        (void) sd_notify(false, "READY=1");
        manager_update_status(m);
        return 0;
}

static int setup_signals(Manager *m) {
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;

        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_exit_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_exit_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGHUP, on_sighup, m);
        return r;
}

static int run(int argc, char *argv[]) {
        _cleanup_(guardian_freep) Guardian *guardian = NULL;
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r;

        (void) captured_error_map_register();
        signal(SIGPIPE, SIG_IGN);

        /* No core dumps and no ptrace by others of our uid: the daemon
         * holds upload tokens. (exec resets it for tcpdump and hooks.) */
        if (prctl(PR_SET_DUMPABLE, 0) < 0)
                log_warning_errno(errno, "Failed to make the daemon non-dumpable: %m");

        if (mkdir(arg_state_dir, 0755) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create the state directory %s: %m", arg_state_dir);
        if (mkdir(arg_runtime_dir, 0755) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create the runtime directory %s: %m", arg_runtime_dir);

        /* Only root has tcpdump change user (-Z), which makes the kernel
         * forget PR_SET_PDEATHSIG: then the guardian ends tcpdump if the
         * daemon dies. First, while we own nothing that it should not
         * inherit. */
        if (geteuid() == 0) {
                r = guardian_start(&guardian);
                if (r < 0)
                        return log_error_errno(r, "Failed to start the guardian process: %m");
        }

        r = manager_new(&m, arg_config_dir, arg_state_dir, arg_runtime_dir, guardian);
        if (r < 0)
                return log_error_errno(r, "Failed to set up: %m");

        r = setup_signals(m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up signal handling: %m");

        r = manager_start(m);
        if (r < 0)
                return r;
        if (geteuid() != 0 && m->config->tcpdump_user && m->config->tcpdump_user[0])
                log_info("Not running as root: tcpdump runs as this daemon's user with its CAP_NET_RAW, "
                         "TcpdumpUser=%s has no effect.", m->config->tcpdump_user);

        /* Pings the service manager if it set WatchdogSec=. */
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                log_warning_errno(r, "Failed to enable the watchdog: %m");

        (void) sd_notify(false, "READY=1");
        manager_update_status(m);

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");

        /* Free the manager (and every tcpdump with it) before the guardian. */
        m = manager_free(m);
        return 0;
}

int main(int argc, char *argv[]) {
        int r = run(argc, argv);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
