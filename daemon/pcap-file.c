/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "pcap-file.h"

#define PCAP_MAGIC_USEC 0xa1b2c3d4u
#define PCAP_MAGIC_NSEC 0xa1b23c4du
/* Larger than any snapshot length tcpdump uses; a record claiming more is
 * garbage (a torn write), not a packet. */
#define PCAP_MAX_RECORD (256u * 1024u)

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

int pcap_file_repair(const char *path, uint64_t *ret_size, bool *ret_truncated) {
        _cleanup_(closep) int fd = -EBADF;
        struct stat st;
        size_t valid;
        void *map;

        fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if (st.st_size < PCAP_GLOBAL_HEADER_SIZE)
                return 0;

        map = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED)
                return -errno;
        valid = pcap_valid_length(map, (size_t) st.st_size);
        munmap(map, (size_t) st.st_size);

        if (valid == 0)
                return 0;

        if (valid < (size_t) st.st_size && ftruncate(fd, (off_t) valid) < 0)
                return -errno;

        if (ret_size)
                *ret_size = valid;
        if (ret_truncated)
                *ret_truncated = valid < (size_t) st.st_size;
        return 1;
}
