/*
 * file.c — small file helpers (jb_file.h): one-line reads for sysfs and /proc, mkdir -p, and
 * atomic replacement through a synced temporary file and rename(2).
 */
#include "jb_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int jb_read_text(const char *path, char *buf, size_t len)
{
    /* O_NONBLOCK: a FIFO or a device put where a sysfs file should be cannot block us; a
     * regular file ignores the flag. One bounded read: sysfs hands a value over in one. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    ssize_t n = 0;
    int e = 0;
    if (fstat(fd, &st) != 0)
        e = -errno;
    else if (!S_ISREG(st.st_mode))
        e = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
    else if ((n = read(fd, buf, len - 1)) < 0)
        e = -errno;
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    return e;
}

int jb_open_input(const char *path, int *fd_out, struct jb_err *err)
{
    *fd_out = -1;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return jb_fail(err, errno == ENOENT ? JB_ENOENT : JB_EINVAL, "%s: cannot open: %s", path,
            strerror(errno));
    struct stat st;
    const char *kind = NULL;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return jb_fail(err, JB_EIO, "%s: cannot read: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode))
        kind = "a directory";
    else if (S_ISFIFO(st.st_mode))
        kind = "a FIFO";
    else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
        kind = "a device";
    else if (S_ISSOCK(st.st_mode))
        kind = "a socket";
    else if (!S_ISREG(st.st_mode))
        kind = "not a regular file";
    if (kind) {
        close(fd);
        return jb_fail(err, JB_EINVAL, "%s: is %s, not a regular file", path, kind);
    }
    /* Back to blocking reads: the flag only kept open() itself from waiting on a FIFO. */
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0)
        fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    *fd_out = fd;
    return 0;
}

int jb_map_input(const char *path, const void **map, size_t *size, struct jb_err *err)
{
    *map = NULL;
    *size = 0;
    int fd;
    struct stat st;
    int rc = jb_open_input(path, &fd, err);
    if (rc)
        return rc;
    if (fstat(fd, &st) != 0)
        rc = jb_fail(err, JB_EIO, "%s: cannot read: %s", path, strerror(errno));
    else if (st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED)
            rc = jb_fail(err, JB_EIO, "%s: cannot mmap: %s", path, strerror(errno));
        else {
            *map = p;
            *size = (size_t)st.st_size;
        }
    }
    close(fd);
    return rc;
}

FILE *jb_fopen_input(const char *path, struct jb_err *err, int *rc)
{
    int fd;
    *rc = jb_open_input(path, &fd, err);
    if (*rc)
        return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        *rc = jb_fail(err, JB_ENOMEM, "%s: cannot read: %s", path, strerror(errno));
    }
    return f;
}

int jb_read_file(const char *path, size_t max_bytes, char **text, size_t *len, struct jb_err *err)
{
    *text = NULL;
    int rc;
    FILE *f = jb_fopen_input(path, err, &rc);
    if (!f)
        return rc;
    size_t n = 0, cap = 4096;
    char *buf = malloc(cap);
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
        rc = jb_fail(err, JB_EIO, "%s: read error: %s", path, strerror(errno));
    else if (n > max_bytes)
        rc = jb_fail(err, JB_ERANGE, "%s: larger than %zu bytes", path, max_bytes);
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
