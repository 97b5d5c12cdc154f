/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Issue 9 §7: the capture state machine, without a bus and without
 * tcpdump. A capture gets a fake "tcpdump" (a child that waits for
 * signals; the test writes what tcpdump would print to its stderr) and a
 * fake interface list; the event loop is the real one. */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture.h"
#include "configuration.h"
#include "manager.h"
#include "test-dir.h"
#include "time-util.h"

#define LISTENING "listening on eth9, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n"
#define NO_PACKETS "0 packets captured, 0 packets received by filter, 0 packets dropped by kernel\n"

static struct {
        unsigned spawns;
        pid_t pid;
        int stderr_fd;            /* what the fake tcpdump "prints" */
        bool interface_present;
        bool timers_fail;         /* the state machine's timer cannot be armed */
} fake;

static int fake_spawn(const TcpdumpCommand *cmd, const Guardian *guardian, pid_t *ret_pid, int *ret_stderr_fd) {
        int p[2];
        pid_t pid, parent = getpid();

        g_assert_cmpint(pipe2(p, O_CLOEXEC | O_NONBLOCK), ==, 0);
        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                sigset_t none;

                /* Gone with the test, also when an assertion aborts it. */
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                        _exit(EXIT_FAILURE);
                /* Like tcpdump: SIGUSR1 asks for counters, SIGTERM ends it. */
                signal(SIGUSR1, SIG_IGN);
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                for (;;)
                        pause();
        }
        if (fake.stderr_fd >= 0)
                close(fake.stderr_fd);
        fake.stderr_fd = p[1];
        fake.pid = pid;
        fake.spawns++;
        *ret_pid = pid;
        *ret_stderr_fd = p[0];
        return 0;
}

static bool fake_interface_exists(const char *name) {
        return fake.interface_present;
}

static int fake_add_timer(sd_event *e, sd_event_source **ret, uint64_t usec, sd_event_time_handler_t handler,
                          void *userdata) {
        if (fake.timers_fail)
                return -ENOMEM;
        return sd_event_add_time_relative(e, ret, CLOCK_MONOTONIC, usec, 0, handler, userdata);
}

static const CaptureSystemOps fake_system = {
        .spawn = fake_spawn,
        .interface_exists = fake_interface_exists,
        .add_timer = fake_add_timer,
};

typedef struct Fixture {
        char *dir;
        Manager manager;
        Capture *capture;
} Fixture;

static void setup(Fixture *f, gconstpointer data) {
        Manager *m = &f->manager;

        fake.spawns = 0;
        fake.pid = 0;
        fake.stderr_fd = -1;
        fake.interface_present = true;
        fake.timers_fail = false;

        f->dir = test_dir_new("test-capture-XXXXXX");
        *m = (Manager) {};
        g_assert_cmpint(sd_event_new(&m->event), >=, 0);
        g_assert_cmpint(config_new(&m->config), ==, 0);
        free(m->config->capture_directory);
        m->config->capture_directory = g_strdup_printf("%s/captures", f->dir);
        free(m->config->tcpdump_user);
        m->config->tcpdump_user = NULL;
        m->runtime_dir = g_strdup(f->dir);
        m->state_dir = g_strdup(f->dir);

        g_assert_cmpint(capture_new(&f->capture, m, "eth9"), ==, 0);
        f->capture->system = &fake_system;
        m->captures = f->capture;
}

static void teardown(Fixture *f, gconstpointer data) {
        Manager *m = &f->manager;

        capture_free(f->capture);
        if (fake.pid > 0)
                (void) waitpid(fake.pid, NULL, 0);
        if (fake.stderr_fd >= 0)
                close(fake.stderr_fd);
        sd_event_source_disable_unref(m->disk_guard_timer);
        sd_event_unref(m->event);
        config_free(m->config);
        g_free(m->runtime_dir);
        g_free(m->state_dir);
        test_dir_remove(f->dir);
}

/* Runs the loop until the capture is in state (10 s at most). */
static void run_until(Fixture *f, CaptureState state) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;

        while (f->capture->state != state) {
                g_assert_cmpuint(now_usec(CLOCK_MONOTONIC), <, deadline);
                g_assert_cmpint(sd_event_run(f->manager.event, 100 * USEC_PER_MSEC), >=, 0);
        }
}

static void tcpdump_prints(const char *line) {
        g_assert_cmpint(write(fake.stderr_fd, line, strlen(line)), ==, (ssize_t) strlen(line));
}

/* The fake tcpdump dies on its own (a crash). */
static void tcpdump_dies(void) {
        g_assert_cmpint(kill(fake.pid, SIGKILL), ==, 0);
}

static void start_running(Fixture *f) {
        g_assert_cmpint(capture_transition(f->capture, CAPTURE_EVENT_START), ==, 0);
        g_assert_cmpint(f->capture->state, ==, CAPTURE_STARTING);
        tcpdump_prints(LISTENING);
        run_until(f, CAPTURE_RUNNING);
}

static void stop(Fixture *f) {
        g_assert_cmpint(capture_transition(f->capture, CAPTURE_EVENT_STOP), ==, 0);
        if (f->capture->state == CAPTURE_STOPPING && f->capture->pid > 0)
                tcpdump_prints(NO_PACKETS);   /* nothing in flight: SIGTERM at once */
        run_until(f, CAPTURE_STOPPED);
        g_assert_cmpint(f->capture->pid, ==, 0);
}

static void test_start_stop(Fixture *f, gconstpointer data) {
        start_running(f);
        g_assert_cmpuint(fake.spawns, ==, 1);
        g_assert_cmpint(f->capture->pid, ==, fake.pid);
        stop(f);
        g_assert_cmpuint(fake.spawns, ==, 1);
}

/* A start while it stops: the old tcpdump finishes its stop, then a new
 * one starts; no second tcpdump meanwhile. */
static void test_start_during_stop(Fixture *f, gconstpointer data) {
        pid_t first;

        start_running(f);
        first = fake.pid;
        g_assert_cmpint(capture_transition(f->capture, CAPTURE_EVENT_STOP), ==, 0);
        g_assert_cmpint(f->capture->state, ==, CAPTURE_STOPPING);

        g_assert_cmpint(capture_transition(f->capture, CAPTURE_EVENT_START), ==, 0);
        g_assert_cmpint(f->capture->state, ==, CAPTURE_STOPPING);
        g_assert_cmpuint(fake.spawns, ==, 1);

        tcpdump_prints(NO_PACKETS);
        run_until(f, CAPTURE_STARTING);
        g_assert_cmpuint(fake.spawns, ==, 2);
        g_assert_cmpint(fake.pid, !=, first);
        g_assert_cmpint(waitpid(first, NULL, WNOHANG), <, 0);   /* reaped: it is gone */
        tcpdump_prints(LISTENING);
        run_until(f, CAPTURE_RUNNING);
        stop(f);
}

/* tcpdump crashed and the capture waits out its backoff: a restart starts
 * it at once, and the backoff timer is gone (no second spawn later). */
static void test_restart_during_backoff(Fixture *f, gconstpointer data) {
        start_running(f);
        tcpdump_dies();
        run_until(f, CAPTURE_RESTARTING);
        g_assert_nonnull(f->capture->timer_source);
        g_assert_nonnull(f->capture->last_error);
        g_assert_cmpuint(fake.spawns, ==, 1);

        g_assert_cmpint(capture_transition(f->capture, CAPTURE_EVENT_RESTART), ==, 0);
        g_assert_cmpint(f->capture->state, ==, CAPTURE_STARTING);
        g_assert_cmpuint(fake.spawns, ==, 2);
        g_assert_null(f->capture->timer_source);
        g_assert_null(f->capture->last_error);   /* a new run: the crash is history */
        tcpdump_prints(LISTENING);
        run_until(f, CAPTURE_RUNNING);
        g_assert_cmpuint(f->capture->failures_in_row, ==, 0);
        stop(f);
}

/* The interface goes away while tcpdump starts on it: the capture waits
 * for it (not failed, although a caller waits for the start) and starts
 * again when it is back. */
static void test_interface_gone_during_starting(Fixture *f, gconstpointer data) {
        g_assert_cmpint(capture_transition(f->capture, CAPTURE_EVENT_START), ==, 0);
        g_assert_cmpint(f->capture->state, ==, CAPTURE_STARTING);

        fake.interface_present = false;
        tcpdump_dies();
        run_until(f, CAPTURE_WAITING);
        g_assert_nonnull(strstr(f->capture->last_error, "not present"));
        g_assert_cmpuint(fake.spawns, ==, 1);

        /* Still gone: nothing happens. */
        g_assert_cmpint(capture_transition(f->capture, CAPTURE_EVENT_INTERFACE_APPEARED), ==, 0);
        g_assert_cmpint(f->capture->state, ==, CAPTURE_WAITING);
        g_assert_cmpuint(fake.spawns, ==, 1);
        fake.interface_present = true;
        g_assert_cmpint(capture_transition(f->capture, CAPTURE_EVENT_INTERFACE_APPEARED), ==, 0);
        g_assert_cmpint(f->capture->state, ==, CAPTURE_STARTING);
        g_assert_cmpuint(fake.spawns, ==, 2);
        tcpdump_prints(LISTENING);
        run_until(f, CAPTURE_RUNNING);
        stop(f);
}

/* A tcpdump whose stderr cannot be watched (a regular file: epoll refuses
 * it): the start fails with one error, and that tcpdump does not live on
 * to make the failed capture restart by itself later. */
static int fake_spawn_unwatchable(const TcpdumpCommand *cmd, const Guardian *guardian, pid_t *ret_pid,
                                  int *ret_stderr_fd) {
        int r = fake_spawn(cmd, guardian, ret_pid, ret_stderr_fd);

        close(*ret_stderr_fd);
        *ret_stderr_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        g_assert_cmpint(*ret_stderr_fd, >=, 0);
        return r;
}

static const CaptureSystemOps fake_system_unwatchable = {
        .spawn = fake_spawn_unwatchable,
        .interface_exists = fake_interface_exists,
        .add_timer = fake_add_timer,
};

static void test_half_failed_spawn(Fixture *f, gconstpointer data) {
        pid_t pid;

        f->capture->system = &fake_system_unwatchable;
        g_assert_cmpint(capture_transition(f->capture, CAPTURE_EVENT_START), ==, 0);
        pid = fake.pid;
        g_assert_cmpint(f->capture->state, ==, CAPTURE_FAILED);
        g_assert_cmpint(f->capture->pid, ==, 0);
        g_assert_nonnull(strstr(f->capture->last_error, "stderr"));
        /* Killed and reaped already. */
        g_assert_cmpint(kill(pid, 0), <, 0);
        fake.pid = 0;
        /* Nothing is left to move it on: still failed after the loop ran. */
        for (int i = 0; i < 5; i++)
                g_assert_cmpint(sd_event_run(f->manager.event, 0), >=, 0);
        g_assert_cmpint(f->capture->state, ==, CAPTURE_FAILED);
        g_assert_cmpuint(fake.spawns, ==, 1);
}

/* A stop whose drain timer cannot be armed: tcpdump is killed, so the
 * capture does not stay "stopping" forever, and the error says why. */
static void test_timer_fails_while_stopping(Fixture *f, gconstpointer data) {
        start_running(f);
        fake.timers_fail = true;
        g_assert_cmpint(capture_transition(f->capture, CAPTURE_EVENT_STOP), ==, 0);
        run_until(f, CAPTURE_STOPPED);
        g_assert_cmpint(f->capture->pid, ==, 0);
        g_assert_nonnull(f->capture->last_error);
        g_assert_nonnull(strstr(f->capture->last_error, "Cannot arm a timer while stopping"));
        g_assert_cmpuint(fake.spawns, ==, 1);
}

/* A crash whose backoff timer cannot be armed: failed, with that error,
 * instead of "restarting" forever. */
static void test_timer_fails_in_backoff(Fixture *f, gconstpointer data) {
        start_running(f);
        fake.timers_fail = true;
        tcpdump_dies();
        run_until(f, CAPTURE_FAILED);
        g_assert_nonnull(strstr(f->capture->last_error, "Cannot arm a timer while restarting"));
        g_assert_cmpuint(fake.spawns, ==, 1);
}

/* A full disk stopped tcpdump (capture.c set waiting_for_room when its
 * file stopped growing; here while it stops for a restart): no tcpdump
 * while the disk guard finds no room (MinFreeSpace above the file
 * system's size), a new one once it does, without a call from here. */
static void test_waits_for_room(Fixture *f, gconstpointer data) {
        Capture *c = f->capture;

        f->manager.config->min_free_space = (SpaceLimit) { .value = 200, .percent = true };
        start_running(f);
        g_assert_cmpint(capture_transition(c, CAPTURE_EVENT_RESTART), ==, 0);
        g_assert_cmpint(c->state, ==, CAPTURE_STOPPING);
        c->waiting_for_room = true;
        tcpdump_prints(NO_PACKETS);
        run_until(f, CAPTURE_RESTARTING);
        g_assert_cmpint(c->pid, ==, 0);
        g_assert_null(c->timer_source);   /* the manager's disk guard looks, not a timer of its own */

        /* The disk guard looks at once, then every second: still no room. */
        for (uint64_t until = now_usec(CLOCK_MONOTONIC) + 2500 * USEC_PER_MSEC; now_usec(CLOCK_MONOTONIC) < until;)
                g_assert_cmpint(sd_event_run(f->manager.event, 100 * USEC_PER_MSEC), >=, 0);
        g_assert_cmpint(c->state, ==, CAPTURE_RESTARTING);
        g_assert_cmpuint(fake.spawns, ==, 1);

        f->manager.config->min_free_space = (SpaceLimit) {};
        run_until(f, CAPTURE_STARTING);
        g_assert_false(c->waiting_for_room);
        g_assert_cmpuint(fake.spawns, ==, 2);
        tcpdump_prints(LISTENING);
        run_until(f, CAPTURE_RUNNING);
        stop(f);
}

#define ADD(name, func) g_test_add(name, Fixture, NULL, setup, func, teardown)

int main(int argc, char *argv[]) {
        sigset_t mask;

        g_test_init(&argc, &argv, NULL);
        /* sd-event watches children with SIGCHLD blocked, as the daemon does. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        g_assert_cmpint(sigprocmask(SIG_BLOCK, &mask, NULL), ==, 0);

        ADD("/capture/start-stop", test_start_stop);
        ADD("/capture/start-during-stop", test_start_during_stop);
        ADD("/capture/restart-during-backoff", test_restart_during_backoff);
        ADD("/capture/interface-gone-during-starting", test_interface_gone_during_starting);
        ADD("/capture/half-failed-spawn", test_half_failed_spawn);
        ADD("/capture/timer-fails-while-stopping", test_timer_fails_while_stopping);
        ADD("/capture/timer-fails-in-backoff", test_timer_fails_in_backoff);
        ADD("/capture/waits-for-room", test_waits_for_room);
        return g_test_run();
}
