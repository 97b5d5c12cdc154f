/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <unistd.h>

#include "bus-util.h"
#include "captured-bus.h"
#include "capturectl.h"
#include "macro.h"
#include "time-util.h"
#include "polkit-agent.h"

/* The commands that change captures: each is a sequence of Manager calls
 * made for one interface after the other. */

typedef struct ManagerCall {
        const char *method;
        bool with_options;            /* appends the capture options as a{sv} */
        bool ignore_no_such_capture;  /* nothing to do is fine */
        const char *action;           /* for error messages: "failed to <action> on 'eth0'" */
} ManagerCall;

static const ManagerCall call_start = { "StartCapture", .with_options = true, .action = "start the capture" };
static const ManagerCall call_stop = { "StopCapture", .action = "stop the capture" };
static const ManagerCall call_stop_if_any = { "StopCapture", .ignore_no_such_capture = true, .action = "stop the capture" };
static const ManagerCall call_restart = { "RestartCapture", .action = "restart the capture" };
static const ManagerCall call_enable = { "EnableCapture", .with_options = true, .action = "enable the capture" };
static const ManagerCall call_disable = { "DisableCapture", .action = "disable the capture" };

static int append_options(sd_bus_message *m, const Context *c) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;

        for (size_t i = 0; i < c->n_options; i++) {
                r = option_value_append(m, c->options[i].spec, &c->options[i].value);
                if (r < 0)
                        return r;
        }

        return sd_bus_message_close_container(m);
}

/* captured waits up to 300 s for polkit while a password may be typed. */
#define INTERACTIVE_CALL_TIMEOUT_USEC (310 * USEC_PER_SEC)

/* Before the first call that may need authorization, so that polkit can ask
 * for a password on our terminal. Not for root, who needs none, nor for a
 * remote host, whose polkit cannot reach this terminal. */
static void open_polkit_agent(Context *c) {
        pid_t pid;

        if (c->polkit_agent_tried || !c->ask_password || c->host || geteuid() == 0)
                return;
        c->polkit_agent_tried = true;

        /* Without an agent the call still goes on, and may be refused. */
        pid = polkit_agent_open();
        c->polkit_agent = pid > 0 ? pid : 0;
}

static int manager_call(Context *c, const ManagerCall *call, const char *iface, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(c->bus, &m, CAPTURED_BUS_NAME, CAPTURED_MANAGER_PATH,
                                           CAPTURED_MANAGER_INTERFACE, call->method);
        if (r < 0)
                return r;

        r = sd_bus_message_append(m, "s", iface);
        if (r < 0)
                return r;

        if (call->with_options) {
                r = append_options(m, c);
                if (r < 0)
                        return r;
        }

        return context_call_authorized(c, m, error, NULL);
}

int context_call_authorized(Context *c, sd_bus_message *m, sd_bus_error *error, sd_bus_message **reply) {
        int r;

        r = sd_bus_message_set_auto_start(m, c->auto_start);
        if (r < 0)
                return r;

        open_polkit_agent(c);
        return sd_bus_call(c->bus, m, c->ask_password ? INTERACTIVE_CALL_TIMEOUT_USEC : 0, error, reply);
}

/* Makes the calls for each interface in turn. A failure that concerns one
 * interface only is reported and the next interface is tried; any other
 * (no daemon, access denied, bad options) ends the command. */
static int run_calls(Context *c, char **ifaces, size_t n_ifaces, const ManagerCall *const *calls, size_t n_calls) {
        int ret = 0;

        for (size_t i = 0; i < n_ifaces; i++)
                for (size_t j = 0; j < n_calls; j++) {
                        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                        char action[128];
                        int r;

                        r = manager_call(c, calls[j], ifaces[i], &error);
                        if (r >= 0)
                                continue;
                        if (calls[j]->ignore_no_such_capture && bus_error_is_no_such_capture(&error))
                                continue;

                        snprintf(action, sizeof(action), "%s on '%s'", calls[j]->action, ifaces[i]);
                        log_bus_error(c->bus, &error, r, ifaces[i], action);
                        if (!bus_error_is_per_interface(&error))
                                return r;
                        ret = r;
                        break;
                }

        return ret;
}

int verb_start(Context *c, char **ifaces, size_t n_ifaces) {
        const ManagerCall *calls[] = { &call_start };
        return run_calls(c, ifaces, n_ifaces, calls, ELEMENTSOF(calls));
}

int verb_stop(Context *c, char **ifaces, size_t n_ifaces) {
        const ManagerCall *calls[] = { &call_stop };
        return run_calls(c, ifaces, n_ifaces, calls, ELEMENTSOF(calls));
}

int verb_restart(Context *c, char **ifaces, size_t n_ifaces) {
        const ManagerCall *calls[] = { &call_restart };
        return run_calls(c, ifaces, n_ifaces, calls, ELEMENTSOF(calls));
}

int verb_enable(Context *c, char **ifaces, size_t n_ifaces) {
        const ManagerCall *calls[] = { &call_enable, &call_start };
        return run_calls(c, ifaces, n_ifaces, calls, c->now ? 2 : 1);
}

int verb_disable(Context *c, char **ifaces, size_t n_ifaces) {
        const ManagerCall *calls[] = { &call_disable, &call_stop_if_any };
        return run_calls(c, ifaces, n_ifaces, calls, c->now ? 2 : 1);
}
