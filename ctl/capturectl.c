/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
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

const Verb verbs[] = {
        { "start", "IFACE...", "Start a capture on each interface",
          "Options not given come from the configuration. Waits until tcpdump is ready.\n"
          "A capture that already runs with other options is an error: stop it first.\n"
          "An enabled capture whose interface does not exist waits for it.",
          1, SIZE_MAX, VERB_CAPTURE_OPTIONS | VERB_CONTROL, verb_start },
        { "stop", "IFACE...", "Stop captures (their files stay)",
          "Waits until tcpdump has exited and its last file is finished.",
          1, SIZE_MAX, VERB_CONTROL, verb_stop },
        { "restart", "IFACE...", "Restart captures with the options they run with", NULL,
          1, SIZE_MAX, VERB_CONTROL, verb_restart },
        { "status", "[IFACE...]", "Show the state of captures, of all without IFACE",
          "Exit status with IFACE: 3 if a named capture is not running, 4 if there is\n"
          "no capture on a named interface.",
          0, SIZE_MAX, 0, verb_status },
        { "list", "", "List all captures", NULL,
          0, 0, 0, verb_list },
        { "files", "IFACE", "List the finished files of a capture", NULL,
          1, 1, 0, verb_files },
        { "enable", "IFACE... [--now]", "Start captures whenever captured starts (--now: and now)",
          "The options given are kept with the capture. The interface need not exist yet.",
          1, SIZE_MAX, VERB_CAPTURE_OPTIONS | VERB_NOW | VERB_CONTROL, verb_enable },
        { "disable", "IFACE... [--now]", "Undo enable (--now: and stop the capture)", NULL,
          1, SIZE_MAX, VERB_NOW | VERB_CONTROL, verb_disable },
        { "watch", "[IFACE...]", "Follow completions, uploads and state changes live",
          "Runs until interrupted. Its output is never paged.",
          0, SIZE_MAX, 0, verb_watch },
        { "upload", "IFACE FILE", "Queue a finished file for upload again (--target=NAME)",
          "FILE is a name or path from 'files IFACE'. Without --target, to each of the\n"
          "capture's Upload= targets. Uses the same queue, with its retries.",
          2, 2, VERB_FILE | VERB_TARGET | VERB_CONTROL, verb_upload },
};

const size_t verbs_size = ELEMENTSOF(verbs);

/* Not in the list of commands, which are those that act on captures. */
static const Verb verb_help_entry = {
        "help", "[COMMAND]", "Show the help of a command, or this help without COMMAND", NULL,
        0, SIZE_MAX, VERB_LOCAL, verb_help,
};

enum {
        ARG_VERSION = 0x100,
        ARG_JSON,
        ARG_NO_ASK_PASSWORD,
        ARG_NO_AUTO_START,
        ARG_NO_PAGER,
        ARG_NOW,
        ARG_TARGET,
        ARG_CAPTURE_OPTION,             /* + 2 × index in capture_option_table, + 1 for --no-NAME */
};

const CtlOption ctl_options[] = {
        { "host", 'H', "[USER@]HOST", 'H', 0,
          "Operate on the system bus of a remote host (over SSH)" },
        { "json", 0, NULL, ARG_JSON, 0,
          "Print JSON: status, list, files an array of objects\n"
          "keyed by D-Bus property name; watch one object per line" },
        { "no-ask-password", 0, NULL, ARG_NO_ASK_PASSWORD, 0,
          "Never ask for a password: by default, with stdin a\n"
          "terminal, capturectl runs pkttyagent so polkit can ask" },
        { "no-auto-start", 0, NULL, ARG_NO_AUTO_START, VERB_CONTROL,
          "Commands that change captures: never start captured\n"
          "by D-Bus activation; if it is not running, fail at once" },
        { "no-pager", 0, NULL, ARG_NO_PAGER, 0,
          "Do not pipe status, list and files into a pager" },
        { "now", 0, NULL, ARG_NOW, VERB_NOW,
          "With enable: also start; with disable: also stop" },
        { "target", 0, "NAME", ARG_TARGET, VERB_TARGET,
          "With upload: the upload target (upload.d/NAME.conf)" },
        { "quiet", 'q', NULL, 'q', 0,
          "Print less: no footers; status only sets the exit status" },
        { "help", 'h', NULL, 'h', 0,
          "Show this help; with a command, that command's help" },
        { "version", 0, NULL, ARG_VERSION, 0,
          "Show the version" },
};

const size_t ctl_options_size = ELEMENTSOF(ctl_options);

typedef struct LongOptions {
        char short_options[2 + 2 * 8];  /* ":" and "X" or "X:" per short option */
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

/* capturectl's options plus two per capture option: --NAME and, for booleans, --no-NAME. */
static int long_options_build(LongOptions *l) {
        size_t n = 0;

        l->options = calloc(ctl_options_size + 2 * capture_option_table_size + 1, sizeof(struct option));
        l->names = calloc(capture_option_table_size, sizeof(char *));
        if (!l->options || !l->names)
                return -ENOMEM;

        /* ':' first: a missing argument is reported as such, not as an unknown option. */
        l->short_options[0] = ':';
        for (size_t i = 0, k = 1; i < ctl_options_size; i++) {
                if (ctl_options[i].short_name == 0)
                        continue;
                if (k + 3 > sizeof(l->short_options))
                        return -ENOBUFS;
                l->short_options[k++] = ctl_options[i].short_name;
                if (ctl_options[i].metavar)
                        l->short_options[k++] = ':';
                l->short_options[k] = '\0';
        }

        for (size_t i = 0; i < ctl_options_size; i++)
                l->options[n++] = (struct option) {
                        ctl_options[i].name,
                        ctl_options[i].metavar ? required_argument : no_argument,
                        NULL,
                        ctl_options[i].id,
                };

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

/* --help before or after a command is that command's help. */
static int show_help(int argc, char *argv[]) {
        const Verb *verb;

        if (optind >= argc) {
                help_print();
                return 0;
        }

        verb = verb_find(argv[optind]);
        if (!verb)
                return -EINVAL;
        help_print_verb(verb);
        return 0;
}

/* Returns 0 to exit successfully (--help, --version), > 0 to go on, < 0 on a
 * usage error that was explained. */
static int parse_argv(Context *c, int argc, char *argv[]) {
        _cleanup_(long_options_done) LongOptions long_options = {};
        bool help = false, version = false;
        int opt, r;

        r = long_options_build(&long_options);
        if (r < 0)
                return log_error_errno(r, "out of memory");

        c->options = calloc(capture_option_table_size, sizeof(CaptureOptionArg));
        if (!c->options)
                return log_error_errno(-ENOMEM, "out of memory");

        /* Our own messages, so that every line starts with "capturectl: ". */
        opterr = 0;
        while ((opt = getopt_long(argc, argv, long_options.short_options, long_options.options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        help = true;
                        break;
                case ARG_VERSION:
                        version = true;
                        break;
                case 'H':
                        if (optarg[0] == '\0' || optarg[0] == '-')
                                return log_error_errno(-EINVAL, "invalid host '%s' for --host ([USER@]HOST)", optarg);
                        c->host = optarg;
                        break;
                case ARG_JSON:
                        c->json = true;
                        break;
                case ARG_NO_ASK_PASSWORD:
                        c->ask_password = false;
                        break;
                case ARG_NO_AUTO_START:
                        c->auto_start = false;
                        break;
                case ARG_NO_PAGER:
                        c->pager_enabled = false;
                        break;
                case ARG_NOW:
                        c->now = true;
                        break;
                case ARG_TARGET:
                        if (!upload_target_name_is_valid(optarg))
                                return log_error_errno(-EINVAL, "invalid upload target name '%s'", optarg);
                        c->target = optarg;
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

        if (help)
                return show_help(argc, argv);
        if (version) {
                printf("capturectl %s\n", PACKAGE_VERSION);
                return 0;
        }
        return 1;
}

const Verb *verb_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (strcmp(verbs[i].name, name) == 0)
                        return &verbs[i];
        if (strcmp(verb_help_entry.name, name) == 0)
                return &verb_help_entry;

        log_error("unknown command '%s' (see capturectl --help)", name);
        return NULL;
}

/* Checks what the command line gives a verb before anything goes on the bus. */
static int check_verb_args(const Context *c, const Verb *verb, char **args, size_t n_args) {
        if (verb->flags & VERB_LOCAL)
                return 0;       /* it checks its own */

        if ((verb->flags & VERB_FILE) && n_args != 2)
                return log_error_errno(-EINVAL, "%s needs an interface name and a file name", verb->name);
        if (n_args < verb->min_args)
                return log_error_errno(-EINVAL, "%s needs %s interface name", verb->name,
                                       verb->max_args == 1 ? "an" : "at least one");
        if (n_args > verb->max_args)
                return log_error_errno(-EINVAL, verb->max_args == 0 ? "%s takes no arguments" :
                                       "%s takes one interface name only", verb->name);

        for (size_t i = 0; i < ((verb->flags & VERB_FILE) ? 1 : n_args); i++)
                if (!interface_name_is_valid(args[i]))
                        return log_error_errno(-EINVAL, "invalid interface name '%s'", args[i]);

        if (c->n_options > 0 && !(verb->flags & VERB_CAPTURE_OPTIONS))
                return log_error_errno(-EINVAL, "--%s is only valid with start and enable",
                                       c->options[0].spec->cli_name);
        if (c->now && !(verb->flags & VERB_NOW))
                return log_error_errno(-EINVAL, "--now is only valid with enable and disable");
        if (!c->auto_start && !(verb->flags & VERB_CONTROL))
                return log_error_errno(-EINVAL, "--no-auto-start is only valid with start, stop, restart, "
                                       "enable, disable and upload");
        if (c->target && !(verb->flags & VERB_TARGET))
                return log_error_errno(-EINVAL, "--target is only valid with upload");

        return 0;
}

static void context_done(Context *c) {
        /* First: the user reads the output while we wait. */
        pager_close(&c->pager);
        c->bus = sd_bus_flush_close_unref(c->bus);
        polkit_agent_close(c->polkit_agent);
        free(c->options);
}

int main(int argc, char *argv[]) {
        _cleanup_(context_done) Context c = {
                .ask_password = true,
                .auto_start = true,
                .pager_enabled = true,
                .pager = PAGER_NULL,
        };
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

        verb = verb_find(argv[optind]);
        if (!verb)
                return EXIT_USAGE;

        args = argv + optind + 1;
        n_args = (size_t) (argc - optind - 1);
        r = check_verb_args(&c, verb, args, n_args);
        if (r < 0)
                return EXIT_USAGE;

        if (!(verb->flags & VERB_LOCAL)) {
                r = bus_connect(&c.bus, c.host, c.ask_password);
                if (r < 0)
                        return EXIT_FAILURE;
        }

        r = verb->run(&c, args, n_args);
        return r < 0 ? EXIT_FAILURE : r;
}
