/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "capture-options.h"
#include "macro.h"
#include "names.h"
#include "strv.h"

#define OPT(k, c, t, lo, hi, field, h) \
        { .key = k, .cli_name = c, .type = t, .min = lo, .max = hi, .offset = offsetof(CaptureOptions, field), .help = h }

const OptionSpec capture_option_table[] = {
        OPT("FileSize", "file-size", OPTION_UINT32, 1, 100000, file_size,
            "size of each file in millions of bytes (tcpdump -C)"),
        OPT("FileCount", "file-count", OPTION_UINT32, 2, 1000000, file_count,
            "files kept per capture, the live one counted"),
        OPT("Filter", "filter", OPTION_STRING, 0, FILTER_MAX, filter,
            "BPF filter expression (pcap-filter(7))"),
        OPT("SnapLength", "snaplen", OPTION_UINT32, 0, 262144, snap_length,
            "bytes kept of each packet, 0 = 262144"),
        OPT("BufferSize", "buffer-size", OPTION_UINT32, 0, 4194304, buffer_size,
            "kernel capture buffer in KiB (tcpdump -B), 0 = 32768"),
        OPT("Promiscuous", "promiscuous", OPTION_BOOLEAN, 0, 1, promiscuous,
            "put the interface into promiscuous mode"),
        OPT("RotateSeconds", "rotate-seconds", OPTION_UINT32, 0, 31 * 24 * 3600, rotate_seconds,
            "also start a new file after this many seconds, 0 = by size only"),
        OPT("Upload", "upload", OPTION_STRING, 0, UPLOAD_LIST_MAX, upload,
            "upload targets (upload.d/NAME.conf) for finished files, separated by spaces, \"\" = none"),
};

const size_t capture_option_table_size = ELEMENTSOF(capture_option_table);

const OptionSpec *capture_option_find(const char *key) {
        for (size_t i = 0; i < capture_option_table_size; i++)
                if (strcmp(capture_option_table[i].key, key) == 0)
                        return &capture_option_table[i];
        return NULL;
}

const OptionSpec *capture_option_find_cli(const char *cli_name) {
        for (size_t i = 0; i < capture_option_table_size; i++)
                if (strcmp(capture_option_table[i].cli_name, cli_name) == 0)
                        return &capture_option_table[i];
        return NULL;
}

char option_type_signature(OptionType type) {
        switch (type) {
        case OPTION_UINT32:
                return 'u';
        case OPTION_BOOLEAN:
                return 'b';
        case OPTION_STRING:
                return 's';
        }
        return 0;
}

void capture_options_init_default(CaptureOptions *o) {
        *o = (CaptureOptions) {
                .file_size = CAPTURE_OPTIONS_DEFAULT_FILE_SIZE,
                .file_count = CAPTURE_OPTIONS_DEFAULT_FILE_COUNT,
                .snap_length = CAPTURE_OPTIONS_DEFAULT_SNAP_LENGTH,
                .buffer_size = CAPTURE_OPTIONS_DEFAULT_BUFFER_SIZE,
                .promiscuous = true,
        };
}

void capture_options_done(CaptureOptions *o) {
        o->filter = mfree_str(o->filter);
        o->upload = mfree_str(o->upload);
}

int capture_options_copy(CaptureOptions *dst, const CaptureOptions *src) {
        CaptureOptions copy = *src;

        copy.filter = NULL;
        copy.upload = NULL;
        if (free_and_strdup(&copy.filter, src->filter) < 0 ||
            free_and_strdup(&copy.upload, src->upload) < 0) {
                capture_options_done(&copy);
                return -ENOMEM;
        }

        capture_options_done(dst);
        *dst = copy;
        return 0;
}

bool capture_options_equal(const CaptureOptions *a, const CaptureOptions *b) {
        return a->file_size == b->file_size &&
                a->file_count == b->file_count &&
                a->snap_length == b->snap_length &&
                a->buffer_size == b->buffer_size &&
                a->promiscuous == b->promiscuous &&
                a->rotate_seconds == b->rotate_seconds &&
                strcmp(strempty(a->filter), strempty(b->filter)) == 0 &&
                strcmp(strempty(a->upload), strempty(b->upload)) == 0;
}

static int set_error(char **ret_error, const char *format, ...) _printf_(2, 3);
static int set_error(char **ret_error, const char *format, ...) {
        va_list ap;

        if (!ret_error)
                return -EINVAL;

        va_start(ap, format);
        if (vasprintf(ret_error, format, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return -EINVAL;
}

static int parse_boolean(const char *text) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(text, yes[i]) == 0)
                        return 1;
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(text, no[i]) == 0)
                        return 0;
        return -EINVAL;
}

int option_value_parse(const OptionSpec *spec, const char *text, OptionValue *ret, char **ret_error) {
        OptionValue v = { .type = spec->type };

        switch (spec->type) {
        case OPTION_UINT32: {
                char *end = NULL;
                unsigned long long n;

                if (text[0] < '0' || text[0] > '9')
                        return set_error(ret_error, "%s: '%s' is not a non-negative number", spec->key, text);
                errno = 0;
                n = strtoull(text, &end, 10);
                if (errno == ERANGE || n > UINT32_MAX)
                        return set_error(ret_error, "%s: %s is out of range (%" PRIu32 "…%" PRIu32 ")",
                                         spec->key, text, spec->min, spec->max);
                if (*end != '\0')
                        return set_error(ret_error, "%s: '%s' is not a number", spec->key, text);
                v.u = (uint32_t) n;
                break;
        }
        case OPTION_BOOLEAN: {
                int b = parse_boolean(text);
                if (b < 0)
                        return set_error(ret_error, "%s: '%s' is not a boolean (yes/no)", spec->key, text);
                v.b = b;
                break;
        }
        case OPTION_STRING:
                v.s = text;
                break;
        }

        *ret = v;
        return 0;
}

static void *field_of(const CaptureOptions *o, const OptionSpec *spec) {
        return (uint8_t *) o + spec->offset;
}

int upload_list_split(const char *list, char ***ret) {
        size_t n = 0;
        char **v;

        for (const char *p = list; *p; ) {
                p += strspn(p, " ");
                if (!*p)
                        break;
                n++;
                p += strcspn(p, " ");
        }
        v = calloc(n + 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        n = 0;
        for (const char *p = list; *p; ) {
                size_t k;

                p += strspn(p, " ");
                if (!*p)
                        break;
                k = strcspn(p, " ");
                v[n] = strndup(p, k);
                if (!v[n++]) {
                        strv_free(v);
                        return -ENOMEM;
                }
                p += k;
        }
        *ret = v;
        return 0;
}

/* Upload=: "" or target names separated by spaces, each at most once. */
static int check_upload_list(const OptionSpec *spec, const char *list, char **ret_error) {
        _cleanup_(strv_freep) char **names = NULL;

        if (upload_list_split(list, &names) < 0)
                return -ENOMEM;
        for (size_t i = 0; names[i]; i++) {
                if (!upload_target_name_is_valid(names[i]))
                        return set_error(ret_error,
                                         "%s: '%s' is not a valid upload target name (letters, digits, '-', '_', '.')",
                                         spec->key, names[i]);
                for (size_t j = 0; j < i; j++)
                        if (strcmp(names[i], names[j]) == 0)
                                return set_error(ret_error, "%s: upload target '%s' is named twice", spec->key, names[i]);
        }
        if (strv_length(names) > UPLOAD_LIST_TARGETS_MAX)
                return set_error(ret_error, "%s: more than %d upload targets", spec->key, UPLOAD_LIST_TARGETS_MAX);
        return 0;
}

static int check_value(const OptionSpec *spec, const OptionValue *value, char **ret_error) {
        if (value->type != spec->type)
                return set_error(ret_error, "%s: expected type '%c', got '%c'", spec->key,
                                 option_type_signature(spec->type), option_type_signature(value->type));

        switch (spec->type) {
        case OPTION_UINT32:
                if (value->u < spec->min || value->u > spec->max)
                        return set_error(ret_error, "%s: %" PRIu32 " is out of range (%" PRIu32 "…%" PRIu32 ")",
                                         spec->key, value->u, spec->min, spec->max);
                return 0;
        case OPTION_BOOLEAN:
                return 0;
        case OPTION_STRING:
                for (const char *p = value->s; *p; p++)
                        if ((unsigned char) *p < 0x20 || *p == 0x7f)
                                return set_error(ret_error, "%s: control characters are not allowed", spec->key);
                if (strlen(value->s) > spec->max)
                        return set_error(ret_error, "%s: longer than %" PRIu32 " characters", spec->key, spec->max);
                if (strcmp(spec->key, "Upload") == 0)
                        return check_upload_list(spec, value->s, ret_error);
                return 0;
        }
        return -EINVAL;
}

/* Values with a "0 = default" meaning are stored as what they mean, so that
 * equal effective options compare equal. */
static uint32_t normalize_uint32(const OptionSpec *spec, uint32_t u) {
        if (u == 0 && strcmp(spec->key, "SnapLength") == 0)
                return CAPTURE_OPTIONS_DEFAULT_SNAP_LENGTH;
        if (u == 0 && strcmp(spec->key, "BufferSize") == 0)
                return CAPTURE_OPTIONS_DEFAULT_BUFFER_SIZE;
        return u;
}

int capture_options_set(CaptureOptions *o, const OptionSpec *spec, const OptionValue *value, char **ret_error) {
        int r;

        r = check_value(spec, value, ret_error);
        if (r < 0)
                return r;

        switch (spec->type) {
        case OPTION_UINT32:
                *(uint32_t *) field_of(o, spec) = normalize_uint32(spec, value->u);
                return 0;
        case OPTION_BOOLEAN:
                *(bool *) field_of(o, spec) = value->b;
                return 0;
        case OPTION_STRING:
                return free_and_strdup((char **) field_of(o, spec), value->s);
        }
        return -EINVAL;
}

OptionValue capture_options_get(const CaptureOptions *o, const OptionSpec *spec) {
        OptionValue v = { .type = spec->type };

        switch (spec->type) {
        case OPTION_UINT32:
                v.u = *(const uint32_t *) field_of(o, spec);
                break;
        case OPTION_BOOLEAN:
                v.b = *(const bool *) field_of(o, spec);
                break;
        case OPTION_STRING:
                v.s = strempty(*(char *const *) field_of(o, spec));
                break;
        }
        return v;
}

static int read_variant(sd_bus_message *m, const OptionSpec *spec, OptionValue *ret) {
        char sig[2] = { option_type_signature(spec->type), 0 };
        int r, b;

        r = sd_bus_message_enter_container(m, 'v', sig);
        if (r <= 0)
                return r == 0 ? -ENXIO : r;

        ret->type = spec->type;
        switch (spec->type) {
        case OPTION_UINT32:
                r = sd_bus_message_read_basic(m, 'u', &ret->u);
                break;
        case OPTION_BOOLEAN:
                r = sd_bus_message_read_basic(m, 'b', &b);
                ret->b = b;
                break;
        case OPTION_STRING:
                r = sd_bus_message_read_basic(m, 's', &ret->s);
                break;
        }
        if (r < 0)
                return r;

        return sd_bus_message_exit_container(m);
}

int capture_options_merge(CaptureOptions *dst, const CaptureOptions *src, OptionMask mask) {
        for (size_t i = 0; i < capture_option_table_size; i++) {
                const OptionSpec *spec = &capture_option_table[i];
                OptionValue v;
                int r;

                if (!(mask & option_mask_of(spec)))
                        continue;
                v = capture_options_get(src, spec);
                r = capture_options_set(dst, spec, &v, NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

int capture_options_read_message(CaptureOptions *o, sd_bus_message *m, sd_bus_error *error) {
        return capture_options_read_message_masked(o, m, NULL, error);
}

int capture_options_read_message_masked(CaptureOptions *o, sd_bus_message *m, OptionMask *ret_mask,
                                        sd_bus_error *error) {
        CaptureOptions result;
        OptionMask mask = 0;
        int r;

        capture_options_init_default(&result);
        r = capture_options_copy(&result, o);
        if (r < 0)
                return r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                goto finish;

        for (;;) {
                _cleanup_(freep) char *message = NULL;
                const OptionSpec *spec;
                const char *key, *contents;
                OptionValue value;
                char type;

                r = sd_bus_message_enter_container(m, 'e', "sv");
                if (r < 0)
                        goto finish;
                if (r == 0)
                        break;

                r = sd_bus_message_read_basic(m, 's', &key);
                if (r < 0)
                        goto finish;

                spec = capture_option_find(key);
                if (!spec) {
                        r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown option '%s'", key);
                        goto finish;
                }

                r = sd_bus_message_peek_type(m, &type, &contents);
                if (r < 0)
                        goto finish;
                if (strlen(contents) != 1 || contents[0] != option_type_signature(spec->type)) {
                        r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                              "Option '%s' must be of type '%c', not '%s'",
                                              key, option_type_signature(spec->type), contents);
                        goto finish;
                }

                r = read_variant(m, spec, &value);
                if (r < 0)
                        goto finish;

                r = capture_options_set(&result, spec, &value, &message);
                if (r >= 0)
                        mask |= option_mask_of(spec);
                if (r == -EINVAL) {
                        r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid option %s",
                                              strempty(message));
                        goto finish;
                }
                if (r < 0)
                        goto finish;

                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        goto finish;
        }

        r = sd_bus_message_exit_container(m);
        if (r < 0)
                goto finish;

        r = capture_options_copy(o, &result);
        if (r >= 0 && ret_mask)
                *ret_mask = mask;
finish:
        capture_options_done(&result);
        return r;
}

int option_value_append(sd_bus_message *m, const OptionSpec *spec, const OptionValue *value) {
        char sig[2] = { option_type_signature(spec->type), 0 };
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r < 0)
                return r;
        r = sd_bus_message_append_basic(m, 's', spec->key);
        if (r < 0)
                return r;

        switch (spec->type) {
        case OPTION_UINT32:
                r = sd_bus_message_append(m, "v", sig, value->u);
                break;
        case OPTION_BOOLEAN:
                r = sd_bus_message_append(m, "v", sig, (int) value->b);
                break;
        case OPTION_STRING:
                r = sd_bus_message_append(m, "v", sig, value->s);
                break;
        }
        if (r < 0)
                return r;

        return sd_bus_message_close_container(m);
}

int capture_options_append(sd_bus_message *m, const CaptureOptions *o) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;

        for (size_t i = 0; i < capture_option_table_size; i++) {
                OptionValue v = capture_options_get(o, &capture_option_table[i]);

                r = option_value_append(m, &capture_option_table[i], &v);
                if (r < 0)
                        return r;
        }

        return sd_bus_message_close_container(m);
}

int option_value_format(const OptionValue *value, char **ret) {
        int r = -EINVAL;

        switch (value->type) {
        case OPTION_UINT32:
                r = asprintf(ret, "%" PRIu32, value->u);
                break;
        case OPTION_BOOLEAN:
                r = asprintf(ret, "%s", value->b ? "yes" : "no");
                break;
        case OPTION_STRING:
                r = asprintf(ret, "%s", value->s);
                break;
        }
        return r < 0 ? -ENOMEM : 0;
}
