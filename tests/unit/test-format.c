/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <stdlib.h>
#include <time.h>

#include "format.h"

#define SEC(n)    ((uint64_t) (n) * USEC_PER_SEC)
#define MINUTE(n) SEC((uint64_t) (n) * 60)
#define HOUR(n)   MINUTE((uint64_t) (n) * 60)
#define DAY(n)    HOUR((uint64_t) (n) * 24)

static void test_format_bytes(void) {
        static const struct {
                uint64_t bytes;
                const char *text;
        } cases[] = {
                { 0,                      "0B"      },
                { 1,                      "1B"      },
                { 999,                    "999B"    },
                { 1000,                   "1.0K"    },
                { 1049,                   "1.0K"    },
                { 1050,                   "1.1K"    },
                { 25000000,               "25.0M"   },  /* one file of the default FileSize 25 */
                { 24999999,               "25.0M"   },
                { 26214400,               "26.2M"   },
                { 999949,                 "999.9K"  },
                { 999950,                 "1.0M"    },  /* rounds up into the next unit, not "1000.0K" */
                { 1200000000,             "1.2G"    },
                { UINT64_C(5) * 1000 * 1000 * 1000 * 1000, "5.0T" },
                { UINT64_MAX,             "18.4E"   },
        };
        char buf[FORMAT_BYTES_MAX];

        for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_test_message("%" G_GUINT64_FORMAT " bytes", cases[i].bytes);
                g_assert_cmpstr(format_bytes(buf, sizeof(buf), cases[i].bytes), ==, cases[i].text);
        }
}

static void test_format_bytes_truncates(void) {
        char small[4];

        /* A short buffer is cut, never overrun, and always terminated. */
        g_assert_cmpstr(format_bytes(small, sizeof(small), 25000000), ==, "25.");
}

static void test_format_timestamp(void) {
        char buf[FORMAT_TIMESTAMP_MAX];

        g_assert_cmpstr(format_timestamp(buf, sizeof(buf), 0), ==, "n/a");
        /* 2024-05-07 10:00:00 UTC, a Tuesday; the zone is set in main(). */
        g_assert_cmpstr(format_timestamp(buf, sizeof(buf), SEC(1715076000) + 999999), ==,
                        "Tue 2024-05-07 10:00:00 UTC");
}

static void test_format_timestamp_relative(void) {
        const uint64_t now = SEC(1715076000);
        static const struct {
                uint64_t ago;
                const char *text;
        } past[] = {
                { 1,                          "1us ago"          },
                { 999,                        "999us ago"        },
                { 1500,                       "1ms ago"          },
                { SEC(1),                     "1s ago"           },
                { SEC(59),                    "59s ago"          },
                { MINUTE(1),                  "1min ago"         },
                { MINUTE(2) + SEC(3),         "2min 3s ago"      },
                { MINUTE(5) + SEC(3),         "5min ago"         },
                { HOUR(1) + MINUTE(5),        "1h 5min ago"      },
                { HOUR(7) + MINUTE(5),        "7h ago"           },
                { HOUR(27),                   "1 day 3h ago"     },
                { DAY(1) + HOUR(1),           "1 day 1h ago"     },
                { DAY(3) + HOUR(5),           "3 days ago"       },
                { DAY(8),                     "1 week 1 day ago" },
                { DAY(14),                    "2 weeks ago"      },
                { DAY(400),                   "1 year 1 month ago" },
        };
        char buf[FORMAT_TIMESPAN_MAX];

        for (gsize i = 0; i < G_N_ELEMENTS(past); i++) {
                g_test_message("%" G_GUINT64_FORMAT "us ago", past[i].ago);
                g_assert_cmpstr(format_timestamp_relative(buf, sizeof(buf), now - past[i].ago, now), ==,
                                past[i].text);
        }

        g_assert_cmpstr(format_timestamp_relative(buf, sizeof(buf), now, now), ==, "now");
        g_assert_cmpstr(format_timestamp_relative(buf, sizeof(buf), now + SEC(5), now), ==, "5s left");
        g_assert_cmpstr(format_timestamp_relative(buf, sizeof(buf), 0, now), ==, "n/a");
}

static void test_format_timespan(void) {
        static const struct {
                uint64_t usec;
                const char *text;
        } cases[] = {
                { 0,                             "0"               },
                { 1,                             "1us"             },
                { SEC(45),                       "45s"             },
                { HOUR(1),                       "1h"              },
                { HOUR(1) + MINUTE(30),          "1h 30min"        },
                { DAY(31),                       "4w 3d"           },  /* RotateSeconds' maximum */
                { SEC(1) + 500 * USEC_PER_MSEC,  "1s 500ms"        },
        };
        char buf[FORMAT_TIMESPAN_MAX];

        for (gsize i = 0; i < G_N_ELEMENTS(cases); i++)
                g_assert_cmpstr(format_timespan(buf, sizeof(buf), cases[i].usec), ==, cases[i].text);
}

static void test_utf8_width(void) {
        g_assert_cmpuint(utf8_width(""), ==, 0);
        g_assert_cmpuint(utf8_width("eth0"), ==, 4);
        g_assert_cmpuint(utf8_width("25 MB × 10"), ==, 10);
        g_assert_cmpuint(utf8_width("●"), ==, 1);
}

int main(int argc, char *argv[]) {
        setenv("TZ", "UTC", 1);
        tzset();

        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/format/bytes", test_format_bytes);
        g_test_add_func("/format/bytes/truncates", test_format_bytes_truncates);
        g_test_add_func("/format/timestamp", test_format_timestamp);
        g_test_add_func("/format/timestamp/relative", test_format_timestamp_relative);
        g_test_add_func("/format/timespan", test_format_timespan);
        g_test_add_func("/format/utf8-width", test_utf8_width);
        return g_test_run();
}
