/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "macro.h"

/* Whether a network interface of that name exists in our network namespace. */
bool netif_exists(const char *name);

/* The interface's ARP hardware type (ARPHRD_*, what libpcap maps to a link
 * type), asked with SIOCGIFHWADDR as libpcap does: no packet socket, no
 * privilege. -ENODEV if there is no such interface. */
int netif_arp_type(const char *name);

/* Follows interfaces coming and going (rtnetlink RTM_NEWLINK/RTM_DELLINK),
 * so that a capture waiting for its interface starts when it appears. */
typedef struct NetifWatch NetifWatch;
typedef void (*NetifCallback)(const char *name, bool present, void *userdata);

int netif_watch_new(NetifWatch **ret, sd_event *event, NetifCallback callback, void *userdata);
NetifWatch *netif_watch_free(NetifWatch *w);
DEFINE_POINTER_CLEANUP(NetifWatch, netif_watch_free);
