/*
 * plot.c — pictures through gnuplot: the scripts live in scripts/report/, the data they
 * plot in OUT/data/, and the values the report computed (titles, fits, ranges) are passed as
 * gnuplot variables. No shell is involved: gnuplot is exec'd with its arguments, inside the
 * output folder, so any file name is safe; values are quoted for gnuplot itself.
 */
#include "jb_report.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define GNUPLOT_TIMEOUT_S 60 /* a picture that takes longer is abandoned */

/* ==== variables ============================================================================== */

static void vars_append(struct jb_plot *p, const char *s)
{
    const size_t used = strlen(p->vars), n = strlen(s);
    if (used + n + 1 > sizeof p->vars) {
        p->overflow = true;
        return;
    }
    memcpy(p->vars + used, s, n + 1);
}

void jb_plot_var_str(struct jb_plot *p, const char *name, const char *value)
{
    /* gnuplot's single-quoted strings are literal except '' for a quote; line breaks would end
     * the command, so they become spaces */
    char buf[2048];
    size_t k = (size_t)snprintf(buf, sizeof buf, "%s='", name);
    for (const char *c = value; *c && k + 4 < sizeof buf; c++) {
        if (*c == '\'')
            buf[k++] = '\'';
        buf[k++] = (*c == '\n' || *c == '\r') ? ' ' : *c;
    }
    if (k + 4 >= sizeof buf)
        p->overflow = true;
    buf[k++] = '\'';
    buf[k++] = ';';
    buf[k] = '\0';
    vars_append(p, buf);
}

void jb_plot_var_num(struct jb_plot *p, const char *name, double value)
{
    char buf[128];
    if (isfinite(value))
        snprintf(buf, sizeof buf, "%s=%.17g;", name, value);
    else
        snprintf(buf, sizeof buf, "%s=NaN;", name);
    vars_append(p, buf);
}

/* ==== running gnuplot ======================================================================== */

/* fork + exec argv with stdout and stderr to log_fd (or /dev/null when < 0), in dir (or here). */
static pid_t spawn(char *const *argv, const char *dir, int log_fd)
{
    const pid_t pid = fork();
    if (pid != 0)
        return pid;
    const int out = log_fd >= 0 ? log_fd : open("/dev/null", O_WRONLY);
    if (out >= 0) {
        dup2(out, STDOUT_FILENO);
        dup2(out, STDERR_FILENO);
    }
    const int in = open("/dev/null", O_RDONLY);
    if (in >= 0)
        dup2(in, STDIN_FILENO);
    if (dir && chdir(dir) != 0)
        _exit(126);
    alarm(GNUPLOT_TIMEOUT_S);
    execvp(argv[0], argv);
    _exit(127);
}

static int wait_status(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

bool jb_gnuplot_works(const char *prog, char *why, size_t len)
{
    char *argv[] = { (char *)prog, "--version", NULL };
    const pid_t pid = spawn(argv, NULL, -1);
    const int st = pid > 0 ? wait_status(pid) : -1;
    if (st == 0)
        return true;
    if (st == 127)
        snprintf(why, len, "gnuplot was not found (\"%s\"; install gnuplot-nox)", prog);
    else
        snprintf(why, len, "\"%s --version\" failed (status %d)", prog, st);
    return false;
}

static bool nonempty(const char *dir, const char *base, const char *ext)
{
    char path[PATH_MAX + 128];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s.%s", dir, base, ext);
    return stat(path, &st) == 0 && st.st_size > 0;
}

static void remove_old(const char *dir, const char *base)
{
    static const char *const exts[] = { "png", "svg" };
    char path[PATH_MAX + 128];
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s.%s", dir, base, exts[i]);
        unlink(path);
    }
}

/* The first line of the log that says what went wrong, for the report; removes empty logs. */
static void read_log(const char *log, char *why, size_t len)
{
    FILE *f = fopen(log, "r");
    char line[512] = "";
    bool any = false;
    while (f && fgets(line, sizeof line, f)) {
        any = true;
        if (strstr(line, "line ") || strstr(line, "rror"))
            break;
    }
    if (f)
        fclose(f);
    if (!any) {
        unlink(log);
        return;
    }
    line[strcspn(line, "\r\n")] = '\0';
    for (size_t n = strlen(line); n && (line[n - 1] == ' ' || line[n - 1] == '\t'); n--)
        line[n - 1] = '\0';
    jb_appendf(why, len, ": %s", line);
}

void jb_plots_draw(
    const char *prog, const char *scripts_dir, const char *out_dir, struct jb_plot *plots, size_t n)
{
    pid_t *pids = calloc(n + 1, sizeof *pids);
    char script[PATH_MAX + 128], script_abs[PATH_MAX], log[PATH_MAX + 128];
    for (size_t i = 0; pids && i < n; i++) {
        struct jb_plot *p = &plots[i];
        p->drawn = false;
        remove_old(out_dir, p->out);
        snprintf(script, sizeof script, "%s/%s", scripts_dir, p->script);
        if (p->overflow) {
            snprintf(p->why, sizeof p->why, "its settings are too long for gnuplot's command line");
            continue;
        }
        if (!realpath(script, script_abs)) {
            snprintf(p->why, sizeof p->why, "script %.200s: %s", script, strerror(errno));
            continue;
        }
        snprintf(log, sizeof log, "%s/data/%s.log", out_dir, p->out);
        const int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        char *argv[] = { (char *)prog, "-e", p->vars, script_abs, NULL };
        pids[i] = spawn(argv, out_dir, fd);
        if (fd >= 0)
            close(fd);
        if (pids[i] < 0)
            snprintf(p->why, sizeof p->why, "cannot start gnuplot: %s", strerror(errno));
    }
    for (size_t i = 0; pids && i < n; i++) {
        struct jb_plot *p = &plots[i];
        if (pids[i] <= 0)
            continue;
        const int st = wait_status(pids[i]);
        p->drawn = st == 0 && nonempty(out_dir, p->out, "png") && nonempty(out_dir, p->out, "svg");
        if (!p->drawn) {
            remove_old(out_dir, p->out); /* half a picture is no picture */
            snprintf(p->why, sizeof p->why, "gnuplot %s (status %d, log data/%s.log)",
                st == 128 + SIGALRM ? "took too long" : "failed", st, p->out);
            snprintf(log, sizeof log, "%s/data/%s.log", out_dir, p->out);
            read_log(log, p->why, sizeof p->why);
        } else {
            snprintf(log, sizeof log, "%s/data/%s.log", out_dir, p->out);
            read_log(log, p->why, sizeof p->why); /* drops an empty log */
            p->why[0] = '\0';
        }
    }
    if (!pids)
        for (size_t i = 0; i < n; i++)
            snprintf(plots[i].why, sizeof plots[i].why, "out of memory");
    free(pids);
}
