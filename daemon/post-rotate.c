/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "line-reader.h"
#include "list.h"
#include "log.h"
#include "post-rotate.h"
#include "strv.h"
#include "time-util.h"

#define HOOK_TIMEOUT_USEC (15 * USEC_PER_MINUTE)

typedef struct Job {
        PostRotate *owner;
        LIST_FIELDS(struct Job);
        char ***commands;
        size_t command_index;
        char *interface;
        char *path;
        char *failure;           /* how the last failing command failed */
        pid_t pid;
        sd_event_source *child_source, *output_source, *timeout_source;
        LineReader output;
} Job;

struct PostRotate {
        sd_event *event;
        unsigned max_concurrent, running;
        Job *queue, *active;
        PostRotateDone done;
        void *userdata;
};

static Job *job_free(Job *j) {
        if (!j)
                return NULL;
        strvv_free(j->commands);
        if (j->pid > 0)
                (void) kill(j->pid, SIGKILL);
        sd_event_source_disable_unref(j->child_source);
        sd_event_source_disable_unref(j->output_source);
        sd_event_source_disable_unref(j->timeout_source);
        free(j->interface);
        free(j->path);
        free(j->failure);
        free(j);
        return NULL;
}

int post_rotate_new(PostRotate **ret, sd_event *event, unsigned max_concurrent,
                    PostRotateDone done, void *userdata) {
        PostRotate *p = calloc(1, sizeof(PostRotate));

        if (!p)
                return -ENOMEM;
        p->event = sd_event_ref(event);
        p->max_concurrent = max_concurrent > 0 ? max_concurrent : 1;
        p->done = done;
        p->userdata = userdata;
        *ret = p;
        return 0;
}

PostRotate *post_rotate_free(PostRotate *p) {
        if (!p)
                return NULL;
        for (Job *j; (j = LIST_POP(p->queue));)
                job_free(j);
        for (Job *j; (j = LIST_POP(p->active));)
                job_free(j);
        sd_event_unref(p->event);
        free(p);
        return NULL;
}

static void log_output_line(const char *line, void *userdata) {
        Job *j = userdata;

        log_capture(LOG_INFO, 0, j->interface, "%s: ExecPostRotate %s: %s", j->interface,
                    j->commands[j->command_index][0], line);
}

static int on_output(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Job *j = userdata;

        int r = line_reader_read(&j->output, fd, log_output_line, j);

        if (r == 0 || (r < 0 && r != -EAGAIN))
                j->output_source = sd_event_source_disable_unref(j->output_source);
        return 0;
}

static void start_next_jobs(PostRotate *p);
static int run_command(Job *j);

static void job_finished(Job *j) {
        PostRotate *p = j->owner;

        LIST_REMOVE(p->active, j);
        p->running--;
        if (p->done)
                p->done(p->userdata, j->interface, j->path, j->failure);
        job_free(j);
        start_next_jobs(p);
}

static int on_hook_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Job *j = userdata;

        /* Whatever it still printed. */
        while (j->output_source &&
               line_reader_read(&j->output, sd_event_source_get_io_fd(j->output_source), log_output_line, j) > 0)
                ;
        line_reader_flush(&j->output, log_output_line, j);
        j->output_source = sd_event_source_disable_unref(j->output_source);

        if (si->si_code != CLD_EXITED || si->si_status != 0) {
                free(j->failure);
                if (asprintf(&j->failure, "ExecPostRotate %s on %s %s %d", j->commands[j->command_index][0],
                             j->path, si->si_code == CLD_EXITED ? "exited with status" : "was killed by signal",
                             si->si_status) < 0)
                        j->failure = NULL;
                log_capture(LOG_WARNING, 0, j->interface, "%s: %s.", j->interface,
                            j->failure ?: "ExecPostRotate failed");
        }

        j->pid = 0;
        j->child_source = sd_event_source_disable_unref(j->child_source);
        j->timeout_source = sd_event_source_disable_unref(j->timeout_source);

        j->command_index++;
        if (j->commands[j->command_index] && run_command(j) >= 0)
                return 0;

        job_finished(j);
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Job *j = userdata;

        log_capture(LOG_WARNING, 0, j->interface, "%s: ExecPostRotate %s on %s took too long, killing it.",
                    j->interface,
                    j->commands[j->command_index][0], j->path);
        if (j->pid > 0)
                (void) kill(j->pid, SIGKILL);
        return 0;
}

static _Noreturn void run_hook(char **command, const char *path, pid_t parent, int output_fd) {
        size_t n = strv_length(command);
        char *argv[n + 2];

        if (child_prepare(parent, output_fd, output_fd) < 0 || child_drop_capabilities(command[0]) < 0)
                _exit(EXIT_FAILURE);

        memcpy(argv, command, n * sizeof(char *));
        argv[n] = (char *) path;
        argv[n + 1] = NULL;
        child_exec(argv);
}

static int spawn_command(Job *j) {
        int pipe_fds[2], r;
        pid_t parent, pid;

        if (pipe2(pipe_fds, O_CLOEXEC) < 0)
                return log_error_errno(errno, "Cannot create a pipe for ExecPostRotate: %m");

        parent = getpid();
        pid = fork();
        if (pid < 0) {
                r = -errno;
                close(pipe_fds[0]);
                close(pipe_fds[1]);
                return log_error_errno(r, "Cannot fork for ExecPostRotate: %m");
        }
        if (pid == 0)
                run_hook(j->commands[j->command_index], j->path, parent, pipe_fds[1]);

        close(pipe_fds[1]);
        (void) fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
        j->pid = pid;

        r = sd_event_add_io(j->owner->event, &j->output_source, pipe_fds[0], EPOLLIN, on_output, j);
        if (r < 0)
                close(pipe_fds[0]);
        else
                (void) sd_event_source_set_io_fd_own(j->output_source, true);

        r = sd_event_add_child(j->owner->event, &j->child_source, pid, WEXITED, on_hook_exit, j);
        if (r < 0) {
                (void) kill(pid, SIGKILL);
                j->pid = 0;
                return log_error_errno(r, "Cannot watch ExecPostRotate: %m");
        }
        (void) sd_event_add_time_relative(j->owner->event, &j->timeout_source, CLOCK_MONOTONIC,
                                          HOOK_TIMEOUT_USEC, 0, on_timeout, j);
        log_capture(LOG_DEBUG, 0, j->interface, "%s: ExecPostRotate %s %s (PID %d).", j->interface,
                    j->commands[j->command_index][0], j->path,
                  (int) pid);
        return 0;
}

static int run_command(Job *j) {
        int r = spawn_command(j);

        if (r < 0) {
                free(j->failure);
                if (asprintf(&j->failure, "ExecPostRotate %s on %s could not be started: %s",
                             j->commands[j->command_index][0], j->path, strerror(-r)) < 0)
                        j->failure = NULL;
        }
        return r;
}

static void start_next_jobs(PostRotate *p) {
        while (p->queue && p->running < p->max_concurrent) {
                Job *j = LIST_POP(p->queue);

                LIST_PREPEND(p->active, j);
                p->running++;

                if (run_command(j) < 0)
                        job_finished(j);
        }
}

int post_rotate_queue(PostRotate *p, char ***commands, const char *interface, const char *path) {
        Job *j;

        if (!commands || !commands[0])
                return 0;

        j = calloc(1, sizeof(Job));
        if (!j)
                return -ENOMEM;
        j->owner = p;
        j->commands = strvv_copy(commands);
        j->interface = strdup(interface);
        j->path = strdup(path);
        if (!j->commands || !j->interface || !j->path) {
                job_free(j);
                return -ENOMEM;
        }

        LIST_APPEND(p->queue, j);
        start_next_jobs(p);
        return 1;
}

bool post_rotate_is_idle(const PostRotate *p) {
        return !p || (!p->queue && !p->active);
}

unsigned post_rotate_pending(const PostRotate *p) {
        unsigned n = 0;

        if (p)
                LIST_FOREACH(j, p->queue)
                        n++;
        return n + (p ? p->running : 0);
}
