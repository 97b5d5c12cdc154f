/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* frame-sender: offers raw Ethernet frames on an interface as fast as the
 * kernel takes them, or paced, for bench/capture-fidelity (Python cannot
 * offer these rates). AF_PACKET SOCK_RAW, sendmmsg() in batches of 64.
 *
 *   frame-sender IFACE COUNT SIZE [PPS]
 *
 * SIZE is the frame length without FCS (60..1514); PPS 0 or absent sends
 * unpaced. Each frame is a broadcast with EtherType 0x88b5 (IEEE local
 * experimental) and carries its sequence number. Prints "sent N seconds S"
 * on stdout. Built by the bench script with cc; not installed. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
        static unsigned char frames[BATCH][1514];
        struct mmsghdr messages[BATCH];
        struct iovec iov[BATCH];
        struct sockaddr_ll address = { .sll_family = AF_PACKET };
        unsigned long long count, sent = 0;
        unsigned size;
        double pps, start;
        int fd;

        if (argc < 4) {
                fprintf(stderr, "usage: %s IFACE COUNT SIZE [PPS]\n", argv[0]);
                return 2;
        }
        count = strtoull(argv[2], NULL, 10);
        size = (unsigned) strtoul(argv[3], NULL, 10);
        pps = argc > 4 ? strtod(argv[4], NULL) : 0;
        if (size < 60 || size > 1514) {
                fprintf(stderr, "frame-sender: SIZE must be 60..1514\n");
                return 2;
        }

        fd = socket(AF_PACKET, SOCK_RAW, 0);
        if (fd < 0) {
                perror("frame-sender: socket");
                return 1;
        }
        address.sll_ifindex = (int) if_nametoindex(argv[1]);
        if (address.sll_ifindex == 0) {
                perror("frame-sender: if_nametoindex");
                return 1;
        }
        address.sll_halen = ETH_ALEN;
        memset(address.sll_addr, 0xff, ETH_ALEN);

        for (unsigned i = 0; i < BATCH; i++) {
                unsigned char *f = frames[i];

                memset(f, 0xff, 6);                                  /* broadcast */
                memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);        /* locally administered */
                f[12] = 0x88;
                f[13] = 0xb5;
                memcpy(f + 14, "capture-fidelity", 16);
                iov[i] = (struct iovec) { .iov_base = f, .iov_len = size };
                messages[i] = (struct mmsghdr) { .msg_hdr = {
                        .msg_name = &address, .msg_namelen = sizeof(address), .msg_iov = &iov[i], .msg_iovlen = 1 } };
        }

        start = now();
        while (sent < count) {
                unsigned n = count - sent < BATCH ? (unsigned) (count - sent) : BATCH;
                int k;

                if (pps > 0) {
                        /* Paced: send what is due by now (at most a batch),
                         * or sleep until the next frame is. */
                        double due = (now() - start) * pps;

                        if ((double) sent >= due) {
                                double wait = ((double) sent + 1 - due) / pps;
                                struct timespec ts = { (time_t) wait, (long) ((wait - (time_t) wait) * 1e9) };

                                nanosleep(&ts, NULL);
                                continue;
                        }
                        if ((double) n > due - (double) sent)
                                n = (unsigned) (due - (double) sent) + 1;
                }
                for (unsigned i = 0; i < n; i++) {
                        uint64_t seq = sent + i;
                        memcpy(frames[i] + 30, &seq, sizeof(seq));
                }
                k = sendmmsg(fd, messages, n, 0);
                if (k < 0) {
                        if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR)
                                continue;
                        perror("frame-sender: sendmmsg");
                        return 1;
                }
                sent += (unsigned) k;
        }
        printf("sent %llu seconds %.6f\n", sent, now() - start);
        return 0;
}
