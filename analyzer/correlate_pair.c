/* correlate_pair.c - match the flows of two adjacent captures.
 *
 * Pass 1 looks only through keys that are rare and strong (ISN, TSval,
 * payload, ICMP id, exact tuple; runs of at most bucket_cap flows), with no
 * time limit but max_skew_s: a far clock ten minutes off must not hide the
 * twins. Its confident matches give a first clock offset. Pass 2 looks
 * again with time as evidence; now a big run (a thousand flows to one
 * port) is searched only within a few seconds of the expected start, and
 * flows with no strong candidate also look among flows to the same
 * destination. Candidates are sorted by score and assigned greedily, so
 * each flow ends with at most one twin and the best-supported pairs win
 * ties (two clients behind one SNAT on the same source port).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "correlate_int.h"

#define PASS1_MIN_SCORE   50.0  /* a pair trusted to measure the clock */
#define STRONG_ENOUGH     60.0  /* no need to look among the destination run */
#define WINDOW_NS         INT64_C(5000000000)  /* big-run search, each side */
#define DST_WINDOW_NS     INT64_C(3500000000)
#define RUN_SCAN_MAX      256
#define TWIN_MIN_SCORE    60.0
#define PASS1_RETRY_CAP   256

typedef struct cand {
    uint32_t ni, fi;
    double   score;
    double   dt;
    uint32_t ev;
    uint8_t  flip;
} cand;

typedef struct cand_vec {
    cand  *c;
    size_t n, cap;
} cand_vec;

static int cand_push(cand_vec *v, const cand *c)
{
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 1024;
        cand *nv = realloc(v->c, nc * sizeof *nv);
        if (!nv)
            return -1;
        v->c = nv;
        v->cap = nc;
    }
    v->c[v->n++] = *c;
    return 0;
}

static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    double ax = fabs(x->dt), ay = fabs(y->dt);
    if (ax != ay)
        return ax < ay ? -1 : 1;
    if (x->ni != y->ni)
        return x->ni < y->ni ? -1 : 1;
    return x->fi < y->fi ? -1 : x->fi > y->fi;
}

typedef struct pair_run {
    const nl_corr_input *near, *far;
    corr_index nix, fix;
    corr_ctx   cx;
    uint32_t  *stamp;        /* per far flow: last near flow (+1) that saw it */
    corr_rarity *rar;        /* per near flow, computed once */
    int        self;         /* near and far are one capture (twins) */
    uint32_t   cap;
    cand_vec   cands;
} pair_run;

static int same_tuple(const nl_flow *a, const nl_flow *b)
{
    if (a->proto != b->proto)
        return 0;
    if (!nl_addr_cmp(&a->orig_ip, &b->orig_ip) && !nl_addr_cmp(&a->resp_ip, &b->resp_ip) &&
        a->orig_port == b->orig_port && a->resp_port == b->resp_port)
        return 1;
    return !nl_addr_cmp(&a->orig_ip, &b->resp_ip) && !nl_addr_cmp(&a->resp_ip, &b->orig_ip) &&
           a->orig_port == b->resp_port && a->resp_port == b->orig_port;
}

/* Score far flows of the run [lo, lo+cnt) of one key against near flow ni.
 * Returns the best score seen, or -INFINITY; -2 on out of memory. */
static int scan_run(pair_run *r, uint32_t ni, size_t lo, size_t cnt,
                    int64_t window, double min_keep, double *best)
{
    const nl_flow *n = r->near->flows[ni];
    size_t a = lo, e = lo + cnt;
    if (cnt > r->cap) {
        if (!r->cx.have_offset)
            return 0;
        int64_t c = (int64_t)n->first_ns + r->cx.off_ns;
        int64_t t0 = c - window;
        a = corr_index_time_lower(&r->fix, lo, cnt, t0 < 0 ? 0 : (uint64_t)t0);
        int64_t t1 = c + window;
        size_t b = corr_index_time_lower(&r->fix, lo, cnt,
                                         t1 < 0 ? 0 : (uint64_t)t1 + 1);
        if (b - a > RUN_SCAN_MAX) {
            /* keep the RUN_SCAN_MAX entries nearest the expected start */
            size_t mid = corr_index_time_lower(&r->fix, a, b - a,
                                               c < 0 ? 0 : (uint64_t)c);
            size_t half = RUN_SCAN_MAX / 2;
            size_t na = mid > a + half ? mid - half : a;
            size_t nb = na + RUN_SCAN_MAX < b ? na + RUN_SCAN_MAX : b;
            a = na;
            b = nb;
        }
        e = b;
    }
    for (size_t k = a; k < e; k++) {
        uint32_t fi = r->fix.k[k].idx;
        if (r->stamp[fi] == ni + 1)
            continue;
        r->stamp[fi] = ni + 1;
        if (r->self && (fi == ni || same_tuple(n, r->far->flows[fi])))
            continue;        /* a twin is the same connection translated */
        corr_score s;
        if (!corr_score_pair(&r->cx, n, &r->rar[ni], r->far->flows[fi], &s))
            continue;
        if (s.score > *best)
            *best = s.score;
        if (s.score < min_keep)
            continue;
        cand c = { ni, fi, s.score, s.dt_s, s.evidence, s.flip };
        if (cand_push(&r->cands, &c) < 0)
            return -2;
    }
    return 0;
}

static int gen_candidates(pair_run *r, int pass, double min_keep)
{
    r->cands.n = 0;
    memset(r->stamp, 0, r->far->nflows * sizeof *r->stamp);
    for (uint32_t ni = 0; ni < r->near->nflows; ni++) {
        const uint64_t *keys = r->rar[ni].key;
        size_t nk = r->rar[ni].n;
        double best = -INFINITY;
        long dst_slot = -1;
        for (size_t j = 0; j < nk; j++) {
            if (corr_key_kind(keys[j]) == CK_DST) {
                dst_slot = (long)j;
                continue;
            }
            size_t lo = r->rar[ni].far_lo[j], cnt = r->rar[ni].far_cnt[j];
            if (cnt && scan_run(r, ni, lo, cnt, WINDOW_NS, min_keep, &best) < 0)
                return -1;
        }
        if (pass == 2 && dst_slot >= 0 && best < STRONG_ENOUGH &&
            r->cx.have_offset && !r->self) {
            size_t lo = r->rar[ni].far_lo[dst_slot];
            size_t cnt = r->rar[ni].far_cnt[dst_slot];
            /* always through the window: a destination run can be huge */
            uint32_t save = r->cap;
            r->cap = 0;
            int rc = cnt ? scan_run(r, ni, lo, cnt, DST_WINDOW_NS, min_keep,
                                    &best) : 0;
            r->cap = save;
            if (rc < 0)
                return -1;
        }
    }
    if (r->cands.n > 1)
        qsort(r->cands.c, r->cands.n, sizeof *r->cands.c, cand_cmp);
    return 0;
}

/* Greedy: best candidates first, each flow used once. Accepted candidates
 * are compacted to the front of the vector; returns their number. */
static size_t assign(pair_run *r, double min_score, uint32_t need_ev)
{
    size_t nn = r->near->nflows, nf = r->far->nflows, out = 0;
    uint8_t *used = calloc(nn + nf, 1);
    if (!used)
        return (size_t)-1;
    for (size_t i = 0; i < r->cands.n; i++) {
        cand c = r->cands.c[i];
        if (c.score < min_score)
            break;
        if (used[c.ni] || used[nn + c.fi])
            continue;
        if (need_ev && !(c.ev & need_ev))
            continue;
        used[c.ni] = used[nn + c.fi] = 1;
        r->cands.c[out++] = c;
    }
    free(used);
    return out;
}

static void fill_match(pair_run *r, const cand *c, int ni, nl_match *m)
{
    memset(m, 0, sizeof *m);
    m->near_cap = ni;
    m->far_cap = ni + 1;
    m->near = r->near->flows[c->ni];
    m->far = r->far->flows[c->fi];
    m->near_pos = c->ni;
    m->far_pos = c->fi;
    m->flip = c->flip;
    m->evidence = c->ev;
    m->score = c->score;
    m->confidence = corr_confidence(c->score, c->ev);
    m->dt_s = c->dt;
    corr_classify(m);
}

/* Clock offset from the accepted matches [0, n) (only strong ones when
 * there are any). */
static int estimate_from(pair_run *r, size_t n, int ni, nl_clock_offset *off)
{
    clock_samples cs;
    clock_samples_init(&cs);
    int any_strong = 0;
    for (size_t i = 0; i < n; i++)
        if (r->cands.c[i].ev & NL_EV_STRONG)
            any_strong = 1;
    for (size_t i = 0; i < n; i++) {
        if (any_strong && !(r->cands.c[i].ev & NL_EV_STRONG))
            continue;
        nl_match m;
        corr_pkt_pairs pp;
        fill_match(r, &r->cands.c[i], ni, &m);
        corr_pkts_pair(&m, &pp);
        clock_samples_add_match(&cs, &pp);
    }
    int oom = cs.oom;
    clock_estimate(&cs, off);
    clock_samples_free(&cs);
    return oom ? -1 : 0;
}

static int vec_push(corr_vec *v, const nl_match *m)
{
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 256;
        nl_match *nv = realloc(v->m, nc * sizeof *nv);
        if (!nv)
            return -1;
        v->m = nv;
        v->cap = nc;
    }
    v->m[v->n++] = *m;
    return 0;
}

int corr_pair_run(const nl_corr_input *near, const nl_corr_input *far, int ni,
                  const nl_correlate_opts *o, corr_vec *out,
                  nl_clock_offset *off)
{
    pair_run r;
    int rc = -1;
    memset(&r, 0, sizeof r);
    memset(off, 0, sizeof *off);
    off->from = ni;
    off->to = ni + 1;
    r.near = near;
    r.far = far;
    r.cap = o->bucket_cap;
    if (near->nflows == 0 || far->nflows == 0)
        return 0;
    r.stamp = calloc(far->nflows, sizeof *r.stamp);
    if (!r.stamp || corr_index_build(&r.nix, near->flows, near->nflows) < 0 ||
        corr_index_build(&r.fix, far->flows, far->nflows) < 0)
        goto done;
    r.cx.nix = &r.nix;
    r.cx.fix = &r.fix;
    r.cx.max_skew_s = o->max_skew_s;
    r.rar = malloc(near->nflows * sizeof *r.rar);
    if (!r.rar)
        goto done;
    corr_rarity_build(&r.cx, near->flows, near->nflows, r.rar);

    /* Pass 1: strong keys only, no clock yet. */
    if (gen_candidates(&r, 1, PASS1_MIN_SCORE) < 0)
        goto done;
    size_t n1 = assign(&r, PASS1_MIN_SCORE, NL_EV_STRONG);
    if (n1 == 0 && r.cap < PASS1_RETRY_CAP) {
        /* nothing rare enough (every payload repeated, no TCP): look
         * through bigger runs once before giving up on the clock */
        r.cap = PASS1_RETRY_CAP;
        if (gen_candidates(&r, 1, PASS1_MIN_SCORE) < 0)
            goto done;
        n1 = assign(&r, PASS1_MIN_SCORE, NL_EV_STRONG);
        r.cap = o->bucket_cap;
    }
    if (n1 == (size_t)-1)
        goto done;
    nl_clock_offset first;
    memset(&first, 0, sizeof first);
    if (estimate_from(&r, n1, ni, &first) < 0)
        goto done;
    if (first.known) {
        r.cx.have_offset = 1;
        r.cx.off_ns = (int64_t)llround(first.offset_s * 1e9);
        r.cx.spread_s = first.spread_s;
    }

    /* Pass 2: everything, time now counts. */
    if (gen_candidates(&r, 2, o->min_score) < 0)
        goto done;
    size_t n2 = assign(&r, o->min_score, 0);
    if (n2 == (size_t)-1)
        goto done;
    if (estimate_from(&r, n2, ni, off) < 0)
        goto done;
    off->from = ni;
    off->to = ni + 1;
    /* pass-2 dt is relative to the first estimate; report it against the
     * final one */
    double shift = (first.known ? first.offset_s : 0) -
                   (off->known ? off->offset_s : 0);
    for (size_t i = 0; i < n2; i++) {
        nl_match m;
        corr_pkt_pairs pp;
        fill_match(&r, &r.cands.c[i], ni, &m);
        corr_pkts_pair(&m, &pp);
        m.dt_s += shift;
        if (vec_push(out, &m) < 0)
            goto done;
    }
    rc = 0;
done:
    corr_index_free(&r.nix);
    corr_index_free(&r.fix);
    free(r.stamp);
    free(r.rar);
    free(r.cands.c);
    return rc;
}

/* Twins: one capture taken on both sides of a NAT (a firewall's `-i any`)
 * holds each translated connection twice, once per leg. Found like a pair
 * of captures with the capture against itself, the clock known (offset 0),
 * a flow never twin of itself or of a flow with its own tuple, and only on
 * the SYN's ISN or on TSval and payload together. */
int corr_twins_run(const nl_corr_input *in, const nl_correlate_opts *o,
                   int32_t *twin)
{
    pair_run r;
    int rc = -1;
    memset(&r, 0, sizeof r);
    for (size_t i = 0; i < in->nflows; i++)
        twin[i] = -1;
    if (in->nflows < 2)
        return 0;
    r.near = r.far = in;
    r.self = 1;
    r.cap = o->bucket_cap;
    r.stamp = calloc(in->nflows, sizeof *r.stamp);
    if (!r.stamp || corr_index_build(&r.nix, in->flows, in->nflows) < 0)
        goto done;
    r.fix = r.nix;            /* one index serves both roles */
    r.cx.nix = &r.nix;
    r.cx.fix = &r.fix;
    r.cx.max_skew_s = o->max_skew_s;
    r.cx.have_offset = 1;
    r.rar = malloc(in->nflows * sizeof *r.rar);
    if (!r.rar)
        goto done;
    corr_rarity_build(&r.cx, in->flows, in->nflows, r.rar);
    if (gen_candidates(&r, 2, TWIN_MIN_SCORE) < 0)
        goto done;
    uint8_t *used = calloc(in->nflows, 1);
    if (!used)
        goto done;
    /* one greedy over both roles: a flow has at most one twin */
    for (size_t i = 0; i < r.cands.n; i++) {
        const cand *c = &r.cands.c[i];
        int strong = (c->ev & NL_EV_ISN) ||
                     ((c->ev & NL_EV_TSVAL) && (c->ev & NL_EV_DATA));
        if (!strong || !(c->ev & NL_EV_TIME) || used[c->ni] || used[c->fi])
            continue;
        used[c->ni] = used[c->fi] = 1;
        twin[c->ni] = (int32_t)(c->fi * 2 + c->flip);
        twin[c->fi] = (int32_t)(c->ni * 2 + c->flip);
    }
    free(used);
    rc = 0;
done:
    corr_index_free(&r.nix);  /* r.fix shares it */
    free(r.stamp);
    free(r.rar);
    free(r.cands.c);
    return rc;
}
