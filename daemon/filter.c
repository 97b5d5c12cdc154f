/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "log.h"
#include "macro.h"

static void pcap_closep(pcap_t **p) {
        if (*p)
                pcap_close(*p);
}

/* Opens the interface just far enough to learn its link type. Falls back to
 * Ethernet framing (what Linux uses for most interfaces, loopback included)
 * if it cannot be activated, e.g. without CAP_NET_RAW. */
static int open_for_compile(const char *interface, uint32_t snap_length, pcap_t **ret) {
        char errbuf[PCAP_ERRBUF_SIZE] = "";
        _cleanup_(pcap_closep) pcap_t *p = NULL;
        int r;

        p = interface ? pcap_create(interface, errbuf) : NULL;
        if (p) {
                pcap_set_snaplen(p, (int) snap_length);
                pcap_set_buffer_size(p, 64 * 1024);
                r = pcap_activate(p);
                if (r == PCAP_ERROR_NO_SUCH_DEVICE)
                        return -ENODEV;
                if (r >= 0) {
                        *ret = TAKE_PTR(p);
                        return 0;
                }
                log_debug("Cannot open %s to learn its link type (%s), compiling for Ethernet.",
                          interface, pcap_geterr(p));
                pcap_close(TAKE_PTR(p));
        }

        *ret = pcap_open_dead(DLT_EN10MB, (int) snap_length);
        return *ret ? 0 : -ENOMEM;
}

int filter_check(const char *interface, const char *filter, uint32_t snap_length, char **ret_error) {
        _cleanup_(pcap_closep) pcap_t *p = NULL;
        struct bpf_program program;
        int r;

        r = open_for_compile(interface, snap_length, &p);
        if (r < 0)
                return r;

        if (pcap_compile(p, &program, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
                if (ret_error)
                        *ret_error = strdup(pcap_geterr(p));
                return -EINVAL;
        }

        pcap_freecode(&program);
        return 0;
}
