/*
 * jb_ini.h — the INI files joulebench reads (workloads, cost profiles), with the file and line
 * in every error. libinih parses; this adds line tracking, "# comment" after a blank (as inih
 * does for ";"), and the checks every format wants: an unknown section or key, a key in the
 * wrong section or outside any, a key set twice, an indented line inih would silently take as
 * a continuation, an over-long line, a NUL byte (which would cut the line short), and a line
 * that is none of key, section or comment.
 */
#ifndef JB_INI_H
#define JB_INI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "jb_error.h"

/* A format's keys are a table whose elements START with these two fields (a format keeps its
 * own fields after them); jb_ini_parse walks it with the element size as stride. */
struct jb_ini_key {
    const char *section, *name;
};

struct jb_ini;

/* Called once per known key, in file order, with its index in the table; returns 0, or the
 * result of jb_ini_fail. */
typedef int (*jb_ini_key_fn)(struct jb_ini *ini, int key, const char *value, void *user);

/* Parses f (named path in messages; open a file the user names with jb_fopen_input, so that a
 * FIFO or a device is refused instead of read). keys: n_keys elements of `stride` bytes;
 * lines[k] gets the line of key k (0: absent; the caller zeroes it). Returns 0 or the first
 * error's code, its message "PATH:LINE: ..." in err. */
int jb_ini_parse(FILE *f, const char *path, const void *keys, size_t stride, int n_keys, int *lines,
    jb_ini_key_fn on_key, void *user, struct jb_err *err);

/* Records an error at the current line ("PATH:LINE: message"; only the first one is kept) and
 * returns code. */
int jb_ini_fail(struct jb_ini *ini, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The line being parsed (1-based). */
int jb_ini_line(const struct jb_ini *ini);

/* A finite number and nothing else ("1.5", "2e9"; no blanks, no trailing text, no nan or inf)
 * into *out: the reading of a numeric INI value (or CSV cell) the profiles and the hardware
 * catalog share. */
bool jb_ini_number(const char *s, double *out);

#endif
