/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <net/if.h>

#include "names.h"
#include "netif.h"

bool netif_exists(const char *name) {
        return interface_name_is_valid(name) && if_nametoindex(name) > 0;
}
