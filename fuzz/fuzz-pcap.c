/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pcap walkers that decide how much of a crashed tcpdump's file to
 * keep: the one in memory, and the repair of a file (a fixed buffer over
 * pread(), then ftruncate()), which must agree with it. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pcap-file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_repair(const uint8_t *data, size_t size, size_t valid) {
        static int fd = -1;
        uint64_t repaired = 0;
        bool truncated = false;
        struct stat st;
        int r;

        if (fd < 0)
                fd = memfd_create("fuzz-pcap", MFD_CLOEXEC);
        if (fd < 0 || ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t) size)
                return;

        r = pcap_file_repair(fd, &repaired, &truncated);
        if (r < 0 || fstat(fd, &st) < 0)
                abort();
        if (r == 0) {
                /* No pcap header: left as it is. */
                if (valid != 0 || (size_t) st.st_size != size)
                        abort();
                return;
        }
        if (repaired != valid || (uint64_t) st.st_size != valid || truncated != (valid < size))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        size_t valid = pcap_valid_length(data, size);

        if (valid > size)
                abort();
        /* What it keeps is whole: walking it again keeps all of it. */
        if (valid > 0 && pcap_valid_length(data, valid) != valid)
                abort();
        check_repair(data, size, valid);
        return 0;
}
