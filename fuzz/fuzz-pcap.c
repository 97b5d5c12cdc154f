/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pcap walker that decides how much of a crashed tcpdump's file to keep. */
#include <stdint.h>
#include <stdlib.h>

#include "pcap-file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        size_t valid = pcap_valid_length(data, size);

        if (valid > size)
                abort();
        /* What it keeps is whole: walking it again keeps all of it. */
        if (valid > 0 && pcap_valid_length(data, valid) != valid)
                abort();
        return 0;
}
