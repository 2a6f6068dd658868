/* tui_load.c - read the captures in the background while the UI runs.
 *
 * One thread per capture runs trace_load() (keep_packets = 1, the same load
 * as `correlate` and `report`) and reports progress through its callback;
 * a coordinator thread joins them, correlates (two or more captures),
 * diagnoses and builds the model, then publishes it under the mutex. The UI
 * thread only ever copies the progress counters and, once, takes the model.
 * Signals are blocked in these threads so SIGINT/SIGTERM/SIGWINCH reach the
 * UI thread, which restores the terminal.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "tui.h"

typedef struct tui_cap_job {
    tui_loader *ld;
    size_t      i;
    nl_trace   *trace;
    char        err[512];
} tui_cap_job;

uint64_t tui_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void tui_load_progress(void *ctx, int64_t done, int64_t total, uint64_t packets)
{
    tui_cap_job *j = ctx;
    pthread_mutex_lock(&j->ld->mu);
    j->ld->prog[j->i].done = done;
    j->ld->prog[j->i].total = total;
    j->ld->prog[j->i].packets = packets;
    pthread_mutex_unlock(&j->ld->mu);
}

static const char *tui_format;   /* set once before the loader threads start */

void tui_load_set_format(const char *name)
{
    tui_format = name;
}

static void *tui_load_one(void *arg)
{
    tui_cap_job *j = arg;
    nl_trace_opts o;
    memset(&o, 0, sizeof o);
    o.keep_packets = 1;
    o.bpf = j->ld->bpf;
    o.format = tui_format;
    o.progress = tui_load_progress;
    o.progress_ctx = j;
    j->trace = trace_load(j->ld->paths[j->i], &o, j->err);
    pthread_mutex_lock(&j->ld->mu);
    j->ld->prog[j->i].finished = 1;
    if (j->trace) {
        j->ld->prog[j->i].packets = j->trace->packets;
        if (j->ld->prog[j->i].total > 0)
            j->ld->prog[j->i].done = j->ld->prog[j->i].total;
    }
    pthread_mutex_unlock(&j->ld->mu);
    return NULL;
}

static void tui_load_stage(tui_loader *ld, int stage, const char *err)
{
    pthread_mutex_lock(&ld->mu);
    ld->stage = stage;
    if (err)
        snprintf(ld->err, sizeof ld->err, "%s", err);
    pthread_mutex_unlock(&ld->mu);
}

static void *tui_load_main(void *arg)
{
    tui_loader *ld = arg;
    size_t n = ld->npaths;
    tui_cap_job *jobs = calloc(n, sizeof *jobs);
    pthread_t *th = calloc(n, sizeof *th);
    int *ok = calloc(n, sizeof *ok);
    nl_trace **traces = calloc(n, sizeof *traces);
    nl_correlation *corr = NULL;
    nl_findings *diag = NULL;
    tui_model *model;
    char err[512];

    if (!jobs || !th || !ok || !traces) {
        tui_load_stage(ld, TUI_LD_FAILED, "out of memory");
        goto out;
    }
    /* captures are independent: read them side by side (2 cores read two
     * files in the time of one) */
    for (size_t i = 0; i < n; i++) {
        jobs[i].ld = ld;
        jobs[i].i = i;
        ok[i] = pthread_create(&th[i], NULL, tui_load_one, &jobs[i]) == 0;
        if (!ok[i])
            tui_load_one(&jobs[i]);
    }
    err[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (ok[i])
            pthread_join(th[i], NULL);
        traces[i] = jobs[i].trace;
        if (!traces[i] && !err[0])
            snprintf(err, sizeof err, "%s", jobs[i].err);
    }
    if (err[0]) {
        for (size_t i = 0; i < n; i++)
            trace_free(traces[i]);
        tui_load_stage(ld, TUI_LD_FAILED, err);
        goto out;
    }
    diag = diagnose_new();
    if (n >= 2) {
        tui_load_stage(ld, TUI_LD_CORRELATING, NULL);
        corr = correlate_traces(traces, n, NULL, err);
        if (!corr) {
            for (size_t i = 0; i < n; i++)
                trace_free(traces[i]);
            diagnose_free(diag);
            tui_load_stage(ld, TUI_LD_FAILED, err);
            goto out;
        }
        tui_load_stage(ld, TUI_LD_DIAGNOSING, NULL);
        if (diag && diagnose_correlation(diag, corr) < 0) {
            diagnose_free(diag);
            diag = NULL;
        }
    } else {
        tui_load_stage(ld, TUI_LD_DIAGNOSING, NULL);
        if (diag && diagnose_trace(diag, traces[0], 0) < 0) {
            diagnose_free(diag);
            diag = NULL;
        }
    }
    model = tui_model_build(traces, n, corr, diag, ld->utf8, err);
    traces = NULL;              /* owned by the model now, also on failure */
    pthread_mutex_lock(&ld->mu);
    if (model) {
        ld->model = model;
        ld->stage = TUI_LD_READY;
    } else {
        ld->stage = TUI_LD_FAILED;
        snprintf(ld->err, sizeof ld->err, "%s", err);
    }
    ld->ready_ns = tui_now_ns();
    pthread_mutex_unlock(&ld->mu);
out:
    free(jobs);
    free(th);
    free(ok);
    free(traces);
    return NULL;
}

int tui_load_start(tui_loader *ld, char **paths, size_t n, const char *bpf, int utf8, char *err)
{
    sigset_t all, old;
    int rc;
    memset(ld, 0, sizeof *ld);
    pthread_mutex_init(&ld->mu, NULL);
    ld->paths = paths;
    ld->npaths = n;
    ld->bpf = bpf;
    ld->utf8 = utf8;
    ld->stage = TUI_LD_READING;
    ld->start_ns = tui_now_ns();
    ld->prog = calloc(n, sizeof *ld->prog);
    if (!ld->prog) {
        snprintf(err, 256, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        ld->prog[i].total = -1;
    /* threads inherit the mask: block everything while creating them */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&ld->thread, NULL, tui_load_main, ld);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(err, 256, "cannot start the loader thread: %s", strerror(rc));
        return -1;
    }
    ld->started = 1;
    return 0;
}

int tui_load_poll(tui_loader *ld, tui_cap_progress *prog, tui_model **model, char *err,
                  size_t errlen)
{
    int stage;
    pthread_mutex_lock(&ld->mu);
    stage = ld->stage;
    if (prog)
        memcpy(prog, ld->prog, ld->npaths * sizeof *prog);
    if (model)
        *model = ld->model;
    if (err && errlen)
        snprintf(err, errlen, "%s", ld->err);
    pthread_mutex_unlock(&ld->mu);
    return stage;
}

void tui_load_join(tui_loader *ld)
{
    if (ld->started)
        pthread_join(ld->thread, NULL);
    ld->started = 0;
    free(ld->prog);
    ld->prog = NULL;
    pthread_mutex_destroy(&ld->mu);
}
