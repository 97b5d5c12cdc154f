/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <net/if.h>
#include <string.h>

#include "names.h"

bool interface_name_is_valid(const char *name) {
        if (!name || name[0] == '\0')
                return false;
        if (strnlen(name, IFNAMSIZ) >= IFNAMSIZ)
                return false;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return false;

        for (const unsigned char *p = (const unsigned char *) name; *p; p++)
                if (*p == '/' || *p == ':' || isspace(*p) || iscntrl(*p))
                        return false;

        return true;
}

bool upload_target_name_is_valid(const char *name) {
        size_t n;

        if (!name || name[0] == '\0' || name[0] == '.')
                return false;

        n = strlen(name);
        if (n > UPLOAD_TARGET_NAME_MAX)
                return false;

        return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") == n;
}
