/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* Whether a network interface of that name exists in our network namespace. */
bool netif_exists(const char *name);
