/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "format.h"
#include "table.h"

#define ANSI_NORMAL "\x1B[0m"

typedef struct Cell {
        char *text;
        char *color;
} Cell;

struct Table {
        size_t n_columns;
        Cell *cells;              /* row-major, the header row first */
        size_t n_cells;
        size_t allocated;
        TableAlign *align;
};

static void cell_done(Cell *c) {
        free(c->text);
        free(c->color);
}

Table *table_free(Table *t) {
        if (!t)
                return NULL;

        for (size_t i = 0; i < t->n_cells; i++)
                cell_done(&t->cells[i]);
        free(t->cells);
        free(t->align);
        free(t);
        return NULL;
}

int table_new(Table **ret, const char *const *headers, size_t n_columns) {
        _cleanup_(table_freep) Table *t = NULL;
        int r;

        if (n_columns == 0)
                return -EINVAL;

        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->n_columns = n_columns;

        t->align = calloc(n_columns, sizeof(*t->align));
        if (!t->align)
                return -ENOMEM;

        for (size_t i = 0; i < n_columns; i++) {
                r = table_add_cell(t, headers[i], NULL);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(t);
        return 0;
}

int table_set_align(Table *t, size_t column, TableAlign align) {
        if (column >= t->n_columns)
                return -EINVAL;
        t->align[column] = align;
        return 0;
}

int table_add_cell(Table *t, const char *text, const char *color) {
        Cell c = {};

        if (ARRAY_GROW(t->cells, &t->allocated, t->n_cells + 1) < 0)
                return -ENOMEM;

        c.text = strdup(strempty(text));
        c.color = color ? strdup(color) : NULL;
        if (!c.text || (color && !c.color)) {
                cell_done(&c);
                return -ENOMEM;
        }

        t->cells[t->n_cells++] = c;
        return 0;
}

int table_add_cellf(Table *t, const char *color, const char *format, ...) {
        _cleanup_(freep) char *text = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&text, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;

        return table_add_cell(t, text, color);
}

size_t table_rows(const Table *t) {
        return t->n_cells / t->n_columns - 1;
}

static void print_padding(FILE *f, size_t n) {
        for (; n > 0; n--)
                fputc(' ', f);
}

static void print_cell(FILE *f, const Cell *c, TableAlign align, size_t width, bool pad_right, bool colors) {
        size_t w = utf8_width(c->text);
        size_t pad = width > w ? width - w : 0;

        if (align == TABLE_ALIGN_RIGHT)
                print_padding(f, pad);
        if (colors && c->color)
                fprintf(f, "%s%s%s", c->color, c->text, ANSI_NORMAL);
        else
                fputs(c->text, f);
        if (align == TABLE_ALIGN_LEFT && pad_right)
                print_padding(f, pad);
}

/* How many cells of a row to print: trailing empty left-aligned cells would
 * only leave trailing blanks. */
static size_t row_end(const Table *t, const Cell *row) {
        size_t end = t->n_columns;

        while (end > 1 && t->align[end - 1] == TABLE_ALIGN_LEFT && row[end - 1].text[0] == '\0')
                end--;
        return end;
}

int table_print(const Table *t, FILE *f, bool colors) {
        _cleanup_(freep) size_t *width = NULL;
        size_t n_rows = t->n_cells / t->n_columns;

        width = calloc(t->n_columns, sizeof(*width));
        if (!width)
                return -ENOMEM;

        for (size_t i = 0; i < n_rows * t->n_columns; i++) {
                size_t w = utf8_width(t->cells[i].text);
                if (w > width[i % t->n_columns])
                        width[i % t->n_columns] = w;
        }

        for (size_t row = 0; row < n_rows; row++) {
                const Cell *cells = &t->cells[row * t->n_columns];
                size_t end = row_end(t, cells);

                for (size_t column = 0; column < end; column++) {
                        if (column > 0)
                                fputs("  ", f);
                        print_cell(f, &cells[column], t->align[column], width[column], column + 1 < end, colors);
                }
                fputc('\n', f);
        }

        return fflush(f) == 0 ? 0 : negative_errno();
}
