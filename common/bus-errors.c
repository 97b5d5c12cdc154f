/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "bus-errors.h"

const sd_bus_error_map captured_error_map[] = {
        SD_BUS_ERROR_MAP(CAPTURED_ERROR_NO_SUCH_INTERFACE, ENODEV),
        SD_BUS_ERROR_MAP(CAPTURED_ERROR_INVALID_FILTER, EBADMSG),
        SD_BUS_ERROR_MAP(CAPTURED_ERROR_NO_SUCH_CAPTURE, ESRCH),
        SD_BUS_ERROR_MAP(CAPTURED_ERROR_ALREADY_RUNNING, EBUSY),
        SD_BUS_ERROR_MAP(CAPTURED_ERROR_NO_SUCH_UPLOAD_TARGET, ENOKEY),
        SD_BUS_ERROR_MAP_END
};

int captured_error_map_register(void) {
        int r = sd_bus_error_add_map(captured_error_map);
        return r < 0 ? r : 0;
}
