/* tui_ladder.c - the rungs of a packet ladder: every kept record of a
 * row's connection beside its twin at the other capture.
 *
 * Which captures and flows a row's ladder shows is the viewer's choice
 * (the chain's hop, or a flow seen at one capture: a far-only flow sits on
 * the far side, its times in the near clock); the records of every piece
 * and part of the connection, which near packet is which far packet and
 * where a packet's absence may be claimed come from the library
 * (ladder.h), the same rungs the reports draw. This file merges the two
 * sides into lines by near-clock time. The rung array grows with the
 * records (reused between ladders).
 */
#include <stdlib.h>
#include <string.h>
#include "natlens/ladder.h"
#include "tui.h"

/* Base of relative sequence numbers: the SYN's, else the first record's
 * (the flow's own, or its packets read again). */
static uint32_t tui_isn(const nl_flow *f, int d, struct tui_pkts *px, int cap)
{
    const nl_pkt_rec *r = f->recs;
    size_t n = f->recs ? f->nrecs : 0;
    if (f->sig[d].has_syn)
        return f->sig[d].syn_isn;
    if (!n && px && !(r = tui_pkts_recs(px, cap, f, &n)))
        n = 0;
    for (size_t i = 0; i < n; i++)
        if (r[i].dir == d)
            return r[i].seq - ((r[i].tcp_flags & NL_TH_SYN) ? 0 : 1);
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
        if (m->ncaps >= 2 && (size_t)r->near_cap == m->ncaps - 1) {
            /* a flow of the last capture: on the far side already, so
             * the ladder's near clock is never the far capture's */
            L->near_cap = r->near_cap - 1;
            L->far_cap = r->near_cap;
            L->nf = NULL;
            L->ff = r->near;
        }
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
 * order already; near first on equal times): a near record with its twin,
 * or alone; a far record its near twin did not take, alone. A missing
 * side of a paired flow is "unknown" unless the library says its absence
 * may be claimed (a lone flow's rungs claim nothing per packet). */
static void tui_ladder_rungs(tui_ladder *L, const nl_ladder *lad)
{
    const nl_ladder_side *ns = &lad->side[0], *fs = &lad->side[1];
    size_t i = 0, j = 0;
    for (;;) {
        tui_rung *g;
        while (j < fs->nrecs && fs->recs[j].twin >= 0)
            j++;
        if (i >= ns->nrecs && j >= fs->nrecs)
            break;
        g = &L->r[L->n++];
        memset(g, 0, sizeof *g);
        if (i < ns->nrecs && (j >= fs->nrecs || ns->recs[i].t_ns <= fs->recs[j].t_ns)) {
            const nl_ladder_rec *r = &ns->recs[i++];
            g->n = r->rec;
            g->dir = r->dir;
            g->t_ns = r->t_ns;
            if (r->twin >= 0)
                g->f = fs->recs[r->twin].rec;
            else
                g->unknown = lad->match && r->other != NL_LADDER_NOT_SEEN;
        } else {
            const nl_ladder_rec *r = &fs->recs[j++];
            g->f = r->rec;
            g->dir = r->dir;
            g->t_ns = r->t_ns;
            g->unknown = lad->match && r->other != NL_LADDER_NOT_SEEN;
        }
    }
}

int tui_ladder_build(const tui_model *m, size_t row, size_t hop, struct tui_pkts *px,
                     tui_ladder *L)
{
    const tui_row *r = &m->rows[row];
    nl_ladder lad;
    nl_ladder_hop h;
    tui_rung *keep = L->r;
    size_t keep_cap = L->cap;
    int rc = -1;

    memset(L, 0, sizeof *L);
    L->r = keep;
    L->cap = keep_cap;
    L->row = r;
    L->pcap[0] = L->pcap[1] = -1;
    tui_ladder_sides(m, r, hop, L);
    for (int d = 0; d < 2; d++) {
        if (L->nf)
            L->isn_n[d] = tui_isn(L->nf, d, px, L->near_cap);
        if (L->ff)
            L->isn_f[d] = tui_isn(L->ff, d ^ L->flip, px, L->far_cap);
    }
    memset(&h, 0, sizeof h);
    h.near_cap = L->near_cap;
    h.far_cap = L->far_cap;
    h.match = L->match;
    h.near = L->nf;
    h.far = L->ff;
    if (ladder_build_recs(m->corr, &h, px ? tui_pkts_recs : NULL, px, &lad) < 0)
        return -1;
    if (tui_ladder_grow(L, lad.side[0].nrecs + lad.side[1].nrecs + 1) < 0)
        goto out;
    for (int s = 0; s < 2; s++) {
        L->npieces[s] = lad.side[s].npieces;
        L->kept[s] = lad.side[s].kept;
        L->pkts[s] = lad.side[s].pkts;
        L->more_pieces |= lad.side[s].more_pieces;
        L->pcap[s] = lad.side[s].head ? lad.side[s].cap : -1;
        L->np[s] = lad.side[s].npieces;
        for (size_t p = 0; p < lad.side[s].npieces; p++) {
            const nl_flow *g = lad.side[s].piece[p];
            L->piece[s][p] = g;
            L->whole[s][p] = lad.side[s].piece_nrecs[p] >= g->pkts[0] + g->pkts[1];
        }
    }
    tui_ladder_rungs(L, &lad);
    rc = 0;
out:
    ladder_free(&lad);
    return rc;
}
