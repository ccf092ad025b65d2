/*
 * jb_error.h — the one error convention of joulebench.
 *
 * Functions return int: 0 on success or a negative JB_E* code. Where a caller needs to know
 * which file, line or field was wrong, the function also fills a caller-owned struct jb_err
 * with one human-readable line. Codes and their default texts come from one X-macro table.
 */
#ifndef JB_ERROR_H
#define JB_ERROR_H

#include <stddef.h>

#define JB_ERRNO_MAP(X)                                                                            \
    X(INVAL, "invalid argument")                                                                   \
    X(NOMEM, "out of memory")                                                                      \
    X(IO, "input/output error")                                                                    \
    X(PARSE, "malformed input")                                                                    \
    X(RANGE, "value out of range")                                                                 \
    X(NOTSUP, "not supported")                                                                     \
    X(TOOBIG, "does not fit in memory")                                                            \
    X(NOENT, "not found")                                                                          \
    X(INTR, "interrupted")                                                                         \
    X(BUSY, "resource busy")

enum jb_errno {
    JB_OK = 0,
#define JB_ERR_ENUM(name, text) JB_E##name,
    JB__EFIRST = -100,
    JB_ERRNO_MAP(JB_ERR_ENUM)
#undef JB_ERR_ENUM
};

#define JB_ERR_MSG_LEN 512

/* One line describing what went wrong, filled by the function that failed (caller-owned). */
struct jb_err {
    int code;
    char msg[JB_ERR_MSG_LEN];
};

/* Default text for a JB_E* code ("unknown error" for anything else). */
const char *jb_strerror(int code);

/* Formats a message into err (if not NULL) and returns code, so callers can write
 * `return jb_fail(err, JB_EPARSE, "%s: field \"%s\": ...", ...);`. */
int jb_fail(struct jb_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends printf-style text to the NUL-terminated buf of len bytes, truncating; a reason or
 * detail line built in pieces. */
void jb_appendf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prints "joulebench: <msg>" and a line end on stderr: how the program's parts that report as
 * they go (the command line, a sweep's session) word an error for the person at the terminal. */
void jb_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Programmer errors only (never bad input): prints file:line and aborts. */
#define JB_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond))                                                                               \
            jb_assert_fail(__FILE__, __LINE__, #cond);                                             \
    } while (0)
void jb_assert_fail(const char *file, int line, const char *cond) __attribute__((noreturn));

#endif
