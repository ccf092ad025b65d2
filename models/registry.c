/*
 * registry.c — model folders: resolving a NAME or a path to a folder, and listing the ladder.
 * The folder NAMEs resolve in is the caller's to choose (the harness reads it from the
 * environment); folders that cannot be listed are reported back, never printed.
 */
#include "jb_file.h"
#include "jb_model.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int jb_model_resolve(
    const char *models_dir, const char *name_or_dir, char *dir, size_t dir_len, struct jb_err *err)
{
    char config[PATH_MAX];
    if (!name_or_dir || !*name_or_dir)
        return jb_fail(err, JB_EINVAL, "no model given (see `joulebench models`)");
    if (strchr(name_or_dir, '/') || is_dir(name_or_dir))
        snprintf(dir, dir_len, "%s", name_or_dir);
    else
        snprintf(dir, dir_len, "%s/%s", models_dir, name_or_dir);
    struct stat st;
    if (stat(dir, &st) != 0 && errno != ENOENT && errno != ENOTDIR) /* EACCES, ELOOP */
        return jb_fail(err, JB_EINVAL, "model folder %s: %s", dir, strerror(errno));
    if (!is_dir(dir))
        return jb_fail(err, JB_ENOENT,
            strchr(name_or_dir, '/')
                ? "model folder %s: not found"
                : "unknown model \"%s\": no folder %s (see `joulebench models`)",
            name_or_dir, dir);
    snprintf(config, sizeof config, "%s/config.json", dir);
    int fd, rc = jb_open_input(config, &fd, err); /* unreadable, a loop, a folder: said so */
    if (rc == JB_ENOENT)
        return jb_fail(err, JB_ENOENT, "%s: missing (a model folder needs a config.json)", config);
    if (rc == 0)
        close(fd);
    return rc;
}

static const char *base_name(const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    const char *p = dir + n;
    while (p > dir && p[-1] != '/')
        p--;
    return p;
}

int jb_model_config(const char *models_dir, const char *name_or_dir, struct jb_config *out,
    char *dir, size_t dir_len, struct jb_err *err)
{
    char config[PATH_MAX], name[JB_NAME_MAX];
    if (jb_gguf_path(name_or_dir)) { /* a GGUF file: its path stands for the folder */
        snprintf(dir, dir_len, "%s", name_or_dir);
        return jb_gguf_config(name_or_dir, out, NULL, err);
    }
    int rc = jb_model_resolve(models_dir, name_or_dir, dir, dir_len, err);
    if (rc)
        return rc;
    snprintf(config, sizeof config, "%s/config.json", dir);
    snprintf(name, sizeof name, "%s", base_name(dir));
    char *slash = strchr(name, '/');
    if (slash)
        *slash = '\0';
    return jb_config_load(config, name, out, err);
}

struct entry {
    char *name;
    int64_t params;
};

static int by_params(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->params != y->params)
        return x->params < y->params ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Appends what jb_config_load said about folder `name` to l->skipped. */
static int note_skip(struct jb_model_list *l, int *cap, const char *name, const char *msg)
{
    if (l->n_skipped == *cap) {
        int n = *cap ? 2 * *cap : 4;
        struct jb_model_skip *p = realloc(l->skipped, (size_t)n * sizeof *p);
        if (!p)
            return JB_ENOMEM;
        l->skipped = p;
        *cap = n;
    }
    struct jb_model_skip *k = &l->skipped[l->n_skipped++];
    snprintf(k->name, sizeof k->name, "%s", name);
    snprintf(k->msg, sizeof k->msg, "%s", msg);
    return 0;
}

int jb_models_list(const char *models_dir, struct jb_model_list *out, struct jb_err *err)
{
    DIR *d = opendir(models_dir);
    struct entry *e = NULL;
    int n = 0, cap = 0, skip_cap = 0, rc = 0;
    memset(out, 0, sizeof *out);
    if (!d)
        return jb_fail(err, JB_ENOENT, "%s: cannot open the models folder", models_dir);
    for (struct dirent *de; (de = readdir(d));) {
        char path[PATH_MAX];
        struct jb_config c;
        struct jb_err e2;
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s/config.json", models_dir, de->d_name);
        if (access(path, F_OK) != 0 && (errno == ENOENT || errno == ENOTDIR))
            continue; /* not a model folder; one whose config cannot be read is skipped, saying why */
        if (jb_config_load(path, de->d_name, &c, &e2) != 0) {
            if (note_skip(out, &skip_cap, de->d_name, e2.msg) != 0) {
                rc = jb_fail(err, JB_ENOMEM, "out of memory");
                break;
            }
            continue;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 32;
            struct entry *ne = realloc(e, (size_t)cap * sizeof *e);
            if (!ne) {
                rc = jb_fail(err, JB_ENOMEM, "out of memory");
                break;
            }
            e = ne;
        }
        e[n].name = strdup(de->d_name);
        e[n++].params = jb_config_params(&c);
    }
    closedir(d);
    if (!rc && n)
        qsort(e, (size_t)n, sizeof *e, by_params);
    char **names = rc ? NULL : calloc((size_t)(n ? n : 1), sizeof *names);
    for (int i = 0; i < n; i++) {
        if (names)
            names[i] = e[i].name;
        else
            free(e[i].name);
    }
    free(e);
    if (!names) {
        jb_models_list_free(out);
        return rc ? rc : jb_fail(err, JB_ENOMEM, "out of memory");
    }
    out->names = names;
    out->count = n;
    return 0;
}

void jb_models_list_free(struct jb_model_list *l)
{
    if (!l)
        return;
    for (int i = 0; i < l->count; i++)
        free(l->names[i]);
    free(l->names);
    free(l->skipped);
    memset(l, 0, sizeof *l);
}
