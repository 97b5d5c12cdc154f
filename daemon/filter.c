/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <net/if_arp.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "log.h"
#include "macro.h"
#include "netif.h"

static void pcap_closep(pcap_t **p) {
        if (*p)
                pcap_close(*p);
}

/* The link type libpcap 1.10 gives the interface types whose mapping is
 * plain (pcap-linux.c, map_arphrd_to_dlt(), cooked mode allowed); -1 for
 * the others, which only libpcap itself can tell (radio headers, names
 * it treats specially, types that changed between its versions). */
static int link_type_of(int arp_type, const char *interface) {
        /* Android's cdma_rmnet and ISDN's isdn* are "Ethernet" that is not. */
        if (strncmp(interface, "cdma_rmnet", 10) == 0 || strncmp(interface, "isdn", 4) == 0)
                return -1;

        switch (arp_type) {
        case ARPHRD_ETHER:
        case ARPHRD_LOOPBACK:
        case ARPHRD_METRICOM:
                return DLT_EN10MB;
        case ARPHRD_NONE:       /* tun, wireguard: the packet is the IP header */
        case ARPHRD_TUNNEL:
        case ARPHRD_SIT:
        case ARPHRD_SLIP:
        case ARPHRD_CSLIP:
        case ARPHRD_SLIP6:
        case ARPHRD_CSLIP6:
        case ARPHRD_ADAPT:
        case ARPHRD_RAWHDLC:
        case ARPHRD_DLCI:
                return DLT_RAW;
        case ARPHRD_PPP:
                return DLT_LINUX_SLL;
        default:
                return -1;
        }
}

/* Opens the interface just far enough to learn its link type: a packet
 * socket with a ring, ~30 ms to set up and tear down, so only for the
 * interface types link_type_of() does not know. Falls back to Ethernet
 * framing if it cannot be activated, e.g. without CAP_NET_RAW. */
static int open_live_for_compile(const char *interface, uint32_t snap_length, pcap_t **ret) {
        char errbuf[PCAP_ERRBUF_SIZE] = "";
        _cleanup_(pcap_closep) pcap_t *p = NULL;
        int r;

        p = pcap_create(interface, errbuf);
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
        }

        *ret = pcap_open_dead(DLT_EN10MB, (int) snap_length);
        return *ret ? 0 : -ENOMEM;
}

/* A pcap_t to compile for the interface's link type, without opening a
 * capture on it where its type says which link type tcpdump will get
 * (start latency: tcpdump opens the interface itself a moment later). */
static int open_for_compile(const char *interface, uint32_t snap_length, pcap_t **ret) {
        int link_type = DLT_EN10MB;

        if (interface) {
                int arp_type = netif_arp_type(interface);

                if (arp_type == -ENODEV)
                        return -ENODEV;
                link_type = arp_type >= 0 ? link_type_of(arp_type, interface) : -1;
                if (link_type < 0)
                        return open_live_for_compile(interface, snap_length, ret);
        }

        *ret = pcap_open_dead(link_type, (int) snap_length);
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
