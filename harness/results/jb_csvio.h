/*
 * jb_csvio.h — CSV in and out (libcsv, RFC 4180): one column table per record type writes both
 * the header and the rows, so they cannot drift, and documents every column; a reader turns a
 * file back into named columns (resume, summaries, compare, report).
 */
#ifndef JB_CSVIO_H
#define JB_CSVIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "jb_error.h"

enum jb_col_type { JB_COL_STR, JB_COL_I64, JB_COL_F64 };

/* One column: its name (units in the name), the field of the record it prints, and its
 * documentation (docs/csv.md is generated from these). A NAN double or a JB_I64_NONE integer
 * prints as an empty cell: "could not be measured", never 0; a number cell read back must be
 * finite ("nan" and "inf" are refused: the writer never prints them). */
struct jb_column {
    const char *name;
    enum jb_col_type type;
    size_t offset; /* of a char[] (STR), int64_t (I64) or double (F64) in the record */
    const char *doc;
    size_t size;        /* bytes of the field (a STR's array length); 0 for columns not read back */
    const char *format; /* (optional) printf format of an F64 cell; NULL: "%.10g" */
    bool nonnegative;   /* a quantity never below 0 (energy, time, tokens, counts): reading
                         * refuses a negative cell */
};

/* One entry of a column table: JB_COLUMN(struct my_record, F64, "name", field, "doc"). */
#define JB_COLUMN(record, kind, name_, field, doc_)                                                \
    {                                                                                              \
        .name = name_, .type = JB_COL_##kind, .offset = offsetof(record, field), .doc = doc_,      \
        .size = sizeof(((record *)0)->field)                                                       \
    }

/* The same with a printf format for the number (F64 columns), e.g. "%.6f". */
#define JB_COLUMN_FMT(record, kind, name_, field, doc_, format_)                                   \
    {                                                                                              \
        .name = name_, .type = JB_COL_##kind, .offset = offsetof(record, field), .doc = doc_,      \
        .size = sizeof(((record *)0)->field), .format = format_                                    \
    }

/* A number that is never negative (energy, time, tokens, counts, rates); format_ may be NULL. */
#define JB_COLUMN_NONNEG(record, kind, name_, field, doc_, format_)                                \
    {                                                                                              \
        .name = name_, .type = JB_COL_##kind, .offset = offsetof(record, field), .doc = doc_,      \
        .size = sizeof(((record *)0)->field), .format = format_, .nonnegative = true               \
    }

#define JB_I64_NONE INT64_MIN

/* Writes the header line. */
int jb_csv_write_header(FILE *f, const struct jb_column *cols, size_t n);
/* Writes one record as a row; strings are quoted only when they need it. */
int jb_csv_write_row(FILE *f, const struct jb_column *cols, size_t n, const void *record);
/* Writes one string field as RFC 4180 wants it (quoted when it holds , " CR LF or spaces). */
void jb_csv_write_field(FILE *f, const char *s);
/* The column table as a Markdown table (name | type | meaning), for docs/csv.md. */
void jb_csv_write_markdown(FILE *f, const struct jb_column *cols, size_t n);

/* A CSV file read whole: the header and the rows as strings. */
struct jb_table {
    char **header;
    size_t n_cols;
    char ***rows; /* rows[r][c], every row has n_cols cells */
    size_t n_rows;
    bool cut_last; /* jb_table_read_lines left out a last line with no line end */
};

/* Reads path (header line first). A row whose cell count differs from the header's is an
 * error naming the file and record number; so is a NUL byte anywhere in the file (a damaged or
 * binary file: "FILE: line L (record R): a NUL byte"). A missing file is JB_ENOENT. */
int jb_table_read(const char *path, struct jb_table *t, struct jb_err *err);
/* jb_table_read for a file joulebench appends to, whose every record ends in a line end: a last
 * record without one was cut short by a failed write and is left out (t->cut_last set), never
 * read as a row or refused for its field count. */
int jb_table_read_lines(const char *path, struct jb_table *t, struct jb_err *err);
void jb_table_free(struct jb_table *t);
/* Row r's cell in the named column; "" when t has no such column. */
const char *jb_table_cell(const struct jb_table *t, size_t r, const char *name);
/* The first column where row ra of a and row rb of b (tables of one header) differ, or -1 when
 * they are identical cell for cell. */
long jb_table_first_difference(
    const struct jb_table *a, size_t ra, const struct jb_table *b, size_t rb);
/* Index of a column by name, or -1. */
int jb_table_col(const struct jb_table *t, const char *name);

/* Index of a column in a column table by name, or -1. */
int jb_column_find(const struct jb_column *cols, size_t n, const char *name);

/* Turns the rows of t (read from path) into *out, an array of t->n_rows records of `size`
 * bytes (caller frees) laid out as cols says. Columns are matched by name, in any order: a
 * column the file lacks leaves its field empty (NAN, JB_I64_NONE or ""), and present[i] (n
 * bools, may be NULL) says which columns the file has; columns the table does not know are
 * ignored; a column named twice in the header is JB_EPARSE (which one would count?). A cell
 * that is not a finite number where one is expected, or a negative one in a nonnegative
 * column, is JB_EPARSE naming the file, the record and the column; a longer text than its field
 * is cut. */
int jb_records_from_table(const struct jb_table *t, const char *path, const struct jb_column *cols,
    size_t n, size_t size, void **out, bool *present, struct jb_err *err);

/* Field `name` of a record described by cols as a number: F64 as is, I64 converted (NAN for an
 * empty one), NAN for a text column or an unknown name. */
double jb_record_num(const struct jb_column *cols, size_t n, const void *record, const char *name);

#endif
