/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "pcap-file.h"

#define PCAP_MAGIC_USEC 0xa1b2c3d4u
#define PCAP_MAGIC_NSEC 0xa1b23c4du
/* Larger than any snapshot length tcpdump uses; a record claiming more is
 * garbage (a torn write), not a packet. */
#define PCAP_MAX_RECORD (256u * 1024u)
#define PCAP_WALK_BUFFER (256u * 1024u)

static uint32_t read_u32(const uint8_t *p, bool swapped) {
        uint32_t v;

        memcpy(&v, p, sizeof(v));
        return swapped ? __builtin_bswap32(v) : v;
}

size_t pcap_valid_length(const uint8_t *data, size_t size) {
        uint32_t magic;
        bool swapped;
        size_t offset;

        if (size < PCAP_GLOBAL_HEADER_SIZE)
                return 0;

        magic = read_u32(data, false);
        if (magic == PCAP_MAGIC_USEC || magic == PCAP_MAGIC_NSEC)
                swapped = false;
        else if (__builtin_bswap32(magic) == PCAP_MAGIC_USEC || __builtin_bswap32(magic) == PCAP_MAGIC_NSEC)
                swapped = true;
        else
                return 0;

        offset = PCAP_GLOBAL_HEADER_SIZE;
        while (size - offset >= PCAP_RECORD_HEADER_SIZE) {
                uint32_t captured = read_u32(data + offset + 8, swapped);
                uint32_t original = read_u32(data + offset + 12, swapped);

                if (captured > PCAP_MAX_RECORD || captured > original)
                        break;
                if (size - offset - PCAP_RECORD_HEADER_SIZE < captured)
                        break;
                offset += PCAP_RECORD_HEADER_SIZE + captured;
        }
        return offset;
}

/* Walks the record headers with one fixed buffer: memory does not grow
 * with the file. */
static int valid_length_of_fd(int fd, uint64_t size, uint64_t *ret) {
        static uint8_t buffer[PCAP_WALK_BUFFER];
        uint64_t offset = 0, base = 0;   /* file offset of buffer[0] */
        size_t filled = 0;
        bool header = true, swapped = false;

        for (;;) {
                size_t at = (size_t) (offset - base), need;
                uint32_t captured, original;

                need = header ? PCAP_GLOBAL_HEADER_SIZE : PCAP_RECORD_HEADER_SIZE;
                if (filled - at < need) {
                        ssize_t n;

                        /* Keep the unread part, fill up the rest. */
                        memmove(buffer, buffer + at, filled - at);
                        filled -= at;
                        base = offset;
                        at = 0;
                        n = pread(fd, buffer + filled, sizeof(buffer) - filled, (off_t) (base + filled));
                        if (n < 0)
                                return -errno;
                        filled += (size_t) n;
                        if (filled < need)
                                break;   /* end of file, or a partial header */
                }

                if (header) {
                        uint8_t check[PCAP_GLOBAL_HEADER_SIZE + PCAP_RECORD_HEADER_SIZE] = {};

                        memcpy(check, buffer, PCAP_GLOBAL_HEADER_SIZE);
                        if (pcap_valid_length(check, PCAP_GLOBAL_HEADER_SIZE) == 0) {
                                *ret = 0;
                                return 0;
                        }
                        swapped = read_u32(buffer, false) != PCAP_MAGIC_USEC && read_u32(buffer, false) != PCAP_MAGIC_NSEC;
                        offset = PCAP_GLOBAL_HEADER_SIZE;
                        header = false;
                        continue;
                }

                captured = read_u32(buffer + at + 8, swapped);
                original = read_u32(buffer + at + 12, swapped);
                if (captured > PCAP_MAX_RECORD || captured > original)
                        break;
                if (size - offset - PCAP_RECORD_HEADER_SIZE < captured)
                        break;
                offset += PCAP_RECORD_HEADER_SIZE + captured;
                if (offset - base > filled) {
                        /* The payload runs past the buffer: skip it unread. */
                        filled = 0;
                        base = offset;
                }
                if (offset == size)
                        break;
        }

        *ret = header ? 0 : offset;
        return 0;
}

int pcap_file_repair(int fd, uint64_t *ret_size, bool *ret_truncated) {
        struct stat st;
        uint64_t valid = 0;
        int r;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if (st.st_size < PCAP_GLOBAL_HEADER_SIZE)
                return 0;

        r = valid_length_of_fd(fd, (uint64_t) st.st_size, &valid);
        if (r < 0)
                return r;
        if (valid == 0)
                return 0;

        if (valid < (uint64_t) st.st_size && ftruncate(fd, (off_t) valid) < 0)
                return -errno;

        if (ret_size)
                *ret_size = valid;
        if (ret_truncated)
                *ret_truncated = valid < (uint64_t) st.st_size;
        return 1;
}
