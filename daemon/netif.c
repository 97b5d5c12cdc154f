/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "names.h"
#include "netif.h"

struct NetifWatch {
        sd_event_source *source;
        NetifCallback callback;
        void *userdata;
};

bool netif_exists(const char *name) {
        return interface_name_is_valid(name) && if_nametoindex(name) > 0;
}

int netif_arp_type(const char *name) {
        _cleanup_(closep) int fd = -EBADF;
        struct ifreq ifr = {};

        if (!interface_name_is_valid(name) || strlen(name) >= sizeof(ifr.ifr_name))
                return -ENODEV;
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        strcpy(ifr.ifr_name, name);
        if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
                return -errno;
        return ifr.ifr_hwaddr.sa_family;
}

static const char *link_name(const struct nlmsghdr *h) {
        const struct ifinfomsg *ifi = NLMSG_DATA(h);
        int length = (int) IFLA_PAYLOAD(h);

        for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, length); a = RTA_NEXT(a, length))
                if (a->rta_type == IFLA_IFNAME)
                        return memchr(RTA_DATA(a), 0, RTA_PAYLOAD(a)) ? RTA_DATA(a) : NULL;
        return NULL;
}

static int on_netlink(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        NetifWatch *w = userdata;
        char buffer[16384] __attribute__((aligned(__alignof__(struct nlmsghdr))));

        for (;;) {
                ssize_t n = recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);

                if (n < 0) {
                        if (errno == ENOBUFS) {
                                /* Messages were lost: whoever waits re-checks for itself. */
                                log_warning("rtnetlink overflowed; interface changes may have been missed.");
                                continue;
                        }
                        return 0;
                }

                for (struct nlmsghdr *h = (struct nlmsghdr *) buffer; NLMSG_OK(h, (size_t) n); h = NLMSG_NEXT(h, n)) {
                        const char *name;

                        if (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK)
                                continue;
                        name = link_name(h);
                        if (name)
                                w->callback(name, h->nlmsg_type == RTM_NEWLINK, w->userdata);
                }
        }
}

int netif_watch_new(NetifWatch **ret, sd_event *event, NetifCallback callback, void *userdata) {
        _cleanup_(closep) int fd = -EBADF;
        struct sockaddr_nl address = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
        NetifWatch *w;
        int r;

        fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &address, sizeof(address)) < 0)
                return -errno;

        w = calloc(1, sizeof(NetifWatch));
        if (!w)
                return -ENOMEM;
        w->callback = callback;
        w->userdata = userdata;

        r = sd_event_add_io(event, &w->source, fd, EPOLLIN, on_netlink, w);
        if (r < 0) {
                free(w);
                return r;
        }
        (void) sd_event_source_set_io_fd_own(w->source, true);
        TAKE_FD(fd);

        *ret = w;
        return 0;
}

NetifWatch *netif_watch_free(NetifWatch *w) {
        if (!w)
                return NULL;
        sd_event_source_disable_unref(w->source);
        free(w);
        return NULL;
}
