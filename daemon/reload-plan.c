/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "reload-plan.h"

ReloadAction reload_plan_capture(const ReloadFacts *f) {
        ReloadAction a = 0;

        if (f->options_changed)
                a |= f->active ? RELOAD_TAKE_OPTIONS | RELOAD_RESTART : RELOAD_TAKE_OPTIONS;
        /* An operator's stop stands until the operator starts it again. */
        if (f->enabled && !f->active && !f->stopped_by_request && !f->stopped_since_boot)
                a |= RELOAD_START;
        return a;
}
