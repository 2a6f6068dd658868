/* correlate_records.c - pair a capture's connections with records.
 *
 * A record (conntrack, Cloud NAT log, flow log, Zeek conn.log; record.h)
 * carries no ISN, no payload, no packet timing: what it pins is a 5-tuple
 * on the side it describes and a time window (exact for conntrack events,
 * a second for a listing, a whole aggregation interval for flow logs). So
 * a capture's flow pairs with the record flow that has its exact 5-tuple
 * (endpoints ordered, orientation free) inside that window; port reuse is
 * told apart by time. A record holding a NAT mapping has two legs (inner
 * and outer) that correlate_conn.c links as twins: the capture's flow
 * pairs with the leg that has its tuple, and the chain crosses to the other
 * leg - the egress address the destination saw - as it does through a
 * firewall's `-i any` capture.
 *
 * The clock: records with exact times (conntrack -E) and tuples unique on
 * both sides give the offset (median); coarse records assume the clocks
 * agree (NTP) and widen the window by their granularity. Confidence: a
 * record that pins the NAT mapping makes the pair "recorded" (by the NAT);
 * a flow log pairs "likely" (a tuple and a time, nothing more).
 * Sorted keys and a time window per flow: n log n in flows.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/record.h"
#include "correlate_int.h"

#define REC_SLACK_NS    INT64_C(2000000000)   /* clocks and log latency */
#define REC_FINE_MS     1000                  /* granularity that can time a clock */
#define REC_SCAN_MAX    64

typedef struct rec_cand {
    uint32_t ni, fi;
    int64_t  dt;            /* far start - near start */
    double   score;
    uint8_t  flip, level;
    uint32_t ev;
} rec_cand;

static int rec_cand_cmp(const void *a, const void *b)
{
    const rec_cand *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    int64_t ax = x->dt < 0 ? -x->dt : x->dt, ay = y->dt < 0 ? -y->dt : y->dt;
    if (ax != ay)
        return ax < ay ? -1 : 1;
    if (x->ni != y->ni)
        return x->ni < y->ni ? -1 : 1;
    return x->fi < y->fi ? -1 : x->fi > y->fi;
}

static const nl_record_info *rec_of(const nl_corr_input *in, const nl_flow *f)
{
    return in->trace ? record_info_of(in->trace, f) : NULL;
}

/* The window a record flow covers around a flow's start, from its
 * granularity; exact records get the slack only. */
static int64_t rec_tol(const nl_record_info *ri)
{
    int64_t g = ri ? (int64_t)ri->granularity_ms * 1000000 : 0;
    return g + REC_SLACK_NS;
}

/* Does the record flow r (its span widened by tol) hold a flow that starts
 * at t? Records without times hold any. */
static int rec_covers(const nl_flow *r, const nl_record_info *ri, int64_t t, int64_t off,
                      int64_t tol)
{
    if (ri && !(ri->pins & NL_REC_PIN_TIMES))
        return 1;
    int64_t a = corr_ssub(corr_ssub((int64_t)r->first_ns, off), tol);
    int64_t b = corr_sadd(corr_ssub((int64_t)r->last_ns, off), tol);
    return t >= a && t <= b;
}

/* Counts a record pins that equal the capture's are evidence; counts that
 * differ are not against a pair: a flow log counts per aggregation
 * interval (a connection spanning two has two records), a capture only
 * what it saw. */
static int rec_counts_agree(const nl_flow *n, const nl_flow *r, const nl_record_info *ri,
                            int flip, uint32_t *ev)
{
    if (!ri || !(ri->pins & NL_REC_PIN_PKTS))
        return 1;
    uint64_t ro = r->pkts[NL_ORIG ^ flip], rr = r->pkts[NL_RESP ^ flip];
    if (ro == n->pkts[NL_ORIG] && (!(ri->pins & NL_REC_PIN_RESP) || rr == n->pkts[NL_RESP]))
        *ev |= NL_EV_SIZE;
    return 1;
}

typedef struct rec_run {
    const nl_corr_input *near, *far;
    const corr_conns *ncc, *fcc;
    int       rec_near;      /* the record point is the near one */
    corr_index fix;          /* far tuple keys */
    uint8_t  *nuse, *fuse, *ntaken, *ftaken;
    rec_cand *v;
    size_t    n, cap;
} rec_run;

static int cand_push(rec_run *r, const rec_cand *c)
{
    if (r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 256;
        rec_cand *nv = realloc(r->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        r->v = nv;
        r->cap = nc;
    }
    r->v[r->n++] = *c;
    return 0;
}

static const nl_record_info *cand_rec(const rec_run *r, uint32_t ni, uint32_t fi)
{
    return r->rec_near ? rec_of(r->near, r->near->flows[ni])
                       : rec_of(r->far, r->far->flows[fi]);
}

/* Candidates of every near connection: far flows with its tuple whose
 * record window (or, for a capture, start) holds it, given offset off. */
static int gen(rec_run *r, int64_t off)
{
    r->n = 0;
    for (uint32_t ni = 0; ni < r->near->nflows; ni++) {
        const nl_flow *n = r->near->flows[ni];
        if (!r->nuse[ni])
            continue;
        size_t lo, cnt = corr_index_find(&r->fix, corr_key_tuple(n), &lo);
        for (size_t k = lo; k < lo + cnt && k < lo + REC_SCAN_MAX; k++) {
            uint32_t fi = r->fix.k[k].idx;
            const nl_flow *f = r->far->flows[fi];
            const nl_record_info *ri = cand_rec(r, ni, fi);
            const nl_flow *rf = r->rec_near ? n : f;          /* the record */
            const nl_flow *cf = r->rec_near ? f : n;          /* the capture's */
            /* everything in the near clock: far times minus the offset */
            int covered = r->rec_near
                ? rec_covers(rf, ri, corr_ssub((int64_t)cf->first_ns, off), 0, rec_tol(ri))
                : rec_covers(rf, ri, (int64_t)cf->first_ns, off, rec_tol(ri));
            if (!covered)
                continue;
            int flip = nl_addr_cmp(&n->orig_ip, &f->orig_ip) || n->orig_port != f->orig_port;
            rec_cand c;
            memset(&c, 0, sizeof c);
            c.ni = ni;
            c.fi = fi;
            c.flip = (uint8_t)flip;
            c.dt = corr_ssub((int64_t)(f->first_ns - n->first_ns), off);
            c.ev = NL_EV_PORTS | NL_EV_RECORD;
            if (ri && (ri->pins & NL_REC_PIN_TIMES))
                c.ev |= NL_EV_TIME;
            if (!rec_counts_agree(cf, rf, ri, flip, &c.ev))
                continue;
            c.level = ri && (ri->pins & NL_REC_PIN_NAT) ? NL_CONF_RECORDED : NL_CONF_LIKELY;
            /* nearest in time first, a record that pins more before one
             * that pins less */
            c.score = 100.0 + 10.0 * (c.level == NL_CONF_RECORDED) +
                      ((c.ev & NL_EV_SIZE) ? 5.0 : 0.0);
            if (cand_push(r, &c) < 0)
                return -1;
        }
    }
    return 0;
}

/* The clock from exact records whose tuple is unique on both sides. */
static int clock_from_exact(rec_run *r, nl_clock_offset *off)
{
    clock_samples cs;
    clock_samples_init(&cs);
    for (size_t i = 0; i < r->n; i++) {
        const rec_cand *c = &r->v[i];
        const nl_record_info *ri = cand_rec(r, c->ni, c->fi);
        if (ri && (ri->granularity_ms > REC_FINE_MS || !(ri->pins & NL_REC_PIN_TIMES)))
            continue;
        int64_t d[2] = { (int64_t)(r->far->flows[c->fi]->first_ns -
                                   r->near->flows[c->ni]->first_ns), 0 };
        int has[2] = { 1, 0 };
        clock_samples_add_pair(&cs, d, has);
    }
    int oom = cs.oom;
    clock_estimate(&cs, off);
    clock_samples_free(&cs);
    return oom ? -1 : 0;
}

static size_t assign(rec_run *r)
{
    size_t out = 0;
    if (r->n > 1)
        qsort(r->v, r->n, sizeof *r->v, rec_cand_cmp);
    for (size_t i = 0; i < r->n; i++) {
        int32_t cn = r->ncc->conn[r->v[i].ni], cf = r->fcc->conn[r->v[i].fi];
        if (r->ntaken[cn] || r->ftaken[cf])
            continue;
        r->ntaken[cn] = r->ftaken[cf] = 1;
        r->v[out++] = r->v[i];
    }
    return out;
}

static uint8_t *heads_of(const corr_conns *cc)
{
    uint8_t *u = malloc(cc->n ? cc->n : 1);
    if (u)
        for (size_t i = 0; i < cc->n; i++)
            u[i] = cc->head[i] == (int32_t)i;
    return u;
}

int corr_pair_records(const nl_corr_input *near, const nl_corr_input *far, int ni,
                      const corr_conns *ncc, const corr_conns *fcc,
                      const nl_correlate_opts *o, corr_vec *out, nl_clock_offset *off)
{
    rec_run r;
    int rc = -1;
    (void)o;
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
    r.rec_near = near->trace && record_count(near->trace) > 0;
    r.nuse = heads_of(ncc);
    r.fuse = heads_of(fcc);
    r.ntaken = calloc(near->nflows, 1);
    r.ftaken = calloc(far->nflows, 1);
    if (!r.nuse || !r.fuse || !r.ntaken || !r.ftaken ||
        corr_index_build(&r.fix, far->flows, far->nflows, 1u << CK_TUPLE, r.fuse) < 0)
        goto done;
    /* first pass with the clocks agreeing; exact records then time them */
    if (gen(&r, 0) < 0)
        goto done;
    size_t n = assign(&r);
    r.n = n;
    nl_clock_offset fine;
    memset(&fine, 0, sizeof fine);
    if (clock_from_exact(&r, &fine) < 0)
        goto done;
    int64_t offns = 0;
    if (fine.known && fabs(fine.offset_s) * 1e9 > (double)REC_SLACK_NS / 4) {
        /* exact records disagree with the capture's clock: pair again */
        offns = (int64_t)llround(fine.offset_s * 1e9);
        memset(r.ntaken, 0, near->nflows);
        memset(r.ftaken, 0, far->nflows);
        if (gen(&r, offns) < 0)
            goto done;
        n = assign(&r);
        r.n = n;
    }
    if (fine.known) {
        *off = fine;
        off->basis = NL_CLOCK_STRONG;
    } else {
        off->basis = n ? NL_CLOCK_RECORDS : NL_CLOCK_NONE;
    }
    off->from = ni;
    off->to = ni + 1;
    off->anchors = (uint32_t)n;
    for (size_t i = 0; i < n; i++) {
        rec_cand *c = &r.v[i];
        /* the contract: the far flow of a match is the connection as the
         * destination saw it - a mapping record's outer leg - as between
         * two captures; the inner leg that matched the tuple is its twin */
        if (!r.rec_near) {
            const nl_record_info *ri = rec_of(far, far->flows[c->fi]);
            uint32_t leg = ri && ri->side == NL_REC_SIDE_INNER ? ri->other_leg : 0;
            if (leg >= 1 && leg <= far->nflows && far->flows[leg - 1]->id == leg)
                c->fi = leg - 1;
        }
        nl_match m;
        memset(&m, 0, sizeof m);
        m.near_cap = ni;
        m.far_cap = ni + 1;
        m.near = near->flows[c->ni];
        m.far = far->flows[c->fi];
        m.near_pos = c->ni;
        m.far_pos = c->fi;
        m.flip = c->flip;
        m.evidence = c->ev;
        m.score = c->score;
        m.level = c->level;
        m.confidence = c->level == NL_CONF_RECORDED ? 0.99 : 0.7;
        m.dt_s = (double)c->dt / 1e9;
        corr_classify(&m);
        corr_pkts_pair(&m, off);
        if (corr_vec_push(out, &m) < 0)
            goto done;
    }
    rc = 0;
done:
    corr_index_free(&r.fix);
    free(r.nuse);
    free(r.fuse);
    free(r.ntaken);
    free(r.ftaken);
    free(r.v);
    return rc;
}
