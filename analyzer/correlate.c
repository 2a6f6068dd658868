/* correlate.c - the public entry: correlate every adjacent pair of
 * captures, then build what the presenters read (chains, unmatched flows,
 * egress table, source changes). See correlate.h for the method. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "correlate_int.h"

void correlate_opts_default(nl_correlate_opts *o)
{
    o->max_skew_s = 1800;
    o->min_score = 30;
    o->bucket_cap = 32;
}

static int pos_cmp(const void *a, const void *b)
{
    const nl_flow *x = ((const nl_corr_pos *)a)->f, *y = ((const nl_corr_pos *)b)->f;
    return x < y ? -1 : x > y;
}

static int match_cmp(const void *a, const void *b)
{
    const nl_match *x = a, *y = b;
    if (x->near_cap != y->near_cap)
        return x->near_cap < y->near_cap ? -1 : 1;
    if (x->near->first_ns != y->near->first_ns)
        return x->near->first_ns < y->near->first_ns ? -1 : 1;
    return x->near_pos < y->near_pos ? -1 : x->near_pos > y->near_pos;
}

static int build_index(nl_correlation *c, corr_conns *cc)
{
    c->fwd_idx = calloc(c->ncaps, sizeof *c->fwd_idx);
    c->back_idx = calloc(c->ncaps, sizeof *c->back_idx);
    c->twin_idx = calloc(c->ncaps, sizeof *c->twin_idx);
    c->piece_head = calloc(c->ncaps, sizeof *c->piece_head);
    if (!c->fwd_idx || !c->back_idx || !c->twin_idx || !c->piece_head)
        return -1;
    for (size_t i = 0; i < c->ncaps; i++) {
        size_t n = c->caps[i].nflows ? c->caps[i].nflows : 1;
        c->fwd_idx[i] = malloc(n * sizeof **c->fwd_idx);
        c->back_idx[i] = malloc(n * sizeof **c->back_idx);
        if (!c->fwd_idx[i] || !c->back_idx[i])
            return -1;
        memset(c->fwd_idx[i], 0xff, n * sizeof **c->fwd_idx);   /* -1 */
        memset(c->back_idx[i], 0xff, n * sizeof **c->back_idx);
        /* the connection view is the correlation's from here on */
        c->twin_idx[i] = cc[i].twin;
        c->piece_head[i] = cc[i].head;
        cc[i].twin = cc[i].head = NULL;
    }
    for (size_t k = 0; k < c->nmatches; k++) {
        const nl_match *m = &c->matches[k];
        c->fwd_idx[m->near_cap][m->near_pos] = (int32_t)k;
        c->back_idx[m->far_cap][m->far_pos] = (int32_t)k;
    }
    return 0;
}

/* Positions of flows by address, for inputs whose flows are not in id
 * order (filtered views, tests): flow_pos() must not search linearly,
 * presenters ask it for every flow. */
static int pos_index_build(nl_correlation *c)
{
    c->dense = calloc(c->ncaps, 1);
    c->by_ptr = calloc(c->ncaps, sizeof *c->by_ptr);
    if (!c->dense || !c->by_ptr)
        return -1;
    for (size_t i = 0; i < c->ncaps; i++) {
        const nl_corr_input *in = &c->caps[i];
        int dense = 1;
        for (size_t p = 0; p < in->nflows && dense; p++)
            dense = in->flows[p]->id == p + 1;
        c->dense[i] = (uint8_t)dense;
        if (dense)
            continue;
        c->by_ptr[i] = malloc((in->nflows ? in->nflows : 1) * sizeof **c->by_ptr);
        if (!c->by_ptr[i])
            return -1;
        for (size_t p = 0; p < in->nflows; p++) {
            c->by_ptr[i][p].f = in->flows[p];
            c->by_ptr[i][p].pos = (uint32_t)p;
        }
        qsort(c->by_ptr[i], in->nflows, sizeof **c->by_ptr, pos_cmp);
    }
    return 0;
}

/* The same capture given twice (or a copy of it): every count and both
 * ends of the time span equal. Two points of one path never agree on all
 * of them (loss, NAT, timing). */
static int same_capture(const nl_corr_input *a, const nl_corr_input *b)
{
    const nl_trace *x = a->trace, *y = b->trace;
    if (!x || !y || a->nflows == 0 || a->nflows != b->nflows)
        return 0;
    return x->packets == y->packets && x->wire_bytes == y->wire_bytes &&
           x->first_ns == y->first_ns && x->last_ns == y->last_ns &&
           x->file_size == y->file_size;
}

/* How much the two spans overlap (negative: the gap), far span in the
 * near clock when the offset is known. */
static void span_overlap(const nl_corr_input *n, const nl_corr_input *f,
                         nl_clock_offset *off)
{
    /* in doubles: hostile timestamps span the whole 64-bit range, and an
     * overlap of a few ns more or less does not matter */
    double o = off->known ? off->offset_s * 1e9 : 0;
    double a0 = (double)n->first_ns, a1 = (double)n->last_ns;
    double b0 = (double)f->first_ns - o, b1 = (double)f->last_ns - o;
    double lo = a0 > b0 ? a0 : b0, hi = a1 < b1 ? a1 : b1, d = hi - lo;
    off->overlap_ns = d > 9e18 ? INT64_MAX : d < -9e18 ? -INT64_MAX : (int64_t)d;
}

nl_correlation *correlate_inputs(const nl_corr_input *caps, size_t ncaps,
                                 const nl_correlate_opts *opts, char *errbuf)
{
    nl_correlate_opts o;
    corr_conns *cc = NULL;
    if (opts)
        o = *opts;
    else
        correlate_opts_default(&o);
    if (ncaps < 2) {
        snprintf(errbuf, 256, "correlate needs at least two captures");
        return NULL;
    }
    nl_correlation *c = calloc(1, sizeof *c);
    if (!c)
        goto oom;
    c->ncaps = ncaps;
    c->caps = calloc(ncaps, sizeof *c->caps);
    c->offsets = calloc(ncaps - 1, sizeof *c->offsets);
    cc = calloc(ncaps, sizeof *cc);
    if (!c->caps || !c->offsets || !cc)
        goto oom;
    memcpy(c->caps, caps, ncaps * sizeof *caps);
    for (size_t i = 0; i < ncaps; i++)
        if (corr_conns_build(&caps[i], &o, &cc[i]) < 0)
            goto oom;

    corr_vec v = { NULL, 0, 0 };
    for (size_t i = 0; i + 1 < ncaps; i++) {
        nl_clock_offset *off = &c->offsets[i];
        if (same_capture(&caps[i], &caps[i + 1])) {
            memset(off, 0, sizeof *off);
            off->from = (int)i;
            off->to = (int)i + 1;
            off->same_capture = 1;
        } else if ((corr_input_has_records(&caps[i]) || corr_input_has_records(&caps[i + 1])
                    ? corr_pair_records(&caps[i], &caps[i + 1], (int)i, &cc[i], &cc[i + 1],
                                        &o, &v, off)
                    : corr_pair_run(&caps[i], &caps[i + 1], (int)i, &cc[i], &cc[i + 1],
                                    &o, &v, off)) < 0) {
            free(v.m);
            goto oom;
        }
        span_overlap(&caps[i], &caps[i + 1], off);
    }
    c->matches = v.m;
    c->nmatches = v.n;
    if (c->nmatches > 1)
        qsort(c->matches, c->nmatches, sizeof *c->matches, match_cmp);
    if (build_index(c, cc) < 0 || pos_index_build(c) < 0 ||
        corr_chains_build(c) < 0 || corr_unmatched_build(c) < 0 ||
        egress_build(c) < 0)
        goto oom;
    for (size_t i = 0; i < ncaps; i++)
        corr_conns_free(&cc[i]);
    free(cc);
    return c;
oom:
    snprintf(errbuf, 256, "correlate: out of memory");
    if (cc)
        for (size_t i = 0; i < ncaps; i++)
            corr_conns_free(&cc[i]);
    free(cc);
    correlate_free(c);
    return NULL;
}

nl_correlation *correlate_traces(nl_trace **traces, size_t ntraces,
                                 const nl_correlate_opts *opts, char *errbuf)
{
    nl_corr_input *in = calloc(ntraces ? ntraces : 1, sizeof *in);
    if (!in) {
        snprintf(errbuf, 256, "correlate: out of memory");
        return NULL;
    }
    for (size_t i = 0; i < ntraces; i++) {
        in[i].trace = traces[i];
        in[i].name = traces[i]->name;
        in[i].flows = trace_flows(traces[i], &in[i].nflows);
        in[i].first_ns = traces[i]->first_ns;
        in[i].last_ns = traces[i]->last_ns;
    }
    nl_correlation *c = correlate_inputs(in, ntraces, opts, errbuf);
    free(in);
    return c;
}

void correlate_free(nl_correlation *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->ncaps; i++) {
        if (c->fwd_idx)
            free(c->fwd_idx[i]);
        if (c->back_idx)
            free(c->back_idx[i]);
        if (c->twin_idx)
            free(c->twin_idx[i]);
        if (c->piece_head)
            free(c->piece_head[i]);
        if (c->by_ptr)
            free(c->by_ptr[i]);
    }
    free(c->twin_idx);
    free(c->piece_head);
    free(c->by_ptr);
    free(c->dense);
    free(c->fwd_idx);
    free(c->back_idx);
    if (c->chains && c->nchains) {
        free(c->chains[0].flows);   /* one block for all chains */
        free(c->chains[0].alt);
        free(c->chains[0].hops);
    }
    free(c->chains);
    free(c->matches);
    free(c->unmatched);
    free(c->egress);
    free(c->ip_changes);
    free(c->egress_addrs);
    free(c->egress_pools);
    free(c->egress_switches);
    free(c->offsets);
    free(c->caps);
    free(c);
}

static long flow_pos(const nl_correlation *c, int cap, const nl_flow *f)
{
    const nl_corr_input *in = &c->caps[cap];
    if (f->id >= 1 && f->id <= in->nflows && in->flows[f->id - 1] == f)
        return (long)f->id - 1;
    if (!c->by_ptr || !c->by_ptr[cap])
        return -1;
    size_t a = 0, b = in->nflows;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (c->by_ptr[cap][m].f < f)
            a = m + 1;
        else
            b = m;
    }
    return a < in->nflows && c->by_ptr[cap][a].f == f ? (long)c->by_ptr[cap][a].pos : -1;
}

/* Position of the first piece of f's connection. */
static long head_pos(const nl_correlation *c, int cap, const nl_flow *f)
{
    long p = flow_pos(c, cap, f);
    if (p < 0 || !c->piece_head)
        return p;
    return c->piece_head[cap][p];
}

const nl_flow *correlate_conn_head(const nl_correlation *c, int cap,
                                   const nl_flow *f)
{
    if (!c || cap < 0 || (size_t)cap >= c->ncaps || !f)
        return f;
    long p = head_pos(c, cap, f);
    return p < 0 ? f : c->caps[cap].flows[p];
}

size_t correlate_conn_pieces(const nl_correlation *c, int cap, const nl_flow *f,
                             const nl_flow **out, size_t max)
{
    if (!c || cap < 0 || (size_t)cap >= c->ncaps || !f)
        return 0;
    long h = head_pos(c, cap, f);
    if (h < 0) {
        if (max)
            out[0] = f;
        return 1;
    }
    /* pieces come after their first one in flow order; a connection has
     * few, but a scan to the end would be linear per call: stop at the
     * first flow that starts after the connection could have gone quiet */
    const nl_corr_input *in = &c->caps[cap];
    size_t n = 0;
    for (size_t p = (size_t)h; p < in->nflows; p++) {
        if (c->piece_head[cap][p] == h) {
            if (n < max)
                out[n] = in->flows[p];
            n++;
        }
        if (p > (size_t)h + 4096)
            break;
    }
    return n;
}

const nl_match *correlate_match_for(const nl_correlation *c, int cap,
                                    const nl_flow *f, int toward_far)
{
    if (!c || cap < 0 || (size_t)cap >= c->ncaps || !f)
        return NULL;
    long p = head_pos(c, cap, f);
    if (p < 0)
        return NULL;
    int32_t k = toward_far ? c->fwd_idx[cap][p] : c->back_idx[cap][p];
    return k < 0 ? NULL : &c->matches[k];
}

int corr_twin_flip(const nl_correlation *c, int cap, const nl_flow *f)
{
    long p = head_pos(c, cap, f);
    return p >= 0 && c->twin_idx && c->twin_idx[cap][p] >= 0 ? c->twin_idx[cap][p] & 1 : 0;
}

int correlate_unmatched_is_lone(const nl_correlation *c, size_t i)
{
    const nl_unmatched *u = &c->unmatched[i];
    if (correlate_match_for(c, u->capture, u->flow, 1) ||
        correlate_match_for(c, u->capture, u->flow, 0))
        return 0;               /* part of a chain */
    if (i > 0 && c->unmatched[i - 1].flow == u->flow)
        return 0;               /* middle capture: listed once */
    const nl_flow *tw = correlate_twin_of(c, u->capture, u->flow);
    return !(tw && (correlate_match_for(c, u->capture, tw, 1) ||
                    correlate_match_for(c, u->capture, tw, 0)));
}

const nl_flow *correlate_twin_of(const nl_correlation *c, int cap,
                                 const nl_flow *f)
{
    if (!c || cap < 0 || (size_t)cap >= c->ncaps || !f || !c->twin_idx)
        return NULL;
    long p = head_pos(c, cap, f);
    if (p < 0 || c->twin_idx[cap][p] < 0)
        return NULL;
    return c->caps[cap].flows[c->twin_idx[cap][p] / 2];
}

double correlate_offset_s(const nl_correlation *c, int from, int to)
{
    double s = 0;
    int a = from < to ? from : to, b = from < to ? to : from;
    for (int i = a; i < b; i++)
        if (c->offsets[i].known)
            s += c->offsets[i].offset_s;
    return from <= to ? s : -s;
}

uint64_t correlate_to_clock(const nl_correlation *c, int cap, int ref,
                            uint64_t ts_ns)
{
    /* t_ref = t_cap - (how far cap runs ahead of ref), in integers: a
     * double holds an epoch time in ns only to a few hundred ns */
    if (cap == ref)
        return ts_ns;
    int64_t off = (int64_t)llround(correlate_offset_s(c, ref, cap) * 1e9);
    if (off >= 0)
        return ts_ns > (uint64_t)off ? ts_ns - (uint64_t)off : 0;
    uint64_t add = (uint64_t)(-(off + 1)) + 1;
    return ts_ns > UINT64_MAX - add ? UINT64_MAX : ts_ns + add;
}

const char *correlate_translation_name(uint8_t t)
{
    switch (t & 3) {
    case NL_XLATE_SNAT: return "snat";
    case NL_XLATE_DNAT: return "dnat";
    case NL_XLATE_SNAT | NL_XLATE_DNAT: return "snat+dnat";
    default: return "none";
    }
}

const char *correlate_level_name(uint8_t level)
{
    switch (level) {
    case NL_CONF_EXACT: return "exact";
    case NL_CONF_STRONG: return "strong";
    case NL_CONF_RECORDED: return "recorded";
    default: return "likely";
    }
}

const char *correlate_reason_name(uint8_t r)
{
    switch (r) {
    case NL_UNM_NEVER_ARRIVED: return "never_arrived";
    case NL_UNM_FROM_ELSEWHERE: return "from_elsewhere";
    case NL_UNM_OUTSIDE_WINDOW: return "outside_window";
    case NL_UNM_ANSWERED_ELSEWHERE: return "answered_elsewhere";
    case NL_UNM_NO_CLOCK: return "no_common_clock";
    case NL_UNM_NOT_LOGGED: return "not_logged";
    default: return "unknown";
    }
}

const char *correlate_evidence_name(uint32_t bit)
{
    static const char *const names[NL_EV_COUNT] = {
        "isn", "tsval", "data", "ipid", "icmp_id", "ports", "size", "time", "record"
    };
    for (int i = 0; i < NL_EV_COUNT; i++)
        if (bit == (1u << i))
            return names[i];
    return NULL;
}

void correlate_far_endpoint(const nl_match *m, int dir, nl_addr *ip,
                            uint16_t *port)
{
    int fd = (dir ^ m->flip) & 1;
    *ip = fd == NL_ORIG ? m->far->orig_ip : m->far->resp_ip;
    *port = fd == NL_ORIG ? m->far->orig_port : m->far->resp_port;
}
