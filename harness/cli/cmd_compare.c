/*
 * cmd_compare.c — `joulebench compare BASE NEW`: the CI verdict. Parses the options, compares
 * the two result sets (jb_compare_run: rows matched on their configuration, each metric's
 * medians, change, bootstrap interval, Mann-Whitney p and verdict) and renders the result
 * (jb_compare_render: terminal table, --markdown, --json, --gab, --bencher). Exit 0 without
 * regression, 1 with one, 2 on usage or data errors.
 */
#include "jb_cli.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "jb_compare.h"

struct cmp_opts {
    struct jb_compare_opts c;
    struct jb_compare_output out;
};

static void usage(FILE *f)
{
    fprintf(f,
        "usage: joulebench compare BASE NEW [--threshold PCT] [--metric-threshold M=PCT,..]\n"
        "           [--alpha A] [--markdown] [--json FILE|-] [--gab DIR] [--bencher FILE]\n"
        "           [--allow-projected] [--allow-invalid] [--paired auto|yes|no]\n"
        "BASE and NEW are results folders or runs.csv files. A metric regresses when it is\n"
        "worse by at least the threshold (default 5%%), a two-sided Mann-Whitney U test gives\n"
        "p < alpha (default 0.05) and the bootstrap 95%% interval of the change excludes 0.\n"
        "Exit status: 0 no regression, 1 regression, 2 usage or data error (a bad cell, or\n"
        "nothing compared: no configuration measured on both sides). A BASE of projected rows\n"
        "(`joulebench project`) is refused unless --allow-projected. Energy metrics come\n"
        "only from repetitions judged valid (runs.csv valid; docs/validity.md): the summary\n"
        "counts the others by reason, and --allow-invalid keeps them. Sides measured side by\n"
        "side (their repetitions' times overlap, as scripts/ci-ab.sh makes them) are compared\n"
        "round by round: repetition r of BASE with r of NEW, the change the median of the\n"
        "ratios, p from a Wilcoxon signed-rank test (--paired: auto, yes to pair by rep\n"
        "regardless of time, no never).\n");
}

/* One option; returns 0, -1 (error printed) or JB_PARSE_HELP (usage printed). */
static int parse_option(int c, struct cmp_opts *o)
{
    double v;
    switch (c) {
    case 't':
        if (jb_parse_f64("--threshold", optarg, 0, 1000, &v))
            return -1;
        o->c.threshold = v / 100.0;
        return 0;
    case 'm': o->c.overrides = optarg; return 0;
    case 'a': return jb_parse_f64("--alpha", optarg, 1e-9, 0.5, &o->c.alpha) ? -1 : 0;
    case 'M': o->out.markdown = true; return 0;
    case 'j': o->out.json = optarg; return 0;
    case 'g': o->out.gab = optarg; return 0;
    case 'b': o->out.bencher = optarg; return 0;
    case 'P': o->c.allow_projected = true; return 0;
    case 'I': o->c.allow_invalid = true; return 0;
    case 'p':
        if (strcmp(optarg, "auto") == 0)
            o->c.pairing = JB_PAIR_AUTO;
        else if (strcmp(optarg, "yes") == 0)
            o->c.pairing = JB_PAIR_ALWAYS;
        else if (strcmp(optarg, "no") == 0)
            o->c.pairing = JB_PAIR_NEVER;
        else {
            jb_errorf("compare: --paired is auto, yes or no, not '%s'", optarg);
            return -1;
        }
        return 0;
    case 'h': usage(stdout); return JB_PARSE_HELP;
    default: usage(stderr); return -1;
    }
}

/* Returns 0 (BASE and NEW at argv[optind]), -1 (error printed) or JB_PARSE_HELP. */
static int parse(int argc, char **argv, struct cmp_opts *o)
{
    static const struct option opts[] = {
        { .name = "threshold", .has_arg = required_argument, .val = 't' },
        { .name = "metric-threshold", .has_arg = required_argument, .val = 'm' },
        { .name = "alpha", .has_arg = required_argument, .val = 'a' },
        { .name = "markdown", .has_arg = no_argument, .val = 'M' },
        { .name = "json", .has_arg = required_argument, .val = 'j' },
        { .name = "gab", .has_arg = required_argument, .val = 'g' },
        { .name = "bencher", .has_arg = required_argument, .val = 'b' },
        { .name = "allow-projected", .has_arg = no_argument, .val = 'P' },
        { .name = "allow-invalid", .has_arg = no_argument, .val = 'I' },
        { .name = "paired", .has_arg = required_argument, .val = 'p' },
        { .name = "help", .has_arg = no_argument, .val = 'h' },
        { .name = NULL },
    };
    for (int c; (c = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        const int rc = parse_option(c, o);
        if (rc)
            return rc;
    }
    if (argc - optind != 2) {
        jb_errorf("compare: expected BASE and NEW (results folders or runs.csv files)");
        return -1;
    }
    return 0;
}

int jb_cmd_compare(int argc, char **argv)
{
    struct cmp_opts o = {
        .c = { .threshold = 0.05,
            .alpha = 0.05,
            .seed = 12345,
            .resamples = 10000,
            .overrides = NULL,
            .allow_projected = false,
            .pairing = JB_PAIR_AUTO },
        .out = { .markdown = false, .json = NULL, .gab = NULL, .bencher = NULL },
    };
    struct jb_compare_result r = { .configs = NULL };
    struct jb_err err = { .code = 0 };
    const int parsed = parse(argc, argv, &o);
    if (parsed)
        return parsed == JB_PARSE_HELP ? JB_EXIT_OK : JB_EXIT_USAGE;
    if (jb_compare_run(argv[optind], argv[optind + 1], &o.c, &r, &err)) {
        jb_errorf("%s", err.msg);
        return JB_EXIT_USAGE;
    }
    const int rc = jb_compare_render(stdout, &r, &o.out, &err);
    if (rc)
        jb_errorf("%s", err.msg);
    const int code = rc ? JB_EXIT_USAGE : r.regressions ? JB_EXIT_FAIL : JB_EXIT_OK;
    jb_compare_result_free(&r);
    return code;
}
