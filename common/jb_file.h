/*
 * jb_file.h — the small file helpers every part shares: reading a one-line text file (sysfs,
 * /proc), creating a folder and its parents, and replacing a file atomically.
 */
#ifndef JB_FILE_H
#define JB_FILE_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "jb_error.h"

/* Reads a small text file into buf (len bytes, NUL-terminated), cut at its first line end.
 * 0, or -errno when it cannot be opened or read (a read error is never a short success). */
int jb_read_text(const char *path, char *buf, size_t len);

/* Reads a whole file into *text (NUL-terminated, caller frees; *len bytes when len is not
 * NULL). JB_ENOENT when it does not exist, JB_EIO when it cannot be opened or read,
 * JB_ETOOBIG ("PATH: larger than N bytes") past max_bytes; each message names the file. */
int jb_read_file(const char *path, size_t max_bytes, char **text, size_t *len, struct jb_err *err);

/* Creates dir and its missing parents with mode (before the umask). JB_EIO naming the part
 * that could not be created: "cannot create WHAT PATH: REASON" when what (e.g. "results
 * folder") is given, else "PATH: cannot create: REASON". */
int jb_mkdir_p(const char *dir, mode_t mode, const char *what, struct jb_err *err);

/* Writes path through a temporary file in the same folder, synced, then rename(2): readers
 * see the old file or the new one, never a partial one. write returns 0 or a JB_E* code. */
int jb_write_atomic(
    const char *path, int (*write)(FILE *f, void *ctx), void *ctx, struct jb_err *err);

#endif
