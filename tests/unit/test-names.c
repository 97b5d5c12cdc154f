/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <string.h>

#include "names.h"

static void test_interface_name_valid(void) {
        static const char *const good[] = {
                "lo", "eth0", "veth-a", "enp0s31f6", "br_0", "wlan0.100", "a",
                "x..y", "abcdefghijklmno", /* 15 characters: the kernel's limit */
        };

        for (gsize i = 0; i < G_N_ELEMENTS(good); i++) {
                g_test_message("valid: '%s'", good[i]);
                g_assert_true(interface_name_is_valid(good[i]));
        }
}

static void test_interface_name_invalid(void) {
        static const char *const bad[] = {
                "", ".", "..", "a/b", "/", "a:b", "eth0:1", "a b", " lo", "lo ",
                "\t", "lo\t", "a\nb", "\r", "x\x01", "\x7f", "\x1b[0m",
                "abcdefghijklmnop", /* 16 characters */
                "abcdefghijklmnopqrstuvwxyz",
        };

        for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autofree char *shown = g_strescape(bad[i], NULL);
                g_test_message("invalid: '%s'", shown);
                g_assert_false(interface_name_is_valid(bad[i]));
        }

        g_assert_false(interface_name_is_valid(NULL));
}

static void test_interface_name_length_boundary(void) {
        char name[64];

        /* Every length from 1 to 15 is accepted, 16 and more are refused. */
        for (gsize n = 1; n < sizeof(name); n++) {
                memset(name, 'e', n);
                name[n] = '\0';
                if (n <= 15)
                        g_assert_true(interface_name_is_valid(name));
                else
                        g_assert_false(interface_name_is_valid(name));
        }
}

static void test_interface_name_every_control_char(void) {
        /* A control character anywhere in the name refuses it. */
        for (int c = 1; c < 0x20; c++) {
                char name[] = { 'e', 't', (char) c, 'h', '\0' };
                g_assert_false(interface_name_is_valid(name));
        }
        {
                char name[] = { 'e', 't', 0x7f, 'h', '\0' };
                g_assert_false(interface_name_is_valid(name));
        }
}

static void test_upload_target_name(void) {
        static const char *const good[] = {
                "cs-1", "cloudshark", "a", "A_b.c-9", "x.conf", "a..b",
        };
        static const char *const bad[] = {
                "", ".", "..", ".x", "../x", "a/b", "/abs", "a b", "a\tb", "a\nb",
                "a:b", "a;b", "$x", "a*", "é",
        };
        char name[UPLOAD_TARGET_NAME_MAX + 2];

        for (gsize i = 0; i < G_N_ELEMENTS(good); i++) {
                g_test_message("valid: '%s'", good[i]);
                g_assert_true(upload_target_name_is_valid(good[i]));
        }
        for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autofree char *shown = g_strescape(bad[i], NULL);
                g_test_message("invalid: '%s'", shown);
                g_assert_false(upload_target_name_is_valid(bad[i]));
        }
        g_assert_false(upload_target_name_is_valid(NULL));

        memset(name, 'u', UPLOAD_TARGET_NAME_MAX);
        name[UPLOAD_TARGET_NAME_MAX] = '\0';
        g_assert_true(upload_target_name_is_valid(name));
        name[UPLOAD_TARGET_NAME_MAX] = 'u';
        name[UPLOAD_TARGET_NAME_MAX + 1] = '\0';
        g_assert_false(upload_target_name_is_valid(name));
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/names/interface/valid", test_interface_name_valid);
        g_test_add_func("/names/interface/invalid", test_interface_name_invalid);
        g_test_add_func("/names/interface/length-boundary", test_interface_name_length_boundary);
        g_test_add_func("/names/interface/control-chars", test_interface_name_every_control_char);
        g_test_add_func("/names/upload-target", test_upload_target_name);

        return g_test_run();
}
