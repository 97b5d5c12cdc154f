/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-errors.h"
#include "bus-util.h"
#include "capture-options.h"
#include "capturectl.h"
#include "config.h"
#include "macro.h"
#include "names.h"
#include "output.h"
#include "polkit-agent.h"

typedef enum VerbFlags {
        VERB_CAPTURE_OPTIONS = 1 << 0,  /* takes --filter= etc. */
        VERB_NOW             = 1 << 1,  /* takes --now */
} VerbFlags;

typedef struct Verb {
        const char *name;
        size_t min_args, max_args;      /* interface names */
        VerbFlags flags;
        VerbFunction run;
} Verb;

static const Verb verbs[] = {
        { "start",   1, SIZE_MAX, VERB_CAPTURE_OPTIONS,            verb_start   },
        { "stop",    1, SIZE_MAX, 0,                               verb_stop    },
        { "restart", 1, SIZE_MAX, 0,                               verb_restart },
        { "status",  0, SIZE_MAX, 0,                               verb_status  },
        { "list",    0, 0,        0,                               verb_list    },
        { "files",   1, 1,        0,                               verb_files   },
        { "enable",  1, SIZE_MAX, VERB_CAPTURE_OPTIONS | VERB_NOW, verb_enable  },
        { "disable", 1, SIZE_MAX, VERB_NOW,                        verb_disable },
        { "watch",   0, SIZE_MAX, 0,                               verb_watch   },
};

enum {
        ARG_VERSION = 0x100,
        ARG_JSON,
        ARG_NO_ASK_PASSWORD,
        ARG_NOW,
        ARG_CAPTURE_OPTION,             /* + 2 × index in capture_option_table, + 1 for --no-NAME */
};

static const char *option_metavar(const OptionSpec *spec) {
        return spec->type == OPTION_UINT32 ? "N" : "TEXT";
}

/* The left column of an option's help line: "--file-size=N", "--[no-]promiscuous". */
static int format_option_synopsis(char *buf, size_t l, const OptionSpec *spec) {
        if (spec->type == OPTION_BOOLEAN)
                return snprintf(buf, l, "--[no-]%s", spec->cli_name);
        return snprintf(buf, l, "--%s=%s", spec->cli_name, option_metavar(spec));
}

static void help_capture_options(void) {
        char synopsis[64];
        int width = 0;

        for (size_t i = 0; i < capture_option_table_size; i++) {
                int n = format_option_synopsis(synopsis, sizeof(synopsis), &capture_option_table[i]);
                if (n > width)
                        width = n;
        }

        for (size_t i = 0; i < capture_option_table_size; i++) {
                const OptionSpec *spec = &capture_option_table[i];

                format_option_synopsis(synopsis, sizeof(synopsis), spec);
                printf("     %-*s  %s", width, synopsis, spec->help);
                if (spec->type == OPTION_UINT32)
                        printf(" [%" PRIu32 "…%" PRIu32 "]", spec->min, spec->max);
                fputc('\n', stdout);
        }
}

static void help(void) {
        printf("capturectl [OPTIONS] COMMAND [ARGS]\n"
               "\n"
               "Control the packet captures of captured.\n"
               "\n"
               "Commands:\n"
               "  start IFACE...           Start a capture on each interface\n"
               "  stop IFACE...            Stop captures (their files stay)\n"
               "  restart IFACE...         Restart captures with the options they run with\n"
               "  status [IFACE...]        Show the state of captures, of all without IFACE\n"
               "  list                     List all captures\n"
               "  files IFACE              List the finished files of a capture\n"
               "  enable IFACE... [--now]  Start captures whenever captured starts (--now: and now)\n"
               "  disable IFACE... [--now] Undo enable (--now: and stop the capture)\n"
               "  watch [IFACE...]         Follow completions, uploads and state changes live\n"
               "\n"
               "Capture options (start, enable; those not given are captured's defaults):\n");
        help_capture_options();
        printf("\n"
               "Options:\n"
               "  -H --host=[USER@]HOST    Operate on the system bus of a remote host (over SSH)\n"
               "     --json                Print JSON: status, list, files an array of objects\n"
               "                           keyed by D-Bus property name; watch one object per line\n"
               "     --no-ask-password     Do not ask for a password to authorize (by default\n"
               "                           polkit may ask for one when stdin is a terminal)\n"
               "     --now                 With enable: also start; with disable: also stop\n"
               "  -q --quiet               Print less: no footers; status only sets the exit status\n"
               "  -h --help                Show this help\n"
               "     --version             Show the version\n"
               "\n"
               "Exit status:\n"
               "  0  success\n"
               "  1  failure, explained in one line on stderr\n"
               "  2  invalid command line\n"
               "  3  status: a named capture is not running\n"
               "  4  status: there is no capture on a named interface\n");
}

typedef struct LongOptions {
        struct option *options;
        char **names;                   /* the generated "no-NAME" strings */
        size_t n_names;
} LongOptions;

static void long_options_done(LongOptions *l) {
        for (size_t i = 0; i < l->n_names; i++)
                free(l->names[i]);
        free(l->names);
        free(l->options);
}

/* The fixed options plus two per capture option: --NAME and, for booleans, --no-NAME. */
static int long_options_build(LongOptions *l) {
        static const struct option fixed[] = {
                { "help",            no_argument,       NULL, 'h'                 },
                { "version",         no_argument,       NULL, ARG_VERSION         },
                { "host",            required_argument, NULL, 'H'                 },
                { "json",            no_argument,       NULL, ARG_JSON            },
                { "no-ask-password", no_argument,       NULL, ARG_NO_ASK_PASSWORD },
                { "now",             no_argument,       NULL, ARG_NOW             },
                { "quiet",           no_argument,       NULL, 'q'                 },
        };
        size_t n = ELEMENTSOF(fixed);

        l->options = calloc(ELEMENTSOF(fixed) + 2 * capture_option_table_size + 1, sizeof(struct option));
        l->names = calloc(capture_option_table_size, sizeof(char *));
        if (!l->options || !l->names)
                return -ENOMEM;

        memcpy(l->options, fixed, sizeof(fixed));

        for (size_t i = 0; i < capture_option_table_size; i++) {
                const OptionSpec *spec = &capture_option_table[i];
                int val = ARG_CAPTURE_OPTION + 2 * (int) i;

                if (spec->type != OPTION_BOOLEAN) {
                        l->options[n++] = (struct option) { spec->cli_name, required_argument, NULL, val };
                        continue;
                }

                if (asprintf(&l->names[l->n_names], "no-%s", spec->cli_name) < 0)
                        return -ENOMEM;
                l->options[n++] = (struct option) { spec->cli_name, optional_argument, NULL, val };
                l->options[n++] = (struct option) { l->names[l->n_names++], no_argument, NULL, val + 1 };
        }

        return 0;
}

/* The messages of option_value_parse() and capture_options_set() start with
 * the D-Bus key; on the command line the option is named instead. */
static const char *strip_key(const char *message, const char *key) {
        size_t n = strlen(key);

        if (strncmp(message, key, n) == 0 && strncmp(message + n, ": ", 2) == 0)
                return message + n + 2;
        return message;
}

/* Checks a value as the daemon will (syntax and range, with the shared
 * code), so that a typo fails before any bus call. */
static int check_capture_option(const OptionSpec *spec, const char *text, OptionValue *ret) {
        _cleanup_(freep) char *message = NULL;
        CaptureOptions scratch;
        OptionValue value;
        int r;

        r = option_value_parse(spec, text, &value, &message);
        if (r >= 0) {
                capture_options_init_default(&scratch);
                r = capture_options_set(&scratch, spec, &value, &message);
                capture_options_done(&scratch);
        }
        if (r < 0) {
                log_error("invalid value for --%s: %s", spec->cli_name,
                          message ? strip_key(message, spec->key) : strerror(-r));
                return r;
        }

        *ret = value;
        return 0;
}

static void context_set_option(Context *c, const OptionSpec *spec, const OptionValue *value) {
        for (size_t i = 0; i < c->n_options; i++)
                if (c->options[i].spec == spec) {
                        c->options[i].value = *value;
                        return;
                }

        /* c->options holds one slot per table entry, so this never overflows. */
        c->options[c->n_options++] = (CaptureOptionArg) { .spec = spec, .value = *value };
}

static int parse_capture_option(Context *c, int opt, const char *arg) {
        size_t index = (size_t) (opt - ARG_CAPTURE_OPTION) / 2;
        bool negated = (opt - ARG_CAPTURE_OPTION) % 2 == 1;
        const OptionSpec *spec = &capture_option_table[index];
        OptionValue value = { .type = spec->type };
        int r;

        if (spec->type == OPTION_BOOLEAN && !arg)
                value.b = !negated;
        else {
                r = check_capture_option(spec, arg, &value);
                if (r < 0)
                        return r;
        }

        context_set_option(c, spec, &value);
        return 0;
}

static int log_bad_option(int opt, const char *arg) {
        size_t n = strcspn(arg, "=");

        if (opt == ':')
                log_error("option '%.*s' needs an argument", (int) n, arg);
        else if (optopt > 0 && optopt < 0x100 && strncmp(arg, "--", 2) != 0)
                log_error("unknown option '-%c'", optopt);
        else if (optopt > 0)
                log_error("option '%.*s' takes no argument", (int) n, arg);
        else
                log_error("unknown or ambiguous option '%.*s'", (int) n, arg);
        return -EINVAL;
}

/* Returns 0 to exit successfully (--help, --version), > 0 to go on, < 0 on a
 * usage error that was explained. */
static int parse_argv(Context *c, int argc, char *argv[]) {
        _cleanup_(long_options_done) LongOptions long_options = {};
        bool show_help = false, show_version = false;
        int opt, r;

        r = long_options_build(&long_options);
        if (r < 0)
                return log_error_errno(r, "out of memory");

        c->options = calloc(capture_option_table_size, sizeof(CaptureOptionArg));
        if (!c->options)
                return log_error_errno(-ENOMEM, "out of memory");

        /* Our own messages, so that every line starts with "capturectl: ". */
        opterr = 0;
        while ((opt = getopt_long(argc, argv, ":hqH:", long_options.options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        show_help = true;
                        break;
                case ARG_VERSION:
                        show_version = true;
                        break;
                case 'H':
                        c->host = optarg;
                        break;
                case ARG_JSON:
                        c->json = true;
                        break;
                case ARG_NO_ASK_PASSWORD:
                        c->ask_password = false;
                        break;
                case ARG_NOW:
                        c->now = true;
                        break;
                case 'q':
                        c->quiet = true;
                        break;
                case '?':
                case ':':
                        return log_bad_option(opt, argv[optind - 1]);
                default:
                        if (opt < ARG_CAPTURE_OPTION || opt >= ARG_CAPTURE_OPTION + 2 * (int) capture_option_table_size)
                                return log_error_errno(-EINVAL, "unexpected option %d", opt);
                        r = parse_capture_option(c, opt, optarg);
                        if (r < 0)
                                return r;
                }

        if (show_help) {
                help();
                return 0;
        }
        if (show_version) {
                printf("capturectl %s\n", PACKAGE_VERSION);
                return 0;
        }
        return 1;
}

static const Verb *find_verb(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (strcmp(verbs[i].name, name) == 0)
                        return &verbs[i];
        return NULL;
}

/* Checks what the command line gives a verb before anything goes on the bus. */
static int check_verb_args(const Context *c, const Verb *verb, char **args, size_t n_args) {
        if (n_args < verb->min_args)
                return log_error_errno(-EINVAL, "%s needs %s interface name", verb->name,
                                       verb->max_args == 1 ? "an" : "at least one");
        if (n_args > verb->max_args)
                return log_error_errno(-EINVAL, verb->max_args == 0 ? "%s takes no arguments" :
                                       "%s takes one interface name only", verb->name);

        for (size_t i = 0; i < n_args; i++)
                if (!interface_name_is_valid(args[i]))
                        return log_error_errno(-EINVAL, "invalid interface name '%s'", args[i]);

        if (c->n_options > 0 && !(verb->flags & VERB_CAPTURE_OPTIONS))
                return log_error_errno(-EINVAL, "--%s is only valid with start and enable",
                                       c->options[0].spec->cli_name);
        if (c->now && !(verb->flags & VERB_NOW))
                return log_error_errno(-EINVAL, "--now is only valid with enable and disable");

        return 0;
}

static void context_done(Context *c) {
        c->bus = sd_bus_flush_close_unref(c->bus);
        polkit_agent_close(c->polkit_agent);
        free(c->options);
}

int main(int argc, char *argv[]) {
        _cleanup_(context_done) Context c = { .ask_password = true };
        const Verb *verb;
        char **args;
        size_t n_args;
        int r;

        r = captured_error_map_register();
        if (r < 0) {
                log_error("failed to register the error names: %s", strerror(-r));
                return EXIT_FAILURE;
        }

        r = parse_argv(&c, argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;

        if (optind >= argc) {
                log_error("missing command (see capturectl --help)");
                return EXIT_USAGE;
        }

        verb = find_verb(argv[optind]);
        if (!verb) {
                log_error("unknown command '%s' (see capturectl --help)", argv[optind]);
                return EXIT_USAGE;
        }

        args = argv + optind + 1;
        n_args = (size_t) (argc - optind - 1);
        r = check_verb_args(&c, verb, args, n_args);
        if (r < 0)
                return EXIT_USAGE;

        r = bus_connect(&c.bus, c.host, c.ask_password);
        if (r < 0)
                return EXIT_FAILURE;

        r = verb->run(&c, args, n_args);
        return r < 0 ? EXIT_FAILURE : r;
}
