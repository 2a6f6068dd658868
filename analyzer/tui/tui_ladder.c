/* tui_ladder.c - the rungs of a packet ladder: every kept record of a
 * row's connection beside its twin at the other capture.
 *
 * A connection is every piece of it (correlate_conn_pieces: Zeek splits a
 * 5-tuple reused after a RST, correlate pairs connections), on both sides.
 * Which near packet is which far packet is correlate's one rule
 * (correlate_pkt_twins), applied piece against piece to the records not
 * paired yet, so the ladder cannot disagree with the clock offset or the
 * loss counts, and a packet a later piece holds is not "not seen". A packet
 * is said "not seen" at the other side only when the rule looked at it and
 * that side's records cover its time; where records stop (a prefix kept,
 * more records than the rule takes, pieces past the bound) the rung is
 * marked unknown and nothing is claimed. A flow seen at the far capture
 * only sits on the far side, its times in the near clock. The rung array
 * grows with the records; pieces are bounded by TUI_LADDER_PIECES a side.
 */
#include <stdlib.h>
#include <string.h>
#include "tui.h"

#define TUI_LADDER_PIECES 16

/* One side of the ladder: the pieces and their records in time order. */
typedef struct tui_side {
    const nl_flow    *piece[TUI_LADDER_PIECES];
    size_t            npieces;
    int               truncated;  /* more pieces than drawn */
    const nl_pkt_rec **rec;       /* owned array of borrowed records */
    uint8_t          *of;         /* piece of each record */
    uint8_t          *seen;       /* the twin rule looked at it */
    int32_t          *twin;       /* near side: far record index, -1 */
    size_t            nrec;
    int               all_kept;   /* every packet of every piece has a record */
    uint64_t          until;      /* last record's time (near clock) */
} tui_side;

int tui_ladder_kept_all(const nl_flow *f)
{
    return f && (uint64_t)f->nrecs >= f->pkts[0] + f->pkts[1];
}

static uint32_t tui_isn(const nl_flow *f, int d)
{
    if (f->sig[d].has_syn)
        return f->sig[d].syn_isn;
    if (f->sig[d].has_syn)
        return f->sig[d].syn_isn;
    for (uint16_t i = 0; i < f->nrecs; i++)
        if (f->recs[i].dir == d)
            return f->recs[i].seq - ((f->recs[i].tcp_flags & NL_TH_SYN) ? 0 : 1);
    return 0;
}

void tui_ladder_free(tui_ladder *L)
{
    free(L->r);
    memset(L, 0, sizeof *L);
}

static uint64_t tui_clock(const tui_model *m, int cap, int ref, uint64_t ts)
{
    return m->corr && cap != ref && cap >= 0 && ref >= 0 ? correlate_to_clock(m->corr, cap, ref, ts) : ts;
}

/* Which captures and flows the ladder shows. */
static void tui_ladder_sides(const tui_model *m, const tui_row *r, size_t hop, tui_ladder *L)
{
    L->near_cap = r->near_cap;
    L->far_cap = -1;
    L->nf = r->near;
    if (m->pairing) {
        L->pending = 1;         /* one side now, both when paired */
        return;
    }
    if (r->chain && r->chain->nhops) {
        const nl_hop *hp;
        L->nhops = r->chain->nhops;
        L->hop = hop < L->nhops ? hop : 0;
        hp = &r->chain->hops[L->hop];
        L->near_cap = hp->from;
        L->far_cap = hp->to;
        L->nf = r->chain->flows[hp->from];
        if (hp->present && hp->match) {
            L->match = hp->match;
            L->nf = hp->match->near;   /* alt leg when the hop starts there */
            L->ff = hp->match->far;
            L->flip = hp->match->flip;
        }
        return;
    }
    if (m->ncaps >= 2 && (size_t)r->near_cap == m->ncaps - 1) {
        /* seen at the far capture only: it belongs on the far side */
        L->far_cap = r->near_cap;
        L->near_cap = r->other_cap >= 0 && r->other_cap != r->near_cap ? r->other_cap
                                                                        : r->near_cap - 1;
        L->nf = NULL;
        L->ff = r->near;
        return;
    }
    if (r->other_cap >= 0 && (size_t)r->other_cap < m->ncaps)
        L->far_cap = r->other_cap;      /* seen on one side only */
}

static int tui_rec_cmp(const void *a, const void *b)
{
    const nl_pkt_rec *x = *(const nl_pkt_rec *const *)a, *y = *(const nl_pkt_rec *const *)b;
    if (x->ts_ns != y->ts_ns)
        return x->ts_ns < y->ts_ns ? -1 : 1;
    return x < y ? -1 : x > y;  /* one piece's records are one array: keeps their order */
}

static void tui_side_free(tui_side *s)
{
    free(s->rec);
    free(s->of);
    free(s->seen);
    free(s->twin);
}

/* The pieces of flow f at capture cap and their records. -1 out of memory. */
static int tui_side_load(const tui_model *m, int cap, int ref, const nl_flow *f, tui_side *s)
{
    const nl_flow *all[TUI_LADDER_PIECES + 1];
    size_t n = 0, k = 0;
    memset(s, 0, sizeof *s);
    if (!f)
        return 0;
    if (m->corr) {
        size_t got = correlate_conn_pieces(m->corr, cap, f, all, TUI_LADDER_PIECES + 1);
        s->npieces = got < TUI_LADDER_PIECES ? got : TUI_LADDER_PIECES;
        s->truncated = got > TUI_LADDER_PIECES;
        memcpy(s->piece, all, s->npieces * sizeof *all);
    }
    if (!s->npieces) {
        s->piece[0] = f;
        s->npieces = 1;
    }
    s->all_kept = !s->truncated;
    for (size_t p = 0; p < s->npieces; p++) {
        n += s->piece[p]->nrecs;
        s->all_kept &= tui_ladder_kept_all(s->piece[p]);
    }
    s->rec = malloc((n + 1) * sizeof *s->rec);
    s->of = malloc(n + 1);
    s->seen = calloc(n + 1, 1);
    s->twin = malloc((n + 1) * sizeof *s->twin);
    if (!s->rec || !s->of || !s->seen || !s->twin)
        return -1;
    for (size_t p = 0; p < s->npieces; p++)
        for (uint16_t i = 0; i < s->piece[p]->nrecs; i++)
            s->rec[k++] = &s->piece[p]->recs[i];
    s->nrec = k;
    qsort(s->rec, s->nrec, sizeof *s->rec, tui_rec_cmp);
    for (size_t i = 0; i < s->nrec; i++) {
        s->twin[i] = -1;
        for (size_t p = 0; p < s->npieces; p++)
            if (s->rec[i] >= s->piece[p]->recs && s->rec[i] < s->piece[p]->recs + s->piece[p]->nrecs)
                s->of[i] = (uint8_t)p;
        if (tui_clock(m, cap, ref, s->rec[i]->ts_ns) > s->until)
            s->until = tui_clock(m, cap, ref, s->rec[i]->ts_ns);
    }
    return 0;
}

/* How far apart (near clock) a packet and its twin may be: the clock's
 * spread and one-way latency with a margin. correlate_pkt_twins() has no
 * time bound; packets it cannot tell apart (a RST of each SYN retry, no
 * TSval) would otherwise pair a retry with the copy of another one. */
static uint64_t tui_twin_window(const tui_model *m, const tui_ladder *L)
{
    int lo = L->near_cap < L->far_cap ? L->near_cap : L->far_cap;
    const nl_clock_offset *o = &m->corr->offsets[lo];
    double tol = 0.05;
    if (o->known)
        tol += 20 * o->spread_s + (o->two_way ? o->latency_s : 0);
    return (uint64_t)(tol * 1e9);
}

/* Pair the two sides record by record with correlate's rule, every piece
 * of a side together (a retry in a later piece pairs with its own copy):
 * each near record, in time order, against the far records still unpaired
 * within the twin window of it (at most NL_FLOW_KEEP_PKTS, what the rule
 * takes). Every record the rule looked at is marked seen: its absence at
 * the other side may be claimed where that side's records reach. */
static void tui_sides_pair(const tui_model *m, const tui_ladder *L, tui_side *ns, tui_side *fs,
                           uint8_t *used)
{
    uint64_t win = tui_twin_window(m, L);
    size_t lo = 0;
    for (size_t i = 0; i < ns->nrec; i++) {
        nl_flow tn = *L->nf, tf = *L->ff;
        nl_pkt_rec rn[1], rf[NL_FLOW_KEEP_PKTS];
        size_t jf[NL_FLOW_KEEP_PKTS], nf = 0, j;
        int16_t twin[NL_FLOW_KEEP_PKTS];
        nl_match tm = *L->match;
        uint64_t t = ns->rec[i]->ts_ns;
        /* far records are in time order: skip those before the window */
        while (lo < fs->nrec && tui_clock(m, L->far_cap, L->near_cap, fs->rec[lo]->ts_ns) + win < t)
            lo++;
        for (j = lo; j < fs->nrec && nf < NL_FLOW_KEEP_PKTS; j++) {
            if (tui_clock(m, L->far_cap, L->near_cap, fs->rec[j]->ts_ns) > t + win)
                break;
            if (!used[j]) {
                rf[nf] = *fs->rec[j];
                jf[nf++] = j;
            }
        }
        rn[0] = *ns->rec[i];
        tn.recs = rn;
        tn.nrecs = 1;
        tf.recs = rf;
        tf.nrecs = (uint16_t)nf;
        tm.near = &tn;
        tm.far = &tf;
        if (nf)
            correlate_pkt_twins(&tm, twin);
        if (nf && twin[0] >= 0 && (size_t)twin[0] < nf) {
            ns->twin[i] = (int32_t)jf[twin[0]];
            used[jf[twin[0]]] = 1;
        }
        /* a full window may have left its twin out: claim nothing then */
        ns->seen[i] = ns->twin[i] >= 0 || nf < NL_FLOW_KEEP_PKTS;
    }
    for (size_t j = 0; j < fs->nrec; j++)
        fs->seen[j] = 1;
}

static int tui_ladder_grow(tui_ladder *L, size_t need)
{
    tui_rung *nr;
    if (need <= L->cap)
        return 0;
    nr = realloc(L->r, need * sizeof *nr);
    if (!nr)
        return -1;
    L->r = nr;
    L->cap = need;
    return 0;
}

/* Merge both sides into rungs by near-clock time (each side is in time
 * order already; near first on equal times). */
static void tui_ladder_rungs(const tui_model *m, tui_ladder *L, const tui_side *ns,
                             const tui_side *fs, const uint8_t *used)
{
    size_t i = 0, j = 0;
    for (;;) {
        tui_rung *g;
        while (j < fs->nrec && used[j])
            j++;
        if (i >= ns->nrec && j >= fs->nrec)
            break;
        g = &L->r[L->n++];
        memset(g, 0, sizeof *g);
        if (i < ns->nrec && (j >= fs->nrec ||
                             ns->rec[i]->ts_ns <= tui_clock(m, L->far_cap, L->near_cap, fs->rec[j]->ts_ns))) {
            g->n = ns->rec[i];
            g->dir = (uint8_t)(g->n->dir & 1);
            g->t_ns = g->n->ts_ns;
            if (ns->twin[i] >= 0)
                g->f = fs->rec[ns->twin[i]];
            else if (L->match && (!ns->seen[i] || fs->truncated || (!fs->all_kept && g->t_ns > fs->until)))
                g->unknown = 1;
            i++;
        } else {
            g->f = fs->rec[j];
            g->dir = (uint8_t)((g->f->dir & 1) ^ L->flip);
            g->t_ns = tui_clock(m, L->far_cap, L->near_cap, g->f->ts_ns);
            if (L->match && (!fs->seen[j] || ns->truncated || (!ns->all_kept && g->t_ns > ns->until)))
                g->unknown = 1;
            j++;
        }
    }
}

int tui_ladder_build(const tui_model *m, size_t row, size_t hop, tui_ladder *L)
{
    const tui_row *r = &m->rows[row];
    tui_side ns, fs;
    uint8_t *used = NULL;
    tui_rung *keep = L->r;
    size_t keep_cap = L->cap;
    int rc = -1;

    memset(L, 0, sizeof *L);
    memset(&ns, 0, sizeof ns);
    memset(&fs, 0, sizeof fs);
    L->r = keep;
    L->cap = keep_cap;
    L->row = r;
    tui_ladder_sides(m, r, hop, L);
    for (int d = 0; d < 2; d++) {
        if (L->nf)
            L->isn_n[d] = tui_isn(L->nf, d);
        if (L->ff)
            L->isn_f[d] = tui_isn(L->ff, d ^ L->flip);
    }
    if (tui_side_load(m, L->near_cap, L->near_cap, L->nf, &ns) < 0 ||
        tui_side_load(m, L->far_cap, L->near_cap, L->ff, &fs) < 0 ||
        !(used = calloc(fs.nrec + 1, 1)) || tui_ladder_grow(L, ns.nrec + fs.nrec + 1) < 0)
        goto out;
    L->npieces[0] = ns.npieces;
    L->npieces[1] = fs.npieces;
    L->more_pieces = ns.truncated || fs.truncated;
    for (size_t p = 0; p < ns.npieces; p++) {
        L->kept[0] += ns.piece[p]->nrecs;
        L->pkts[0] += ns.piece[p]->pkts[0] + ns.piece[p]->pkts[1];
    }
    for (size_t p = 0; p < fs.npieces; p++) {
        L->kept[1] += fs.piece[p]->nrecs;
        L->pkts[1] += fs.piece[p]->pkts[0] + fs.piece[p]->pkts[1];
    }
    if (L->match && L->nf && L->ff)
        tui_sides_pair(m, L, &ns, &fs, used);
    tui_ladder_rungs(m, L, &ns, &fs, used);
    rc = 0;
out:
    tui_side_free(&ns);
    tui_side_free(&fs);
    free(used);
    return rc;
}
