/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "capture-options.h"
#include "capture-settings.h"
#include "macro.h"

/* MinFreeSpace= / MaxDiskUsage=: bytes (K, M, G, T suffixes, base 1024) or
 * a percentage of the file system holding CaptureDirectory. */
typedef struct SpaceLimit {
        uint64_t value;          /* bytes, or percent */
        bool percent;
} SpaceLimit;

int space_limit_parse(const char *text, SpaceLimit *ret);
uint64_t space_limit_resolve(const SpaceLimit *l, uint64_t filesystem_size);

/* captured.conf and its drop-ins (SPEC §5). Nothing is required: a missing
 * file means built-in defaults; a bad line is logged with file and line and
 * the rest loads. */
typedef struct Config {
        char *capture_directory;
        char *tcpdump_path;
        char *tcpdump_user;
        char *capture_group;      /* NULL = the tcpdump user's group */
        SpaceLimit min_free_space;
        SpaceLimit max_disk_usage; /* 0 = no limit */
        CaptureOptions defaults;  /* [Defaults] */
        char ***post_rotate;      /* ExecPostRotate=: NULL-terminated list of argv vectors */
        CaptureSettings **captures; /* capture.d/<iface>.conf */
} Config;

int config_new(Config **ret);
Config *config_free(Config *c);
DEFINE_POINTER_CLEANUP(Config, config_free);

/* Loads <config_dir>/captured.conf, then captured.conf.d/ *.conf in
 * lexical order (later wins), then capture.d/ *.conf. */
int config_load(Config **ret, const char *config_dir);

/* The options a capture on interface starts from: built-in defaults, then
 * [Defaults], then capture.d/<interface>.conf. */
int config_capture_options(const Config *c, const char *interface, CaptureOptions *ret);

/* What capture.d/<interface>.conf says of Enabled=: 1, 0, or -1. */
int config_capture_enabled(const Config *c, const char *interface);

/* Whether TcpdumpUser= can be used: it names a user that exists, or is empty
 * (-Z root), or the daemon is not root (no -Z at all). */
bool tcpdump_user_exists(const char *user);

/* Parses one INI file into c. Returns 0 (problems are logged) or negative
 * errno if the file could not be read; -ENOENT if it does not exist. */
int config_parse_file(Config *c, const char *path);
