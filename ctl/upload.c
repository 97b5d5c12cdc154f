/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "bus-util.h"
#include "captured-bus.h"
#include "capturectl.h"
#include "macro.h"
#include "output.h"

/* `upload IFACE FILE [--target=NAME]`: a finished file queued for upload
 * again (Manager.UploadFile), to one target or to each of the capture's
 * Upload= targets. The daemon checks polkit (verb "upload"). */

int verb_upload(Context *c, char **args, size_t n_args) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *iface = args[0], *file = args[1], *path;
        char action[128];
        int r;

        snprintf(action, sizeof(action), "queue '%s' of '%s' for upload", file, iface);
        r = sd_bus_message_new_method_call(c->bus, &m, CAPTURED_BUS_NAME, CAPTURED_MANAGER_PATH,
                                           CAPTURED_MANAGER_INTERFACE, "UploadFile");
        if (r >= 0)
                r = sd_bus_message_append(m, "sss", iface, file, strempty(c->target));
        if (r >= 0)
                r = context_call_authorized(c, m, &error, &reply);
        if (r < 0 && sd_bus_error_has_name(&error, SD_BUS_ERROR_FILE_NOT_FOUND))
                return log_error_errno(r, "no finished file '%s' of '%s' (see capturectl files %s)", file, iface, iface);
        if (r < 0)
                return log_bus_error(c->bus, &error, r, iface, action);

        r = sd_bus_message_read(reply, "s", &path);
        if (r < 0)
                return log_error_errno(r, "failed to %s: %s", action, strerror(-r));
        if (!c->quiet)
                printf("Queued %s for upload%s%s.\n", path, c->target ? " to " : "", strempty(c->target));
        return 0;
}
