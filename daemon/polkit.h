/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

/* Asking polkit (org.freedesktop.PolicyKit1.Authority.CheckAuthorization)
 * whether the sender of a method call may do an action, asynchronously. */

typedef enum PolkitResult {
        POLKIT_AUTHORIZED,
        POLKIT_CHALLENGE,          /* would be authorized after authentication */
        POLKIT_DENIED,
        POLKIT_ERROR,              /* no polkitd, an error, a timeout: denied */
} PolkitResult;

/* detail: polkit's error message for POLKIT_ERROR, else NULL. */
typedef void (*PolkitCallback)(PolkitResult result, const char *detail, void *userdata);

/* details: NULL-terminated key, value, key, value, ... Interactive
 * authentication is allowed if the call allows it. The callback runs
 * exactly once, from the event loop (never from within this call), unless
 * the bus goes away first; destroy (may be NULL) frees userdata in either
 * case. */
int polkit_check_authorization(sd_bus *bus, sd_bus_message *call, const char *action, const char *const *details,
                               uint64_t timeout_usec, PolkitCallback callback, void *userdata,
                               sd_bus_destroy_t destroy);
