/*
 * options.c — helpers every command shares: option values and exit codes.
 */
#include "jb_cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

int jb_exit_code(int rc)
{
    switch (rc) {
    case 0: return JB_EXIT_OK;
    case JB_EPARSE:
    case JB_ERANGE:
    case JB_EINVAL:
    case JB_ENOENT:
    case JB_ENOTSUP: return JB_EXIT_USAGE;
    default: return JB_EXIT_FAIL;
    }
}

int jb_parse_i64(const char *opt, const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = s ? strtoll(s, &end, 10) : 0;
    if (!s || end == s || *end || errno || v < min || v > max) {
        jb_errorf("option %s: expected an integer in [%lld, %lld], got \"%s\"", opt, (long long)min,
            (long long)max, s ? s : "");
        return -1;
    }
    *out = v;
    return 0;
}

int jb_parse_f64(const char *opt, const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = s ? strtod(s, &end) : 0;
    if (!s || end == s || *end || errno || !isfinite(v) || v < min || v > max) {
        jb_errorf(
            "option %s: expected a number in [%g, %g], got \"%s\"", opt, min, max, s ? s : "");
        return -1;
    }
    *out = v;
    return 0;
}
