/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <ctype.h>
#include <time.h>

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
        [UPLOAD_TARGET_S3] = "s3",
        [UPLOAD_TARGET_HTTP] = "http",
};

static const char *const addressing_names[_S3_ADDRESSING_MAX] = {
        [S3_ADDRESSING_PATH] = "path",
        [S3_ADDRESSING_VIRTUAL] = "virtual",
};

static const char *const auth_names[_HTTP_AUTH_MAX] = {
        [HTTP_AUTH_NONE] = "none",
        [HTTP_AUTH_BEARER] = "bearer",
        [HTTP_AUTH_BASIC] = "basic",
};

static int name_lookup(const char *const *names, int n, const char *s) {
        for (int i = 0; i < n; i++)
                if (strcasecmp(s, names[i]) == 0)
                        return i;
        return -1;
}

const char *upload_target_type_to_string(UploadTargetType type) {
        return type >= 0 && type < _UPLOAD_TARGET_TYPE_MAX ? type_names[type] : NULL;
}

UploadTargetType upload_target_type_from_string(const char *s) {
        int i = name_lookup(type_names, _UPLOAD_TARGET_TYPE_MAX, s);

        return i < 0 ? _UPLOAD_TARGET_TYPE_MAX : (UploadTargetType) i;
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
        free(t->key_template);
        free(t->bucket);
        free(t->region);
        free(t->storage_class);
        free(t->access_key_id);
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
                .addressing = t->addressing,
                .multipart_threshold = t->multipart_threshold,
                .part_size = t->part_size,
                .auth = t->auth,
        };
        if (strdup_or_null(t->key_template, &copy->key_template) < 0 ||
            strdup_or_null(t->bucket, &copy->bucket) < 0 ||
            strdup_or_null(t->region, &copy->region) < 0 ||
            strdup_or_null(t->storage_class, &copy->storage_class) < 0 ||
            strdup_or_null(t->access_key_id, &copy->access_key_id) < 0 ||
            strdup_or_null(t->name, &copy->name) < 0 ||
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
        char *token_file;          /* TokenFile= (SecretAccessKeyFile= for s3) */
        char *access_key_id_file;  /* AccessKeyIdFile= */
        bool auth_seen;            /* Authorization= */
} TargetParser;

static void target_parser_done(TargetParser *p) {
        upload_target_free(p->target);
        erase_and_free(p->token);
        free(p->token_file);
        free(p->access_key_id_file);
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

static int parse_url(const ConfigLocation *where, const char *key, const char *value, char **field) {
        size_t n = strlen(value);

        if (!url_is_http(value) || strpbrk(value, " \t?#")) {
                config_log_bad_line(where, "%s= must be an http:// or https:// URL without query, ignoring: %s", key, value);
                return 0;
        }
        /* The URL is logged; secrets belong in Token=/TokenFile=. */
        if (url_has_userinfo(value)) {
                config_log_bad_line(where, "%s= must not contain user:password@, ignoring it.", key);
                return 0;
        }

        /* Paths are appended with a '/'. */
        while (n > 0 && value[n - 1] == '/')
                n--;
        free(*field);
        *field = strndup(value, n);
        return *field ? 0 : -ENOMEM;
}

static int parse_absolute_path(const ConfigLocation *where, const char *key, const char *value, char **field) {
        if (value[0] != '/') {
                config_log_bad_line(where, "%s= must be an absolute path, ignoring: %s", key, value);
                return 0;
        }
        return free_and_strdup(field, value);
}

/* Region=, StorageClass=: they go into headers and the signature. */
static int parse_token_value(const ConfigLocation *where, const char *key, const char *value, char **field) {
        if (value[0] == '\0' || strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != strlen(value)) {
                config_log_bad_line(where, "%s= must be letters, digits, '-' and '_', ignoring: %s", key, value);
                return 0;
        }
        return free_and_strdup(field, value);
}

/* S3's bucket naming rules: 3..63 of lower-case letters, digits, '-' and
 * '.', starting and ending with a letter or digit. */
static int parse_bucket(const ConfigLocation *where, const char *value, char **field) {
        size_t n = strlen(value);

        if (n < 3 || n > 63 || strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789-.") != n ||
            !isalnum((unsigned char) value[0]) || !isalnum((unsigned char) value[n - 1])) {
                config_log_bad_line(where, "Bucket= must be 3 to 63 lower-case letters, digits, '-' and '.', ignoring: %s",
                                    value);
                return 0;
        }
        return free_and_strdup(field, value);
}

static bool key_template_is_valid(const char *template) {
        if (template[0] == '\0' || template[0] == '/')
                return false;
        /* No "." or ".." segment: libcurl would remove it. */
        for (const char *p = template; *p; p += strcspn(p, "/"), p += *p == '/') {
                size_t n = strcspn(p, "/");

                if ((n == 1 || n == 2) && strspn(p, ".") == n)
                        return false;
        }
        for (const char *p = template; *p; p++) {
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        return false;
                if (*p == '%' && (!p[1] || !strchr("HiftYmdhMS%", p[1])))
                        return false;
                if (*p == '%')
                        p++;
        }
        return true;
}

static int parse_key_template(const ConfigLocation *where, const char *value, char **field) {
        if (!key_template_is_valid(value)) {
                config_log_bad_line(where, "KeyTemplate= must not start with '/' and has no . or .. segment and knows only %%H %%i %%f %%t %%Y %%m %%d %%h %%M %%S %%%%, ignoring: %s",
                                    value);
                return 0;
        }
        return free_and_strdup(field, value);
}

/* A byte count with an optional K, M, G or T suffix (powers of 1024). */
static int parse_bytes(const ConfigLocation *where, const char *key, const char *value, uint64_t min, uint64_t max,
                       uint64_t *field) {
        unsigned long long n;
        char *end;
        int shift = 0;

        errno = 0;
        n = strtoull(value, &end, 10);
        if (end != value && value[0] != '-' && errno == 0) {
                const char *suffixes = "KMGT", *s = *end ? strchr(suffixes, toupper((unsigned char) *end)) : NULL;

                if (s && end[1] == '\0')
                        shift = 10 * (int) (s - suffixes + 1);
                else if (*end)
                        end = NULL;
        } else
                end = NULL;
        if (!end || (shift > 0 && n > (UINT64_MAX >> shift)) || (n << shift) < min || (n << shift) > max) {
                config_log_bad_line(where, "%s= must be a byte count (K, M, G, T suffixes) from %llu to %llu, ignoring: %s",
                                    key, (unsigned long long) min, (unsigned long long) max, value);
                return 0;
        }
        *field = (uint64_t) n << shift;
        return 0;
}

static int handle_upload_key(TargetParser *p, const ConfigLocation *where, const char *key, const char *value) {
        UploadTarget *t = p->target;
        OptionValue v;

        if (strcmp(key, "Type") == 0) {
                UploadTargetType type = upload_target_type_from_string(value);

                p->type_seen = true;
                p->type_unknown = type == _UPLOAD_TARGET_TYPE_MAX;
                if (p->type_unknown)
                        config_log_bad_line(where, "Unknown upload type '%s' (supported: cloudshark, s3, http).", value);
                else
                        t->type = type;
                return 0;
        }
        if (strcmp(key, "URL") == 0 || strcmp(key, "Endpoint") == 0)
                return parse_url(where, key, value, &t->url);
        if (strcmp(key, "Token") == 0) {
                erase_and_free(p->token);
                p->token = value[0] ? strdup(value) : NULL;
                return value[0] && !p->token ? -ENOMEM : 0;
        }
        if (strcmp(key, "TokenFile") == 0 || strcmp(key, "SecretAccessKeyFile") == 0)
                return parse_absolute_path(where, key, value, &p->token_file);
        if (strcmp(key, "AccessKeyIdFile") == 0)
                return parse_absolute_path(where, key, value, &p->access_key_id_file);
        if (strcmp(key, "AccessKeyId") == 0)
                return free_and_strdup(&t->access_key_id, value);
        if (strcmp(key, "Bucket") == 0)
                return parse_bucket(where, value, &t->bucket);
        if (strcmp(key, "Region") == 0)
                return parse_token_value(where, key, value, &t->region);
        if (strcmp(key, "StorageClass") == 0)
                return parse_token_value(where, key, value, &t->storage_class);
        if (strcmp(key, "KeyTemplate") == 0)
                return parse_key_template(where, value, &t->key_template);
        if (strcmp(key, "AddressingStyle") == 0) {
                int i = name_lookup(addressing_names, _S3_ADDRESSING_MAX, value);

                if (i < 0)
                        config_log_bad_line(where, "AddressingStyle= must be path or virtual, ignoring: %s", value);
                else
                        t->addressing = i;
                return 0;
        }
        if (strcmp(key, "Authorization") == 0) {
                int i = name_lookup(auth_names, _HTTP_AUTH_MAX, value);

                if (i < 0)
                        config_log_bad_line(where, "Authorization= must be none, bearer or basic, ignoring: %s", value);
                else {
                        t->auth = i;
                        p->auth_seen = true;
                }
                return 0;
        }
        if (strcmp(key, "MultipartThreshold") == 0)
                return parse_bytes(where, key, value, 1, UINT64_MAX, &t->multipart_threshold);
        if (strcmp(key, "PartSize") == 0)
                return parse_bytes(where, key, value, UPLOAD_TARGET_PART_SIZE_MIN, UPLOAD_TARGET_PART_SIZE_MAX,
                                   &t->part_size);
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
        if (strcmp(key, "CAFile") == 0)
                return parse_absolute_path(where, key, value, &t->ca_file);

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

/* Reads the systemd credential <name> from $CREDENTIALS_DIRECTORY: 0 and
 * *ret set, -ENOENT if there is none. */
static int read_credential(const char *name, char **ret) {
        const char *credentials = getenv("CREDENTIALS_DIRECTORY");
        _cleanup_(freep) char *path = NULL;
        int r;

        if (!credentials || credentials[0] != '/')
                return -ENOENT;
        if (asprintf(&path, "%s/%s", credentials, name) < 0)
                return -ENOMEM;
        r = read_token_file(path, ret);
        if (r >= 0) {
                log_debug("Upload target: %s from its credential.", name);
                return 0;
        }
        if (r == -ENODATA)
                log_warning("Credential %s is empty, ignoring it.", name);
        else if (r != -ENOENT)
                log_warning_errno(r, "Cannot read credential %s, ignoring it: %m", name);
        return -ENOENT;
}

/* The systemd credential wins over the file, which wins over the value in
 * the configuration. Returns -ENOKEY if there is none of them. */
static int resolve_secret(const char *path, const char *target, const char *credential, const char *key_file,
                          const char *file, char **inline_value, char **ret) {
        int r;

        r = read_credential(credential, ret);
        if (r != -ENOENT)
                return r;

        if (file) {
                r = read_token_file(file, ret);
                if (r >= 0) {
                        warn_if_world_readable(file, key_file);
                        return 0;
                }
                return log_warning_errno(r, "%s: cannot read %s %s (%m), skipping upload target %s.",
                                         path, key_file, file, target);
        }

        if (inline_value && *inline_value) {
                warn_if_world_readable(path, "Upload target configuration with a secret");
                *ret = TAKE_PTR(*inline_value);
                return 0;
        }
        return -ENOKEY;
}

static int resolve_secrets(TargetParser *p, const char *path) {
        UploadTarget *t = p->target;
        _cleanup_(freep) char *credential = NULL, *id_credential = NULL, *id = NULL;
        int r;

        if (t->type != UPLOAD_TARGET_S3) {
                if (asprintf(&credential, "upload-%s", t->name) < 0)
                        return -ENOMEM;
                return resolve_secret(path, t->name, credential, "TokenFile", p->token_file, &p->token, &t->token);
        }

        /* S3 secrets come from files only: never from a line of the
         * configuration, which is more often readable than meant. */
        if (p->token) {
                log_warning("%s: Token= does not apply to Type=s3 (use SecretAccessKeyFile= or the credential upload-%s-secret-access-key), ignoring it.",
                            path, t->name);
                p->token = mfree_str(p->token);
        }
        if (asprintf(&credential, "upload-%s-secret-access-key", t->name) < 0 ||
            asprintf(&id_credential, "upload-%s-access-key-id", t->name) < 0)
                return -ENOMEM;

        r = resolve_secret(path, t->name, id_credential, "AccessKeyIdFile", p->access_key_id_file, &t->access_key_id, &id);
        if (r == -ENOKEY)
                return log_warning_errno(r, "%s: no access key id (AccessKeyId=, AccessKeyIdFile= or credential %s), skipping upload target %s.",
                                         path, id_credential, t->name);
        if (r < 0)
                return r;
        free(t->access_key_id);
        t->access_key_id = TAKE_PTR(id);

        r = resolve_secret(path, t->name, credential, "SecretAccessKeyFile", p->token_file, NULL, &t->token);
        if (r == -ENOKEY)
                return log_warning_errno(r, "%s: no secret access key (SecretAccessKeyFile= or credential %s), skipping upload target %s.",
                                         path, credential, t->name);
        return r;
}

/* Whether host is the loopback interface, where plain http is fine: an
 * address in 127.0.0.0/8 (not a host name that starts with "127."), ::1 or
 * localhost. libcurl gives IPv4 addresses in their normal form. */
static bool host_is_loopback(const char *host) {
        struct in_addr a;

        if (strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
                return true;
        return inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

static bool url_is_loopback(const char *url) {
        char *host = NULL;
        CURLU *u = curl_url();
        bool loopback;

        if (!u)
                return false;
        loopback = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
                   curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host_is_loopback(host);
        curl_free(host);
        curl_url_cleanup(u);
        return loopback;
}

/* What each type needs; fills in the defaults. Returns -EINVAL (logged) if
 * the target is unusable. */
static int check_target(TargetParser *p, const char *path) {
        UploadTarget *t = p->target;
        const char *url_key = t->type == UPLOAD_TARGET_S3 ? "Endpoint" : "URL";

        if (!t->url)
                return log_warning_errno(EINVAL, "%s: %s= is missing, skipping upload target %s.", path, url_key, t->name);
        if (t->type == UPLOAD_TARGET_CLOUDSHARK)
                return 0;

        if (!t->key_template && !(t->key_template = strdup(UPLOAD_TARGET_DEFAULT_KEY_TEMPLATE)))
                return -ENOMEM;
        if (t->type == UPLOAD_TARGET_HTTP) {
                if (!p->auth_seen)
                        t->auth = p->token || p->token_file ? HTTP_AUTH_BEARER : HTTP_AUTH_NONE;
                return 0;
        }

        if (!t->bucket)
                return log_warning_errno(EINVAL, "%s: Bucket= is missing, skipping upload target %s.", path, t->name);
        if (strncmp(t->url, "https://", 8) != 0 && !url_is_loopback(t->url))
                return log_warning_errno(EINVAL, "%s: Endpoint= must be https:// (http:// only on loopback), skipping upload target %s.",
                                         path, t->name);
        if (!t->region && !(t->region = strdup(UPLOAD_TARGET_DEFAULT_REGION)))
                return -ENOMEM;
        if (t->multipart_threshold < t->part_size)
                t->multipart_threshold = t->part_size;
        return 0;
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
        p.target->multipart_threshold = UPLOAD_TARGET_DEFAULT_MULTIPART_THRESHOLD;
        p.target->part_size = UPLOAD_TARGET_DEFAULT_PART_SIZE;

        r = config_file_parse(path, handle_entry, &p);
        if (r < 0)
                return log_warning_errno(r, "Failed to read %s, skipping it: %m", path);

        if (p.type_unknown)
                return log_warning_errno(EINVAL, "%s: unknown Type=, skipping upload target %s.", path, name);
        if (!p.type_seen)
                return log_warning_errno(EINVAL, "%s: Type= is missing (Type=cloudshark, s3 or http), skipping upload target %s.",
                                         path, name);
        r = check_target(&p, path);
        if (r < 0)
                return r;

        r = resolve_secrets(&p, path);
        if (r == -ENOKEY && p.target->type == UPLOAD_TARGET_HTTP && p.target->auth == HTTP_AUTH_NONE)
                r = 0;
        else if (r == -ENOKEY && p.target->type != UPLOAD_TARGET_S3)
                return log_warning_errno(r, "%s: no token (Token=, TokenFile= or credential upload-%s), skipping upload target %s.",
                                         path, name, name);
        if (r < 0)
                return r;
        if (p.target->type == UPLOAD_TARGET_HTTP && p.target->auth == HTTP_AUTH_BASIC && !strchr(p.target->token, ':'))
                return log_warning_errno(EINVAL, "%s: Authorization=basic needs a secret of the form user:password, skipping upload target %s.",
                                         path, name);

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

char *upload_target_expand_key(const char *template, const char *hostname, const char *interface,
                               const char *filename, const char *target, uint64_t start_usec) {
        time_t seconds = (time_t) (start_usec / USEC_PER_SEC);
        char *buffer = NULL;
        size_t size = 0;
        struct tm tm;
        FILE *f;

        if (!gmtime_r(&seconds, &tm))
                return NULL;
        f = open_memstream(&buffer, &size);
        if (!f)
                return NULL;

        for (const char *p = template; *p; p++) {
                if (*p != '%' || !p[1]) {
                        fputc(*p, f);
                        continue;
                }
                switch (*++p) {
                case 'H': fputs(hostname, f); break;
                case 'i': fputs(interface, f); break;
                case 'f': fputs(filename, f); break;
                case 't': fputs(target, f); break;
                case 'Y': fprintf(f, "%04d", tm.tm_year + 1900); break;
                case 'm': fprintf(f, "%02d", tm.tm_mon + 1); break;
                case 'd': fprintf(f, "%02d", tm.tm_mday); break;
                case 'h': fprintf(f, "%02d", tm.tm_hour); break;
                case 'M': fprintf(f, "%02d", tm.tm_min); break;
                case 'S': fprintf(f, "%02d", tm.tm_sec); break;
                default: fputc(*p, f);      /* %% and, defensively, anything else */
                }
        }
        if (fclose(f) != 0) {
                free(buffer);
                return NULL;
        }
        return buffer;
}
