/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

/* The capture options of SPEC §3, shared by the D-Bus API, the config files
 * and capturectl: one table says each option's key, type, range and help. */

#define FILTER_MAX 4096
/* Upload=: at most this many targets, in at most this many characters. */
#define UPLOAD_LIST_TARGETS_MAX 8
#define UPLOAD_LIST_MAX 1024

typedef struct CaptureOptions {
        char *filter;             /* BPF expression, "" = everything */
        uint32_t file_size;       /* millions of bytes, as tcpdump -C */
        uint32_t file_count;      /* ring length, the live file counted */
        uint32_t snap_length;     /* bytes */
        uint32_t buffer_size;     /* KiB, as tcpdump -B */
        bool promiscuous;
        uint32_t rotate_seconds;  /* 0 = rotate by size only */
        char *upload;             /* upload target names separated by spaces, "" = none */
} CaptureOptions;

typedef enum OptionType {
        OPTION_UINT32,
        OPTION_BOOLEAN,
        OPTION_STRING,
} OptionType;

typedef struct OptionSpec {
        const char *key;          /* D-Bus dictionary key and config file key */
        const char *cli_name;     /* capturectl long option */
        OptionType type;
        uint32_t min, max;        /* OPTION_UINT32 range; OPTION_STRING max length */
        size_t offset;            /* into CaptureOptions */
        const char *help;
} OptionSpec;

typedef struct OptionValue {
        OptionType type;
        union {
                uint32_t u;
                bool b;
                const char *s;    /* borrowed */
        };
} OptionValue;

extern const OptionSpec capture_option_table[];
extern const size_t capture_option_table_size;

const OptionSpec *capture_option_find(const char *key);
const OptionSpec *capture_option_find_cli(const char *cli_name);

/* The D-Bus signature character of an option's type. */
char option_type_signature(OptionType type);

void capture_options_init_default(CaptureOptions *o);
void capture_options_done(CaptureOptions *o);
int capture_options_copy(CaptureOptions *dst, const CaptureOptions *src);
bool capture_options_equal(const CaptureOptions *a, const CaptureOptions *b);

/* Parses the text form of a value (config file, command line). Strings are
 * borrowed from text. On failure *ret_error says why, naming the key. */
int option_value_parse(const OptionSpec *spec, const char *text, OptionValue *ret, char **ret_error);

/* Range-checks value and stores it. On failure *ret_error says why, naming
 * the key, and o is unchanged. */
int capture_options_set(CaptureOptions *o, const OptionSpec *spec, const OptionValue *value, char **ret_error);

OptionValue capture_options_get(const CaptureOptions *o, const OptionSpec *spec);

/* Which options were given: bit i stands for capture_option_table[i]. */
typedef uint32_t OptionMask;

static inline OptionMask option_mask_of(const OptionSpec *spec) {
        return (OptionMask) 1 << (spec - capture_option_table);
}

/* Copies the options in mask from src to dst. */
int capture_options_merge(CaptureOptions *dst, const CaptureOptions *src, OptionMask mask);

/* As capture_options_read_message(), also saying which keys were given. */
int capture_options_read_message_masked(CaptureOptions *o, sd_bus_message *m, OptionMask *ret_mask,
                                        sd_bus_error *error);

/* Reads an a{sv} of options into o (which holds the defaults to start from).
 * Unknown keys, wrong types and out-of-range values fail with InvalidArgs
 * naming the key. */
int capture_options_read_message(CaptureOptions *o, sd_bus_message *m, sd_bus_error *error);

/* Appends one option as a dictionary entry {sv}. */
int option_value_append(sd_bus_message *m, const OptionSpec *spec, const OptionValue *value);

/* Appends all options as a{sv}. */
int capture_options_append(sd_bus_message *m, const CaptureOptions *o);

/* Splits an Upload= value into its target names (NULL-terminated, free
 * with strv_free(); empty for ""). */
int upload_list_split(const char *list, char ***ret);

/* Formats a value as text (as option_value_parse reads it). */
int option_value_format(const OptionValue *value, char **ret);

#define CAPTURE_OPTIONS_DEFAULT_FILE_SIZE 25
#define CAPTURE_OPTIONS_DEFAULT_FILE_COUNT 10
#define CAPTURE_OPTIONS_DEFAULT_SNAP_LENGTH 262144
#define CAPTURE_OPTIONS_DEFAULT_BUFFER_SIZE 32768
