/*
 * jb_csvio.h — CSV in and out (libcsv, RFC 4180): one column table per record type writes both
 * the header and the rows, so they cannot drift, and documents every column; a reader turns a
 * file back into named columns (resume, summaries, compare, report).
 */
#ifndef JB_CSVIO_H
#define JB_CSVIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "jb_error.h"

enum jb_col_type { JB_COL_STR, JB_COL_I64, JB_COL_F64 };

/* One column: its name (units in the name), the field of the record it prints, and its
 * documentation (docs/csv.md is generated from these). A NAN double or a JB_I64_NONE integer
 * prints as an empty cell: "could not be measured", never 0. */
struct jb_column {
    const char *name;
    enum jb_col_type type;
    size_t offset; /* of a char[] (STR), int64_t (I64) or double (F64) in the record */
    const char *doc;
};

/* One entry of a column table: JB_COLUMN(struct my_record, F64, "name", field, "doc"). */
#define JB_COLUMN(record, kind, name, field, doc)                                                  \
    {                                                                                              \
        name, JB_COL_##kind, offsetof(record, field), doc                                          \
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
};

/* Reads path (header line first). A row whose cell count differs from the header's is an
 * error naming the file and record number. A missing file is JB_ENOENT. */
int jb_table_read(const char *path, struct jb_table *t, struct jb_err *err);
void jb_table_free(struct jb_table *t);
/* Index of a column by name, or -1. */
int jb_table_col(const struct jb_table *t, const char *name);

#endif
