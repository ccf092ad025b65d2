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

/* Reads a small text file into buf (len bytes, NUL-terminated), cut at its first line end, in
 * one bounded, non-blocking read (sysfs, /proc): a FIFO or device in its place cannot hang the
 * caller. 0, or -errno when it cannot be opened or read (-EISDIR, -EINVAL: not a regular file);
 * a read error is never a short success. */
int jb_read_text(const char *path, char *buf, size_t len);

/* Opens an input file that will be read whole: regular files only, so a FIFO, a device
 * (/dev/zero) or a directory is refused at once instead of blocking or reading forever.
 * JB_ENOENT when it does not exist; JB_EINVAL ("PATH: cannot open: <strerror>", "PATH: is a
 * FIFO, not a regular file") for every other reason it cannot be input (permissions, a loop of
 * links, the wrong kind of file): both are input errors, exit 2. *fd is blocking, O_CLOEXEC. */
int jb_open_input(const char *path, int *fd, struct jb_err *err);
/* Maps an input file (jb_open_input's rules) read-only and private: *map and *size, to be
 * released with munmap. An empty file gives *map NULL and *size 0 (mmap refuses zero bytes):
 * the caller's size check then names what was expected. JB_EIO naming the file when fstat or
 * mmap fails. */
int jb_map_input(const char *path, const void **map, size_t *size, struct jb_err *err);
/* jb_open_input as a stdio stream ("rb"); NULL with *rc set and err filled on failure. */
FILE *jb_fopen_input(const char *path, struct jb_err *err, int *rc);

/* Reads a whole input file (jb_open_input's rules) into *text (NUL-terminated, caller frees;
 * *len bytes when len is not NULL). JB_ERANGE ("PATH: larger than N bytes") past max_bytes,
 * an input error; JB_EIO when a read fails. Each message names the file. */
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
