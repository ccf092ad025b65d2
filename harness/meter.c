/*
 * meter.c — the meter the runner calls at phase boundaries. This build has no energy source
 * yet, so the only meter is "none": every figure is empty, with the reason beside it. The
 * energy sources (powercap, perf, PAPI, NVML, the estimator) replace this file's internals.
 */
#include "jb_meter.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE_REASON "no energy source in this build yet: time only"

struct jb_meter {
    enum jb_phase phase;
};

int jb_meter_open(struct jb_meter **m, const char *want, struct jb_err *err)
{
    *m = NULL;
    if (want && strcmp(want, "auto") != 0 && strcmp(want, "none") != 0)
        return jb_fail(
            err, JB_ENOTSUP, "energy source \"%s\": not available (%s)", want, NONE_REASON);
    *m = calloc(1, sizeof **m);
    return *m ? 0 : jb_fail(err, JB_ENOMEM, "out of memory");
}

void jb_meter_close(struct jb_meter *m)
{
    free(m);
}

void jb_meter_begin(struct jb_meter *m, enum jb_phase p)
{
    m->phase = p;
}

void jb_meter_phase(struct jb_meter *m, enum jb_phase p)
{
    m->phase = p;
}

static void none(struct jb_energy *e)
{
    memset(e, 0, sizeof *e);
    e->joules = NAN;
    snprintf(e->source, sizeof e->source, "none");
    snprintf(e->reason, sizeof e->reason, "%s", NONE_REASON);
}

void jb_meter_end(struct jb_meter *m, struct jb_energy *total, struct jb_energy *per_phase)
{
    (void)m;
    none(total);
    for (int p = 0; per_phase && p < JB_PHASE_COUNT; p++)
        none(&per_phase[p]);
}

const char *jb_meter_describe(const struct jb_meter *m)
{
    (void)m;
    return "none (" NONE_REASON ")";
}
