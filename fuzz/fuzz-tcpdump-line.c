/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcpdump's stderr lines, which the daemon parses for readiness and counters. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tcpdump.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        TcpdumpStatistics st = {};
        char *line = strndup((const char *) data, size);

        if (!line)
                return 0;
        if (tcpdump_parse_line(line, &st) != TCPDUMP_LINE_STATISTICS && st.seen != 0)
                abort();
        free(line);
        return 0;
}
