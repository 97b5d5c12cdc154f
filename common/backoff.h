/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <stdlib.h>

/* The delay before retry number attempt (1 for the first after a failure):
 * base, doubled for each further attempt, at most max. */
static inline uint64_t backoff_usec(uint64_t base, uint64_t max, unsigned attempt) {
        uint64_t usec = base;

        for (unsigned i = 1; i < attempt && usec < max; i++)
                usec *= 2;
        return usec < max ? usec : max;
}

/* usec moved by a random amount between below_percent under and
 * above_percent over it, so that what fails together does not retry
 * together. */
static inline uint64_t jitter_usec(uint64_t usec, unsigned below_percent, unsigned above_percent) {
        return usec / 1000 * (1000 - 10 * below_percent + arc4random_uniform(10 * (below_percent + above_percent) + 1));
}
