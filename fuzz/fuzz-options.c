/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Option values and names as callers send them: "Key=value" lines. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture-options.h"
#include "names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = strndup((const char *) data, size), *saveptr = NULL;
        CaptureOptions o;

        if (!text)
                return 0;
        capture_options_init_default(&o);

        for (char *line = strtok_r(text, "\n", &saveptr); line; line = strtok_r(NULL, "\n", &saveptr)) {
                char *eq = strchr(line, '='), *message = NULL;
                const OptionSpec *spec;
                OptionValue v;

                (void) interface_name_is_valid(line);
                (void) upload_target_name_is_valid(line);
                if (!eq)
                        continue;
                *eq = 0;
                spec = capture_option_find(line);
                if (!spec)
                        continue;
                if (option_value_parse(spec, eq + 1, &v, &message) >= 0 &&
                    capture_options_set(&o, spec, &v, &message) >= 0) {
                        /* What was accepted is in range. */
                        OptionValue back = capture_options_get(&o, spec);
                        if (spec->type == OPTION_UINT32 && back.u > spec->max)
                                abort();
                }
                free(message);
        }

        capture_options_done(&o);
        free(text);
        return 0;
}
