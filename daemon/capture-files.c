/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "capture-files.h"
#include "capture.h"
#include "log.h"
#include "manager.h"
#include "pcap-file.h"
#include "strv.h"
#include "time-util.h"

#define FINISHED_PREFIX "pcap-"
#define FINISHED_SUFFIX ".pcap"
#define REFUSED_PREFIX ".refused"

/* ---- FileRing ------------------------------------------------------------------------- */

void file_index_done(FileRing *x) {
        for (size_t i = 0; i < x->n; i++)
                free(x->files[i].name);
        free(x->files);
        x->files = NULL;
        x->n = 0;
}

int file_index_add(FileRing *x, const char *name, uint64_t size, uint64_t completed_at) {
        size_t at = x->n;
        char *copy;

        copy = strdup(name);
        if (!copy)
                return -ENOMEM;
        if (ARRAY_GROW(x->files, NULL, x->n + 1) < 0) {
                free(copy);
                return -ENOMEM;
        }

        /* Almost always the newest: search from the end. */
        while (at > 0 && strcmp(x->files[at - 1].name, name) > 0)
                at--;
        memmove(x->files + at + 1, x->files + at, (x->n - at) * sizeof(CaptureFile));
        x->files[at] = (CaptureFile) { .name = copy, .size = size, .completed_at = completed_at };
        x->n++;
        return 0;
}

void file_index_remove(FileRing *x, size_t i) {
        free(x->files[i].name);
        memmove(x->files + i, x->files + i + 1, (x->n - i - 1) * sizeof(CaptureFile));
        x->n--;
}

CaptureFile *file_index_find(const FileRing *x, const char *name) {
        for (size_t i = 0; i < x->n; i++)
                if (strcmp(x->files[i].name, name) == 0)
                        return &x->files[i];
        return NULL;
}

uint64_t file_index_total_size(const FileRing *x) {
        uint64_t total = 0;

        for (size_t i = 0; i < x->n; i++)
                total += x->files[i].size;
        return total;
}

void file_ring_init(FileRing *ring, const char *directory, const char *interface) {
        *ring = (FileRing) { .directory = directory, .interface = interface };
}

void file_ring_set_ops(FileRing *ring, const FileRingOps *ops, void *userdata) {
        ring->ops = ops;
        ring->userdata = userdata;
}

static char *ring_path(const FileRing *ring, const char *name) {
        char *path;

        return asprintf(&path, "%s/%s", ring->directory, name) < 0 ? NULL : path;
}

int file_ring_add(FileRing *ring, const char *name, uint64_t size, uint64_t completed_at) {
        _cleanup_(freep) char *path = ring_path(ring, name);
        int r;

        if (!path)
                return -ENOMEM;
        r = file_index_add(ring, name, size, completed_at);
        if (r < 0)
                return r;
        /* The callback may change the array (retention): nothing of it is
         * used after this. */
        if (ring->ops && ring->ops->completed)
                ring->ops->completed(ring, name, path, size, ring->userdata);
        return 0;
}

void file_ring_hold(FileRing *ring, const char *name) {
        CaptureFile *f = file_index_find(ring, name);

        if (f)
                f->busy++;
}

void file_ring_release(FileRing *ring, const char *name) {
        CaptureFile *f = file_index_find(ring, name);

        if (f && f->busy > 0)
                f->busy--;
}

int file_ring_delete(FileRing *ring, size_t i, const char *message_id, const char *reason) {
        _cleanup_(freep) char *path = NULL;

        assert(i < ring->n);
        if (!(path = ring_path(ring, ring->files[i].name)))
                return -ENOMEM;

        if (unlink(path) < 0 && errno != ENOENT)
                return log_capture(LOG_ERR, errno, ring->interface, "%s: cannot delete %s: %m", ring->interface, path);

        log_file_event(LOG_INFO, message_id, ring->interface, path, "%s: deleted %s (%s).", ring->interface,
                       ring->files[i].name, reason);
        file_index_remove(ring, i);
        if (ring->ops && ring->ops->deleted)
                ring->ops->deleted(ring, path, ring->userdata);
        return 0;
}

size_t retention_files_to_keep(unsigned file_count, bool live) {
        if (live && file_count > 0)
                return file_count - 1;
        return file_count;
}

size_t file_ring_enforce_retention(FileRing *ring, unsigned file_count, bool live) {
        size_t keep = retention_files_to_keep(file_count, live);
        size_t i = 0, deleted = 0;

        while (ring->n > keep && i < ring->n) {
                const CaptureFile *f = &ring->files[i];
                _cleanup_(freep) char *path = NULL;

                if (!(path = ring_path(ring, f->name)))
                        break;
                if (f->busy > 0 ||
                    (ring->ops && ring->ops->pinned && ring->ops->pinned(ring, path, ring->userdata))) {
                        i++;      /* kept until its hooks and upload are done */
                        continue;
                }
                if (file_ring_delete(ring, i, MESSAGE_FILE_DELETED_RETENTION, "retention: FileCount reached") < 0)
                        i++;
                else
                        deleted++;
        }
        return deleted;
}

/* ---- Names ----------------------------------------------------------------------------- */

static bool has_prefix_and_interface(const char *name, const char *prefix, const char *interface) {
        size_t p = strlen(prefix), i = strlen(interface);

        return strncmp(name, prefix, p) == 0 && strncmp(name + p, interface, i) == 0 && name[p + i] == '-';
}

bool capture_file_name_is_finished(const char *name, const char *interface) {
        size_t n = strlen(name);

        return has_prefix_and_interface(name, FINISHED_PREFIX, interface) &&
                n > strlen(FINISHED_SUFFIX) && strcmp(name + n - strlen(FINISHED_SUFFIX), FINISHED_SUFFIX) == 0;
}

bool capture_file_name_is_live(const char *name, const char *interface) {
        return has_prefix_and_interface(name, TCPDUMP_LIVE_PREFIX, interface);
}

static int format_finished_name(const char *interface, uint64_t usec, char **ret) {
        time_t seconds = (time_t) (usec / USEC_PER_SEC);
        char stamp[32];
        struct tm tm;

        if (!gmtime_r(&seconds, &tm) || strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm) == 0)
                return -EINVAL;
        return asprintf(ret, FINISHED_PREFIX "%s-%s.%06lluZ" FINISHED_SUFFIX, interface, stamp,
                        (unsigned long long) (usec % USEC_PER_SEC)) < 0 ? -ENOMEM : 0;
}

/* When tcpdump created the file: its birth time where the file system
 * keeps one, else now. */
static uint64_t file_birth_usec(int fd) {
        struct statx stx;

        if (statx(fd, "", AT_EMPTY_PATH, STATX_BTIME, &stx) == 0 && (stx.stx_mask & STATX_BTIME))
                return (uint64_t) stx.stx_btime.tv_sec * USEC_PER_SEC + stx.stx_btime.tv_nsec / NSEC_PER_USEC;
        return now_usec(CLOCK_REALTIME);
}

/* Names a leftover in the log. */
typedef struct Leftover {
        const char *directory, *interface, *live_name;
} Leftover;

static const char *file_type_name(mode_t mode) {
        switch (mode & S_IFMT) {
        case S_IFLNK:
                return "a symbolic link";
        case S_IFIFO:
                return "a FIFO";
        case S_IFDIR:
                return "a directory";
        case S_IFSOCK:
                return "a socket";
        case S_IFCHR:
        case S_IFBLK:
                return "a device node";
        default:
                return "not a regular file";
        }
}

/* The capture directory belongs to the tcpdump user: what lies there under
 * a live name may be anything. What cannot be finished is moved aside, as
 * .refused<live name>, a name no scan matches: it is reported once, and
 * nothing in it is read, changed or deleted. Always -EPERM. */
_printf_(4, 5)
static int refuse_leftover(int dir_fd, const Leftover *l, const char *name, const char *format, ...) {
        char why[256];
        va_list ap;

        va_start(ap, format);
        vsnprintf(why, sizeof(why), format, ap);
        va_end(ap);

        for (unsigned attempt = 0; attempt < 100; attempt++) {
                _cleanup_(freep) char *aside = NULL;
                int r = attempt == 0 ? asprintf(&aside, REFUSED_PREFIX "%s", l->live_name) :
                                       asprintf(&aside, REFUSED_PREFIX "%s.%u", l->live_name, attempt);

                if (r < 0)
                        return log_oom(), -EPERM;
                if (renameat2(dir_fd, name, dir_fd, aside, RENAME_NOREPLACE) < 0) {
                        if (errno == EEXIST)
                                continue;
                        break;
                }
                log_capture(LOG_WARNING, 0, l->interface, "%s: %s/%s %s: left it alone, as %s.",
                            l->interface, l->directory, l->live_name, why, aside);
                return -EPERM;
        }
        log_capture(LOG_ERR, errno, l->interface, "%s: %s/%s %s: left it alone, but cannot move it aside: %m",
                    l->interface, l->directory, l->live_name, why);
        return -EPERM;
}

/* Why a live name that open() refused cannot be finished; NULL for an error
 * that says nothing about the file (it is then tried again later). */
static const char *open_refusal(int dir_fd, const char *live_name, int error) {
        struct stat st;

        switch (error) {
        case ELOOP:
        case EISDIR:
        case ENXIO:
        case ENODEV:
        case ETXTBSY:
                return fstatat(dir_fd, live_name, &st, AT_SYMLINK_NOFOLLOW) == 0 ?
                        file_type_name(st.st_mode) : "not a regular file";
        case EPERM:
                return "an immutable or append-only file";
        default:
                return NULL;
        }
}

int capture_file_finish(const char *directory, const char *interface, const char *live_name, gid_t group,
                        bool repair, char **ret_name, uint64_t *ret_size, uint64_t *ret_completed_at) {
        _cleanup_(closep) int dir_fd = -EBADF, fd = -EBADF;
        const Leftover l = { .directory = directory, .interface = interface, .live_name = live_name };
        uint64_t size = 0, stamp;
        struct stat st, renamed;
        const char *refusal;
        int r;

        dir_fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return -errno;

        /* One open, and from then on only the descriptor: a name swapped
         * for a symbolic link meanwhile changes nothing outside the
         * directory. Non-blocking, so that a FIFO does not hang the daemon.
         * Opened for writing, its close raises an event of its own: it is
         * closed only after the live name is gone, renamed to its finished
         * name or moved aside, so that the event never comes back here. */
        fd = openat(dir_fd, live_name, O_RDWR | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                refusal = open_refusal(dir_fd, live_name, -r);
                if (!refusal)
                        return r;
                return refuse_leftover(dir_fd, &l, live_name, "is %s, not a capture file", refusal);
        }
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return refuse_leftover(dir_fd, &l, live_name, "is %s, not a capture file",
                                       file_type_name(st.st_mode));
        if (st.st_nlink > 1)
                /* tcpdump never links its files: another name of this one,
                 * maybe outside the directory, would change with it. */
                return refuse_leftover(dir_fd, &l, live_name, "has %ju hard links, a capture file one",
                                       (uintmax_t) st.st_nlink);
        size = (uint64_t) st.st_size;

        if (repair || size < PCAP_GLOBAL_HEADER_SIZE) {
                bool truncated = false;

                r = pcap_file_repair(fd, &size, &truncated);
                if (r < 0)
                        return refuse_leftover(dir_fd, &l, live_name, "cannot be repaired (%s)", strerror(-r));
                if (r == 0) {
                        /* Nothing was ever written to it: nothing to keep. */
                        (void) unlinkat(dir_fd, live_name, 0);
                        return -ENODATA;
                }
                if (truncated)
                        log_capture(LOG_WARNING, 0, interface,
                                    "%s: %s ended in a partial packet (tcpdump did not exit cleanly); "
                                    "cut it to %llu bytes so that it reads whole.",
                                    interface, live_name, (unsigned long long) size);
        }

        /* Only when it differs: not root, the unit's system call filter
         * forbids chown(), and tcpdump made it with the daemon's group. */
        if (st.st_gid != group)
                (void) fchown(fd, (uid_t) -1, group);
        (void) fchmod(fd, 0640);

        stamp = file_birth_usec(fd);
        for (unsigned attempt = 0; attempt < 1000; attempt++, stamp++) {
                _cleanup_(freep) char *name = NULL;

                r = format_finished_name(interface, stamp, &name);
                if (r < 0)
                        return r;

                /* Never over an existing finished file. */
                if (renameat2(dir_fd, live_name, dir_fd, name, RENAME_NOREPLACE) < 0) {
                        if (errno == EEXIST)
                                continue;
                        if (errno == ENOENT)
                                return -ENOENT;
                        r = -errno;
                        return refuse_leftover(dir_fd, &l, live_name, "cannot be renamed to its finished name (%s)",
                                               strerror(-r));
                }

                /* The name may have been swapped after the open: what now
                 * has the finished name must be the file repaired. */
                if (fstatat(dir_fd, name, &renamed, AT_SYMLINK_NOFOLLOW) < 0 ||
                    renamed.st_dev != st.st_dev || renamed.st_ino != st.st_ino)
                        return refuse_leftover(dir_fd, &l, name, "was swapped for another file while it was "
                                               "being finished");

                *ret_name = TAKE_PTR(name);
                *ret_size = size;
                *ret_completed_at = now_usec(CLOCK_REALTIME);
                return 0;
        }
        return refuse_leftover(dir_fd, &l, live_name, "has no free finished name");
}

/* ---- Per capture -------------------------------------------------------------------- */

char *capture_file_path(const Capture *c, const char *name) {
        char *path;

        return asprintf(&path, "%s/%s", c->directory, name) < 0 ? NULL : path;
}

static void file_completed(Capture *c, const char *name, uint64_t size, uint64_t completed_at) {
        int r;

        c->files_completed++;
        r = file_ring_add(&c->files, name, size, completed_at);
        if (r < 0) {
                c->files_completed--;
                log_oom();
        }
}

bool capture_file_stopped_growing(uint64_t unwritten_packets, uint64_t block_size) {
        if (block_size == 0)
                block_size = 4096;
        return unwritten_packets > 2 * block_size / PCAP_RECORD_HEADER_SIZE;
}

bool capture_file_holds_packets(uint64_t size) {
        return size > PCAP_GLOBAL_HEADER_SIZE;
}

/* A run that saw no packet (an idle interface stopped or restarted) leaves
 * a header and nothing else: not a capture, so it takes no FileCount slot,
 * is not uploaded and nobody is told of it. */
static void discard_empty(Capture *c, const char *name) {
        _cleanup_(freep) char *path = capture_file_path(c, name);

        if (!path) {
                log_oom();
                return;
        }
        if (unlink(path) < 0 && errno != ENOENT) {
                log_capture(LOG_ERR, errno, c->interface, "%s: cannot remove %s, which holds no packet: %m",
                            c->interface, path);
                return;
        }
        log_capture(LOG_INFO, 0, c->interface, "%s: discarded %s: it holds no packet.", c->interface, path);
}

static bool is_current_file(const Capture *c, const char *live_name) {
        return c->current_file && strcmp(strrchr(c->current_file, '/') + 1, live_name) == 0;
}

static bool tcpdump_rotated(const Capture *c, const char *previous_path, const char *created) {
        const char *previous = strrchr(previous_path, '/') + 1;

        return c->pid > 0 && capture_file_name_is_live(previous, c->interface) && strcmp(previous, created) != 0;
}

/* Whether name is a file of the tcpdump that runs now (its generation):
 * another writer's file in the directory is no rotation of tcpdump's. */
static bool is_current_generation(const Capture *c, const char *name) {
        _cleanup_(freep) char *prefix = NULL;
        size_t n;

        if (asprintf(&prefix, TCPDUMP_LIVE_PREFIX "%s-%u", c->interface, c->generation) < 0)
                return false;
        n = strlen(prefix);
        return strncmp(name, prefix, n) == 0 && (name[n] == '.' || name[n] == '-');
}

static void finish_one(Capture *c, const char *live_name, bool repair) {
        _cleanup_(freep) char *name = NULL;
        uint64_t size, completed_at;
        int r;

        r = capture_file_finish(c->directory, c->interface, live_name, c->file_group, repair, &name, &size,
                                &completed_at);
        if (r == -ENOENT)
                return;   /* finished already (a late event for it) */
        if (r == -EPERM)
                return;   /* not a capture file: said so, and moved it aside */
        if (r == -ENODATA) {
                log_capture(LOG_INFO, 0, c->interface, "%s: removed %s, which tcpdump never wrote to.",
                            c->interface, live_name);
                return;
        }
        if (r < 0) {
                log_capture(LOG_ERR, r, c->interface, "%s: cannot finish %s/%s: %m", c->interface, c->directory,
                            live_name);
                return;
        }

        if (is_current_file(c, live_name)) {
                c->current_file = mfree_str(c->current_file);
                capture_emit_changed(c, "CurrentFile", NULL);
        }

        if (!capture_file_holds_packets(size)) {
                discard_empty(c, name);
                return;
        }

        log_capture(LOG_DEBUG, 0, c->interface, "%s: finished %s (%llu bytes).", c->interface, name,
                    (unsigned long long) size);
        if (is_current_generation(c, live_name))
                c->generation_finished_bytes += size;
        file_completed(c, name, size, completed_at);
}

static int on_directory_event(sd_event_source *s, const struct inotify_event *event, void *userdata) {
        Capture *c = userdata;

        /* No tcpdump, nothing of ours: a stopped capture keeps its watch
         * (see capture.c) but leaves the directory alone until it starts,
         * which finishes what is there. */
        if (c->pid <= 0)
                return 0;
        if (event->mask & IN_Q_OVERFLOW) {
                /* Events were lost: look at what is there. Files tcpdump
                 * still writes are left alone; the others are closed. */
                log_capture(LOG_WARNING, 0, c->interface, "%s: inotify queue overflowed, rescanning %s.",
                            c->interface, c->directory);
                capture_files_finish_closed(c);
                return 0;
        }
        if (event->len == 0 || !capture_file_name_is_live(event->name, c->interface))
                return 0;

        if ((event->mask & IN_CREATE) && is_current_generation(c, event->name)) {
                _cleanup_(freep) char *previous = c->current_file;
                char *path;

                if ((path = capture_file_path(c, event->name))) {
                        c->current_file = path;
                        capture_emit_changed(c, "CurrentFile", NULL);
                } else
                        previous = NULL;
                /* tcpdump closes a file before it creates the next: that
                 * one is whole (fclose() wrote every record), no need to
                 * read it back (issue 10), unless a full disk cut a write. */
                if (previous && tcpdump_rotated(c, previous, event->name))
                        finish_one(c, strrchr(previous, '/') + 1, c->disk_low_reported);
        }
        /* The file tcpdump writes is finished when it creates the next one,
         * or, with a repair (a killed tcpdump), once it exited. */
        if ((event->mask & IN_CLOSE_WRITE) && !is_current_file(c, event->name))
                finish_one(c, event->name, true);

        return 0;
}

static int scan_directory(Capture *c) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;

        d = opendir(c->directory);
        if (!d)
                return errno == ENOENT ? 0 : -errno;

        file_index_done(&c->files);
        while ((de = readdir(d))) {
                struct stat st;

                if (!capture_file_name_is_finished(de->d_name, c->interface))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                        continue;
                if (file_index_add(&c->files, de->d_name, (uint64_t) st.st_size,
                                   timespec_to_usec(&st.st_mtim)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int capture_files_index(Capture *c) {
        size_t n = c->files.n;
        int r = scan_directory(c);

        if (r < 0)
                return log_capture(LOG_ERR, r, c->interface, "%s: cannot read %s: %m", c->interface, c->directory);
        if (c->files.n != n)
                capture_emit_changed(c, "FilesKept", NULL);
        return 0;
}

int capture_files_open(Capture *c) {
        int r;

        r = capture_files_index(c);
        if (r < 0)
                return r;

        if (c->inotify_source)
                return 0;

        r = sd_event_add_inotify(c->manager->event, &c->inotify_source, c->directory,
                                 IN_CREATE | IN_CLOSE_WRITE | IN_ONLYDIR | IN_EXCL_UNLINK,
                                 on_directory_event, c);
        if (r < 0)
                return log_capture(LOG_ERR, r, c->interface, "%s: cannot watch %s: %m", c->interface, c->directory);

        /* Before the child exit event, so that a rotation's close is seen first. */
        (void) sd_event_source_set_priority(c->inotify_source, SD_EVENT_PRIORITY_NORMAL - 1);
        return 0;
}

void capture_files_close(Capture *c) {
        c->inotify_source = sd_event_source_disable_unref(c->inotify_source);
}

/* The paths tcpdump has open, from /proc/<pid>/fd; NULL-terminated. */
static char **files_open_by(pid_t pid) {
        char **paths = NULL, fd_dir[64];
        size_t n = 0;
        struct dirent *de;
        _cleanup_(closedirp) DIR *d = NULL;

        if (pid <= 0)
                return calloc(1, sizeof(char *));

        snprintf(fd_dir, sizeof(fd_dir), "/proc/%d/fd", (int) pid);
        d = opendir(fd_dir);
        if (!d)
                return calloc(1, sizeof(char *));
        while ((de = readdir(d))) {
                char target[PATH_MAX];
                ssize_t k = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);

                if (k <= 0)
                        continue;
                target[k] = 0;
                if (ARRAY_GROW(paths, NULL, n + 2) < 0)
                        break;
                if (!(paths[n] = strdup(target)))
                        break;
                paths[++n] = NULL;
        }
        return paths ?: calloc(1, sizeof(char *));
}

void capture_files_finish_closed(Capture *c) {
        struct dirent **entries = NULL;
        char **open_paths;
        int n;

        /* The directory first, then what tcpdump holds open: a file it
         * creates in between is not in the listing, so it is never taken
         * away from under it. */
        n = scandir(c->directory, &entries, NULL, alphasort);
        if (n < 0)
                return;
        open_paths = files_open_by(c->pid);

        for (int i = 0; i < n; i++) {
                _cleanup_(freep) char *path = NULL;

                if (capture_file_name_is_live(entries[i]->d_name, c->interface) &&
                    (path = capture_file_path(c, entries[i]->d_name)) &&
                    !strv_contains(open_paths, path))
                        finish_one(c, entries[i]->d_name, true);
                free(entries[i]);
        }
        free(entries);
        strv_free(open_paths);
}

uint64_t capture_files_live_size(const Capture *c) {
        struct stat st;

        if (!c->current_file || stat(c->current_file, &st) < 0)
                return 0;
        return (uint64_t) st.st_size;
}

int capture_files_delete(Capture *c, size_t i, const char *message_id, const char *reason) {
        return file_ring_delete(&c->files, i, message_id, reason);
}

void capture_files_enforce_retention(Capture *c) {
        /* FileCount counts the live file too, but only while tcpdump runs:
         * the file a stop finishes takes the slot it held. */
        (void) file_ring_enforce_retention(&c->files, c->options.file_count, capture_writes_live_file(c));
}

uint64_t capture_files_written_bytes(Capture *c) {
        uint64_t total = c->generation_finished_bytes;
        struct dirent *de;
        struct stat st;
        DIR *d = opendir(c->directory);

        if (!d)
                return total;
        while ((de = readdir(d)))
                if (is_current_generation(c, de->d_name) &&
                    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
                        total += (uint64_t) st.st_size;
        closedir(d);
        return total;
}
