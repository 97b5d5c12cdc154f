/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "array.h"
#include "config-file.h"
#include "log.h"
#include "strv.h"

typedef struct ParseContext {
        FILE *f;
        ConfigLocation where;
        bool at_line_start;
        ConfigEntryHandler handler;
        void *userdata;
        int error;
} ParseContext;

void config_log_bad_line(const ConfigLocation *where, const char *format, ...) {
        char message[1024];
        va_list ap;

        va_start(ap, format);
        vsnprintf(message, sizeof(message), format, ap);
        va_end(ap);

        log_warning("%s:%u: %s", where->path, where->line, message);
}

/* inih reads through this so that we know the line each entry is on. */
static char *read_line(char *buffer, int size, void *stream) {
        ParseContext *ctx = stream;
        char *s = fgets(buffer, size, ctx->f);

        if (!s)
                return NULL;
        if (ctx->at_line_start)
                ctx->where.line++;
        ctx->at_line_start = strchr(s, '\n') != NULL;
        return s;
}

static int handle_ini_entry(void *user, const char *section, const char *key, const char *value) {
        ParseContext *ctx = user;
        int r;

        if (ctx->error < 0)
                return 1;

        if (section[0] == '\0') {
                config_log_bad_line(&ctx->where, "%s= outside of any section, ignoring.", key);
                return 1;
        }

        r = ctx->handler(ctx->userdata, &ctx->where, section, key, value);
        if (r < 0)
                ctx->error = r;
        return 1;
}

static void configure_inih(void) {
        /* Filters can be long and may contain ';': no inline comments, no
         * Python-style continuation lines, lines as long as they come. */
        ini_allow_inline_comments = false;
        ini_allow_multiline = false;
        ini_use_stack = false;
        ini_allow_realloc = true;
        ini_max_line = 64 * 1024;
}

int config_file_parse(const char *path, ConfigEntryHandler handler, void *userdata) {
        _cleanup_(fclosep) FILE *f = NULL;
        ParseContext ctx = {
                .where = { .path = path },
                .at_line_start = true,
                .handler = handler,
                .userdata = userdata,
        };
        int r;

        struct stat st;

        f = fopen(path, "re");
        if (!f)
                return negative_errno();
        if (fstat(fileno(f), &st) < 0)
                return negative_errno();
        ctx.where.trusted = st.st_uid == 0 && (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;

        configure_inih();
        ctx.f = f;
        r = ini_parse_stream(read_line, &ctx, handle_ini_entry, &ctx);
        if (ctx.error < 0)
                return ctx.error;
        if (r == -2)
                return -ENOMEM;
        if (r > 0)
                log_warning("%s:%d: syntax error (expected [Section] or Key=Value), ignoring the line.", path, r);

        log_debug("Loaded %s.", path);
        return 0;
}

static int filter_conf(const struct dirent *de) {
        size_t n = strlen(de->d_name);

        return de->d_name[0] != '.' && n > 5 && strcmp(de->d_name + n - 5, ".conf") == 0;
}

int config_file_parse_directory(const char *dir, ConfigEntryHandler handler, void *userdata) {
        struct dirent **entries = NULL;
        int n, r = 0;

        n = scandir(dir, &entries, filter_conf, alphasort);
        if (n < 0) {
                if (errno == ENOENT)
                        return 0;
                return log_warning_errno(errno, "Failed to read directory %s, ignoring: %m", dir), 0;
        }

        for (int i = 0; i < n; i++) {
                _cleanup_(freep) char *path = NULL;

                if (r >= 0) {
                        if (asprintf(&path, "%s/%s", dir, entries[i]->d_name) < 0)
                                r = -ENOMEM;
                        else {
                                r = config_file_parse(path, handler, userdata);
                                if (r < 0 && r != -ENOMEM) {
                                        log_warning_errno(r, "Failed to read %s, ignoring: %m", path);
                                        r = 0;
                                }
                        }
                }
                free(entries[i]);
        }
        free(entries);
        return r;
}

int config_parse_capture_option(CaptureOptions *o, OptionMask *mask, const ConfigLocation *where,
                                const char *key, const char *value) {
        _cleanup_(freep) char *message = NULL;
        const OptionSpec *spec;
        OptionValue v;
        int r;

        spec = capture_option_find(key);
        if (!spec) {
                config_log_bad_line(where, "Unknown option %s=, ignoring.", key);
                return 0;
        }

        r = option_value_parse(spec, value, &v, &message);
        if (r >= 0)
                r = capture_options_set(o, spec, &v, &message);
        if (r == -EINVAL) {
                config_log_bad_line(where, "Invalid value, ignoring: %s", strempty(message));
                return 0;
        }
        if (r >= 0 && mask)
                *mask |= option_mask_of(spec);
        return r;
}

int config_split_command(const char *text, char ***ret) {
        char **words = NULL;
        size_t n = 0;
        const char *p = text;

        for (;;) {
                char *word, *w, quote = 0;

                p += strspn(p, " \t");
                if (*p == '\0')
                        break;

                w = word = malloc(strlen(p) + 1);
                if (!word)
                        goto oom;
                for (; *p && (quote || (*p != ' ' && *p != '\t')); p++) {
                        if (quote && *p == quote)
                                quote = 0;
                        else if (!quote && (*p == '"' || *p == '\''))
                                quote = *p;
                        else if (*p == '\\' && p[1] && quote != '\'')
                                *w++ = *++p;
                        else
                                *w++ = *p;
                }
                *w = 0;
                if (quote) {
                        free(word);
                        strv_free(words);
                        return -EBADMSG;
                }

                if (ARRAY_GROW(words, NULL, n + 2) < 0) {
                        free(word);
                        goto oom;
                }
                words[n++] = word;
                words[n] = NULL;
        }

        if (n == 0 || words[0][0] != '/') {
                strv_free(words);
                return -EINVAL;
        }
        *ret = words;
        return 0;
oom:
        strv_free(words);
        return -ENOMEM;
}
