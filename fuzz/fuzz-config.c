/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* captured.conf as an admin (or a broken editor) may write it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "configuration.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char path[] = "/tmp/fuzz-config-XXXXXX";
        Config *c = NULL;
        int fd;

        log_set_max_level(LOG_CRIT);   /* bad lines are expected; do not flood */

        fd = mkstemp(path);
        if (fd < 0)
                return 0;
        if (write(fd, data, size) != (ssize_t) size) {
                close(fd);
                unlink(path);
                return 0;
        }
        close(fd);

        if (config_new(&c) >= 0) {
                (void) config_parse_file(c, path);
                config_free(c);
        }
        unlink(path);
        return 0;
}
