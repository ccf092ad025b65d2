/*
 * csvio.c — CSV writing from column tables and reading into named columns, on libcsv.
 */
#include "jb_csvio.h"

#include "jb_file.h"

#include <csv.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void jb_csv_write_field(FILE *f, const char *s)
{
    const size_t n = strlen(s);
    if (strpbrk(s, ",\"\r\n") || (n && (s[0] == ' ' || s[n - 1] == ' ')))
        csv_fwrite(f, s, n); /* libcsv quotes and doubles the quotes */
    else
        fputs(s, f);
}

int jb_csv_write_header(FILE *f, const struct jb_column *cols, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(',', f);
        jb_csv_write_field(f, cols[i].name);
    }
    fputs("\r\n", f);
    return ferror(f) ? JB_EIO : 0;
}

int jb_csv_write_row(FILE *f, const struct jb_column *cols, size_t n, const void *record)
{
    for (size_t i = 0; i < n; i++) {
        const char *p = (const char *)record + cols[i].offset;
        if (i)
            fputc(',', f);
        if (cols[i].type == JB_COL_STR) {
            jb_csv_write_field(f, p);
        } else if (cols[i].type == JB_COL_I64) {
            int64_t v;
            memcpy(&v, p, sizeof v);
            if (v != JB_I64_NONE)
                fprintf(f, "%" PRId64, v);
        } else {
            double v;
            memcpy(&v, p, sizeof v);
            if (isfinite(v))
                fprintf(f, cols[i].format ? cols[i].format : "%.10g", v);
        }
    }
    fputs("\r\n", f);
    return ferror(f) ? JB_EIO : 0;
}

void jb_csv_write_markdown(FILE *f, const struct jb_column *cols, size_t n)
{
    static const char *const types[] = { "text", "integer", "number" };
    fprintf(f, "| column | type | meaning |\n|---|---|---|\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "| `%s` | %s | %s |\n", cols[i].name, types[cols[i].type], cols[i].doc);
}

/* ---- reading -------------------------------------------------------------------------------- */

struct reader {
    struct jb_table *t;
    char **cells;
    size_t n_cells, cap_cells;
    size_t record;
    int rc;
    bool whole_lines; /* leave out a last record with no line end (a write cut short) */
    const char *path;
    struct jb_err *err;
};

static void on_field(void *s, size_t len, void *data)
{
    struct reader *r = data;
    if (r->rc)
        return;
    if (r->n_cells == r->cap_cells) {
        size_t cap = r->cap_cells ? 2 * r->cap_cells : 64;
        char **c = realloc(r->cells, cap * sizeof *c);
        if (!c) {
            r->rc = jb_fail(r->err, JB_ENOMEM, "%s: out of memory", r->path);
            return;
        }
        r->cells = c;
        r->cap_cells = cap;
    }
    char *cell = malloc(len + 1);
    if (!cell) {
        r->rc = jb_fail(r->err, JB_ENOMEM, "%s: out of memory", r->path);
        return;
    }
    memcpy(cell, s, len);
    cell[len] = '\0';
    r->cells[r->n_cells++] = cell;
}

static void drop_cells(struct reader *r)
{
    for (size_t i = 0; i < r->n_cells; i++)
        free(r->cells[i]);
    r->n_cells = 0;
}

static void on_row(int c, void *data)
{
    struct reader *r = data;
    struct jb_table *t = r->t;
    if (c == -1 && r->whole_lines) { /* libcsv: csv_fini ended a record that had no line end */
        t->cut_last = true;
        drop_cells(r);
        return;
    }
    r->record++;
    if (r->rc) {
        drop_cells(r);
        return;
    }
    char **row = malloc((r->n_cells ? r->n_cells : 1) * sizeof *row);
    if (!row) {
        r->rc = jb_fail(r->err, JB_ENOMEM, "%s: out of memory", r->path);
        drop_cells(r);
        return;
    }
    memcpy(row, r->cells, r->n_cells * sizeof *row);
    if (!t->header) {
        t->header = row;
        t->n_cols = r->n_cells;
    } else if (r->n_cells != t->n_cols) {
        r->rc = jb_fail(r->err, JB_EPARSE, "%s: record %zu has %zu fields, the header has %zu",
            r->path, r->record, r->n_cells, t->n_cols);
        drop_cells(r);
        free(row);
        return;
    } else {
        char ***rows = realloc(t->rows, (t->n_rows + 1) * sizeof *rows);
        if (!rows) {
            r->rc = jb_fail(r->err, JB_ENOMEM, "%s: out of memory", r->path);
            drop_cells(r);
            free(row);
            return;
        }
        t->rows = rows;
        t->rows[t->n_rows++] = row;
    }
    r->n_cells = 0;
}

/* Line ends in buf[0 .. n). */
static size_t count_lines(const char *buf, size_t n)
{
    size_t lines = 0;
    for (const char *p = buf, *end = buf + n; (p = memchr(p, '\n', (size_t)(end - p))); p++)
        lines++;
    return lines;
}

/* A NUL byte never appears in a CSV file joulebench writes; libcsv would pass it on inside a
 * field, which C strings then cut short ("1\0x" read as 1), so the reader refuses it. */
static int table_read(const char *path, bool whole_lines, struct jb_table *t, struct jb_err *err)
{
    memset(t, 0, sizeof *t);
    int rc;
    FILE *f = jb_fopen_input(path, err, &rc);
    if (!f)
        return rc;
    struct csv_parser p;
    struct reader r = { .t = t, .whole_lines = whole_lines, .path = path, .err = err };
    char buf[65536];
    size_t got, lines = 0; /* line ends before buf */
    csv_init(&p, CSV_APPEND_NULL);
    while (!r.rc && (got = fread(buf, 1, sizeof buf, f)) > 0) {
        const char *nul = memchr(buf, '\0', got);
        const size_t take = nul ? (size_t)(nul - buf) : got; /* parsed up to a NUL */
        if (csv_parse(&p, buf, take, on_field, on_row, &r) != take && !r.rc)
            r.rc = jb_fail(err, JB_EPARSE, "%s: record %zu: %s", path, r.record + 1,
                csv_strerror(csv_error(&p)));
        lines += count_lines(buf, take);
        if (nul && !r.rc)
            r.rc = jb_fail(err, JB_EPARSE,
                "%s: line %zu (record %zu): a NUL byte: not a text CSV file (damaged or binary)",
                path, lines + 1, r.record + 1);
    }
    if (!r.rc && ferror(f))
        r.rc = jb_fail(err, JB_EIO, "%s: read error", path);
    if (!r.rc && csv_fini(&p, on_field, on_row, &r) != 0)
        r.rc = jb_fail(
            err, JB_EPARSE, "%s: record %zu: %s", path, r.record + 1, csv_strerror(csv_error(&p)));
    csv_free(&p);
    fclose(f);
    drop_cells(&r);
    free(r.cells);
    if (!r.rc && !t->header)
        r.rc = jb_fail(err, JB_EPARSE, "%s: empty (no header line)", path);
    if (r.rc)
        jb_table_free(t);
    return r.rc;
}

int jb_table_read(const char *path, struct jb_table *t, struct jb_err *err)
{
    return table_read(path, false, t, err);
}

int jb_table_read_lines(const char *path, struct jb_table *t, struct jb_err *err)
{
    return table_read(path, true, t, err);
}

const char *jb_table_cell(const struct jb_table *t, size_t r, const char *name)
{
    const int c = jb_table_col(t, name);
    return c < 0 ? "" : t->rows[r][c];
}

long jb_table_first_difference(
    const struct jb_table *a, size_t ra, const struct jb_table *b, size_t rb)
{
    for (size_t c = 0; c < a->n_cols; c++)
        if (strcmp(a->rows[ra][c], b->rows[rb][c]) != 0)
            return (long)c;
    return -1;
}

void jb_table_free(struct jb_table *t)
{
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t c = 0; c < t->n_cols; c++)
            free(t->rows[r][c]);
        free(t->rows[r]);
    }
    if (t->header)
        for (size_t c = 0; c < t->n_cols; c++)
            free(t->header[c]);
    free(t->header);
    free(t->rows);
    memset(t, 0, sizeof *t);
}

int jb_table_col(const struct jb_table *t, const char *name)
{
    for (size_t c = 0; c < t->n_cols; c++)
        if (strcmp(t->header[c], name) == 0)
            return (int)c;
    return -1;
}

/* ---- typed records ------------------------------------------------------------------------- */

int jb_column_find(const struct jb_column *cols, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(cols[i].name, name) == 0)
            return (int)i;
    return -1;
}

static void set_empty(const struct jb_column *c, char *field)
{
    const int64_t none = JB_I64_NONE;
    const double nan = NAN;
    if (c->type == JB_COL_STR)
        field[0] = '\0';
    else if (c->type == JB_COL_I64)
        memcpy(field, &none, sizeof none);
    else
        memcpy(field, &nan, sizeof nan);
}

/* What a bad cell is not, for the message. */
enum cell_fault { CELL_OK, CELL_NOT_NUMBER, CELL_NEGATIVE };

/* Parses one cell into its field. A number must be finite (the writer prints NAN as an empty
 * cell, so "nan" or "inf" is not joulebench's) and, in a nonnegative column, not below 0. */
static enum cell_fault set_cell(const struct jb_column *c, char *field, const char *cell)
{
    char *end;
    bool negative;
    if (c->type == JB_COL_STR) {
        snprintf(field, c->size, "%s", cell);
        return CELL_OK;
    }
    if (!*cell) {
        set_empty(c, field);
        return CELL_OK;
    }
    errno = 0;
    if (c->type == JB_COL_I64) {
        const long long v = strtoll(cell, &end, 10);
        const int64_t x = v;
        memcpy(field, &x, sizeof x);
        negative = v < 0;
    } else {
        const double v = strtod(cell, &end);
        memcpy(field, &v, sizeof v);
        if (!isfinite(v))
            return CELL_NOT_NUMBER;
        negative = v < 0;
    }
    if (end == cell || *end || errno)
        return CELL_NOT_NUMBER;
    return c->nonnegative && negative ? CELL_NEGATIVE : CELL_OK;
}

/* The error for a bad cell: the file, the record (the header is record 1), the column. */
static int cell_error(const char *path, size_t row, const struct jb_column *c, const char *cell,
    enum cell_fault fault, struct jb_err *err)
{
    if (fault == CELL_NEGATIVE)
        return jb_fail(err, JB_EPARSE,
            "%s: record %zu, column \"%s\": \"%s\" is negative (energy, times, tokens and "
            "counts never are)",
            path, row + 2, c->name, cell);
    return jb_fail(err, JB_EPARSE, "%s: record %zu, column \"%s\": \"%s\" is not %s", path, row + 2,
        c->name, cell, c->type == JB_COL_I64 ? "an integer" : "a number");
}

/* Each column of cols in the header of t: idx[i], -1 when absent or not read back. A column
 * named twice is refused: the two cells could disagree. */
static int find_cells(const struct jb_table *t, const char *path, const struct jb_column *cols,
    size_t n, int *idx, struct jb_err *err)
{
    for (size_t i = 0; i < n; i++) {
        idx[i] = cols[i].size ? jb_table_col(t, cols[i].name) : -1;
        for (size_t c = idx[i] >= 0 ? (size_t)idx[i] + 1 : t->n_cols; c < t->n_cols; c++)
            if (strcmp(t->header[c], cols[i].name) == 0)
                return jb_fail(err, JB_EPARSE, "%s: column \"%s\" appears twice in the header",
                    path, cols[i].name);
    }
    return 0;
}

int jb_records_from_table(const struct jb_table *t, const char *path, const struct jb_column *cols,
    size_t n, size_t size, void **out, bool *present, struct jb_err *err)
{
    int *idx = malloc((n ? n : 1) * sizeof *idx);
    char *rec = calloc(t->n_rows ? t->n_rows : 1, size);
    *out = NULL;
    if (!idx || !rec) {
        free(idx);
        free(rec);
        return jb_fail(err, JB_ENOMEM, "%s: out of memory", path);
    }
    int rc = find_cells(t, path, cols, n, idx, err);
    for (size_t i = 0; !rc && present && i < n; i++)
        present[i] = idx[i] >= 0;
    for (size_t r = 0; !rc && r < t->n_rows; r++)
        for (size_t i = 0; !rc && i < n; i++) {
            char *field = rec + r * size + cols[i].offset;
            enum cell_fault fault;
            if (idx[i] < 0) {
                if (cols[i].size)
                    set_empty(&cols[i], field);
            } else if ((fault = set_cell(&cols[i], field, t->rows[r][idx[i]])))
                rc = cell_error(path, r, &cols[i], t->rows[r][idx[i]], fault, err);
        }
    free(idx);
    if (rc)
        free(rec);
    else
        *out = rec;
    return rc;
}

double jb_record_num(const struct jb_column *cols, size_t n, const void *record, const char *name)
{
    const int i = jb_column_find(cols, n, name);
    if (i < 0 || cols[i].type == JB_COL_STR)
        return NAN;
    const char *p = (const char *)record + cols[i].offset;
    if (cols[i].type == JB_COL_I64) {
        int64_t v;
        memcpy(&v, p, sizeof v);
        return v == JB_I64_NONE ? NAN : (double)v;
    }
    double v;
    memcpy(&v, p, sizeof v);
    return v;
}
