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

/* Truncates the regular file open on fd (for writing) to its longest valid
 * prefix. Only the descriptor is used: the file a name pointed to when it
 * was opened is the one cut, whatever the name points to now. Returns 1 if
 * the file is a pcap (*ret_size its size afterwards, *ret_truncated whether
 * bytes were cut), 0 if it holds no pcap header at all, -EBADFD if it is
 * not a regular file, negative errno on error. */
int pcap_file_repair(int fd, uint64_t *ret_size, bool *ret_truncated);
