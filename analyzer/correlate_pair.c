/* correlate_pair.c - match the connections of two adjacent captures.
 *
 * A pair is accepted only when it is consistent with one clock offset for
 * the two captures, so unrelated captures pair nothing. Three stages, each
 * linear or n log n in flows:
 *
 *   1. Anchors. Keys that are unique on both sides (one connection carries
 *      them here, one there) pair directly: the SYN's ISN (32 random bits,
 *      corroborated by the port, a second ISN, TSval or payload, so that a
 *      chance collision among a million flows cannot pair), or a unique
 *      TSval. No clock is needed yet: the far clock may be off by many
 *      minutes. The anchors' time differences must agree on one offset (the
 *      densest 1 s window holds a majority, or at least three of them);
 *      anchors outside it are dropped unless SYN retries explain the gap.
 *   2. Without any anchor (no TCP handshake, say), weak keys that are
 *      unique on both sides (a payload) may set the clock, but only when at
 *      least three of them, and a majority, agree within 0.1 s: a lone weak
 *      pair never pairs (two labs sending the same test payload).
 *   3. The window. With the offset known, every connection still unpaired
 *      looks for its twin among the far flows that start within the clock's
 *      tolerance of where it should be (SYN retries widen it forward), found
 *      through sorted keys (destination, tuple, ICMP id, its strong keys):
 *      a bounded number of neighbours in time per key, never a whole key
 *      bucket. Candidates are scored (correlate_score.c) and assigned
 *      greedily, best first; each connection pairs once.
 * Then the offset is estimated once more from every pair with a strong key.
 * Only first pieces of connections pair (correlate_conn.c); the legs of a
 * NAT seen in one capture count as one connection for uniqueness, and the
 * leg that scores best (the one facing the other capture) pairs.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "natlens/record.h"
#include "correlate_int.h"

#define ANCHOR_MIN_SCORE  50.0
#define RUN_MAX           4        /* entries of one unique key: legs, echo */
#define MODE_HALF_NS      INT64_C(500000000)    /* anchors agree within */
#define WEAK_HALF_NS      INT64_C(100000000)    /* weak pairs agree within */
#define RETRY_MAX_NS      INT64_C(130000000000) /* SYN retries explain up to */
#define CONSENSUS_MIN     3
#define WINDOW_SCAN_MAX   64       /* neighbours in time looked at per key */
#define NS_PER_S          1e9

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
    const corr_conns *ncc, *fcc;
    uint8_t   *nuse, *fuse;      /* first pieces: the flows that pair */
    corr_index nix, fix;         /* strong keys of first pieces */
    corr_index fwhere;           /* destination, tuple, ICMP id (far) */
    corr_ctx   cx;
    corr_rarity *rar;            /* per near flow */
    uint8_t   *ntaken, *ftaken;  /* per connection id (conn[]): paired */
    uint32_t  *stamp;            /* per far flow: last near flow + 1 that saw it */
    cand_vec   cands, weak;
    int64_t    ext_ns;           /* forward window for SYN retries, per call */
} pair_run;

/* ---- stage 1: unique keys ------------------------------------------------ */

/* Number of distinct connections in the run [lo, hi) of an index. Runs
 * are short here (RUN_MAX), so a quadratic look is fine. */
static size_t run_conns(const corr_index *ix, size_t lo, size_t hi,
                        const corr_conns *cc)
{
    size_t d = 0;
    for (size_t i = lo; i < hi; i++) {
        int seen = 0;
        for (size_t j = lo; j < i && !seen; j++)
            seen = cc->conn[ix->k[j].idx] == cc->conn[ix->k[i].idx];
        d += !seen;
    }
    return d;
}

/* An ISN alone could be a chance collision among millions of flows: it
 * pairs when something independent agrees too. */
static int anchor_corroborated(const nl_flow *n, const nl_flow *f, const corr_score *s)
{
    if (s->evidence & (NL_EV_TSVAL | NL_EV_DATA | NL_EV_PORTS))
        return 1;
    int isn = 0;
    for (int d = 0; d < 2; d++) {
        const nl_flow_sig *a = &n->sig[d], *b = &f->sig[d ^ s->flip];
        isn += a->has_syn && b->has_syn && a->syn_isn == b->syn_isn;
    }
    if (isn == 2)
        return 1;
    /* the service port survives SNAT; a DNAT that moves it leaves the
     * other keys above */
    uint16_t fport = s->flip ? f->orig_port : f->resp_port;
    return n->resp_port == fport;
}

static int stage_unique(pair_run *r)
{
    const corr_index *a = &r->nix, *b = &r->fix;
    size_t i = 0, j = 0;
    while (i < a->n && j < b->n) {
        uint64_t key = a->k[i].key;
        if (b->k[j].key < key) {
            j++;
            continue;
        }
        size_t ie = i, je = j;
        while (ie < a->n && a->k[ie].key == key)
            ie++;
        while (je < b->n && b->k[je].key == key)
            je++;
        int kind = corr_key_kind(key);
        if (je > j && ie - i <= RUN_MAX && je - j <= RUN_MAX &&
            run_conns(a, i, ie, r->ncc) == 1 && run_conns(b, j, je, r->fcc) == 1) {
            for (size_t x = i; x < ie; x++)
                for (size_t y = j; y < je; y++) {
                    const nl_flow *n = r->near->flows[a->k[x].idx];
                    const nl_flow *f = r->far->flows[b->k[y].idx];
                    corr_score s;
                    if (!corr_score_pair(&r->cx, n, &r->rar[a->k[x].idx], f, &s))
                        continue;
                    cand c = { a->k[x].idx, b->k[y].idx, s.score, s.dt_s,
                               s.evidence, s.flip };
                    if (kind == CK_DATA) {
                        if (cand_push(&r->weak, &c) < 0)
                            return -1;
                    } else if (s.score >= ANCHOR_MIN_SCORE &&
                               (s.evidence & (NL_EV_ISN | NL_EV_TSVAL)) &&
                               anchor_corroborated(n, f, &s)) {
                        if (cand_push(&r->cands, &c) < 0)
                            return -1;
                    }
                }
        }
        i = ie;
        j = je;
    }
    return 0;
}

/* ---- assignment ------------------------------------------------------------ */

/* Greedy: best candidates first, each connection used once on each side.
 * Accepted candidates are compacted to the front; returns their number. */
static size_t assign(pair_run *r, cand_vec *v, double min_score)
{
    size_t out = 0;
    if (v->n > 1)
        qsort(v->c, v->n, sizeof *v->c, cand_cmp);
    for (size_t i = 0; i < v->n; i++) {
        cand c = v->c[i];
        int32_t cn = r->ncc->conn[c.ni], cf = r->fcc->conn[c.fi];
        if (c.score < min_score)
            break;
        if (r->ntaken[cn] || r->ftaken[cf])
            continue;
        r->ntaken[cn] = r->ftaken[cf] = 1;
        v->c[out++] = c;
    }
    return out;
}

static void release(pair_run *r, const cand *c)
{
    r->ntaken[r->ncc->conn[c->ni]] = 0;
    r->ftaken[r->fcc->conn[c->fi]] = 0;
}

/* ---- the clock --------------------------------------------------------------- */

/* far - near of the first packet in each of the near flow's directions. */
static void pair_deltas(const nl_flow *n, const nl_flow *f, int flip,
                        int64_t d[2], int has[2])
{
    for (int dir = 0; dir < 2; dir++) {
        const nl_flow_sig *a = &n->sig[dir], *b = &f->sig[dir ^ flip];
        has[dir] = n->pkts[dir] && f->pkts[dir ^ flip] && a->first_ns && b->first_ns;
        /* unsigned difference: hostile timestamps must not overflow */
        d[dir] = has[dir] ? (int64_t)(b->first_ns - a->first_ns) : 0;
    }
}

/* far start - near start - offset, in the direction where it is smallest
 * (as the scorer measures it), seconds. */
static double pair_dt(const pair_run *r, const cand *c, int64_t off_ns)
{
    int64_t d[2];
    int has[2];
    double best = 0;
    int any = 0;
    pair_deltas(r->near->flows[c->ni], r->far->flows[c->fi], c->flip, d, has);
    for (int dir = 0; dir < 2; dir++) {
        if (!has[dir])
            continue;
        double x = (double)corr_ssub(d[dir], off_ns) / NS_PER_S;
        if (!any || fabs(x) < fabs(best))
            best = x;
        any = 1;
    }
    return best;
}

static int64_t pair_delta(const pair_run *r, const cand *c)
{
    int64_t d[2];
    int has[2];
    pair_deltas(r->near->flows[c->ni], r->far->flows[c->fi], c->flip, d, has);
    return has[NL_ORIG] ? d[NL_ORIG] : d[NL_RESP];
}

static int syn_retried(const nl_flow *f)
{
    return f->sig[NL_ORIG].syn_count > 1 || f->sig[NL_RESP].syn_count > 1;
}

static int i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The offset most pairs agree on: the window of width 2 * half holding
 * the most deltas; *k receives how many it holds. 0 when none. */
static int delta_mode(const pair_run *r, const cand *v, size_t n, int64_t half,
                      int64_t *center, size_t *k)
{
    int64_t *d = malloc((n ? n : 1) * sizeof *d);
    if (!d)
        return -1;
    for (size_t i = 0; i < n; i++)
        d[i] = pair_delta(r, &v[i]);
    qsort(d, n, sizeof *d, i64_cmp);
    size_t best = 0, bi = 0, lo = 0;
    for (size_t hi = 0; hi < n; hi++) {
        while (corr_ssub(d[hi], d[lo]) > 2 * half)
            lo++;
        if (hi - lo + 1 > best) {
            best = hi - lo + 1;
            bi = lo;
        }
    }
    *k = best;
    *center = best ? d[bi + best / 2] : 0;
    free(d);
    return 0;
}

/* Keep the candidates [0, n) that agree with `center`; the others are
 * released. Returns how many stay (compacted to the front). */
static size_t keep_agreeing(pair_run *r, cand *v, size_t n, int64_t center,
                            int64_t half)
{
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t dd = corr_ssub(pair_delta(r, &v[i]), center);
        int64_t a = dd < 0 ? corr_ssub(0, dd) : dd;
        int retried = (v[i].ev & NL_EV_ISN) &&
                      (syn_retried(r->near->flows[v[i].ni]) ||
                       syn_retried(r->far->flows[v[i].fi]));
        if (a <= half || (retried && a <= RETRY_MAX_NS))
            v[out++] = v[i];
        else
            release(r, &v[i]);
    }
    return out;
}

/* One pair's clock samples: every packet both kept records of (a
 * retransmitted SYN pairs with its own copy; the twin rule's time bound
 * from clock, the offset known so far), else - or when fine is 0 - the
 * first packet of each direction. */
#define SAMPLE_RECS NL_FLOW_KEEP_PKTS   /* near records sampled per pair */
static void pair_samples(const pair_run *r, const cand *c, clock_samples *cs, int fine,
                         const nl_clock_offset *clock)
{
    const nl_flow *n = r->near->flows[c->ni], *f = r->far->flows[c->fi];
    if (fine && n->recs && f->recs && n->nrecs && f->nrecs) {
        nl_match m;
        memset(&m, 0, sizeof m);
        m.near = n;
        m.far = f;
        m.flip = c->flip;
        corr_pkts_pair(&m, clock);  /* the sequence offsets twins need */
        int32_t twin[SAMPLE_RECS];
        uint16_t nn = n->nrecs < SAMPLE_RECS ? n->nrecs : SAMPLE_RECS;
        if (correlate_pkt_twins(&m, clock, n->recs, nn, f->recs, f->nrecs, twin) > 0) {
            int64_t d[2][SAMPLE_RECS];
            size_t k[2] = { 0, 0 };
            for (uint16_t i = 0; i < nn; i++) {
                int dir = n->recs[i].dir & 1;
                if (twin[i] >= 0)
                    d[dir][k[dir]++] = (int64_t)(f->recs[twin[i]].ts_ns - n->recs[i].ts_ns);
            }
            clock_samples_add_series(cs, d[0], k[0], d[1], k[1]);
            return;
        }
    }
    int64_t d[2];
    int has[2];
    pair_deltas(n, f, c->flip, d, has);
    clock_samples_add_pair(cs, d, has);
}

/* The offset from the pairs v[0..n) with evidence need_ev (0: all).
 * fine: from the packets both kept records of, for at most FINE_PAIRS
 * pairs (more add nothing to a median but time); else from each pair's
 * first packets - enough to open the window. */
#define FINE_PAIRS 4096
static int estimate(const pair_run *r, const cand *v, size_t n, uint32_t need_ev,
                    int fine, nl_clock_offset *off)
{
    clock_samples cs;
    size_t used = 0;
    clock_samples_init(&cs);
    for (size_t i = 0; i < n; i++) {
        if (need_ev && !(v[i].ev & need_ev))
            continue;
        pair_samples(r, &v[i], &cs, fine && used++ < FINE_PAIRS, off);
    }
    int oom = cs.oom;
    clock_estimate(&cs, off);
    clock_samples_free(&cs);
    return oom ? -1 : 0;
}

/* Stages 1 and 2: the pairs that set the clock, or none. Returns how many
 * (at the front of r->cands), -1 on out of memory. */
static long stage_clock(pair_run *r, nl_clock_offset *off)
{
    size_t n = assign(r, &r->cands, ANCHOR_MIN_SCORE);
    int64_t center;
    size_t k;
    if (n > 0) {
        if (delta_mode(r, r->cands.c, n, MODE_HALF_NS, &center, &k) < 0)
            return -1;
        if (k * 2 > n || k >= CONSENSUS_MIN) {
            n = keep_agreeing(r, r->cands.c, n, center, MODE_HALF_NS);
            r->cands.n = n;
            if (estimate(r, r->cands.c, n, 0, 0, off) < 0)
                return -1;
            off->basis = NL_CLOCK_STRONG;
            off->anchors = (uint32_t)n;
            return (long)n;
        }
        for (size_t i = 0; i < n; i++)   /* chance collisions: no clock */
            release(r, &r->cands.c[i]);
    }
    r->cands.n = 0;
    n = assign(r, &r->weak, 0);
    if (n > 0) {
        if (delta_mode(r, r->weak.c, n, WEAK_HALF_NS, &center, &k) < 0)
            return -1;
        if (k >= CONSENSUS_MIN && k * 2 > n) {
            size_t m = 0;
            for (size_t i = 0; i < n; i++) {
                int64_t dd = corr_ssub(pair_delta(r, &r->weak.c[i]), center);
                if (dd <= WEAK_HALF_NS && dd >= -WEAK_HALF_NS)
                    r->weak.c[m++] = r->weak.c[i];
                else
                    release(r, &r->weak.c[i]);
            }
            for (size_t i = 0; i < m; i++)
                if (cand_push(&r->cands, &r->weak.c[i]) < 0)
                    return -1;
            if (estimate(r, r->cands.c, m, 0, 0, off) < 0)
                return -1;
            off->basis = NL_CLOCK_CONSENSUS;
            off->anchors = (uint32_t)m;
            return (long)m;
        }
        for (size_t i = 0; i < n; i++)
            release(r, &r->weak.c[i]);
    }
    off->known = 0;
    off->basis = NL_CLOCK_NONE;
    return 0;
}

/* ---- stage 3: the time window ---------------------------------------------- */

/* Score the far flows of one key's run that start inside [t0, t1], at most
 * WINDOW_SCAN_MAX of them, nearest to the expected start c first. */
static int scan_window(pair_run *r, uint32_t ni, const corr_index *ix, uint64_t key,
                       int64_t c, int64_t t0, int64_t t1, double min_keep)
{
    size_t lo, cnt = corr_index_find(ix, key, &lo);
    if (cnt == 0)
        return 0;
    size_t a = corr_index_time_lower(ix, lo, cnt, t0 < 0 ? 0 : (uint64_t)t0);
    size_t b = corr_index_time_lower(ix, lo, cnt, t1 < 0 ? 0 : (uint64_t)t1 + 1);
    if (b - a > WINDOW_SCAN_MAX) {
        size_t mid = corr_index_time_lower(ix, a, b - a, c < 0 ? 0 : (uint64_t)c);
        size_t half = WINDOW_SCAN_MAX / 2;
        a = mid > a + half ? mid - half : a;
        b = a + WINDOW_SCAN_MAX < b ? a + WINDOW_SCAN_MAX : b;
    }
    const nl_flow *n = r->near->flows[ni];
    for (size_t k = a; k < b; k++) {
        uint32_t fi = ix->k[k].idx;
        if (r->stamp[fi] == ni + 1 || r->ftaken[r->fcc->conn[fi]])
            continue;
        r->stamp[fi] = ni + 1;
        corr_score s;
        if (!corr_score_pair(&r->cx, n, &r->rar[ni], r->far->flows[fi], &s) || s.score < min_keep)
            continue;
        double lim = r->cx.tol_s + (double)r->ext_ns / NS_PER_S;
        if (s.dt_s > lim || s.dt_s < -r->cx.tol_s)
            continue;           /* not where the clock says it should be */
        cand cd = { ni, fi, s.score, s.dt_s, s.evidence, s.flip };
        if (cand_push(&r->cands, &cd) < 0)
            return -1;
    }
    return 0;
}

static int stage_window(pair_run *r, double min_score)
{
    size_t start = r->cands.n;
    int64_t tol = (int64_t)(r->cx.tol_s * NS_PER_S);
    memset(r->stamp, 0, r->far->nflows * sizeof *r->stamp);
    for (uint32_t ni = 0; ni < r->near->nflows; ni++) {
        const nl_flow *n = r->near->flows[ni];
        if (!r->nuse[ni] || r->ntaken[r->ncc->conn[ni]])
            continue;
        int64_t c = corr_sadd((int64_t)n->first_ns, r->cx.off_ns);
        /* a first SYN lost between the points: the far side starts with
         * a retry, up to the near flow's last packet later */
        r->ext_ns = 0;
        if (syn_retried(n)) {
            uint64_t span = n->last_ns - n->first_ns;
            r->ext_ns = span > (uint64_t)RETRY_MAX_NS ? RETRY_MAX_NS : (int64_t)span;
        }
        int64_t t0 = corr_ssub(c, tol), t1 = corr_sadd(corr_sadd(c, tol), r->ext_ns);
        uint64_t keys[CK_MAX_PER_FLOW];
        size_t nk = corr_keys_of(n, keys);
        for (size_t j = 0; j < nk; j++) {
            int kind = corr_key_kind(keys[j]);
            const corr_index *ix = (CK_SET_STRONG >> kind) & 1 ? &r->fix : &r->fwhere;
            if (scan_window(r, ni, ix, keys[j], c, t0, t1, min_score) < 0)
                return -1;
        }
    }
    /* greedy over the window candidates only; the anchors stay */
    cand_vec w = { r->cands.c + start, r->cands.n - start, r->cands.n - start };
    size_t got = assign(r, &w, min_score);
    r->cands.n = start + got;
    return 0;
}

/* ---- the run ------------------------------------------------------------------ */

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
    m->level = corr_level(c->ev);
    m->dt_s = c->dt;
    corr_classify(m);
}

int corr_vec_push(corr_vec *v, const nl_match *m)
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

/* The flows that pair: first pieces of connections, not the record flows
 * a capture may carry beside its packets (natlens-capture --conntrack: the
 * kernel's events describe the same connections the packets show). */
static uint8_t *first_pieces(const nl_corr_input *in, const corr_conns *cc)
{
    uint8_t *u = malloc(cc->n ? cc->n : 1);
    if (u)
        for (size_t i = 0; i < cc->n; i++)
            u[i] = cc->head[i] == (int32_t)i &&
                   !(in->trace && record_info_of(in->trace, in->flows[i])) &&
                   !correlate_is_link_control(in->flows[i]);
    return u;
}

static int run_setup(pair_run *r)
{
    size_t nn = r->near->nflows, nf = r->far->nflows;
    r->nuse = first_pieces(r->near, r->ncc);
    r->fuse = first_pieces(r->far, r->fcc);
    r->ntaken = calloc(nn, 1);
    r->ftaken = calloc(nf, 1);
    r->stamp = calloc(nf, sizeof *r->stamp);
    if (!r->nuse || !r->fuse || !r->ntaken || !r->ftaken || !r->stamp)
        return -1;
    if (corr_index_build(&r->nix, r->near->flows, nn, CK_SET_STRONG, r->nuse) < 0 ||
        corr_index_build(&r->fix, r->far->flows, nf, CK_SET_STRONG, r->fuse) < 0 ||
        corr_index_build(&r->fwhere, r->far->flows, nf, CK_SET_WHERE, r->fuse) < 0)
        return -1;
    r->rar = malloc((nn ? nn : 1) * sizeof *r->rar);
    if (!r->rar)
        return -1;
    corr_rarity_build(&r->nix, &r->fix, nn, r->rar);
    return 0;
}

static void run_free(pair_run *r)
{
    corr_index_free(&r->nix);
    corr_index_free(&r->fix);
    corr_index_free(&r->fwhere);
    free(r->nuse);
    free(r->fuse);
    free(r->ntaken);
    free(r->ftaken);
    free(r->stamp);
    free(r->rar);
    free(r->cands.c);
    free(r->weak.c);
}

/* The clock's tolerance: noise (six spreads) and one-way latency (the
 * offset cancels it only over both directions), at least 50 ms. */
static double clock_tol(const nl_clock_offset *off)
{
    double t = 0.05 + 6 * off->spread_s + fabs(off->latency_s);
    return t;
}

int corr_pair_run(const nl_corr_input *near, const nl_corr_input *far, int ni,
                  const corr_conns *ncc, const corr_conns *fcc,
                  const nl_correlate_opts *o, corr_vec *out,
                  nl_clock_offset *off)
{
    pair_run r;
    int rc = -1;
    memset(&r, 0, sizeof r);
    memset(off, 0, sizeof *off);
    off->from = ni;
    off->to = ni + 1;
    if (near->nflows == 0 || far->nflows == 0)
        return 0;
    r.near = near;
    r.far = far;
    r.ncc = ncc;
    r.fcc = fcc;
    r.cx.max_skew_s = o->max_skew_s;
    if (run_setup(&r) < 0)
        goto done;
    r.cx.nix = &r.nix;
    r.cx.fix = &r.fix;

    if (stage_unique(&r) < 0)
        goto done;
    long nclock = stage_clock(&r, off);
    if (nclock < 0)
        goto done;
    if (off->known) {
        r.cx.have_offset = 1;
        r.cx.off_ns = (int64_t)llround(off->offset_s * NS_PER_S);
        r.cx.tol_s = clock_tol(off);
        /* rescore the clock's pairs with time as evidence */
        for (size_t i = 0; i < r.cands.n; i++) {
            cand *c = &r.cands.c[i];
            corr_score s;
            corr_score_pair(&r.cx, near->flows[c->ni], &r.rar[c->ni], far->flows[c->fi], &s);
            c->score = s.score;
            c->ev = s.evidence;
            c->dt = s.dt_s;
            c->flip = s.flip;
        }
        if (stage_window(&r, o->min_score) < 0)
            goto done;
        /* the final offset from every pair with a strong key */
        nl_clock_offset fin = *off;
        if (estimate(&r, r.cands.c, r.cands.n, NL_EV_STRONG, 1, &fin) < 0)
            goto done;
        if (fin.known) {
            fin.basis = off->basis;
            fin.anchors = 0;             /* the pairs this estimate rests on */
            for (size_t i = 0; i < r.cands.n; i++)
                fin.anchors += (r.cands.c[i].ev & NL_EV_STRONG) != 0;
            *off = fin;
            /* each pair's time difference against the final offset */
            int64_t o_ns = (int64_t)llround(fin.offset_s * NS_PER_S);
            for (size_t i = 0; i < r.cands.n; i++)
                r.cands.c[i].dt = pair_dt(&r, &r.cands.c[i], o_ns);
        }
    }
    off->from = ni;
    off->to = ni + 1;
    for (size_t i = 0; i < r.cands.n; i++) {
        nl_match m;
        fill_match(&r, &r.cands.c[i], ni, &m);
        corr_pkts_pair(&m, off);
        if (corr_vec_push(out, &m) < 0)
            goto done;
    }
    rc = 0;
done:
    run_free(&r);
    return rc;
}
