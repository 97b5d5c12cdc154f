/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "capture-options.h"
#include "macro.h"

/* INI reading shared by captured.conf, capture.d/ and upload.d/: inih does
 * the parsing; this adds file:line to every complaint. */

typedef struct ConfigLocation {
        const char *path;
        unsigned line;
        bool trusted;            /* owned by root, writable by nobody else */
} ConfigLocation;

/* Called for each key=value; returns 0 to go on or negative errno (only for
 * fatal errors such as ENOMEM). Bad values are logged with
 * config_log_bad_line() and skipped. */
typedef int (*ConfigEntryHandler)(void *userdata, const ConfigLocation *where,
                                  const char *section, const char *key, const char *value);

int config_file_parse(const char *path, ConfigEntryHandler handler, void *userdata);

/* Parses <dir>/ *.conf in lexical order. A missing directory is fine. */
int config_file_parse_directory(const char *dir, ConfigEntryHandler handler, void *userdata);

void config_log_bad_line(const ConfigLocation *where, const char *format, ...) _printf_(2, 3);

/* Splits a command line into words: white space separates, '…' and "…"
 * quote, backslash escapes. The first word must be an absolute path. */
int config_split_command(const char *text, char ***ret);

/* Parses one capture option (SPEC §3 key) into o, logging a bad value;
 * adds the option to *mask (if not NULL) when it was set. */
int config_parse_capture_option(CaptureOptions *o, OptionMask *mask, const ConfigLocation *where,
                                const char *key, const char *value);
