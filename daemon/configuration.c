/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <pwd.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "configuration.h"
#include "config-file.h"
#include "log.h"
#include "strv.h"

int config_new(Config **ret) {
        _cleanup_(config_freep) Config *c = calloc(1, sizeof(Config));

        if (!c)
                return -ENOMEM;

        capture_options_init_default(&c->defaults);
        c->min_free_space = (SpaceLimit) { .value = 5, .percent = true };
        c->capture_directory = strdup(CAPTURE_DIR);
        c->tcpdump_path = strdup(TCPDUMP_PATH);
        c->tcpdump_user = strdup(TCPDUMP_USER);
        if (!c->capture_directory || !c->tcpdump_path || !c->tcpdump_user)
                return -ENOMEM;

        *ret = TAKE_PTR(c);
        return 0;
}

Config *config_free(Config *c) {
        if (!c)
                return NULL;

        free(c->capture_directory);
        free(c->tcpdump_path);
        free(c->tcpdump_user);
        free(c->capture_group);
        capture_options_done(&c->defaults);
        strvv_free(c->post_rotate);
        capture_settings_vector_free(c->captures);
        free(c);
        return NULL;
}

bool tcpdump_user_exists(const char *user) {
        /* A daemon that is not root starts tcpdump without -Z: the user is
         * not used, so it need not exist. */
        return geteuid() != 0 || isempty(user) || getpwnam(user);
}

int space_limit_parse(const char *text, SpaceLimit *ret) {
        static const struct { char suffix; unsigned shift; } units[] = {
                { 'K', 10 }, { 'M', 20 }, { 'G', 30 }, { 'T', 40 },
        };
        unsigned long long v;
        char *end = NULL;

        if (text[0] < '0' || text[0] > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(text, &end, 10);
        if (errno != 0)
                return -EINVAL;

        if (strcmp(end, "%") == 0) {
                if (v > 100)
                        return -ERANGE;
                *ret = (SpaceLimit) { .value = v, .percent = true };
                return 0;
        }
        if (end[0] == '\0') {
                *ret = (SpaceLimit) { .value = v };
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if ((end[0] == units[i].suffix || end[0] == units[i].suffix + 32) && end[1] == '\0') {
                        if (v > (UINT64_MAX >> units[i].shift))
                                return -ERANGE;
                        *ret = (SpaceLimit) { .value = (uint64_t) v << units[i].shift };
                        return 0;
                }
        return -EINVAL;
}

uint64_t space_limit_resolve(const SpaceLimit *l, uint64_t filesystem_size) {
        return l->percent ? filesystem_size / 100 * l->value : l->value;
}

static int parse_absolute_path(const ConfigLocation *where, const char *key, const char *value, char **field) {
        if (value[0] != '/') {
                config_log_bad_line(where, "%s= must be an absolute path, ignoring: %s", key, value);
                return 0;
        }
        return free_and_strdup(field, value);
}

static int parse_space_limit(const ConfigLocation *where, const char *key, const char *value, SpaceLimit *field) {
        if (space_limit_parse(value, field) < 0)
                config_log_bad_line(where, "%s= takes bytes (with K, M, G or T) or a percentage, ignoring: %s",
                                    key, value);
        return 0;
}

/* ExecPostRotate= runs programs as root: only from files that nobody but
 * root can write. An empty value clears the list. */
static int parse_post_rotate(Config *c, const ConfigLocation *where, const char *value) {
        char **command;
        int r;

        if (!where->trusted) {
                config_log_bad_line(where, "ExecPostRotate= is only read from files owned by root and "
                                    "writable by nobody else, ignoring.");
                return 0;
        }
        if (value[0] == '\0') {
                strvv_free(c->post_rotate);
                c->post_rotate = NULL;
                return 0;
        }

        r = config_split_command(value, &command);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                config_log_bad_line(where, "ExecPostRotate= needs an absolute program path and balanced quotes, "
                                    "ignoring: %s", value);
                return 0;
        }

        r = strvv_push(&c->post_rotate, command);
        if (r < 0)
                strv_free(command);
        return r;
}

static int parse_daemon_key(Config *c, const ConfigLocation *where, const char *key, const char *value) {
        if (strcmp(key, "CaptureDirectory") == 0)
                return parse_absolute_path(where, key, value, &c->capture_directory);
        if (strcmp(key, "TcpdumpPath") == 0)
                return parse_absolute_path(where, key, value, &c->tcpdump_path);
        if (strcmp(key, "TcpdumpUser") == 0) {
                /* Kept: the user may be created later. Until then no capture starts. */
                if (!tcpdump_user_exists(value))
                        config_log_bad_line(where, "TcpdumpUser=%s: no such user; captures cannot start until it exists.",
                                            value);
                return free_and_strdup(&c->tcpdump_user, value);
        }
        if (strcmp(key, "CaptureGroup") == 0)
                return free_and_strdup(&c->capture_group, value[0] ? value : NULL);
        if (strcmp(key, "MinFreeSpace") == 0)
                return parse_space_limit(where, key, value, &c->min_free_space);
        if (strcmp(key, "MaxDiskUsage") == 0)
                return parse_space_limit(where, key, value, &c->max_disk_usage);

        config_log_bad_line(where, "Unknown key %s= in [Daemon], ignoring.", key);
        return 0;
}

static int handle_entry(void *userdata, const ConfigLocation *where,
                        const char *section, const char *key, const char *value) {
        Config *c = userdata;

        if (strcmp(section, "Daemon") == 0)
                return parse_daemon_key(c, where, key, value);
        if (strcmp(section, "Defaults") == 0 && strcmp(key, "ExecPostRotate") == 0)
                return parse_post_rotate(c, where, value);
        if (strcmp(section, "Defaults") == 0)
                return config_parse_capture_option(&c->defaults, NULL, where, key, value);

        config_log_bad_line(where, "Unknown section [%s], ignoring %s=.", section, key);
        return 0;
}

int config_parse_file(Config *c, const char *path) {
        return config_file_parse(path, handle_entry, c);
}

int config_load(Config **ret, const char *config_dir) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(freep) char *main_path = NULL, *dropin_dir = NULL;
        int r;

        r = config_new(&c);
        if (r < 0)
                return r;

        if (asprintf(&main_path, "%s/captured.conf", config_dir) < 0 ||
            asprintf(&dropin_dir, "%s/captured.conf.d", config_dir) < 0)
                return -ENOMEM;

        r = config_parse_file(c, main_path);
        if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "Failed to read %s, using built-in defaults: %m", main_path);

        r = config_file_parse_directory(dropin_dir, handle_entry, c);
        if (r < 0)
                return r;

        free(dropin_dir);
        if (asprintf(&dropin_dir, "%s/capture.d", config_dir) < 0)
                return -ENOMEM;
        r = capture_settings_load_directory(dropin_dir, &c->captures);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

int config_capture_options(const Config *c, const char *interface, CaptureOptions *ret) {
        const CaptureSettings *s = capture_settings_find(c->captures, interface);
        int r;

        r = capture_options_copy(ret, &c->defaults);
        if (r < 0 || !s)
                return r;
        return capture_options_merge(ret, &s->options, s->mask);
}

int config_capture_enabled(const Config *c, const char *interface) {
        const CaptureSettings *s = capture_settings_find(c->captures, interface);

        return s ? s->enabled : -1;
}
