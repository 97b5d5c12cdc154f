/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture-options.h"
#include "config-file.h"
#include "log.h"
#include "names.h"
#include "time-util.h"
#include "upload-target.h"

#define TOKEN_MAX 4096
#define TIMEOUT_MAX_SEC (24 * 3600)

static const char *const type_names[_UPLOAD_TARGET_TYPE_MAX] = {
        [UPLOAD_TARGET_CLOUDSHARK] = "cloudshark",
};

const char *upload_target_type_to_string(UploadTargetType type) {
        return type >= 0 && type < _UPLOAD_TARGET_TYPE_MAX ? type_names[type] : NULL;
}

UploadTargetType upload_target_type_from_string(const char *s) {
        for (UploadTargetType t = 0; t < _UPLOAD_TARGET_TYPE_MAX; t++)
                if (strcasecmp(s, type_names[t]) == 0)
                        return t;
        return _UPLOAD_TARGET_TYPE_MAX;
}

static void erase_and_free(char *secret) {
        if (secret) {
                explicit_bzero(secret, strlen(secret));
                free(secret);
        }
}

UploadTarget *upload_target_free(UploadTarget *t) {
        if (!t)
                return NULL;

        free(t->name);
        free(t->url);
        erase_and_free(t->token);
        free(t->tags);
        free(t->ca_file);
        free(t);
        return NULL;
}

void upload_targets_free(UploadTarget **targets) {
        for (UploadTarget **t = targets; t && *t; t++)
                upload_target_free(*t);
        free(targets);
}

static int strdup_or_null(const char *s, char **ret) {
        *ret = NULL;
        return free_and_strdup(ret, s);
}

int upload_target_dup(const UploadTarget *t, UploadTarget **ret) {
        _cleanup_(upload_target_freep) UploadTarget *copy = NULL;

        copy = calloc(1, sizeof(UploadTarget));
        if (!copy)
                return -ENOMEM;

        *copy = (UploadTarget) {
                .type = t->type,
                .replace_existing = t->replace_existing,
                .max_concurrent = t->max_concurrent,
                .timeout_usec = t->timeout_usec,
        };
        if (strdup_or_null(t->name, &copy->name) < 0 ||
            strdup_or_null(t->url, &copy->url) < 0 ||
            strdup_or_null(t->token, &copy->token) < 0 ||
            strdup_or_null(t->tags, &copy->tags) < 0 ||
            strdup_or_null(t->ca_file, &copy->ca_file) < 0)
                return -ENOMEM;

        *ret = TAKE_PTR(copy);
        return 0;
}

/* What one upload.d file said, before we decide whether it is usable. */
typedef struct TargetParser {
        UploadTarget *target;
        bool type_seen;
        bool type_unknown;
        char *token;               /* Token= */
        char *token_file;          /* TokenFile= */
} TargetParser;

static void target_parser_done(TargetParser *p) {
        upload_target_free(p->target);
        erase_and_free(p->token);
        free(p->token_file);
}

/* Numbers and booleans are read as the capture options are, so that
 * "yes"/"no" and friends mean the same everywhere. */
static int parse_value(const ConfigLocation *where, const char *key, const char *value,
                       OptionType type, uint32_t min, uint32_t max, OptionValue *ret) {
        _cleanup_(freep) char *message = NULL;
        OptionSpec spec = { .key = key, .type = type, .min = min, .max = max };

        if (option_value_parse(&spec, value, ret, &message) < 0) {
                config_log_bad_line(where, "Invalid value, ignoring: %s", strempty(message));
                return -EINVAL;
        }
        if (type == OPTION_UINT32 && (ret->u < min || ret->u > max)) {
                config_log_bad_line(where, "%s: %s is out of range (%u…%u), ignoring.", key, value, min, max);
                return -EINVAL;
        }
        return 0;
}

static bool url_is_http(const char *url) {
        return strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0;
}

/* Whether the authority part of an http(s) URL holds user:password@. */
static bool url_has_userinfo(const char *url) {
        const char *authority = strstr(url, "://") + 3;
        size_t n = strcspn(authority, "/");

        return memchr(authority, '@', n) != NULL;
}

static int parse_url(const ConfigLocation *where, const char *value, char **field) {
        size_t n = strlen(value);

        if (!url_is_http(value) || strpbrk(value, " \t?#")) {
                config_log_bad_line(where, "URL= must be an http:// or https:// URL without query, ignoring: %s", value);
                return 0;
        }
        /* The URL is logged; secrets belong in Token=/TokenFile=. */
        if (url_has_userinfo(value)) {
                config_log_bad_line(where, "URL= must not contain user:password@, ignoring it.");
                return 0;
        }

        /* Paths are appended with a '/'. */
        while (n > 0 && value[n - 1] == '/')
                n--;
        free(*field);
        *field = strndup(value, n);
        return *field ? 0 : -ENOMEM;
}

static int handle_upload_key(TargetParser *p, const ConfigLocation *where, const char *key, const char *value) {
        UploadTarget *t = p->target;
        OptionValue v;

        if (strcmp(key, "Type") == 0) {
                UploadTargetType type = upload_target_type_from_string(value);

                p->type_seen = true;
                p->type_unknown = type == _UPLOAD_TARGET_TYPE_MAX;
                if (p->type_unknown)
                        config_log_bad_line(where, "Unknown upload type '%s' (supported: cloudshark).", value);
                else
                        t->type = type;
                return 0;
        }
        if (strcmp(key, "URL") == 0)
                return parse_url(where, value, &t->url);
        if (strcmp(key, "Token") == 0) {
                erase_and_free(p->token);
                p->token = value[0] ? strdup(value) : NULL;
                return value[0] && !p->token ? -ENOMEM : 0;
        }
        if (strcmp(key, "TokenFile") == 0) {
                if (value[0] != '/') {
                        config_log_bad_line(where, "TokenFile= must be an absolute path, ignoring: %s", value);
                        return 0;
                }
                return free_and_strdup(&p->token_file, value);
        }
        if (strcmp(key, "Tags") == 0)
                return free_and_strdup(&t->tags, value);
        if (strcmp(key, "ReplaceExisting") == 0) {
                if (parse_value(where, key, value, OPTION_BOOLEAN, 0, 0, &v) >= 0)
                        t->replace_existing = v.b;
                return 0;
        }
        if (strcmp(key, "MaxConcurrent") == 0) {
                if (parse_value(where, key, value, OPTION_UINT32, 1, UPLOAD_TARGET_MAX_CONCURRENT_MAX, &v) >= 0)
                        t->max_concurrent = v.u;
                return 0;
        }
        if (strcmp(key, "Timeout") == 0) {
                if (parse_value(where, key, value, OPTION_UINT32, 1, TIMEOUT_MAX_SEC, &v) >= 0)
                        t->timeout_usec = v.u * USEC_PER_SEC;
                return 0;
        }
        if (strcmp(key, "CAFile") == 0) {
                if (value[0] != '/') {
                        config_log_bad_line(where, "CAFile= must be an absolute path, ignoring: %s", value);
                        return 0;
                }
                return free_and_strdup(&t->ca_file, value);
        }

        config_log_bad_line(where, "Unknown key %s= in [Upload], ignoring.", key);
        return 0;
}

static int handle_entry(void *userdata, const ConfigLocation *where,
                        const char *section, const char *key, const char *value) {
        TargetParser *p = userdata;

        if (strcmp(section, "Upload") != 0) {
                config_log_bad_line(where, "Unknown section [%s], ignoring %s=.", section, key);
                return 0;
        }
        return handle_upload_key(p, where, key, value);
}

static void warn_if_world_readable(const char *path, const char *what) {
        struct stat st;

        if (stat(path, &st) >= 0 && (st.st_mode & S_IROTH))
                log_warning("%s %s is readable by everyone; it holds a secret, make it mode 0600 or 0640.",
                            what, path);
}

/* Reads a token: the first line of a small file, without trailing white
 * space. Returns -ENOENT if the file does not exist. */
static int read_token_file(const char *path, char **ret) {
        _cleanup_(fclosep) FILE *f = NULL;
        char buffer[TOKEN_MAX + 2];
        size_t n;

        f = fopen(path, "re");
        if (!f)
                return negative_errno();

        n = fread(buffer, 1, sizeof(buffer) - 1, f);
        if (ferror(f))
                return -EIO;
        if (n > TOKEN_MAX) {
                explicit_bzero(buffer, sizeof(buffer));
                return -EFBIG;
        }
        buffer[n] = '\0';
        buffer[strcspn(buffer, "\r\n")] = '\0';
        for (n = strlen(buffer); n > 0 && strchr(" \t", buffer[n - 1]); n--)
                buffer[n - 1] = '\0';

        if (buffer[0] == '\0')
                return -ENODATA;

        *ret = strdup(buffer);
        explicit_bzero(buffer, sizeof(buffer));
        return *ret ? 0 : -ENOMEM;
}

/* The systemd credential upload-<name> wins over TokenFile=, which wins
 * over Token=. */
static int resolve_token(TargetParser *p, const char *path) {
        const char *credentials = getenv("CREDENTIALS_DIRECTORY");
        _cleanup_(freep) char *credential = NULL;
        int r;

        if (credentials && credentials[0] == '/') {
                if (asprintf(&credential, "%s/upload-%s", credentials, p->target->name) < 0)
                        return -ENOMEM;
                r = read_token_file(credential, &p->target->token);
                if (r >= 0) {
                        log_debug("Upload target %s: token from credential upload-%s.", p->target->name, p->target->name);
                        return 0;
                }
                if (r == -ENODATA)
                        log_warning("Credential upload-%s is empty, ignoring it.", p->target->name);
                else if (r != -ENOENT)
                        log_warning_errno(r, "Cannot read credential upload-%s, ignoring it: %m", p->target->name);
        }

        if (p->token_file) {
                r = read_token_file(p->token_file, &p->target->token);
                if (r >= 0) {
                        warn_if_world_readable(p->token_file, "TokenFile");
                        return 0;
                }
                return log_warning_errno(r, "%s: cannot read TokenFile %s (%m), skipping upload target %s.",
                                         path, p->token_file, p->target->name);
        }

        if (p->token) {
                warn_if_world_readable(path, "Upload target configuration with Token=");
                p->target->token = TAKE_PTR(p->token);
                return 0;
        }

        return -ENOKEY;
}

int upload_target_load_file(const char *path, const char *name, UploadTarget **ret) {
        _cleanup_(target_parser_done) TargetParser p = {};
        int r;

        if (!upload_target_name_is_valid(name)) {
                log_warning("%s: '%s' is not a valid upload target name (letters, digits, '-', '_', '.'), skipping the file.",
                            path, name);
                return -EINVAL;
        }

        p.target = calloc(1, sizeof(UploadTarget));
        if (!p.target)
                return -ENOMEM;
        p.target->name = strdup(name);
        p.target->tags = strdup("");
        if (!p.target->name || !p.target->tags)
                return -ENOMEM;
        p.target->max_concurrent = UPLOAD_TARGET_DEFAULT_MAX_CONCURRENT;
        p.target->timeout_usec = UPLOAD_TARGET_DEFAULT_TIMEOUT_SEC * USEC_PER_SEC;

        r = config_file_parse(path, handle_entry, &p);
        if (r < 0)
                return log_warning_errno(r, "Failed to read %s, skipping it: %m", path);

        if (p.type_unknown)
                return log_warning_errno(EINVAL, "%s: unknown Type=, skipping upload target %s.", path, name);
        if (!p.type_seen)
                return log_warning_errno(EINVAL, "%s: Type= is missing (Type=cloudshark), skipping upload target %s.",
                                         path, name);
        if (!p.target->url)
                return log_warning_errno(EINVAL, "%s: URL= is missing, skipping upload target %s.", path, name);

        r = resolve_token(&p, path);
        if (r == -ENOKEY)
                return log_warning_errno(r, "%s: no token (Token=, TokenFile= or credential upload-%s), skipping upload target %s.",
                                         path, name, name);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(p.target);
        return 0;
}

static int filter_conf(const struct dirent *de) {
        size_t n = strlen(de->d_name);

        return de->d_name[0] != '.' && n > 5 && strcmp(de->d_name + n - 5, ".conf") == 0;
}

int upload_targets_load(const char *config_dir, UploadTarget ***ret) {
        _cleanup_(freep) char *dir = NULL;
        struct dirent **entries = NULL;
        UploadTarget **targets;
        size_t k = 0;
        int n, r = 0;

        if (asprintf(&dir, "%s/upload.d", config_dir) < 0)
                return -ENOMEM;

        n = scandir(dir, &entries, filter_conf, alphasort);
        if (n < 0) {
                if (errno != ENOENT)
                        log_warning_errno(errno, "Failed to read %s, no upload targets: %m", dir);
                n = 0;
        }

        targets = calloc(n + 1, sizeof(UploadTarget *));
        if (!targets)
                r = -ENOMEM;

        for (int i = 0; i < n; i++) {
                _cleanup_(freep) char *path = NULL, *name = NULL;

                if (r >= 0) {
                        name = strndup(entries[i]->d_name, strlen(entries[i]->d_name) - 5);
                        if (!name || asprintf(&path, "%s/%s", dir, entries[i]->d_name) < 0)
                                r = -ENOMEM;
                        else if (upload_target_load_file(path, name, &targets[k]) >= 0) {
                                log_info("Upload target %s: %s at %s.", name,
                                         upload_target_type_to_string(targets[k]->type), targets[k]->url);
                                k++;
                        }
                }
                free(entries[i]);
        }
        free(entries);

        if (r < 0) {
                upload_targets_free(targets);
                return r;
        }

        *ret = targets;
        return 0;
}

int upload_target_new_easy(const UploadTarget *t, CURL **ret) {
        CURL *easy;
        CURLcode c = CURLE_OK;

        easy = curl_easy_init();
        if (!easy)
                return -ENOMEM;

#define SET(option, value) if (c == CURLE_OK) c = curl_easy_setopt(easy, option, value)
        SET(CURLOPT_NOSIGNAL, 1L);
        SET(CURLOPT_VERBOSE, 0L);
        SET(CURLOPT_PROTOCOLS_STR, "http,https");
        SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        SET(CURLOPT_FOLLOWLOCATION, 0L);
        SET(CURLOPT_SSL_VERIFYPEER, 1L);
        SET(CURLOPT_SSL_VERIFYHOST, 2L);
        if (t->ca_file)
                SET(CURLOPT_CAINFO, t->ca_file);
        SET(CURLOPT_TIMEOUT_MS, (long) (t->timeout_usec / USEC_PER_MSEC));
        SET(CURLOPT_CONNECTTIMEOUT, (long) UPLOAD_TARGET_CONNECT_TIMEOUT_SEC);
        SET(CURLOPT_USERAGENT, "captured/" PACKAGE_VERSION);
#undef SET

        if (c != CURLE_OK) {
                curl_easy_cleanup(easy);
                log_warning("Failed to set up a request: %s", curl_easy_strerror(c));
                return -EIO;
        }

        *ret = easy;
        return 0;
}

char *upload_target_redact(const UploadTarget *t, const char *s) {
        const char *token = t->token, *p;
        size_t token_length = token ? strlen(token) : 0;
        char *buffer = NULL;
        size_t size = 0;
        FILE *f;

        if (token_length == 0)
                return strdup(s);

        f = open_memstream(&buffer, &size);
        if (!f)
                return NULL;
        while ((p = strstr(s, token))) {
                fwrite(s, 1, p - s, f);
                fputs("***", f);
                s = p + token_length;
        }
        fputs(s, f);
        if (fclose(f) != 0) {
                free(buffer);
                return NULL;
        }
        return buffer;
}

char *upload_target_describe_failure(const UploadTarget *t, CURL *easy, CURLcode result, const char *errbuf) {
        _cleanup_(freep) char *message = NULL;
        long os_errno = 0;

        switch (result) {
        case CURLE_OPERATION_TIMEDOUT: {
                curl_off_t connected_after = 0;
                uint64_t timeout_sec = t->timeout_usec / USEC_PER_SEC;

                /* Nothing answered the connect, or the request as a whole was too slow. */
                (void) curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &connected_after);
                if (connected_after == 0 && timeout_sec > UPLOAD_TARGET_CONNECT_TIMEOUT_SEC)
                        timeout_sec = UPLOAD_TARGET_CONNECT_TIMEOUT_SEC;
                if (asprintf(&message, "Timeout after %llu s%s", (unsigned long long) timeout_sec,
                             connected_after == 0 ? " connecting to the server" : "") < 0)
                        return NULL;
                break;
        }
        case CURLE_COULDNT_CONNECT:
                (void) curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
                if (os_errno > 0)
                        message = strdup(strerror((int) os_errno));
                else
                        message = strdup("Could not connect to the server");
                break;
        case CURLE_PARTIAL_FILE:
                if (asprintf(&message, "Truncated response (%s)",
                             errbuf && errbuf[0] ? errbuf : curl_easy_strerror(result)) < 0)
                        return NULL;
                break;
        default:
                if (asprintf(&message, "%s", errbuf && errbuf[0] ? errbuf : curl_easy_strerror(result)) < 0)
                        return NULL;
        }

        if (!message)
                return NULL;
        return upload_target_redact(t, message);
}
