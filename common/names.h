/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#define UPLOAD_TARGET_NAME_MAX 64

/* The kernel's rules for a network interface name (dev_valid_name()), made
 * stricter by refusing control characters: 1..15 bytes, not "." or "..",
 * no '/', ':' or white space. */
bool interface_name_is_valid(const char *name);

/* An upload target name is also a file name under upload.d/: letters, digits,
 * '-', '_' and '.', not starting with '.', at most UPLOAD_TARGET_NAME_MAX long. */
bool upload_target_name_is_valid(const char *name);
