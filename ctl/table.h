/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "macro.h"

/* An aligned text table with a header row, filled cell by cell, row by row.
 * A cell may carry an ANSI colour sequence that is printed around its text
 * but does not count towards the column width. */
typedef struct Table Table;

typedef enum TableAlign {
        TABLE_ALIGN_LEFT,
        TABLE_ALIGN_RIGHT,
} TableAlign;

/* headers: n_columns strings. */
int table_new(Table **ret, const char *const *headers, size_t n_columns);
Table *table_free(Table *t);
DEFINE_POINTER_CLEANUP(Table, table_free);

int table_set_align(Table *t, size_t column, TableAlign align);

/* Appends the next cell; color may be NULL. */
int table_add_cell(Table *t, const char *text, const char *color);
int table_add_cellf(Table *t, const char *color, const char *format, ...) _printf_(3, 4);

/* Complete rows added so far, the header not counted. */
size_t table_rows(const Table *t);

/* Prints the header and every row, columns separated by two spaces, without
 * trailing white space. Colours only if colors is true. */
int table_print(const Table *t, FILE *f, bool colors);
