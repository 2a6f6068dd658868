/* tui_ladder.c - the rungs of a packet ladder: every kept record of a
 * row's flow beside its twin at the other capture.
 *
 * Which near packet is which far packet is correlate's one rule
 * (correlate_pkt_twins), so the ladder cannot disagree with the clock
 * offset or the loss counts. A packet is said "not seen" at the other side
 * only when that side's records cover its time; where they stop (records
 * kept for a prefix of the flow, or beyond what the twin rule covers)
 * the rung is marked unknown and nothing is claimed. A flow seen at the
 * far capture only sits on the far side, its times in the near clock.
 * The rung array grows with the records (no fixed 24-per-side bound).
 */
#include <stdlib.h>
#include <string.h>
#include "tui.h"

int tui_ladder_kept_all(const nl_flow *f)
{
    return f && (uint64_t)f->nrecs >= f->pkts[0] + f->pkts[1];
}

static uint32_t tui_isn(const nl_flow *f, int d)
{
    if (f->ep[d].has_isn)
        return f->ep[d].isn;
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

static uint64_t tui_clock(const tui_model *m, int cap, int ref, uint64_t ts)
{
    return m->corr && cap != ref && cap >= 0 && ref >= 0 ? correlate_to_clock(m->corr, cap, ref, ts) : ts;
}

static uint64_t tui_last_ts(const nl_flow *f)
{
    return f && f->nrecs ? f->recs[f->nrecs - 1].ts_ns : 0;
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

int tui_ladder_build(const tui_model *m, size_t row, size_t hop, tui_ladder *L)
{
    const tui_row *r = &m->rows[row];
    int16_t twin[NL_FLOW_KEEP_PKTS];
    uint8_t *used = NULL;
    tui_rung *far_only = NULL;
    size_t nn, nfr, nfo = 0, i, j, k;
    uint64_t n_until, f_until;
    int n_all, f_all;
    tui_rung *keep = L->r;
    size_t keep_cap = L->cap;

    memset(L, 0, sizeof *L);
    L->r = keep;
    L->cap = keep_cap;
    L->row = r;
    tui_ladder_sides(m, r, hop, L);
    nn = L->nf ? L->nf->nrecs : 0;
    nfr = L->ff ? L->ff->nrecs : 0;
    for (int d = 0; d < 2; d++) {
        if (L->nf)
            L->isn_n[d] = tui_isn(L->nf, d);
        if (L->ff)
            L->isn_f[d] = tui_isn(L->ff, d ^ L->flip);
    }
    if (tui_ladder_grow(L, nn + nfr + 1) < 0)
        return -1;
    used = calloc(nfr + 1, 1);
    far_only = malloc((nfr + 1) * sizeof *far_only);
    if (!used || !far_only) {
        free(used);
        free(far_only);
        return -1;
    }
    /* how far each side's records reach, in the near clock: beyond that a
     * missing twin means "not kept", not "not seen" */
    n_all = tui_ladder_kept_all(L->nf);
    f_all = tui_ladder_kept_all(L->ff);
    n_until = tui_last_ts(L->nf);
    f_until = L->ff ? tui_clock(m, L->far_cap, L->near_cap, tui_last_ts(L->ff)) : 0;
    if (L->match)
        correlate_pkt_twins(L->match, twin);
    for (i = 0; i < nn; i++) {
        const nl_pkt_rec *a = &L->nf->recs[i];
        tui_rung *g = &L->r[L->n++];
        memset(g, 0, sizeof *g);
        g->n = a;
        g->dir = (uint8_t)(a->dir & 1);
        g->t_ns = a->ts_ns;
        if (!L->match)
            continue;
        if (i < NL_FLOW_KEEP_PKTS && twin[i] >= 0 && (size_t)twin[i] < nfr && !used[twin[i]]) {
            used[twin[i]] = 1;
            g->f = &L->ff->recs[twin[i]];
        } else if (i >= NL_FLOW_KEEP_PKTS || (twin[i] >= 0 && (size_t)twin[i] < nfr) ||
                   (!f_all && g->t_ns > f_until)) {
            /* past the twin rule's reach, a twin already drawn, or after
             * the far side's last kept record */
            g->unknown = 1;
        }
    }
    for (j = 0; j < nfr; j++) {
        const nl_pkt_rec *b = &L->ff->recs[j];
        tui_rung *g;
        if (used[j])
            continue;
        g = &far_only[nfo++];
        memset(g, 0, sizeof *g);
        g->f = b;
        g->dir = (uint8_t)((b->dir & 1) ^ L->flip);
        g->t_ns = tui_clock(m, L->far_cap, L->near_cap, b->ts_ns);
        if (L->match && !n_all && g->t_ns > n_until)
            g->unknown = 1;
    }
    /* both runs are in time order already: merge them (stable, near
     * first on equal times) */
    if (nfo) {
        size_t a_n = L->n;
        tui_rung *a = malloc((a_n + 1) * sizeof *a);
        if (!a) {
            free(used);
            free(far_only);
            return -1;
        }
        memcpy(a, L->r, a_n * sizeof *a);
        for (i = 0, j = 0, k = 0; i < a_n || j < nfo; k++)
            L->r[k] = j >= nfo || (i < a_n && a[i].t_ns <= far_only[j].t_ns) ? a[i++] : far_only[j++];
        L->n = k;
        free(a);
    }
    free(used);
    free(far_only);
    return 0;
}
