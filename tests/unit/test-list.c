/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include "list.h"

typedef struct Item {
        int value;
        LIST_FIELDS(struct Item);
} Item;

/* The values front to back, checking the back links on the way. */
static void assert_list(Item *head, const int *want, size_t n) {
        Item *prev = NULL;
        size_t i = 0;

        LIST_FOREACH(it, head) {
                g_assert_cmpuint(i, <, n);
                g_assert_cmpint(it->value, ==, want[i]);
                g_assert_true(it->prev == prev);
                prev = it;
                i++;
        }
        g_assert_cmpuint(i, ==, n);
}

static void test_prepend_append_insert(void) {
        Item a = { .value = 1 }, b = { .value = 2 }, c = { .value = 3 }, d = { .value = 4 };
        Item *head = NULL;

        assert_list(head, NULL, 0);
        LIST_APPEND(head, &b);                  /* 2 */
        LIST_PREPEND(head, &a);                 /* 1 2 */
        LIST_APPEND(head, &d);                  /* 1 2 4 */
        LIST_INSERT_AFTER(head, &b, &c);        /* 1 2 3 4 */
        assert_list(head, (const int[]) { 1, 2, 3, 4 }, 4);

        LIST_REMOVE(head, &c);
        LIST_INSERT_AFTER(head, NULL, &c);      /* NULL: at the front */
        assert_list(head, (const int[]) { 3, 1, 2, 4 }, 4);
}

static void test_remove_and_pop(void) {
        Item items[5];
        Item *head = NULL, *popped;

        for (int i = 0; i < 5; i++) {
                items[i] = (Item) { .value = i };
                LIST_APPEND(head, &items[i]);
        }
        LIST_REMOVE(head, &items[2]);           /* middle */
        g_assert_null(items[2].next);
        g_assert_null(items[2].prev);
        assert_list(head, (const int[]) { 0, 1, 3, 4 }, 4);
        LIST_REMOVE(head, &items[4]);           /* last */
        LIST_REMOVE(head, &items[0]);           /* first */
        assert_list(head, (const int[]) { 1, 3 }, 2);

        popped = LIST_POP(head);
        g_assert_true(popped == &items[1]);
        assert_list(head, (const int[]) { 3 }, 1);
        popped = LIST_POP(head);
        g_assert_true(popped == &items[3]);
        g_assert_null(head);
        popped = LIST_POP(head);
        g_assert_null(popped);
}

static void test_foreach_safe_frees(void) {
        Item *head = NULL;
        int seen = 0;

        for (int i = 0; i < 6; i++) {
                Item *it = g_new0(Item, 1);

                it->value = i;
                LIST_APPEND(head, it);
        }
        /* Removing and freeing the current item does not end the walk. */
        LIST_FOREACH_SAFE(it, head) {
                seen++;
                if (it->value % 2 == 0) {
                        LIST_REMOVE(head, it);
                        g_free(it);
                }
        }
        g_assert_cmpint(seen, ==, 6);
        assert_list(head, (const int[]) { 1, 3, 5 }, 3);
        LIST_FOREACH_SAFE(it, head) {
                LIST_REMOVE(head, it);
                g_free(it);
        }
        g_assert_null(head);
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/list/prepend-append-insert", test_prepend_append_insert);
        g_test_add_func("/list/remove-and-pop", test_remove_and_pop);
        g_test_add_func("/list/foreach-safe-frees", test_foreach_safe_frees);
        return g_test_run();
}
