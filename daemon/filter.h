/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/* Compiles a BPF filter with libpcap for the interface's link type, as
 * tcpdump will, so that a bad filter is refused before anything runs.
 * Returns 0 if it compiles; -EINVAL with *ret_error set (libpcap's message)
 * if not; -ENODEV if the interface does not exist. With interface NULL
 * (an interface that is not there yet), compiles for Ethernet framing. */
int filter_check(const char *interface, const char *filter, uint32_t snap_length, char **ret_error);
