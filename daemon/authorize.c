/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "authorize.h"
#include "captured-bus.h"
#include "log.h"
#include "macro.h"
#include "polkit.h"
#include "time-util.h"

/* polkit answers at once unless it has to ask the user for a password. */
#define POLKIT_TIMEOUT_USEC (20 * USEC_PER_SEC)
#define POLKIT_INTERACTIVE_TIMEOUT_USEC (300 * USEC_PER_SEC)

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

/* Runs the handler and, if it failed, answers the call with the error. */
static void run_handler(Request *r) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int k;

        k = r->handler(r, &error);
        if (k >= 0)
                return;
        if (sd_bus_error_is_set(&error))
                (void) sd_bus_reply_method_error(r->message, &error);
        else
                (void) sd_bus_reply_method_errno(r->message, k, NULL);
}

static void on_polkit_answer(PolkitResult result, const char *detail, void *userdata) {
        Request *r = userdata;
        const char *member = sd_bus_message_get_member(r->message);

        switch (result) {
        case POLKIT_AUTHORIZED:
                run_handler(r);
                return;
        case POLKIT_CHALLENGE:
                log_notice("%s '%s': the caller must authenticate first.", member, r->interface);
                (void) sd_bus_reply_method_errorf(r->message, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                                  "Authentication is required to %s captures on '%s'",
                                                  r->verb, r->interface);
                return;
        case POLKIT_DENIED:
                log_notice("%s '%s': polkit denied it.", member, r->interface);
                (void) sd_bus_reply_method_errorf(r->message, SD_BUS_ERROR_ACCESS_DENIED,
                                                  "Not authorized to %s captures on '%s'", r->verb, r->interface);
                return;
        case POLKIT_ERROR:
                /* Without a polkit answer, non-root callers are denied (SPEC §8). */
                log_notice("%s '%s': denied, polkit gave no answer (%s).", member, r->interface, strempty(detail));
                (void) sd_bus_reply_method_errorf(r->message, SD_BUS_ERROR_ACCESS_DENIED,
                                                  "Not authorized to %s captures on '%s': no answer from polkit (%s)",
                                                  r->verb, r->interface, strempty(detail));
                return;
        }
}

static void request_destroy(void *userdata) {
        request_free(userdata);
}

int authorize_request(Request *request, sd_bus_error *error) {
        _cleanup_(request_freep) Request *r = request;
        const char *details[] = { "interface", r->interface, "verb", r->verb, NULL };
        uint64_t timeout;
        uid_t uid;
        int k;

        k = sender_uid(r->message, &uid);
        if (k < 0)
                return log_warning_errno(k, "Cannot learn who called %s: %m", sd_bus_message_get_member(r->message));

        /* A handler's 0 means "answered or queued", as after polkit; to
         * sd-bus 0 would mean "not handled" (Unknown method). */
        if (uid == 0) {
                k = r->handler(r, error);
                return k < 0 ? k : 1;
        }

        timeout = sd_bus_message_get_allow_interactive_authorization(r->message) ?
                POLKIT_INTERACTIVE_TIMEOUT_USEC : POLKIT_TIMEOUT_USEC;

        k = polkit_check_authorization(sd_bus_message_get_bus(r->message), r->message, CAPTURED_POLKIT_ACTION,
                                       details, timeout, on_polkit_answer, r, request_destroy);
        if (k < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Not authorized: cannot ask polkit (%s)", strerror(-k));

        /* The answer comes later; the request lives on in the polkit call. */
        TAKE_PTR(r);
        return 1;
}
