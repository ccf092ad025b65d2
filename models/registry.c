/*
 * registry.c — model folders: resolving a NAME or a path to a folder, and listing the ladder.
 */
#include "jb_model.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *jb_models_root(void)
{
    const char *env = getenv("JOULEBENCH_MODELS_DIR");
    return env && *env ? env : JB_SOURCE_DIR "/models";
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int jb_model_resolve(const char *name_or_dir, char *dir, size_t dir_len, struct jb_err *err)
{
    char config[PATH_MAX];
    if (!name_or_dir || !*name_or_dir)
        return jb_fail(err, JB_EINVAL, "no model given (see `joulebench models`)");
    if (strchr(name_or_dir, '/') || is_dir(name_or_dir))
        snprintf(dir, dir_len, "%s", name_or_dir);
    else
        snprintf(dir, dir_len, "%s/%s", jb_models_root(), name_or_dir);
    if (!is_dir(dir))
        return jb_fail(err, JB_ENOENT,
            strchr(name_or_dir, '/')
                ? "model folder %s: not found"
                : "unknown model \"%s\": no folder %s (see `joulebench models`)",
            name_or_dir, dir);
    snprintf(config, sizeof config, "%s/config.json", dir);
    if (access(config, R_OK) != 0)
        return jb_fail(err, JB_ENOENT, "%s: missing (a model folder needs a config.json)", config);
    return 0;
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

int jb_model_config(
    const char *name_or_dir, struct jb_config *out, char *dir, size_t dir_len, struct jb_err *err)
{
    char config[PATH_MAX], name[JB_NAME_MAX];
    int rc = jb_model_resolve(name_or_dir, dir, dir_len, err);
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

int jb_models_list(char ***names, int *count, struct jb_err *err)
{
    const char *root = jb_models_root();
    DIR *d = opendir(root);
    struct entry *e = NULL;
    int n = 0, cap = 0, rc = 0;
    *names = NULL;
    *count = 0;
    if (!d)
        return jb_fail(err, JB_ENOENT, "%s: cannot open the models folder", root);
    for (struct dirent *de; (de = readdir(d));) {
        char path[PATH_MAX];
        struct jb_config c;
        struct jb_err e2;
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s/config.json", root, de->d_name);
        if (access(path, R_OK) != 0)
            continue;
        if (jb_config_load(path, de->d_name, &c, &e2) != 0) {
            fprintf(stderr, "joulebench: skipping model %s: %s\n", de->d_name, e2.msg);
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
    char **out = rc ? NULL : calloc((size_t)(n ? n : 1), sizeof *out);
    for (int i = 0; i < n; i++) {
        if (out)
            out[i] = e[i].name;
        else
            free(e[i].name);
    }
    free(e);
    if (!out)
        return rc ? rc : jb_fail(err, JB_ENOMEM, "out of memory");
    *names = out;
    *count = n;
    return 0;
}
