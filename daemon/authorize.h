/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

typedef struct Manager Manager;

/* A method call that changes something, validated and waiting for its
 * authorization. Owns everything it needs, so that the answer may come
 * later (polkit) and nothing changes before it. */
typedef struct Request Request;
/* Returns negative errno (or sets error) on failure; otherwise it has sent
 * the reply or queued it for later. */
typedef int (*RequestHandler)(Request *r, sd_bus_error *error);

struct Request {
        Manager *manager;
        sd_bus_message *message;
        const char *verb;            /* polkit detail "verb": start, stop, ... */
        char *interface;             /* polkit detail "interface" */
        RequestHandler handler;
        void *data;                  /* handler-specific, freed with data_free */
        void (*data_free)(void *data);
};

int request_new(Request **ret, Manager *m, sd_bus_message *message, const char *verb,
                const char *interface, RequestHandler handler);
Request *request_free(Request *r);

/* Runs the request's handler if the caller may do it: root at once, anyone
 * else once polkit (action io.captured.manage, details interface and verb)
 * says yes. A no is AccessDenied, a challenge
 * InteractiveAuthorizationRequired, no answer (polkitd absent, an error, a
 * timeout) AccessDenied. Takes ownership of r. Returns what an sd-bus
 * method handler returns (1: the reply comes later). */
int authorize_request(Request *r, sd_bus_error *error);
