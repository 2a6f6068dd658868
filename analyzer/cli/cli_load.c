/* cli_load.c - read several captures at once, and say what a long run is
 * doing.
 *
 * correlate, report and tui read every capture before anything else, and
 * each file is one independent pass (source -> decode -> flow table): two
 * files on two cores take the time of one. Threads share nothing but the
 * progress counters (atomics); libpcap handles are per file, the BPF
 * compiler is serialised in source.c. Progress is one line on stderr,
 * only on a terminal and without -q, like curl's or pv's: bytes read of
 * all files, packets, rate.
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

/* The one progress line while workers run. */
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
        if (total > 0)
            fprintf(stderr, "\r\033[Knatlens: reading %zu file%s %3d%%  %.1f M packets  %.0f MB/s",
                    p->n, p->n == 1 ? "" : "s", (int)(100.0 * (double)done / (double)total),
                    (double)pk / 1e6, (double)done / el / 1e6);
        else
            fprintf(stderr, "\r\033[Knatlens: reading %zu file%s  %.1f M packets", p->n,
                    p->n == 1 ? "" : "s", (double)pk / 1e6);
        shown = 1;
    }
    if (shown)
        fprintf(stderr, "\r\033[K");
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
    for (; nth < want; nth++)
        if (pthread_create(&th[nth], NULL, load_worker, &p) != 0)
            break;
    if (nth == 0)
        load_worker(&p);           /* no thread: read them here */
    else
        load_watch(&p, nth, t0);
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
