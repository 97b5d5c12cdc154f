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

/* A capture's finished files, sorted by name, i.e. oldest first. */
typedef struct FileIndex {
        CaptureFile *files;
        size_t n;
} FileIndex;

void file_index_done(FileIndex *x);
int file_index_add(FileIndex *x, const char *name, uint64_t size, uint64_t completed_at);
void file_index_remove(FileIndex *x, size_t i);
CaptureFile *file_index_find(const FileIndex *x, const char *name);
uint64_t file_index_total_size(const FileIndex *x);

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
/* Deletes the oldest finished files beyond that (not those whose hooks or
 * upload are still to come). */
void capture_files_enforce_retention(Capture *c);
/* Deletes the i-th finished file (retention, disk guard). */
int capture_files_delete(Capture *c, size_t i, const char *message_id, const char *reason);
/* Bytes the running tcpdump has written: its live files and the files of
 * the same run finished so far. */
uint64_t capture_files_written_bytes(Capture *c);
/* Bytes of the live file, 0 if none. */
uint64_t capture_files_live_size(const Capture *c);
