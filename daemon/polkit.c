/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "polkit.h"

#define POLKIT_ALLOW_USER_INTERACTION 1u

typedef struct Check {
        PolkitCallback callback;
        void *userdata;
        sd_bus_destroy_t destroy;
} Check;

static void check_destroy(void *p) {
        Check *c = p;

        if (c->destroy)
                c->destroy(c->userdata);
        free(c);
}

static int read_result(sd_bus_message *reply, PolkitResult *ret) {
        int authorized, challenge, r;

        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0)
                return r;

        *ret = authorized ? POLKIT_AUTHORIZED : challenge ? POLKIT_CHALLENGE : POLKIT_DENIED;
        return 0;
}

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Check *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        PolkitResult result;
        int r;

        if (e) {
                log_notice("polkit did not answer: %s", e->message ? e->message : e->name);
                c->callback(POLKIT_ERROR, e->message ? e->message : e->name, c->userdata);
                return 0;
        }

        r = read_result(reply, &result);
        if (r < 0) {
                log_warning_errno(r, "polkit's answer could not be read: %m");
                c->callback(POLKIT_ERROR, "unreadable answer from polkit", c->userdata);
                return 0;
        }

        c->callback(result, NULL, c->userdata);
        return 0;
}

static int append_details(sd_bus_message *m, const char *const *details) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{ss}");
        if (r < 0)
                return r;
        for (const char *const *d = details; d && d[0] && d[1]; d += 2) {
                r = sd_bus_message_append(m, "{ss}", d[0], d[1]);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

int polkit_check_authorization(sd_bus *bus, sd_bus_message *call, const char *action, const char *const *details,
                               uint64_t timeout_usec, PolkitCallback callback, void *userdata,
                               sd_bus_destroy_t destroy) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        const char *sender = sd_bus_message_get_sender(call);
        uint32_t flags = 0;
        Check *c;
        int r;

        if (!sender)
                return -EBADMSG;
        if (sd_bus_message_get_allow_interactive_authorization(call))
                flags |= POLKIT_ALLOW_USER_INTERACTION;

        r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r < 0)
                return r;

        /* The subject is the caller's bus name: polkit resolves it to a
         * process and user itself, so nothing here can be spoofed. */
        r = sd_bus_message_append(m, "(sa{sv})", "system-bus-name", 1, "name", "s", sender);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", action);
        if (r < 0)
                return r;
        r = append_details(m, details);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "us", flags, "");
        if (r < 0)
                return r;

        c = calloc(1, sizeof(Check));
        if (!c)
                return -ENOMEM;
        *c = (Check) { .callback = callback, .userdata = userdata, .destroy = destroy };

        r = sd_bus_call_async(bus, &slot, m, on_reply, c, timeout_usec);
        if (r < 0) {
                free(c);
                return r;
        }

        /* The slot owns the check from now on, and frees it when the answer
         * has been handled or the bus goes away. */
        (void) sd_bus_slot_set_destroy_callback(slot, check_destroy);
        (void) sd_bus_slot_set_floating(slot, 1);
        return 0;
}
