/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

/* Finished capture files (SPEC §6). tcpdump writes ring slots named
 * .live-<iface>-<generation>.pcap<slot> (dot files); as soon as one is
 * closed it is renamed, in the same directory, to
 * pcap-<iface>-<YYYYmmddTHHMMSS.uuuuuu>Z.pcap (UTC, the time tcpdump
 * created it): unique, chronological, never written again. */

typedef struct Capture Capture;

typedef struct CaptureFile {
        char *name;              /* base name */
        uint64_t size;
        uint64_t completed_at;   /* CLOCK_REALTIME µs */
        unsigned busy;           /* post-rotate hooks still running on it */
} CaptureFile;

typedef struct FileRing FileRing;

/* What a ring tells its owner (the manager), as upload-queue's callback
 * does: userdata is what file_ring_set_ops() was given. Paths are
 * <directory>/<name>, borrowed for the call. The ring's array may change
 * in a callback (retention, the disk guard): callbacks get names and
 * sizes, never pointers into it. */
typedef struct FileRingOps {
        /* A file was finished and is now in the ring. */
        void (*completed)(FileRing *ring, const char *name, const char *path, uint64_t size, void *userdata);
        /* A finished file was deleted (retention, disk guard). */
        void (*deleted)(FileRing *ring, const char *path, void *userdata);
        /* Whether a file is pinned by its upload (retention keeps it). */
        bool (*pinned)(FileRing *ring, const char *path, void *userdata);
} FileRingOps;

/* A capture's finished files (its ring), sorted by name, i.e. oldest first.
 * The file_index_*() functions handle the sorted array alone; the
 * file_ring_*() ones also the files on disk and the callbacks. */
struct FileRing {
        CaptureFile *files;
        size_t n;

        const char *directory;   /* borrowed: where the files are */
        const char *interface;   /* borrowed: for the journal */
        const FileRingOps *ops;
        void *userdata;
};

void file_ring_init(FileRing *ring, const char *directory, const char *interface);
void file_ring_set_ops(FileRing *ring, const FileRingOps *ops, void *userdata);

/* The array: file_index_done() empties it (the ring keeps its ops). */
void file_index_done(FileRing *x);
int file_index_add(FileRing *x, const char *name, uint64_t size, uint64_t completed_at);
void file_index_remove(FileRing *x, size_t i);
CaptureFile *file_index_find(const FileRing *x, const char *name);
uint64_t file_index_total_size(const FileRing *x);

/* A file was finished: it joins the ring and ops->completed is told. */
int file_ring_add(FileRing *ring, const char *name, uint64_t size, uint64_t completed_at);
/* Post-rotate hooks run on a file: retention keeps it until they end. */
void file_ring_hold(FileRing *ring, const char *name);
void file_ring_release(FileRing *ring, const char *name);
/* Deletes the i-th file, logged with message_id and reason; ops->deleted is told. */
int file_ring_delete(FileRing *ring, size_t i, const char *message_id, const char *reason);
/* Retention (SPEC §6): deletes the oldest files beyond
 * retention_files_to_keep(file_count, live), except those held by hooks
 * or pinned by their upload. Returns how many it deleted. */
size_t file_ring_enforce_retention(FileRing *ring, unsigned file_count, bool live);

/* Whether name is a finished file / a live ring slot of that interface. */
bool capture_file_name_is_finished(const char *name, const char *interface);
bool capture_file_name_is_live(const char *name, const char *interface);

/* Renames a closed live file to its finished name, mode 0640, group
 * group. With repair, first cuts a partial last record (left by a killed
 * tcpdump or a full disk; the caller knows when there can be none) and
 * deletes a file that holds no pcap header at all (-ENODATA). What is not a
 * regular file of one link (a symbolic link, a FIFO, a directory, a hard
 * link), or is swapped while it is finished, is logged once and moved aside
 * as .refused<live name>, untouched (-EPERM). */
int capture_file_finish(const char *directory, const char *interface, const char *live_name, gid_t group,
                        bool repair, char **ret_name, uint64_t *ret_size, uint64_t *ret_completed_at);

/* Whether a finished (repaired) file of that size holds a packet, not just
 * the pcap header: files that do not are discarded. */
bool capture_file_holds_packets(uint64_t size);

/* Whether a live file that did not grow while unwritten_packets more
 * packets were captured is no longer written to (a full disk, SPEC §9):
 * tcpdump's stdio buffer is block_size bytes (st_blksize) and a record
 * takes at least PCAP_RECORD_HEADER_SIZE bytes, so more packets than two
 * buffers hold must have reached the file. */
bool capture_file_stopped_growing(uint64_t unwritten_packets, uint64_t block_size);

/* Capture-level file handling. */
/* <directory>/<name> of a file of the capture (malloc'ed), NULL when out of memory. */
char *capture_file_path(const Capture *c, const char *name);
/* Indexes the finished files in the directory. */
int capture_files_index(Capture *c);
/* Indexes, and watches the directory for tcpdump's closes (while it runs). */
int capture_files_open(Capture *c);
void capture_files_close(Capture *c);
/* Finishes every live file tcpdump does not hold open: all of them when it
 * does not run (after it exited, crash leftovers), the ones whose close we
 * missed when inotify overflowed. */
void capture_files_finish_closed(Capture *c);
/* How many finished files retention keeps: FileCount, less the slot of the
 * live file while there is one (a stopped capture has none). */
size_t retention_files_to_keep(unsigned file_count, bool live);
/* file_ring_enforce_retention() with the capture's FileCount, counting the
 * live file while tcpdump writes one. */
void capture_files_enforce_retention(Capture *c);
/* Deletes the i-th finished file (retention, disk guard): file_ring_delete(). */
int capture_files_delete(Capture *c, size_t i, const char *message_id, const char *reason);
/* Bytes the running tcpdump has written: its live files and the files of
 * the same run finished so far. */
uint64_t capture_files_written_bytes(Capture *c);
/* Bytes of the live file, 0 if none. */
uint64_t capture_files_live_size(const Capture *c);
