/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "authorize.h"
#include "log.h"
#include "macro.h"

DEFINE_POINTER_CLEANUP(Request, request_free);

int request_new(Request **ret, Manager *m, sd_bus_message *message, const char *verb,
                const char *interface, RequestHandler handler) {
        _cleanup_(request_freep) Request *r = NULL;

        r = calloc(1, sizeof(Request));
        if (!r)
                return -ENOMEM;

        r->manager = m;
        r->message = sd_bus_message_ref(message);
        r->verb = verb;
        r->handler = handler;
        r->interface = strdup(interface);
        if (!r->interface)
                return -ENOMEM;

        *ret = TAKE_PTR(r);
        return 0;
}

Request *request_free(Request *r) {
        if (!r)
                return NULL;

        if (r->data_free)
                r->data_free(r->data);
        sd_bus_message_unref(r->message);
        free(r->interface);
        free(r);
        return NULL;
}

static int sender_uid(sd_bus_message *m, uid_t *ret) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        int r;

        r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &creds);
        if (r < 0)
                return r;
        return sd_bus_creds_get_euid(creds, ret);
}

int authorize_request(Request *request, sd_bus_error *error) {
        _cleanup_(request_freep) Request *r = request;
        uid_t uid;
        int k;

        k = sender_uid(r->message, &uid);
        if (k < 0)
                return log_warning_errno(k, "Cannot learn who called %s: %m", sd_bus_message_get_member(r->message));

        if (uid == 0)
                return r->handler(r, error);

        /* Without a polkit answer, non-root callers are denied (SPEC §8). */
        log_notice("Refused to %s '%s' for UID %u.", r->verb, r->interface, (unsigned) uid);
        return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                 "UID %u may not %s captures on '%s'", (unsigned) uid, r->verb, r->interface);
}
