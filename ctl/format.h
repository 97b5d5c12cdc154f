/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "time-util.h"

/* Pure text formatting for capturectl's human output. Each function writes
 * into buf (of size l), always NUL-terminates it and returns buf. */


/* Buffer sizes that fit any output of the functions below. */
#define FORMAT_BYTES_MAX     16
#define FORMAT_TIMESTAMP_MAX 64
#define FORMAT_TIMESPAN_MAX  64

/* Bytes in decimal (SI) units with one decimal, as FileSize counts them
 * (tcpdump -C: millions of bytes): "512B", "25.0M", "1.2G". */
char *format_bytes(char *buf, size_t l, uint64_t bytes);

/* A realtime timestamp in µs as local time: "Tue 2024-05-07 10:00:00 CEST".
 * 0 gives "n/a". */
char *format_timestamp(char *buf, size_t l, uint64_t usec);

/* The distance of usec from now, both realtime µs, in the manner of
 * systemctl: "2min 3s ago", "1 day 3h ago", "5s left", "now". 0 gives "n/a". */
char *format_timestamp_relative(char *buf, size_t l, uint64_t usec, uint64_t now);

/* A duration in µs with every non-zero unit: "1h 30min", "45s", "0". */
char *format_timespan(char *buf, size_t l, uint64_t usec);

/* The number of terminal columns a UTF-8 string takes, counting one per code
 * point (good enough for interface names and paths). */
size_t utf8_width(const char *s);
