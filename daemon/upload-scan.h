/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"

/* One read of a finished file before it is uploaded, in the upload path
 * (never the capture's): the SHA-256 of each part (the payload hash S3
 * checks, so that the server verifies what it stored) and what the pcap
 * holds (packet count, first and last packet time, for the object's
 * metadata and the key's date). Runs on the event loop a chunk at a time
 * at idle priority, so it never blocks it. */

#define UPLOAD_SCAN_CHUNK (1024 * 1024)

typedef struct UploadScanResult {
        uint64_t size;
        uint64_t part_size;           /* as asked; the last part may be shorter */
        size_t n_parts;               /* at least 1 */
        char (*part_sha256)[65];      /* lower-case hex, one per part */
        bool pcap;                    /* a pcap global header was seen */
        uint64_t packets;
        uint64_t first_usec, last_usec;  /* CLOCK_REALTIME µs; 0 without packets */
        uint64_t mtime_usec;
} UploadScanResult;

typedef struct UploadScan UploadScan;

/* error is 0 or why the file could not be read; the result is borrowed
 * and lives as long as the scan. The callback may free the scan. */
typedef void (*UploadScanDone)(void *userdata, int error, const UploadScanResult *result);

/* A file larger than multipart_threshold is hashed in parts of part_size;
 * one smaller (or part_size 0) is one part. */
int upload_scan_start(UploadScan **ret, sd_event *event, const char *path, uint64_t part_size,
                      uint64_t multipart_threshold, UploadScanDone done, void *userdata);
UploadScan *upload_scan_free(UploadScan *s);
DEFINE_POINTER_CLEANUP(UploadScan, upload_scan_free);

/* The SHA-256 of data, lower-case hex (for small bodies built in memory). */
void upload_sha256_hex(const void *data, size_t size, char ret[static 65]);

/* The pcap walker behind the scan, fed with consecutive chunks of a file;
 * exposed for the unit tests. */
typedef struct PcapSummary {
        uint64_t offset;         /* bytes fed so far */
        uint64_t next_record;    /* file offset of the next record header */
        uint8_t header[24];
        size_t have;             /* bytes of header[] filled */
        bool started, valid, swapped, nanoseconds;
        uint64_t packets, first_usec, last_usec;
} PcapSummary;

void pcap_summary_feed(PcapSummary *p, const uint8_t *data, size_t size);
