/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "format.h"
#include "macro.h"

#define USEC_PER_MINUTE (UINT64_C(60) * USEC_PER_SEC)
#define USEC_PER_HOUR   (UINT64_C(60) * USEC_PER_MINUTE)
#define USEC_PER_DAY    (UINT64_C(24) * USEC_PER_HOUR)
#define USEC_PER_WEEK   (UINT64_C(7) * USEC_PER_DAY)
#define USEC_PER_MONTH  (UINT64_C(2629800) * USEC_PER_SEC)  /* 30.44 days */
#define USEC_PER_YEAR   (UINT64_C(31557600) * USEC_PER_SEC) /* 365.25 days */

char *format_bytes(char *buf, size_t l, uint64_t bytes) {
        static const char suffixes[] = "KMGTPE";
        uint64_t unit = 1000;

        if (bytes < 1000) {
                snprintf(buf, l, "%" PRIu64 "B", bytes);
                return buf;
        }

        /* Pick the unit after rounding, so that 999 960 bytes is "1.0M", not "1000.0K". */
        for (size_t i = 0;; i++, unit *= 1000) {
                uint64_t tenth = unit / 10;
                uint64_t tenths = bytes / tenth + (bytes % tenth >= tenth / 2);

                if (tenths < 10000 || suffixes[i + 1] == '\0') {
                        snprintf(buf, l, "%" PRIu64 ".%" PRIu64 "%c", tenths / 10, tenths % 10, suffixes[i]);
                        return buf;
                }
        }
}

char *format_timestamp(char *buf, size_t l, uint64_t usec) {
        time_t sec = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;

        if (usec == 0 || !localtime_r(&sec, &tm) ||
            strftime(buf, l, "%a %Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                snprintf(buf, l, "n/a");
        return buf;
}

typedef struct RelativeRule {
        uint64_t threshold;       /* applies from this distance on */
        uint64_t big;
        const char *big_one, *big_many;
        uint64_t small;           /* 0 = no second unit */
        const char *small_one, *small_many;
} RelativeRule;

/* The two most significant units, coarser the further away, as systemctl does. */
static const RelativeRule relative_rules[] = {
        { USEC_PER_YEAR,        USEC_PER_YEAR,   " year",  " years",  USEC_PER_MONTH,  " month", " months" },
        { USEC_PER_MONTH,       USEC_PER_MONTH,  " month", " months", USEC_PER_DAY,    " day",   " days"   },
        { USEC_PER_WEEK,        USEC_PER_WEEK,   " week",  " weeks",  USEC_PER_DAY,    " day",   " days"   },
        { 2 * USEC_PER_DAY,     USEC_PER_DAY,    " day",   " days",   0,               NULL,     NULL      },
        { 25 * USEC_PER_HOUR,   USEC_PER_DAY,    " day",   " days",   USEC_PER_HOUR,   "h",      "h"       },
        { 6 * USEC_PER_HOUR,    USEC_PER_HOUR,   "h",      "h",       0,               NULL,     NULL      },
        { USEC_PER_HOUR,        USEC_PER_HOUR,   "h",      "h",       USEC_PER_MINUTE, "min",    "min"     },
        { 5 * USEC_PER_MINUTE,  USEC_PER_MINUTE, "min",    "min",     0,               NULL,     NULL      },
        { USEC_PER_MINUTE,      USEC_PER_MINUTE, "min",    "min",     USEC_PER_SEC,    "s",      "s"       },
        { USEC_PER_SEC,         USEC_PER_SEC,    "s",      "s",       0,               NULL,     NULL      },
        { USEC_PER_MSEC,        USEC_PER_MSEC,   "ms",     "ms",      0,               NULL,     NULL      },
        { 1,                    1,               "us",     "us",      0,               NULL,     NULL      },
};

static const char *plural(uint64_t n, const char *one, const char *many) {
        return n == 1 ? one : many;
}

/* "N big ago" or "N big M small ago", leaving out a zero second part. */
static void format_rule(char *buf, size_t l, const RelativeRule *rule, uint64_t d, const char *suffix) {
        uint64_t a = d / rule->big;
        uint64_t b = rule->small > 0 ? (d % rule->big) / rule->small : 0;

        if (b == 0)
                snprintf(buf, l, "%" PRIu64 "%s %s", a, plural(a, rule->big_one, rule->big_many), suffix);
        else
                snprintf(buf, l, "%" PRIu64 "%s %" PRIu64 "%s %s",
                         a, plural(a, rule->big_one, rule->big_many),
                         b, plural(b, rule->small_one, rule->small_many), suffix);
}

char *format_timestamp_relative(char *buf, size_t l, uint64_t usec, uint64_t now) {
        const char *suffix = usec < now ? "ago" : "left";
        uint64_t d = usec < now ? now - usec : usec - now;

        if (usec == 0) {
                snprintf(buf, l, "n/a");
                return buf;
        }

        for (size_t i = 0; i < ELEMENTSOF(relative_rules); i++)
                if (d >= relative_rules[i].threshold) {
                        format_rule(buf, l, &relative_rules[i], d, suffix);
                        return buf;
                }

        snprintf(buf, l, "now");
        return buf;
}

char *format_timespan(char *buf, size_t l, uint64_t usec) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } units[] = {
                { "w",   USEC_PER_WEEK   },
                { "d",   USEC_PER_DAY    },
                { "h",   USEC_PER_HOUR   },
                { "min", USEC_PER_MINUTE },
                { "s",   USEC_PER_SEC    },
                { "ms",  USEC_PER_MSEC   },
                { "us",  1               },
        };
        size_t n = 0;

        if (l == 0)
                return buf;
        buf[0] = '\0';
        if (usec == 0) {
                snprintf(buf, l, "0");
                return buf;
        }

        for (size_t i = 0; i < ELEMENTSOF(units) && usec > 0; i++) {
                uint64_t a = usec / units[i].usec;
                int k;

                if (a == 0)
                        continue;
                usec %= units[i].usec;

                k = snprintf(buf + n, l - n, "%s%" PRIu64 "%s", n > 0 ? " " : "", a, units[i].suffix);
                if (k < 0 || (size_t) k >= l - n)
                        break;
                n += (size_t) k;
        }
        return buf;
}

size_t utf8_width(const char *s) {
        size_t n = 0;

        for (; *s; s++)
                if (((unsigned char) *s & 0xc0) != 0x80)
                        n++;
        return n;
}
