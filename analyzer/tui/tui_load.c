/* tui_load.c - read, pair and diagnose in the background while the UI runs.
 *
 * One thread per capture runs trace_load() and reports progress through
 * its callback. Packet records are kept as `flows` keeps them
 * (NL_KEEP_NEEDED: the flows the findings need and a sample), so memory
 * is bounded by flows; the ladder reads any other flow's packets again
 * from the file when it is opened (tui_pkts.c).
 * A worker thread then publishes a model in stages, each as soon as it is
 * known: the flows of every capture (the first rows, within a second of
 * the files being read), then the pairing (correlate_traces), then the
 * findings (diagnose_*). The UI thread copies the progress counters and
 * takes each model once; it never waits on the worker.
 *
 * What the threads share, and why that is safe:
 *  - the traces are written by their reading thread only, and read-only
 *    after the join (flow_table_all() with keep_done, which trace_load
 *    uses, only reads): the UI draws them while the worker correlates;
 *  - correlate_traces() and diagnose_*() take the flows as const and
 *    write only their own containers; a published model, the correlation
 *    and the findings are immutable once handed over;
 *  - the library keeps no mutable static state (capture names, the
 *    scratch case and sort contexts live in their containers; ladders
 *    are built from the correlation alone; source.c's lock around
 *    libpcap's filter compiler is the one static), so the UI thread may
 *    build a ladder or name a capture while the worker diagnoses.
 * Signals are blocked in these threads so SIGINT/SIGTERM/SIGWINCH reach
 * the UI thread, which restores the terminal.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "natlens/record.h"
#include "tui.h"

typedef struct tui_cap_job {
    tui_loader *ld;
    size_t      i;
    nl_trace   *trace;
    uint64_t    cpu_ns;     /* the thread's CPU time for reading */
    char        err[512];
} tui_cap_job;

static uint64_t tui_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

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

static const nl_tunnel_conf *tui_tunnels; /* set once before the threads start */

void tui_load_set_tunnels(const nl_tunnel_conf *c)
{
    tui_tunnels = c;
}

static void *tui_load_one(void *arg)
{
    tui_cap_job *j = arg;
    nl_trace_opts o;
    memset(&o, 0, sizeof o);
    o.keep_packets = 1;
    o.keep_policy = NL_KEEP_NEEDED;
    o.bpf = j->ld->bpf;
    o.format = tui_format;
    o.tunnels = tui_tunnels;
    o.progress = tui_load_progress;
    o.progress_ctx = j;
    j->trace = trace_load(j->ld->paths[j->i], &o, j->err);
    j->cpu_ns = tui_cpu_ns();
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

/* Hand a model to the UI (replacing one it has not taken yet) and move to
 * `stage`. `note`, when given, says what will be missing. */
static void tui_load_publish(tui_loader *ld, tui_model *m, int stage, const char *note)
{
    tui_model *old;
    pthread_mutex_lock(&ld->mu);
    old = ld->fresh;
    if (m)
        ld->fresh = m;
    else
        old = NULL;
    ld->stage = stage;
    ld->stage_ns = tui_now_ns();
    if (note)
        snprintf(ld->note, sizeof ld->note, "%s", note);
    pthread_mutex_unlock(&ld->mu);
    tui_model_free(old);        /* never seen by the UI */
}

static void tui_load_fail(tui_loader *ld, const char *err)
{
    pthread_mutex_lock(&ld->mu);
    ld->stage = TUI_LD_FAILED;
    snprintf(ld->err, sizeof ld->err, "%s", err);
    pthread_mutex_unlock(&ld->mu);
}

/* Read every capture side by side (2 cores read two files in the time of
 * one). 0, or -1 with err filled and nothing kept. */
static int tui_load_read(tui_loader *ld, char *err, size_t errlen)
{
    size_t n = ld->npaths;
    tui_cap_job *jobs = calloc(n, sizeof *jobs);
    pthread_t *th = calloc(n, sizeof *th);
    int *ok = calloc(n, sizeof *ok), rc = 0;
    if (!jobs || !th || !ok) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
        goto out;
    }
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
        ld->traces[i] = jobs[i].trace;
        if (jobs[i].cpu_ns > ld->read_cpu_ns)
            ld->read_cpu_ns = jobs[i].cpu_ns;
        if (!ld->traces[i] && !err[0])
            snprintf(err, errlen, "%s", jobs[i].err);
    }
    if (err[0]) {
        for (size_t i = 0; i < n; i++) {
            trace_free(ld->traces[i]);
            ld->traces[i] = NULL;
        }
        rc = -1;
    }
out:
    free(jobs);
    free(th);
    free(ok);
    return rc;
}

static void *tui_load_main(void *arg)
{
    tui_loader *ld = arg;
    size_t n = ld->npaths;
    tui_model *m;
    char err[512];
    int rc;

    if (tui_load_read(ld, err, sizeof err) < 0) {
        tui_load_fail(ld, err);
        return NULL;
    }
    ld->read_ns = tui_now_ns();
    /* stage 1: the flows, before anything is paired */
    {
        uint64_t c0 = tui_cpu_ns();
        m = tui_model_build(ld->traces, n, NULL, NULL, 1, ld->utf8, err);
        ld->model_cpu_ns = tui_cpu_ns() - c0;
    }
    if (!m) {
        tui_load_fail(ld, err);
        return NULL;
    }
    tui_load_publish(ld, m, n >= 2 ? TUI_LD_PAIRING : TUI_LD_DIAGNOSING, NULL);
    /* stage 2: the pairing */
    if (n >= 2) {
        ld->corr = correlate_traces(ld->traces, n, NULL, err);
        ld->paired_ns = tui_now_ns();
        if (!ld->corr) {
            char note[300];
            snprintf(note, sizeof note, "pairing failed: %s", err);
            tui_load_publish(ld, NULL, TUI_LD_READY, note);
            return NULL;
        }
        m = tui_model_build(ld->traces, n, ld->corr, NULL, 1, ld->utf8, err);
        tui_load_publish(ld, m, m ? TUI_LD_DIAGNOSING : TUI_LD_READY,
                         m ? NULL : "out of memory after pairing");
        if (!m)
            return NULL;
    }
    /* stage 3: the findings */
    ld->diag = diagnose_new();
    rc = !ld->diag ? -1 : n >= 2 ? diagnose_correlation(ld->diag, ld->corr)
         : record_count(ld->traces[0]) ? diagnose_records(ld->diag, ld->traces[0], 0)
                                       : diagnose_trace(ld->diag, ld->traces[0], 0);
    if (rc < 0) {
        diagnose_free(ld->diag);
        ld->diag = NULL;
    }
    m = tui_model_build(ld->traces, n, ld->corr, ld->diag, 0, ld->utf8, err);
    ld->ready_ns = tui_now_ns();
    tui_load_publish(ld, m, TUI_LD_READY,
                     !m ? "out of memory after looking for problems"
                        : !ld->diag ? "findings unavailable: out of memory while diagnosing" : NULL);
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
    ld->start_ns = ld->stage_ns = tui_now_ns();
    ld->prog = calloc(n, sizeof *ld->prog);
    ld->traces = calloc(n, sizeof *ld->traces);
    if (!ld->prog || !ld->traces) {
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

int tui_load_poll(tui_loader *ld, tui_cap_progress *prog, tui_model **fresh, char *err,
                  size_t errlen, char *note, size_t notelen)
{
    int stage;
    pthread_mutex_lock(&ld->mu);
    stage = ld->stage;
    if (prog)
        memcpy(prog, ld->prog, ld->npaths * sizeof *prog);
    if (fresh) {
        *fresh = ld->fresh;
        ld->fresh = NULL;
    }
    if (err && errlen)
        snprintf(err, errlen, "%s", ld->err);
    if (note && notelen)
        snprintf(note, notelen, "%s", ld->note);
    pthread_mutex_unlock(&ld->mu);
    return stage;
}

void tui_load_join(tui_loader *ld)
{
    if (ld->started)
        pthread_join(ld->thread, NULL);
    ld->started = 0;
    tui_model_free(ld->fresh);
    ld->fresh = NULL;
    /* findings borrow flows and the correlation borrows traces: free in
     * the reverse order of building */
    diagnose_free(ld->diag);
    correlate_free(ld->corr);
    for (size_t i = 0; ld->traces && i < ld->npaths; i++)
        trace_free(ld->traces[i]);
    free(ld->traces);
    free(ld->prog);
    ld->traces = NULL;
    ld->prog = NULL;
    ld->diag = NULL;
    ld->corr = NULL;
    pthread_mutex_destroy(&ld->mu);
}
