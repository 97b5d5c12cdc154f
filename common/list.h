/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* The one linked list: doubly linked, intrusive, NULL-terminated. An item
 * type holds LIST_FIELDS(its type), the owner a pointer to the first
 * item (NULL: empty). Removing is O(1); appending walks the list unless
 * the owner keeps the last item and uses LIST_INSERT_AFTER. */

#define LIST_FIELDS(t) t *next, *prev

#define LIST_PREPEND(head, item)                                                \
        do {                                                                    \
                __typeof__(*(head)) **_lp_head = &(head), *_lp_item = (item);   \
                _lp_item->prev = NULL;                                          \
                _lp_item->next = *_lp_head;                                     \
                if (_lp_item->next)                                             \
                        _lp_item->next->prev = _lp_item;                        \
                *_lp_head = _lp_item;                                           \
        } while (0)

/* Inserts item after where (at the front if where is NULL). */
#define LIST_INSERT_AFTER(head, where, item)                                    \
        do {                                                                    \
                __typeof__(*(head)) **_li_head = &(head), *_li_where = (where), *_li_item = (item); \
                if (!_li_where)                                                 \
                        LIST_PREPEND(*_li_head, _li_item);                      \
                else {                                                          \
                        _li_item->prev = _li_where;                             \
                        _li_item->next = _li_where->next;                       \
                        if (_li_item->next)                                     \
                                _li_item->next->prev = _li_item;                \
                        _li_where->next = _li_item;                             \
                }                                                               \
        } while (0)

#define LIST_APPEND(head, item)                                                 \
        do {                                                                    \
                __typeof__(*(head)) **_lt_h = &(head), *_lt_tail = *_lt_h;      \
                while (_lt_tail && _lt_tail->next)                              \
                        _lt_tail = _lt_tail->next;                              \
                LIST_INSERT_AFTER(*_lt_h, _lt_tail, (item));                    \
        } while (0)

#define LIST_REMOVE(head, item)                                                 \
        do {                                                                    \
                __typeof__(*(head)) **_lr_head = &(head), *_lr_item = (item);   \
                if (_lr_item->next)                                             \
                        _lr_item->next->prev = _lr_item->prev;                  \
                if (_lr_item->prev)                                             \
                        _lr_item->prev->next = _lr_item->next;                  \
                else                                                            \
                        *_lr_head = _lr_item->next;                             \
                _lr_item->next = _lr_item->prev = NULL;                         \
        } while (0)

/* Removes and returns the first item, or NULL. */
#define LIST_POP(head)                                                          \
        ({                                                                      \
                __typeof__(*(head)) **_lo_pop_head = &(head), *_lo_first = *_lo_pop_head; \
                if (_lo_first)                                                  \
                        LIST_REMOVE(*_lo_pop_head, _lo_first);                  \
                _lo_first;                                                      \
        })

#define LIST_FOREACH(i, head)                                                   \
        for (__typeof__(*(head)) *i = (head); i; i = i->next)

/* i may be removed (and freed) in the body. */
#define LIST_FOREACH_SAFE(i, head)                                              \
        for (__typeof__(*(head)) *i = (head), *_next_##i = i ? i->next : NULL; i; \
             i = _next_##i, _next_##i = i ? i->next : NULL)
