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

static int match_cmp(const void *a, const void *b)
{
    const nl_match *x = a, *y = b;
    if (x->near_cap != y->near_cap)
        return x->near_cap < y->near_cap ? -1 : 1;
    if (x->near->first_ns != y->near->first_ns)
        return x->near->first_ns < y->near->first_ns ? -1 : 1;
    return x->near_pos < y->near_pos ? -1 : x->near_pos > y->near_pos;
}

static int build_index(nl_correlation *c, const nl_correlate_opts *o)
{
    c->fwd_idx = calloc(c->ncaps, sizeof *c->fwd_idx);
    c->back_idx = calloc(c->ncaps, sizeof *c->back_idx);
    if (!c->fwd_idx || !c->back_idx)
        return -1;
    for (size_t i = 0; i < c->ncaps; i++) {
        size_t n = c->caps[i].nflows ? c->caps[i].nflows : 1;
        c->fwd_idx[i] = malloc(n * sizeof **c->fwd_idx);
        c->back_idx[i] = malloc(n * sizeof **c->back_idx);
        if (!c->fwd_idx[i] || !c->back_idx[i])
            return -1;
        memset(c->fwd_idx[i], 0xff, n * sizeof **c->fwd_idx);   /* -1 */
        memset(c->back_idx[i], 0xff, n * sizeof **c->back_idx);
    }
    c->twin_idx = calloc(c->ncaps, sizeof *c->twin_idx);
    if (!c->twin_idx)
        return -1;
    for (size_t i = 0; i < c->ncaps; i++) {
        size_t n = c->caps[i].nflows ? c->caps[i].nflows : 1;
        c->twin_idx[i] = malloc(n * sizeof **c->twin_idx);
        if (!c->twin_idx[i] || corr_twins_run(&c->caps[i], o, c->twin_idx[i]) < 0)
            return -1;
    }
    for (size_t k = 0; k < c->nmatches; k++) {
        const nl_match *m = &c->matches[k];
        c->fwd_idx[m->near_cap][m->near_pos] = (int32_t)k;
        c->back_idx[m->far_cap][m->far_pos] = (int32_t)k;
    }
    return 0;
}

nl_correlation *correlate_inputs(const nl_corr_input *caps, size_t ncaps,
                                 const nl_correlate_opts *opts, char *errbuf)
{
    nl_correlate_opts o;
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
    if (!c->caps || !c->offsets)
        goto oom;
    memcpy(c->caps, caps, ncaps * sizeof *caps);

    corr_vec v = { NULL, 0, 0 };
    for (size_t i = 0; i + 1 < ncaps; i++) {
        if (corr_pair_run(&caps[i], &caps[i + 1], (int)i, &o, &v,
                          &c->offsets[i]) < 0) {
            free(v.m);
            goto oom;
        }
    }
    c->matches = v.m;
    c->nmatches = v.n;
    if (c->nmatches > 1)
        qsort(c->matches, c->nmatches, sizeof *c->matches, match_cmp);
    if (build_index(c, &o) < 0 || corr_chains_build(c) < 0 ||
        corr_unmatched_build(c) < 0 || egress_build(c) < 0 ||
        egress_changes_build(c) < 0)
        goto oom;
    return c;
oom:
    snprintf(errbuf, 256, "correlate: out of memory");
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
    }
    free(c->twin_idx);
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
    free(c->offsets);
    free(c->caps);
    free(c);
}

static long flow_pos(const nl_correlation *c, int cap, const nl_flow *f)
{
    const nl_corr_input *in = &c->caps[cap];
    if (f->id >= 1 && f->id <= in->nflows && in->flows[f->id - 1] == f)
        return (long)f->id - 1;
    for (size_t i = 0; i < in->nflows; i++)
        if (in->flows[i] == f)
            return (long)i;
    return -1;
}

const nl_match *correlate_match_for(const nl_correlation *c, int cap,
                                    const nl_flow *f, int toward_far)
{
    if (!c || cap < 0 || (size_t)cap >= c->ncaps || !f)
        return NULL;
    long p = flow_pos(c, cap, f);
    if (p < 0)
        return NULL;
    int32_t k = toward_far ? c->fwd_idx[cap][p] : c->back_idx[cap][p];
    return k < 0 ? NULL : &c->matches[k];
}

const nl_flow *correlate_twin_of(const nl_correlation *c, int cap,
                                 const nl_flow *f)
{
    if (!c || cap < 0 || (size_t)cap >= c->ncaps || !f || !c->twin_idx)
        return NULL;
    long p = flow_pos(c, cap, f);
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
    /* t_ref = t_cap - (how far cap runs ahead of ref) */
    double off = correlate_offset_s(c, ref, cap) * 1e9;
    double t = (double)ts_ns - off;
    return t < 0 ? 0 : (uint64_t)llround(t);
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

const char *correlate_reason_name(uint8_t r)
{
    switch (r) {
    case NL_UNM_NEVER_ARRIVED: return "never_arrived";
    case NL_UNM_FROM_ELSEWHERE: return "from_elsewhere";
    case NL_UNM_OUTSIDE_WINDOW: return "outside_window";
    default: return "unknown";
    }
}

const char *correlate_evidence_name(uint32_t bit)
{
    static const char *const names[NL_EV_COUNT] = {
        "isn", "tsval", "data", "ipid", "icmp_id", "ports", "size", "time"
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
