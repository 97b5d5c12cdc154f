/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

/* Reading pcap files just far enough to know they are whole. tcpdump
 * writes complete records, but a tcpdump killed, or writing to a full
 * disk, leaves a partial last record: capinfos then says "cut short". */

#define PCAP_GLOBAL_HEADER_SIZE 24
#define PCAP_RECORD_HEADER_SIZE 16

/* Returns the length of the longest prefix of data that is a valid pcap
 * file (global header and whole records), or 0 if data does not start
 * with a pcap header. */
size_t pcap_valid_length(const uint8_t *data, size_t size);

/* Truncates the file at path to its longest valid prefix. Returns 1 if the
 * file is a pcap (*ret_size its size afterwards, *ret_truncated whether
 * bytes were cut), 0 if it holds no pcap header at all, negative errno on
 * error. */
int pcap_file_repair(const char *path, uint64_t *ret_size, bool *ret_truncated);
