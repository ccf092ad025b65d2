/*
 * file.c — small file helpers (jb_file.h): one-line reads for sysfs and /proc, mkdir -p, and
 * atomic replacement through a synced temporary file and rename(2).
 */
#include "jb_file.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int jb_read_text(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    errno = 0;
    size_t n = fread(buf, 1, len - 1, f);
    int e = ferror(f) ? (errno ? -errno : -EIO) : 0;
    fclose(f);
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    return e;
}

int jb_read_file(const char *path, size_t max_bytes, char **text, size_t *len, struct jb_err *err)
{
    *text = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return jb_fail(err, errno == ENOENT ? JB_ENOENT : JB_EIO, "%s: cannot open: %s", path,
            strerror(errno));
    size_t n = 0, cap = 4096;
    char *buf = malloc(cap);
    int rc = 0;
    for (size_t got = 1; buf && got > 0 && n <= max_bytes; n += got) {
        if (n + 1 == cap) {
            char *bigger = realloc(buf, cap *= 2);
            if (!bigger)
                free(buf);
            buf = bigger;
            if (!buf)
                break;
        }
        got = fread(buf + n, 1, cap - n - 1, f);
    }
    if (!buf)
        rc = jb_fail(err, JB_ENOMEM, "%s: out of memory", path);
    else if (ferror(f))
        rc = jb_fail(err, JB_EIO, "%s: read error", path);
    else if (n > max_bytes)
        rc = jb_fail(err, JB_ETOOBIG, "%s: larger than %zu bytes", path, max_bytes);
    fclose(f);
    if (rc) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *text = buf;
    if (len)
        *len = n;
    return 0;
}

static int mkdir_one(const char *path, mode_t mode, const char *what, struct jb_err *err)
{
    if (mkdir(path, mode) == 0 || errno == EEXIST)
        return 0;
    if (what && *what)
        return jb_fail(err, JB_EIO, "cannot create %s %s: %s", what, path, strerror(errno));
    return jb_fail(err, JB_EIO, "%s: cannot create: %s", path, strerror(errno));
}

int jb_mkdir_p(const char *dir, mode_t mode, const char *what, struct jb_err *err)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            int rc = mkdir_one(buf, mode, what, err);
            *p = '/';
            if (rc)
                return rc;
        }
    return mkdir_one(buf, mode, what, err);
}

static int sync_file(FILE *f)
{
    return fflush(f) == 0 && fsync(fileno(f)) == 0 && !ferror(f) ? 0 : JB_EIO;
}

int jb_write_atomic(
    const char *path, int (*write_fn)(FILE *f, void *ctx), void *ctx, struct jb_err *err)
{
    char tmp[PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return jb_fail(err, JB_EIO, "%s: cannot create: %s", tmp, strerror(errno));
    int rc = write_fn(f, ctx);
    if (!rc)
        rc = sync_file(f);
    if (fclose(f) != 0)
        rc = JB_EIO;
    if (!rc && rename(tmp, path) != 0)
        rc = JB_EIO;
    if (rc) {
        unlink(tmp);
        return jb_fail(err, rc, "%s: cannot write: %s", path, strerror(errno));
    }
    return 0;
}
