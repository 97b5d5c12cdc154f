/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "capture-options.h"
#include "pager.h"

/* Exit status beyond 0 (success) and 1 (failure), as systemctl uses them. */
enum {
        EXIT_USAGE = 2,             /* invalid command line */
        EXIT_NOT_RUNNING = 3,       /* status: a named capture is not running */
        EXIT_NO_SUCH_CAPTURE = 4,   /* status: a named capture does not exist */
};

/* A capture option given on the command line. */
typedef struct CaptureOptionArg {
        const OptionSpec *spec;
        OptionValue value;          /* strings borrowed from argv */
} CaptureOptionArg;

/* What the command line asked for, and the bus to do it on. */
typedef struct Context {
        sd_bus *bus;
        const char *host;
        bool json;
        bool quiet;
        bool now;
        bool auto_start;            /* false with --no-auto-start: calls never bus-activate captured */
        bool pager_enabled;         /* false with --no-pager */
        Pager pager;                /* status, list and files page on a terminal */
        bool ask_password;          /* interactive polkit authorization (a password on our terminal) */
        bool polkit_agent_tried;
        pid_t polkit_agent;         /* pkttyagent, 0 if none runs */
        CaptureOptionArg *options;  /* in the order first given; the last value given wins */
        size_t n_options;
        const char *target;         /* upload --target= */
} Context;

/* Before the output of status, list and files: a pager if stdout is a
 * terminal, unless --no-pager. Without one (none found, none wanted) the
 * output goes where it would have gone. */
static inline void context_open_pager(Context *c) {
        if (c->pager_enabled)
                (void) pager_open(&c->pager);
}

/* A command: returns an exit status (>= 0), or a negative errno after it
 * explained the failure on stderr (exit status 1). ifaces are valid
 * interface names. */
typedef int (*VerbFunction)(Context *c, char **ifaces, size_t n_ifaces);

int verb_start(Context *c, char **ifaces, size_t n_ifaces);
int verb_stop(Context *c, char **ifaces, size_t n_ifaces);
int verb_restart(Context *c, char **ifaces, size_t n_ifaces);
int verb_enable(Context *c, char **ifaces, size_t n_ifaces);
int verb_disable(Context *c, char **ifaces, size_t n_ifaces);
int verb_status(Context *c, char **ifaces, size_t n_ifaces);
int verb_list(Context *c, char **ifaces, size_t n_ifaces);
int verb_files(Context *c, char **ifaces, size_t n_ifaces);
int verb_watch(Context *c, char **ifaces, size_t n_ifaces);
int verb_upload(Context *c, char **args, size_t n_args);

/* A call that may need polkit's authorization: with a polkit agent for a
 * password on our terminal, and time to type it. */
int context_call_authorized(Context *c, sd_bus_message *m, sd_bus_error *error, sd_bus_message **reply);
int verb_help(Context *c, char **args, size_t n_args);

/* Every capture as a JSON object ("Interface", "State", "Path" and its
 * properties), sorted by interface: what status, list and watch start
 * from. Explains a failure on stderr. */
int collect_captures(sd_bus *bus, json_object **ret);

typedef enum VerbFlags {
        VERB_CAPTURE_OPTIONS = 1 << 0,  /* takes --filter= etc. */
        VERB_NOW             = 1 << 1,  /* takes --now */
        VERB_LOCAL           = 1 << 2,  /* needs no bus; its arguments are no interface names */
        VERB_CONTROL         = 1 << 3,  /* changes captures: takes --no-auto-start */
        VERB_FILE            = 1 << 4,  /* IFACE FILE: only the first argument is an interface name */
        VERB_TARGET          = 1 << 5,  /* takes --target= */
} VerbFlags;

typedef struct Verb {
        const char *name;
        const char *arguments;          /* for the help: "IFACE...", "[IFACE...]" */
        const char *summary;            /* one line in the list of commands */
        const char *description;        /* more in the command's own help, or NULL */
        size_t min_args, max_args;
        VerbFlags flags;
        VerbFunction run;
} Verb;

/* The commands that act on captures, in the order of the help. */
extern const Verb verbs[];
extern const size_t verbs_size;

/* A command by name, `help` included; NULL, after saying so on stderr, if there is none. */
const Verb *verb_find(const char *name);

/* capturectl's own options (the capture options are common/capture-options.c's). */
typedef struct CtlOption {
        const char *name;               /* long name */
        char short_name;                /* 0 if none */
        const char *metavar;            /* the argument, NULL if it takes none */
        int id;                         /* what getopt_long() returns */
        VerbFlags verbs;                /* 0: every command takes it; else those with one of these flags */
        const char *help;               /* '\n' starts a continuation line */
} CtlOption;

extern const CtlOption ctl_options[];
extern const size_t ctl_options_size;

/* The help texts, generated from the tables above and the capture option table. */
void help_print(void);
void help_print_verb(const Verb *verb);
