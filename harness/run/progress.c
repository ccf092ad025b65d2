/*
 * progress.c — the progress line of a run or sweep on a terminal (bar, configuration,
 * request, ETA), redrawn in place on stderr; nothing when stderr is not a terminal, so the
 * output stays quiet and parseable.
 */
#include "run_internal.h"

#include <stdio.h>

#include "jb_clock.h"

void jb_progress_show(void *ctx, int64_t done, int64_t total)
{
    struct jb_progress *p = ctx;
    if (!p->tty)
        return;
    const double elapsed = (double)(jb_now_ns() - p->t0_ns) * 1e-9;
    const double frac = p->reps_total
        ? (p->reps_done + (double)done / (double)total) / (double)p->reps_total
        : 1.0;
    char eta[32] = "?";
    if (frac > 0.01)
        jb_duration_format(elapsed / frac - elapsed, eta, sizeof eta);
    char bar[21];
    for (int i = 0; i < 20; i++)
        bar[i] = i < (int)(frac * 20) ? '#' : '.';
    bar[20] = '\0';
    fprintf(stderr, "\r\033[K[%s] %3.0f%% %s %s %s %s %lld/%lld req  ETA %s", bar, 100 * frac,
        p->c->cfg.name, jb_dtype_name(p->c->dtype), p->c->w.name, p->warmup ? "warm-up" : "rep",
        (long long)done, (long long)total, eta);
    fflush(stderr);
}

void jb_progress_end(const struct jb_progress *p)
{
    if (p->tty)
        fprintf(stderr, "\r\033[K");
}
