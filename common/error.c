/*
 * error.c — message table and helpers for the error convention in jb_error.h.
 */
#include "jb_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *jb_strerror(int code)
{
    switch (code) {
    case JB_OK: return "success";
#define JB_ERR_CASE(name, text)                                                                    \
    case JB_E##name: return text;
        JB_ERRNO_MAP(JB_ERR_CASE)
#undef JB_ERR_CASE
    default: return "unknown error";
    }
}

int jb_fail(struct jb_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

void jb_assert_fail(const char *file, int line, const char *cond)
{
    fprintf(
        stderr, "joulebench: internal error at %s:%d: assertion failed: %s\n", file, line, cond);
    abort();
}

void jb_appendf(char *buf, size_t len, const char *fmt, ...)
{
    const size_t used = strlen(buf);
    if (used + 1 >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

void jb_errorf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("joulebench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
