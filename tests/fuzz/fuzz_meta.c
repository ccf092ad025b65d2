/*
 * fuzz_meta.c — libFuzzer target: meta.json read back (report, compare): any bytes give a
 * struct or one error, never a crash or a leak.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jb_results.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char dir[256], path[300];
    if (!dir[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof dir, "%s/joulebench-fuzz-meta-%ld", base, (long)getpid());
        mkdir(dir, 0700);
        snprintf(path, sizeof path, "%s/meta.json", dir);
    }
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size))
        abort();
    fclose(f);
    struct jb_meta m;
    struct jb_err err;
    if (jb_meta_read(dir, &m, &err) == 0) {
        char line[1024];
        jb_meta_command_line(&m, line, sizeof line);
        jb_meta_free(&m);
    }
    unlink(path);
    return 0;
}
