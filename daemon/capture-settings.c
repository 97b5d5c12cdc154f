/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "capture-settings.h"
#include "config-file.h"
#include "fileio.h"
#include "log.h"
#include "names.h"

int capture_settings_new(CaptureSettings **ret, const char *interface) {
        CaptureSettings *s = calloc(1, sizeof(CaptureSettings));

        if (!s)
                return -ENOMEM;
        capture_options_init_default(&s->options);
        s->enabled = -1;
        s->interface = strdup(interface);
        if (!s->interface) {
                free(s);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}

CaptureSettings *capture_settings_free(CaptureSettings *s) {
        if (!s)
                return NULL;
        capture_options_done(&s->options);
        free(s->interface);
        free(s);
        return NULL;
}

void capture_settings_vector_free(CaptureSettings **v) {
        for (size_t i = 0; v && v[i]; i++)
                capture_settings_free(v[i]);
        free(v);
}

CaptureSettings *capture_settings_find(CaptureSettings **v, const char *interface) {
        for (size_t i = 0; v && v[i]; i++)
                if (strcmp(v[i]->interface, interface) == 0)
                        return v[i];
        return NULL;
}

static int parse_boolean_value(const char *value) {
        const OptionSpec *promiscuous = capture_option_find("Promiscuous");
        OptionValue v;

        /* Any boolean option parses booleans the same way. */
        if (option_value_parse(promiscuous, value, &v, NULL) < 0)
                return -EINVAL;
        return v.b;
}

static int handle_entry(void *userdata, const ConfigLocation *where,
                        const char *section, const char *key, const char *value) {
        CaptureSettings *s = userdata;

        if (strcmp(section, "Capture") != 0) {
                config_log_bad_line(where, "Unknown section [%s], ignoring %s=.", section, key);
                return 0;
        }
        if (strcmp(key, "Enabled") == 0) {
                int b = parse_boolean_value(value);
                if (b < 0)
                        config_log_bad_line(where, "Enabled= takes a boolean, ignoring: %s", value);
                else
                        s->enabled = b;
                return 0;
        }
        return config_parse_capture_option(&s->options, &s->mask, where, key, value);
}

static int interface_of_file_name(const char *file_name, char **ret) {
        size_t n = strlen(file_name);
        char *interface;

        if (n <= 5 || strcmp(file_name + n - 5, ".conf") != 0)
                return -EINVAL;
        interface = strndup(file_name, n - 5);
        if (!interface)
                return -ENOMEM;
        if (!interface_name_is_valid(interface)) {
                free(interface);
                return -EINVAL;
        }
        *ret = interface;
        return 0;
}

int capture_settings_load_directory(const char *dir, CaptureSettings ***ret) {
        CaptureSettings **v = NULL;
        size_t n = 0;
        struct dirent *de;
        _cleanup_(closedirp) DIR *d = NULL;
        int r = 0;

        d = opendir(dir);
        if (!d) {
                if (errno != ENOENT)
                        log_warning_errno(errno, "Cannot read %s, ignoring: %m", dir);
                *ret = calloc(1, sizeof(CaptureSettings *));
                return *ret ? 0 : -ENOMEM;
        }

        while ((de = readdir(d))) {
                _cleanup_(freep) char *interface = NULL, *path = NULL;
                _cleanup_(capture_settings_freep) CaptureSettings *s = NULL;

                if (strlen(de->d_name) <= 5 || strcmp(de->d_name + strlen(de->d_name) - 5, ".conf") != 0)
                        continue;
                r = interface_of_file_name(de->d_name, &interface);
                if (r == -ENOMEM)
                        break;
                if (r < 0) {
                        log_warning("%s/%s: not named after an interface (<iface>.conf), ignoring.", dir, de->d_name);
                        r = 0;
                        continue;
                }
                if (asprintf(&path, "%s/%s", dir, de->d_name) < 0 || capture_settings_new(&s, interface) < 0) {
                        r = -ENOMEM;
                        break;
                }
                r = config_file_parse(path, handle_entry, s);
                if (r == -ENOMEM)
                        break;
                if (r < 0) {
                        log_warning_errno(r, "Cannot read %s, ignoring: %m", path);
                        r = 0;
                        continue;
                }

                if (ARRAY_GROW(v, NULL, n + 2) < 0) {
                        r = -ENOMEM;
                        break;
                }
                v[n++] = TAKE_PTR(s);
                v[n] = NULL;
        }

        if (r < 0) {
                capture_settings_vector_free(v);
                return r;
        }
        if (!v && !(v = calloc(1, sizeof(CaptureSettings *))))
                return -ENOMEM;
        *ret = v;
        return 0;
}

int capture_settings_save(const char *dir, const CaptureSettings *s) {
        _cleanup_(freep) char *path = NULL, *text = NULL;
        _cleanup_(fclosep) FILE *f = NULL;
        size_t size = 0;

        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        if (asprintf(&path, "%s/%s.conf", dir, s->interface) < 0)
                return -ENOMEM;

        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "# Written by captured. Do not edit.\n[Capture]\n");
        if (s->enabled >= 0)
                fprintf(f, "Enabled=%s\n", s->enabled ? "yes" : "no");
        for (size_t i = 0; i < capture_option_table_size; i++) {
                const OptionSpec *spec = &capture_option_table[i];
                _cleanup_(freep) char *value = NULL;
                OptionValue v;

                if (!(s->mask & option_mask_of(spec)))
                        continue;
                v = capture_options_get(&s->options, spec);
                if (option_value_format(&v, &value) < 0)
                        return -ENOMEM;
                fprintf(f, "%s=%s\n", spec->key, value);
        }
        if (fflush(f) != 0 || ferror(f))
                return -ENOMEM;

        return write_file_atomic(path, text, size, 0644);
}
