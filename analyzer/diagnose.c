/* diagnose.c - the findings container: cases in, findings out.
 *
 * Rules (diagnose_single.c, diagnose_path.c, diagnose_stray.c,
 * diagnose_pair.c) add one case per broken connection. Finalising then
 *   1. merges cases that name the same connection (diagnose_merge.c): the
 *      same flow, or flows of one correlation chain (the client's SYN and
 *      the server's copy of it are one connection). Cases are visited most
 *      specific kind first, so a connection is named once, by its best
 *      explanation; the evidence of the others is kept under it;
 *   2. groups the surviving cases of one kind and one group key (same
 *      service, same cause) into one finding, "3 handshakes to ... broke",
 *      and sorts findings most severe first, then by time
 *      (diagnose_group.c).
 * This file owns the container: capture names and host metadata, the
 * cases, the findings array, and the public entry points and getters.
 * Out of memory is sticky (fs->oom) and reported by the public calls.
 */
#define NATLENS_DIAGNOSE_INTERNAL
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/diagnose.h"
#include "natlens/record.h"
#include "natlens/hostmeta.h"

/* A capture of a port scan can hold millions of unanswered SYNs; a case is
 * about 3 KiB, so stop collecting at this many (the rest are counted). */
#define DG_MAX_CASES 200000

static const char *const kind_names[NL_FK_COUNT] = {
    "asymmetric_return", "never_arrived", "icmp_unreachable", "rejected",
    "handshake_broken", "source_changed", "seq_rewritten",
    "nat_port_exhausted", "rejected_by_rule", "nat_no_reply",
    "egress_pool", "no_common_traffic", "no_time_overlap", "same_capture",
    "partial_capture"
};

const char *diagnose_kind_name(nl_finding_kind k)
{
    return (unsigned)k < NL_FK_COUNT ? kind_names[k] : "unknown";
}

int diagnose_kind_priority(nl_finding_kind k)
{
    /* lower is more specific: a rule or the NAT that dropped a
     * connection explains it better than "it never arrived" */
    static const int pr[NL_FK_COUNT] = {
        [NL_FK_ASYMMETRIC_RETURN] = 0, [NL_FK_NAT_PORT_EXHAUSTED] = 1,
        [NL_FK_REJECTED_BY_RULE] = 2, [NL_FK_NEVER_ARRIVED] = 3,
        [NL_FK_ICMP_UNREACHABLE] = 4, [NL_FK_REJECTED] = 5, [NL_FK_NAT_NO_REPLY] = 6,
        [NL_FK_HANDSHAKE_BROKEN] = 7, [NL_FK_SOURCE_CHANGED] = 8,
        [NL_FK_SEQ_REWRITTEN] = 9, [NL_FK_EGRESS_POOL] = 10,
        [NL_FK_NO_COMMON_TRAFFIC] = 11, [NL_FK_NO_TIME_OVERLAP] = 12,
        [NL_FK_SAME_CAPTURE] = 13, [NL_FK_PARTIAL_CAPTURE] = 14,
    };
    return (unsigned)k < NL_FK_COUNT ? pr[k] : 99;
}

const char *diagnose_severity_name(nl_severity s)
{
    switch (s) {
    case NL_SEV_ERROR: return "error";
    case NL_SEV_WARNING: return "warning";
    default: return "info";
    }
}

nl_findings *diagnose_new(void)
{
    return calloc(1, sizeof(nl_findings));
}

static void case_clear(dg_case *k)
{
    for (size_t i = 0; i < k->nev; i++)
        free(k->ev[i].what);
    free(k->fix);
    k->nev = 0;
    k->fix = NULL;
}

static void findings_clear(nl_findings *fs)
{
    for (size_t i = 0; i < fs->n; i++) {
        nl_finding *f = &fs->v[i];
        free(f->summary);
        free(f->flows);
        for (size_t e = 0; e < f->nevidence; e++)
            free(f->evidence[e].what);
        free(f->evidence);
        free(f->fix);
    }
    free(fs->v);
    fs->v = NULL;
    fs->n = 0;
}

void diagnose_free(nl_findings *fs)
{
    if (!fs)
        return;
    findings_clear(fs);
    for (size_t i = 0; i < fs->ncases; i++)
        case_clear(&fs->cases[i]);
    free(fs->cases);
    for (size_t i = 0; i < fs->ncaps; i++) {
        free(fs->names[i]);
        free(fs->meta[i]);
    }
    free(fs->names);
    free(fs->meta);
    free(fs->meta_set);
    free(fs->drops);
    free(fs->received);
    free(fs->auto_names);
    case_clear(&fs->scratch);
    free(fs);
}

int diagnose_oom(const nl_findings *fs)
{
    return fs->oom;
}

/* Make room for capture index cap. 0 or -1. */
static int caps_reserve(nl_findings *fs, int cap)
{
    size_t need = (size_t)cap + 1, old = fs->ncaps;
    if (cap < 0 || cap > 4096)
        return -1;
    if (need <= fs->ncaps)
        return 0;
    char **nn = realloc(fs->names, need * sizeof *nn);
    if (!nn)
        return fs->oom = 1, -1;
    fs->names = nn;
    char **nm = realloc(fs->meta, need * sizeof *nm);
    if (!nm)
        return fs->oom = 1, -1;
    fs->meta = nm;
    uint8_t *ns = realloc(fs->meta_set, need);
    if (!ns)
        return fs->oom = 1, -1;
    fs->meta_set = ns;
    uint64_t *nd = realloc(fs->drops, need * sizeof *nd);
    if (!nd)
        return fs->oom = 1, -1;
    fs->drops = nd;
    uint64_t *nr = realloc(fs->received, need * sizeof *nr);
    if (!nr)
        return fs->oom = 1, -1;
    fs->received = nr;
    char (*an)[16] = realloc(fs->auto_names, need * sizeof *an);
    if (!an)
        return fs->oom = 1, -1;
    fs->auto_names = an;
    for (size_t i = old; i < need; i++) {
        fs->names[i] = NULL;
        fs->meta[i] = NULL;
        fs->meta_set[i] = 0;
        fs->drops[i] = fs->received[i] = 0;
        snprintf(fs->auto_names[i], sizeof fs->auto_names[i], "capture %zu", i);
    }
    fs->ncaps = need;
    return 0;
}

int diagnose_set_name(nl_findings *fs, int cap, const char *name)
{
    if (caps_reserve(fs, cap) < 0 || !name)
        return -1;
    char *d = strdup(name);
    if (!d)
        return fs->oom = 1, -1;
    free(fs->names[cap]);
    fs->names[cap] = d;
    return 0;
}

const char *diagnose_capture_name(const nl_findings *fs, int cap)
{
    /* no shared buffer: names live in the container (a viewer diagnoses
     * on a worker thread while its UI thread prints) */
    if (fs && cap >= 0 && (size_t)cap < fs->ncaps)
        return fs->names[cap] ? fs->names[cap] : fs->auto_names[cap];
    return "capture ?";         /* an index the container never saw */
}

int diagnose_set_hostmeta(nl_findings *fs, int cap, const char *json)
{
    if (caps_reserve(fs, cap) < 0)
        return -1;
    free(fs->meta[cap]);
    fs->meta[cap] = NULL;
    /* a caller's document is checked like a file's: its values reach fix
     * lines (an invalid document is not used at all) */
    if (json && !(fs->meta[cap] = hostmeta_sanitize(json, NULL, 0)) && hostmeta_json_valid(json, strlen(json)))
        return fs->oom = 1, -1;
    fs->meta_set[cap] = 1;
    return 0;
}

/* Host metadata of capture cap: the trace read it (and checked it) with
 * the capture itself; a file is never opened again here. */
static void hostmeta_load(nl_findings *fs, int cap, const nl_trace *t)
{
    if (caps_reserve(fs, cap) < 0 || fs->meta_set[cap])
        return;
    fs->meta_set[cap] = 1;
    if (t->hostmeta && !(fs->meta[cap] = strdup(t->hostmeta)))
        fs->oom = 1;
}

const char *diagnose_hostmeta_of(const nl_findings *fs, int cap)
{
    if (cap < 0 || (size_t)cap >= fs->ncaps)
        return NULL;
    return fs->meta[cap];
}

/* ---- cases ----------------------------------------------------------- */

dg_case *diagnose_case_new(nl_findings *fs, nl_finding_kind kind, nl_severity sev)
{
    dg_case *scratch = &fs->scratch;   /* absorbs writes after out-of-memory */
    if (fs->ncases >= DG_MAX_CASES) {
        fs->dropped++;
        case_clear(scratch);
        memset(scratch, 0, sizeof *scratch);
        return scratch;
    }
    if (fs->ncases == fs->capcases) {
        size_t nc = fs->capcases ? fs->capcases * 2 : 32;
        dg_case *nv = realloc(fs->cases, nc * sizeof *nv);
        if (!nv) {
            fs->oom = 1;
            case_clear(scratch);
            memset(scratch, 0, sizeof *scratch);
            return scratch;
        }
        fs->cases = nv;
        fs->capcases = nc;
    }
    dg_case *k = &fs->cases[fs->ncases++];
    memset(k, 0, sizeof *k);
    k->kind = kind;
    k->sev = sev;
    k->claims = 1;
    k->merged_into = -1;
    k->first_ns = UINT64_MAX;
    return k;
}

dg_case *diagnose_case_find(nl_findings *fs, nl_finding_kind kind, const char *group)
{
    for (size_t i = 0; i < fs->ncases; i++)
        if (fs->cases[i].kind == kind && !strcmp(fs->cases[i].group, group))
            return &fs->cases[i];
    return NULL;
}

void diagnose_case_flow(dg_case *k, int cap, const nl_flow *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < k->nflows; i++)
        if (k->flows[i].flow == f && k->flows[i].capture == cap)
            return;
    if (k->nflows < DG_MAX_FLOWS) {
        k->flows[k->nflows].capture = cap;
        k->flows[k->nflows].flow = f;
        k->nflows++;
    }
}

int diagnose_case_ev_take(dg_case *k, int cap, uint64_t frame, uint64_t ts, char *what)
{
    if (frame) /* one packet is proof once */
        for (size_t i = 0; i < k->nev; i++)
            if (k->ev[i].capture == cap && k->ev[i].frame == frame) {
                free(what);
                return 0;
            }
    if (k->nev >= DG_MAX_EV) {
        free(what);
        return 0;
    }
    k->ev[k->nev].capture = cap;
    k->ev[k->nev].frame = frame;
    k->ev[k->nev].ts_ns = ts;
    k->ev[k->nev].what = what;
    k->nev++;
    if (ts && ts < k->first_ns)
        k->first_ns = ts;
    return 1;
}

void diagnose_case_ev(dg_case *k, int cap, uint64_t frame, uint64_t ts_ns,
                      const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *d = strdup(buf);
    if (d)
        diagnose_case_ev_take(k, cap, frame, ts_ns, d);
}

void diagnose_case_fix(dg_case *k, int rank, char *fix_owned)
{
    if (!fix_owned)
        return;
    if (k->fix && k->fix_rank >= rank) {
        free(fix_owned);
        return;
    }
    free(k->fix);
    k->fix = fix_owned;
    k->fix_rank = rank;
}

/* ---- finalise --------------------------------------------------------- */

/* Findings from all cases so far; a later diagnose_*() call finalises
 * again (the cases are kept, the findings rebuilt). */
static void finalize(nl_findings *fs, const nl_correlation *c)
{
    size_t *kept, nkept;
    findings_clear(fs);
    if (!fs->ncases)
        return;
    kept = diagnose_merge_run(fs, c, &nkept);
    if (!kept)
        return;
    diagnose_group_run(fs, c, kept, nkept);
    free(kept);
    diagnose_drops_note(fs);
}

/* ---- public entry points ---------------------------------------------- */

int diagnose_trace(nl_findings *out, nl_trace *t, int cap_index)
{
    dg_ctx cx;
    size_t n0 = out->n;
    if (!out || !t || caps_reserve(out, cap_index) < 0)
        return -1;
    diagnose_set_name(out, cap_index, t->name ? t->name : t->path);
    hostmeta_load(out, cap_index, t);
    diagnose_drops_set(out, cap_index, t->capture_drops, t->capture_received);
    memset(&cx, 0, sizeof cx);
    cx.fs = out;
    cx.cap = cap_index;
    cx.flows = trace_flows(t, &cx.nflows);
    cx.first_ns = t->first_ns;
    cx.last_ns = t->last_ns;
    cx.name = out->names[cap_index];
    cx.hostmeta = out->meta[cap_index];
    diagnose_single_run(&cx);
    finalize(out, NULL);
    if (out->oom)
        return -1;
    return (int)(out->n >= n0 ? out->n - n0 : 0);
}

int diagnose_correlation(nl_findings *out, const nl_correlation *c)
{
    if (!out || !c)
        return -1;
    for (size_t i = 0; i < c->ncaps; i++) {
        const nl_corr_input *in = &c->caps[i];
        dg_ctx cx;
        if (caps_reserve(out, (int)i) < 0)
            return -1;
        diagnose_set_name(out, (int)i, in->name ? in->name
                                       : in->trace ? in->trace->name : NULL);
        if (in->trace) {
            hostmeta_load(out, (int)i, in->trace);
            diagnose_drops_set(out, (int)i, in->trace->capture_drops,
                               in->trace->capture_received);
        }
        memset(&cx, 0, sizeof cx);
        cx.fs = out;
        cx.cap = (int)i;
        cx.flows = in->flows;
        cx.nflows = in->nflows;
        cx.first_ns = in->first_ns;
        cx.last_ns = in->last_ns;
        cx.name = diagnose_capture_name(out, (int)i);
        cx.hostmeta = out->meta[i];
        /* a record file has no packets: its own rules, not the handshake
         * rules (a capture carrying records gets both) */
        if (!in->trace || !in->trace->is_record)
            diagnose_single_run(&cx);
        if (in->trace && record_count(in->trace) > 0)
            diagnose_records_run(out, (int)i, in->trace);
    }
    diagnose_scope_run(out, c);
    diagnose_pair_run(out, c);
    diagnose_egress_run(out, c);
    finalize(out, c);
    return out->oom ? -1 : (int)out->n;
}

uint64_t diagnose_dropped(const nl_findings *fs)
{
    return fs ? fs->dropped : 0;
}

size_t diagnose_count(const nl_findings *fs)
{
    return fs ? fs->n : 0;
}

const nl_finding *diagnose_get(const nl_findings *fs, size_t i)
{
    return fs && i < fs->n ? &fs->v[i] : NULL;
}

size_t diagnose_count_at_least(const nl_findings *fs, nl_severity sev)
{
    size_t n = 0;
    for (size_t i = 0; fs && i < fs->n; i++)
        n += fs->v[i].severity >= sev;
    return n;
}

const nl_finding *diagnose_find_flow(const nl_findings *fs, int cap, const nl_flow *f)
{
    /* sorted most severe first: the first hit is the worst */
    for (size_t i = 0; fs && i < fs->n; i++)
        for (size_t j = 0; j < fs->v[i].nflows; j++)
            if (fs->v[i].flows[j].flow == f && fs->v[i].flows[j].capture == cap)
                return &fs->v[i];
    return NULL;
}
