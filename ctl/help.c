/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "capture-options.h"
#include "capturectl.h"
#include "output.h"

/* `--help`, `COMMAND --help` and `help [COMMAND]`: every list in them is
 * generated from the verb table, capturectl's option table and the shared
 * capture option table, so that a new command or option shows up by itself. */

/* Where the explanations start: after "  disable IFACE... [--now]  ". */
#define HELP_COLUMN 28

/* "LEFT   TEXT", the text from HELP_COLUMN on (after two spaces at least),
 * its continuation lines ('\n') indented to the same column. */
static void print_entry(const char *left, const char *text) {
        int width = printf("%s", left);

        for (const char *line = text; line; ) {
                const char *end = strchr(line, '\n');
                int pad = HELP_COLUMN - width;

                printf("%*s%.*s\n", pad >= 2 ? pad : 2, "", end ? (int) (end - line) : (int) strlen(line), line);
                line = end ? end + 1 : NULL;
                width = 0;
        }
}

static void print_capture_options(void) {
        for (size_t i = 0; i < capture_option_table_size; i++) {
                const OptionSpec *spec = &capture_option_table[i];
                char left[64], text[256];

                if (spec->type == OPTION_BOOLEAN)
                        snprintf(left, sizeof(left), "     --[no-]%s", spec->cli_name);
                else
                        snprintf(left, sizeof(left), "     --%s=%s", spec->cli_name,
                                 spec->type == OPTION_UINT32 ? "N" : "TEXT");

                if (spec->type == OPTION_UINT32)
                        snprintf(text, sizeof(text), "%s [%" PRIu32 "…%" PRIu32 "]", spec->help, spec->min, spec->max);
                else
                        snprintf(text, sizeof(text), "%s", spec->help);

                print_entry(left, text);
        }
}

/* The options of commands with one of flags, and with global
 * those that every command takes, in the order of the table. */
static void print_ctl_options(VerbFlags flags, bool global) {
        for (size_t i = 0; i < ctl_options_size; i++) {
                const CtlOption *o = &ctl_options[i];
                char left[64];

                if (!(global && o->verbs == 0) && !(o->verbs & flags))
                        continue;

                if (o->short_name)
                        snprintf(left, sizeof(left), "  -%c --%s%s%s", o->short_name,
                                 o->name, o->metavar ? "=" : "", strempty(o->metavar));
                else
                        snprintf(left, sizeof(left), "     --%s%s%s",
                                 o->name, o->metavar ? "=" : "", strempty(o->metavar));
                print_entry(left, o->help);
        }
}

static bool has_verb_options(VerbFlags flags) {
        for (size_t i = 0; i < ctl_options_size; i++)
                if (ctl_options[i].verbs & flags)
                        return true;
        return false;
}

static void print_synopsis(const Verb *verb, char *buf, size_t l) {
        snprintf(buf, l, "  %s%s%s", verb->name, verb->arguments[0] != '\0' ? " " : "", verb->arguments);
}

void help_print(void) {
        printf("capturectl [OPTIONS] COMMAND [ARGS]\n"
               "\n"
               "Control the packet captures of captured.\n"
               "\n"
               "Commands:\n");
        for (size_t i = 0; i < verbs_size; i++) {
                char left[64];

                print_synopsis(&verbs[i], left, sizeof(left));
                print_entry(left, verbs[i].summary);
        }

        printf("\nCapture options (start, enable; those not given are captured's defaults):\n");
        print_capture_options();

        printf("\nOptions:\n");
        print_ctl_options(~(VerbFlags) 0, true);

        printf("\n"
               "'capturectl help COMMAND' or 'capturectl COMMAND --help' shows the help of a command.\n"
               "\n"
               "Exit status:\n"
               "  0  success\n"
               "  1  failure, explained in one line on stderr\n"
               "  2  invalid command line\n"
               "  3  status: a named capture is not running\n"
               "  4  status: there is no capture on a named interface\n");
}

void help_print_verb(const Verb *verb) {
        printf("capturectl [OPTIONS] %s%s%s\n\n%s.\n", verb->name, verb->arguments[0] != '\0' ? " " : "",
               verb->arguments, verb->summary);
        if (verb->description)
                printf("%s\n", verb->description);

        /* help has no options of its own, and ignores the global ones. */
        if (verb->flags & VERB_LOCAL)
                return;

        if (verb->flags & VERB_CAPTURE_OPTIONS) {
                printf("\nCapture options (those not given are captured's defaults):\n");
                print_capture_options();
        }
        if (has_verb_options(verb->flags)) {
                printf("\nOptions:\n");
                print_ctl_options(verb->flags, false);
        }
        printf("\nGlobal options:\n");
        print_ctl_options(0, true);
}

int verb_help(Context *c, char **args, size_t n_args) {
        const Verb *verb;

        if (n_args == 0) {
                help_print();
                return 0;
        }
        if (n_args > 1) {
                log_error("help takes one command name only");
                return EXIT_USAGE;
        }

        verb = verb_find(args[0]);
        if (!verb)
                return EXIT_USAGE;
        help_print_verb(verb);
        return 0;
}
