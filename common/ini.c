/*
 * ini.c — INI files with line numbers (jb_ini.h), on libinih's ini_parse_stream: our reader
 * hands it one line at a time, so we always know which line a key came from.
 */
#define _GNU_SOURCE
#include "jb_ini.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct jb_ini {
    FILE *f;
    const char *path;
    char *buf; /* getline's */
    size_t cap;
    int line;
    int read_errno; /* why getline failed, when it did */
    bool indented;  /* the line starts with a blank: inih takes it as a continuation */
    int err_line, err_code;
    const char *keys;
    size_t stride;
    int n_keys;
    int *lines;
    jb_ini_key_fn on_key;
    void *user;
    struct jb_err *err;
};

static const struct jb_ini_key *key_at(const struct jb_ini *ini, int k)
{
    return (const struct jb_ini_key *)(ini->keys + (size_t)k * ini->stride);
}

int jb_ini_fail(struct jb_ini *ini, int code, const char *fmt, ...)
{
    char msg[JB_ERR_MSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!ini->err_line) {
        ini->err_line = ini->line;
        ini->err_code = code;
        jb_fail(ini->err, code, "%s:%d: %s", ini->path, ini->line, msg);
    }
    return code;
}

int jb_ini_line(const struct jb_ini *ini)
{
    return ini->line;
}

/* "[a], [b]": the format's sections, each once, in table order. */
static void list_sections(const struct jb_ini *ini, char *out, size_t len)
{
    out[0] = '\0';
    for (int k = 0; k < ini->n_keys; k++) {
        bool seen = false;
        for (int j = 0; j < k && !seen; j++)
            seen = strcmp(key_at(ini, j)->section, key_at(ini, k)->section) == 0;
        size_t n = strlen(out);
        if (!seen)
            snprintf(out + n, len - n, "%s[%s]", n ? ", " : "", key_at(ini, k)->section);
    }
}

static bool known_section(const struct jb_ini *ini, const char *name, size_t len)
{
    for (int k = 0; k < ini->n_keys; k++)
        if (strlen(key_at(ini, k)->section) == len
            && strncmp(key_at(ini, k)->section, name, len) == 0)
            return true;
    return false;
}

/* An unknown section is reported at its header, even when no key follows it. */
static void check_section(struct jb_ini *ini, const char *line)
{
    const char *p = line + strspn(line, " \t");
    const char *end = *p == '[' ? strchr(p, ']') : NULL;
    if (end && !known_section(ini, p + 1, (size_t)(end - p - 1))) {
        char known[256];
        list_sections(ini, known, sizeof known);
        jb_ini_fail(
            ini, JB_EPARSE, "unknown section [%.*s] (known: %s)", (int)(end - p - 1), p + 1, known);
    }
}

/* inih strips "; comment" after a blank; "# comment" after a blank goes the same way here. */
static void strip_hash_comment(char *line)
{
    for (char *p = line + 1; *p; p++)
        if (*p == '#' && (p[-1] == ' ' || p[-1] == '\t')) {
            strcpy(p, "\n");
            return;
        }
}

static char *read_line(char *str, int num, void *stream)
{
    struct jb_ini *ini = stream;
    errno = 0;
    ssize_t n = getline(&ini->buf, &ini->cap, ini->f);
    if (n < 0) {
        ini->read_errno = errno;
        return NULL;
    }
    ini->line++;
    const char *nul = memchr(ini->buf, '\0', (size_t)n);
    if (nul) { /* "requests = 1\0x" would read as 1: the rest of the line would be lost */
        jb_ini_fail(ini, JB_EPARSE, "a NUL byte at column %d (an INI file is text)",
            (int)(nul - ini->buf) + 1);
        snprintf(str, (size_t)num, "\n");
        return str;
    }
    ini->indented = ini->buf[0] == ' ' || ini->buf[0] == '\t';
    const char first = ini->buf[strspn(ini->buf, " \t")];
    const bool comment = first == ';' || first == '#';
    if (n >= num) { /* inih would read the rest as a line of its own */
        if (!comment)
            jb_ini_fail(ini, JB_ERANGE, "line longer than %d characters", num - 3);
        snprintf(str, (size_t)num, "\n");
        return str;
    }
    strip_hash_comment(ini->buf);
    check_section(ini, ini->buf);
    snprintf(str, (size_t)num, "%s", ini->buf);
    return str;
}

static int key_unknown(struct jb_ini *ini, const char *section, const char *name)
{
    char known[512] = "";
    if (!*section)
        return jb_ini_fail(ini, JB_EPARSE, "key \"%s\" is outside a section (put it under [%s])",
            name, key_at(ini, 0)->section);
    for (int k = 0; k < ini->n_keys; k++) {
        const struct jb_ini_key *key = key_at(ini, k);
        if (strcmp(key->name, name) == 0)
            return jb_ini_fail(ini, JB_EPARSE, "key \"%s\" belongs in [%s], not [%s]", name,
                key->section, section);
        if (strcmp(key->section, section) == 0)
            jb_appendf(known, sizeof known, "%s%s", *known ? ", " : "", key->name);
    }
    return jb_ini_fail(
        ini, JB_EPARSE, "unknown key \"%s\" in [%s] (known: %s)", name, section, known);
}

static int on_pair(void *user, const char *section, const char *name, const char *value)
{
    struct jb_ini *ini = user;
    if (ini->err_line) /* only the first error is reported */
        return 1;
    int k = -1;
    for (int i = 0; i < ini->n_keys && k < 0; i++)
        if (strcmp(key_at(ini, i)->section, section) == 0
            && strcmp(key_at(ini, i)->name, name) == 0)
            k = i;
    if (k < 0)
        return key_unknown(ini, section, name) == 0;
    if (ini->lines[k] && ini->indented)
        return jb_ini_fail(ini, JB_EPARSE,
                   "an indented line continues the value of key \"%s\" "
                   "(line %d); remove the indentation",
                   name, ini->lines[k])
            == 0;
    if (ini->lines[k])
        return jb_ini_fail(
                   ini, JB_EPARSE, "key \"%s\": set twice (first on line %d)", name, ini->lines[k])
            == 0;
    ini->lines[k] = ini->line;
    return ini->on_key(ini, k, value, ini->user) == 0;
}

int jb_ini_parse(FILE *f, const char *path, const void *keys, size_t stride, int n_keys, int *lines,
    jb_ini_key_fn on_key, void *user, struct jb_err *err)
{
    struct jb_ini ini = { .f = f,
        .path = path,
        .keys = keys,
        .stride = stride,
        .n_keys = n_keys,
        .lines = lines,
        .on_key = on_key,
        .user = user,
        .err = err };
    const int line = ini_parse_stream(read_line, &ini, on_pair, &ini);
    int rc = 0;
    if (line > 0 && (!ini.err_line || line < ini.err_line))
        rc = jb_fail(err, JB_EPARSE, "%s:%d: expected \"key = value\", \"[section]\" or a comment",
            path, line);
    else if (ini.err_line)
        rc = ini.err_code;
    else if (line < 0)
        rc = jb_fail(err, JB_ENOMEM, "%s: out of memory", path);
    else if (ferror(f))
        rc = jb_fail(err, JB_EIO, "%s: read error: %s", path,
            strerror(ini.read_errno ? ini.read_errno : EIO));
    free(ini.buf);
    return rc;
}

bool jb_ini_number(const char *s, double *out)
{
    char *end;
    if (!*s || isspace((unsigned char)*s))
        return false;
    errno = 0;
    const double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v))
        return false;
    *out = v;
    return true;
}
