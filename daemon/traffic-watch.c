/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "list.h"
#include "log.h"
#include "traffic-watch.h"

struct TrafficWatch {
        char *directory;
        int wd;                  /* -1 while disarmed */
        TrafficCallback callback;
        void *userdata;
        LIST_FIELDS(TrafficWatch);
};

/* The shared inotify instance and the watches on it. It stays open once
 * made: closing an inotify instance waits for an RCU grace period (tens of
 * milliseconds), which would delay the stop of the last capture. */
static struct {
        int fd;
        sd_event_source *source;
        TrafficWatch *watches;
} shared = { .fd = -EBADF };

static int on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        char buffer[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

        for (;;) {
                ssize_t n = read(fd, buffer, sizeof(buffer));

                if (n <= 0)
                        return 0;
                for (char *p = buffer; p < buffer + n;) {
                        const struct inotify_event *e = (const struct inotify_event *) p;

                        p += sizeof(struct inotify_event) + e->len;
                        if (!(e->mask & (IN_MODIFY | IN_Q_OVERFLOW)))
                                continue;   /* IN_IGNORED after the one shot */
                        /* Events were lost: each armed watch may have fired. */
                        LIST_FOREACH_SAFE(w, shared.watches) {
                                if (w->wd >= 0 && (w->wd == e->wd || (e->mask & IN_Q_OVERFLOW))) {
                                        w->wd = -1;
                                        w->callback(w->userdata);
                                }
                        }
                }
        }
}

static int shared_ref(sd_event *event) {
        int r;

        if (shared.source)
                return 0;
        shared.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (shared.fd < 0)
                return -errno;
        r = sd_event_add_io(event, &shared.source, shared.fd, EPOLLIN, on_inotify, NULL);
        if (r < 0) {
                close(shared.fd);
                shared.fd = -EBADF;
                return r;
        }
        (void) sd_event_source_set_io_fd_own(shared.source, true);
        /* The loop owns it (and frees it with itself): it is never closed. */
        (void) sd_event_source_set_floating(shared.source, true);
        /* Only a hint for the counters: after everything else. */
        (void) sd_event_source_set_priority(shared.source, SD_EVENT_PRIORITY_IDLE);
        return 0;
}

int traffic_watch_new(TrafficWatch **ret, sd_event *event, const char *directory, TrafficCallback callback,
                      void *userdata) {
        TrafficWatch *w;
        int r;

        r = shared_ref(event);
        if (r < 0)
                return r;

        w = calloc(1, sizeof(TrafficWatch));
        if (!w || !(w->directory = strdup(directory))) {
                free(w);
                return -ENOMEM;
        }
        w->wd = -1;
        w->callback = callback;
        w->userdata = userdata;
        LIST_PREPEND(shared.watches, w);
        *ret = w;
        return 0;
}

int traffic_watch_arm(TrafficWatch *w) {
        int wd;

        if (w->wd >= 0)
                return 0;
        wd = inotify_add_watch(shared.fd, w->directory, IN_MODIFY | IN_ONESHOT | IN_ONLYDIR);
        if (wd < 0)
                return -errno;
        w->wd = wd;
        return 0;
}

TrafficWatch *traffic_watch_free(TrafficWatch *w) {
        if (!w)
                return NULL;
        if (w->wd >= 0)
                (void) inotify_rm_watch(shared.fd, w->wd);
        LIST_REMOVE(shared.watches, w);
        free(w->directory);
        free(w);
        return NULL;
}
