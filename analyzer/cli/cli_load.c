/* cli_load.c - read several captures at once, and say what a long run is
 * doing.
 *
 * correlate, report and tui read every capture before anything else, and
 * each file is one independent pass (source -> decode -> flow table): two
 * files on two cores take the time of one. Threads share nothing but the
 * progress counters (atomics); libpcap handles are per file, the BPF
 * compiler is serialised in source.c. Progress is one line on stderr,
 * only on a terminal and without -q, like curl's or pv's: bytes read of
 * all files, packets, rate; then the stage a command is in (cli_stage).
 * flows and report load through here too, so every command draws the
 * same line.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"

#define CLI_LOAD_THREADS 2

int cli_quiet;

typedef struct load_job {
    const char *path;
    nl_trace_opts o;
    nl_trace *t;
    char err[512];
    _Atomic int64_t done, total;
    _Atomic uint64_t packets;
} load_job;

typedef struct load_pool {
    load_job *jobs;
    size_t n;
    _Atomic size_t next;
    _Atomic size_t finished;     /* workers that returned */
} load_pool;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int progress_on(void)
{
    return !cli_quiet && isatty(2);
}

static void job_progress(void *ctx, int64_t done, int64_t total, uint64_t packets)
{
    load_job *j = ctx;
    atomic_store(&j->done, done < 0 ? 0 : done);
    atomic_store(&j->total, total < 0 ? 0 : total);
    atomic_store(&j->packets, packets);
}

static void *load_worker(void *arg)
{
    load_pool *p = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n) {
            atomic_fetch_add(&p->finished, 1);
            return NULL;
        }
        load_job *j = &p->jobs[i];
        j->t = trace_load(j->path, &j->o, j->err);
    }
}

/* The one progress line: bytes read of all files, packets, rate. */
static void load_line(size_t nfiles, int64_t done, int64_t total, uint64_t pk, double el)
{
    if (total > 0)
        fprintf(stderr, "\r\033[Knatlens: reading %zu file%s %3d%%  %.1f M packets  %.0f MB/s",
                nfiles, nfiles == 1 ? "" : "s", (int)(100.0 * (double)done / (double)total),
                (double)pk / 1e6, el > 0 ? (double)done / el / 1e6 : 0.0);
    else
        fprintf(stderr, "\r\033[Knatlens: reading %zu file%s  %.1f M packets", nfiles,
                nfiles == 1 ? "" : "s", (double)pk / 1e6);
}

/* The progress line while workers run. */
static void load_watch(load_pool *p, size_t nth, double t0)
{
    int shown = 0;
    while (atomic_load(&p->finished) < nth) {
        struct timespec ts = { 0, 50000000 };
        nanosleep(&ts, NULL);
        double el = now_s() - t0;
        if (el < 0.5 || !progress_on())
            continue;
        int64_t done = 0, total = 0;
        uint64_t pk = 0;
        for (size_t i = 0; i < p->n; i++) {
            done += atomic_load(&p->jobs[i].done);
            total += atomic_load(&p->jobs[i].total);
            pk += atomic_load(&p->jobs[i].packets);
        }
        load_line(p->n, done, total, pk, el);
        shown = 1;
    }
    if (shown)
        fprintf(stderr, "\r\033[K");
}

/* One file is read where it is named (no thread: a streaming flows run
 * writes its output from the reading loop); trace_load calls this every
 * 64k packets, the line is redrawn at most ten times a second. */
typedef struct load_one {
    double t0, last;
    int shown;
} load_one;

static void one_progress(void *ctx, int64_t done, int64_t total, uint64_t packets)
{
    load_one *o = ctx;
    double now = now_s();
    if (!progress_on() || now - o->t0 < 0.5 || now - o->last < 0.1 ||
        (total > 0 && done >= total))
        return;
    o->last = now;
    load_line(1, done < 0 ? 0 : done, total < 0 ? 0 : total, packets, now - o->t0);
    o->shown = 1;
}

int cli_load_traces(const char *const *paths, size_t n, const nl_trace_opts *opts,
                    nl_trace **out)
{
    load_pool p;
    pthread_t th[CLI_LOAD_THREADS];
    size_t nth = 0;
    int rc = 0;
    memset(&p, 0, sizeof p);
    p.jobs = calloc(n ? n : 1, sizeof *p.jobs);
    if (!p.jobs) {
        fprintf(stderr, "natlens: out of memory\n");
        return -1;
    }
    p.n = n;
    for (size_t i = 0; i < n; i++) {
        load_job *j = &p.jobs[i];
        j->path = paths[i];
        if (opts)
            j->o = *opts;
        j->o.progress = job_progress;
        j->o.progress_ctx = j;
    }
    /* stdin and FIFOs are read where they are named, one at a time */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t want = n < CLI_LOAD_THREADS ? n : CLI_LOAD_THREADS;
    if (cores > 0 && (size_t)cores < want)
        want = (size_t)cores;
    double t0 = now_s();
    if (n == 1) {
        load_one one = { t0, 0, 0 };
        p.jobs[0].o.progress = one_progress;
        p.jobs[0].o.progress_ctx = &one;
        want = 0;
        load_worker(&p);
        if (one.shown)
            fprintf(stderr, "\r\033[K");
    }
    for (; nth < want; nth++)
        if (pthread_create(&th[nth], NULL, load_worker, &p) != 0)
            break;
    if (nth > 0)
        load_watch(&p, nth, t0);
    else if (n != 1)
        load_worker(&p);           /* no thread: read them here */
    for (size_t k = 0; k < nth; k++)
        pthread_join(th[k], NULL);
    for (size_t i = 0; i < n; i++) {
        out[i] = p.jobs[i].t;
        if (!out[i]) {
            cli_eprintf("natlens: %s\n", p.jobs[i].err);
            rc = -1;
        }
    }
    if (rc < 0) {
        for (size_t i = 0; i < n; i++) {
            trace_free(out[i]);
            out[i] = NULL;
        }
    } else {
        for (size_t i = 0; i < n; i++)
            cli_trace_notes(out[i]);
    }
    free(p.jobs);
    return rc;
}

void cli_stage(const char *what)
{
    static int shown;
    if (!progress_on())
        return;
    if (what) {
        fprintf(stderr, "\r\033[Knatlens: %s", what);
        shown = 1;
    } else if (shown) {
        fprintf(stderr, "\r\033[K");
        shown = 0;
    }
}
