/* ladder.c - the rungs of one connection between two adjacent captures
 * (ladder.h): both sides' records over every piece and part of the
 * connection, paired by correlate's own twin rule, each unpaired record
 * with what may be said about its absence at the other side.
 *
 * Grown from the viewer's ladder (analyzer/tui, which drew pieces first):
 * the same rule, now shared by the viewer and the reports. Bounds: at most
 * NL_LADDER_PIECES pieces a side (more are said: more_pieces, and then no
 * absence is claimed at the other side), n log n in their records.
 */
#include <stdlib.h>
#include <string.h>
#include "natlens/ladder.h"

static int ladder_same_ep(const nl_addr *a, uint16_t ap, const nl_addr *b, uint16_t bp)
{
    return ap == bp && !nl_addr_cmp(a, b);
}

/* Roles of piece p against the head of its connection: swapped when p's
 * originator is the head's responder (or p's responder the head's
 * originator). *part: p has an endpoint the head has not (an answer from
 * another address, correlate_conn.c's "stray answer"). */
static uint8_t ladder_piece_flip(const nl_flow *head, const nl_flow *p, uint8_t *part)
{
    int oo, rr, orr, ro;
    *part = 0;
    if (p == head)
        return 0;
    oo = ladder_same_ep(&p->orig_ip, p->orig_port, &head->orig_ip, head->orig_port);
    rr = ladder_same_ep(&p->resp_ip, p->resp_port, &head->resp_ip, head->resp_port);
    orr = ladder_same_ep(&p->orig_ip, p->orig_port, &head->resp_ip, head->resp_port);
    ro = ladder_same_ep(&p->resp_ip, p->resp_port, &head->orig_ip, head->orig_port);
    if (oo || rr) {
        *part = !(oo && rr);
        return 0;
    }
    if (orr || ro) {
        *part = !(orr && ro);
        return 1;
    }
    *part = 1;
    return 0;
}

static int ladder_rec_cmp(const void *a, const void *b)
{
    const nl_ladder_rec *x = a, *y = b;
    if (x->rec->ts_ns != y->rec->ts_ns)
        return x->rec->ts_ns < y->rec->ts_ns ? -1 : 1;
    if (x->piece != y->piece)
        return x->piece < y->piece ? -1 : 1;
    return x->rec < y->rec ? -1 : x->rec > y->rec;   /* one piece's records: one array */
}

static uint64_t ladder_clock(const nl_correlation *c, int cap, int ref, uint64_t ts)
{
    if (!c || cap == ref || cap < 0 || ref < 0)
        return ts;
    return correlate_to_clock(c, cap, ref, ts);
}

/* The pieces of f's connection at capture cap and their records, times in
 * capture ref's clock, directions in the near head's orientation (flip:
 * this side's head against the near head). -1 out of memory. */
typedef struct ladder_src {
    nl_ladder_recs_fn fn;
    void             *ctx;
} ladder_src;

static int ladder_side_load(const nl_correlation *c, const ladder_src *h, int cap, int ref,
                            const nl_flow *f, uint8_t flip, nl_ladder_side *s)
{
    const nl_flow *all[NL_LADDER_PIECES + 1];
    size_t got = 0, n = 0, k = 0;
    s->cap = cap;
    if (!f)
        return 0;
    if (c && cap >= 0 && (size_t)cap < c->ncaps)
        got = correlate_conn_pieces(c, cap, f, all, NL_LADDER_PIECES + 1);
    if (!got) {
        all[0] = f;
        got = 1;
    }
    s->npieces = got < NL_LADDER_PIECES ? got : NL_LADDER_PIECES;
    s->more_pieces = got > NL_LADDER_PIECES;
    s->head = all[0];
    s->all_kept = !s->more_pieces;
    for (size_t p = 0; p < s->npieces; p++) {
        const nl_flow *g = all[p];
        uint64_t pk = g->pkts[0] + g->pkts[1];
        const nl_pkt_rec *rr = NULL;
        size_t nr = 0;
        if (h->fn)
            rr = h->fn(h->ctx, cap, g, &nr);
        if (!rr) {
            rr = g->recs;
            nr = g->recs ? g->nrecs : 0;
        }
        s->piece[p] = g;
        s->piece_recs[p] = rr;
        s->piece_nrecs[p] = rr ? nr : 0;
        s->piece_flip[p] = ladder_piece_flip(s->head, g, &s->piece_part[p]);
        n += s->piece_nrecs[p];
        s->kept += s->piece_nrecs[p];
        s->pkts += pk;
        s->all_kept &= s->piece_nrecs[p] && (uint64_t)s->piece_nrecs[p] >= pk;
    }
    s->recs = malloc((n ? n : 1) * sizeof *s->recs);
    if (!s->recs)
        return -1;
    for (size_t p = 0; p < s->npieces; p++) {
        const nl_pkt_rec *rr = s->piece_recs[p];
        for (size_t i = 0; i < s->piece_nrecs[p]; i++) {
            nl_ladder_rec *r = &s->recs[k++];
            if (rr[i].ts_ns > s->piece_until[p])
                s->piece_until[p] = rr[i].ts_ns;
            r->rec = &rr[i];
            r->piece = (uint8_t)p;
            r->dir = (uint8_t)((rr[i].dir & 1) ^ s->piece_flip[p] ^ flip);
            r->twin = -1;
            r->other = NL_LADDER_ALONE;
        }
    }
    s->nrecs = k;
    if (k > 1)
        qsort(s->recs, k, sizeof *s->recs, ladder_rec_cmp);
    for (size_t i = 0; i < k; i++)
        s->recs[i].t_ns = ladder_clock(c, cap, ref, s->recs[i].rec->ts_ns);
    return 0;
}

/* The clock between two adjacent captures, NULL otherwise. */
static const nl_clock_offset *ladder_hop_clock(const nl_correlation *c, int a, int b)
{
    int lo = a < b ? a : b;
    if (!c || lo < 0 || (a - b != 1 && b - a != 1) || (size_t)lo + 1 >= c->ncaps)
        return NULL;
    return &c->offsets[lo];
}

static uint64_t ladder_sat_sub(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

static uint64_t ladder_sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Do side s's records cover time t (s's own clock: where the packet's
 * copy would be)? Its capture ran then (t inside its span: the window is
 * the rule's slack, not the clock's error, and a capture's first packet is
 * an upper bound on its start), and every piece within win of t kept its
 * packets that far (records are each piece's first packets). */
static int ladder_covered(const nl_correlation *c, const nl_ladder_side *s, uint64_t t,
                          uint64_t win)
{
    uint64_t lo = ladder_sat_sub(t, win), hi = ladder_sat_add(t, win);
    const nl_corr_input *in;
    if (!c || s->cap < 0 || (size_t)s->cap >= c->ncaps || s->more_pieces)
        return 0;
    in = &c->caps[s->cap];
    if (t < in->first_ns || t > in->last_ns)
        return 0;
    for (size_t p = 0; p < s->npieces; p++) {
        const nl_flow *g = s->piece[p];
        int any = s->piece_nrecs[p] != 0;
        if (any && (uint64_t)s->piece_nrecs[p] >= g->pkts[0] + g->pkts[1])
            continue;
        /* not kept: (until, last_ns], or the whole piece without records */
        if (any ? (hi > s->piece_until[p] && lo <= g->last_ns)
                : (hi >= g->first_ns && lo <= g->last_ns))
            return 0;
    }
    return 1;
}

/* First near record at or after time t (near clock). */
static size_t ladder_lower(const nl_ladder_side *ns, uint64_t t)
{
    size_t a = 0, b = ns->nrecs;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (ns->recs[m].t_ns < t)
            a = m + 1;
        else
            b = m;
    }
    return a;
}

/* Does a near record the rule could not finish lie within win of t? The
 * near records are in time order; unfin[i] counts those before i, so each
 * question is two binary searches, whatever the window holds. */
static int ladder_near_unfinished(const nl_ladder_side *ns, const size_t *unfin, uint64_t t,
                                  uint64_t win)
{
    size_t a = ladder_lower(ns, ladder_sat_sub(t, win));
    uint64_t hi = ladder_sat_add(t, win);
    size_t b = hi == UINT64_MAX ? ns->nrecs : ladder_lower(ns, hi + 1);
    return b > a && unfin[b] > unfin[a];
}

/* Pair the two sides with correlate's rule and say, for every record left
 * alone, whether its absence at the other side may be claimed. */
static int ladder_pair(const nl_correlation *c, nl_ladder *L)
{
    nl_ladder_side *ns = &L->side[0], *fs = &L->side[1];
    const nl_clock_offset *clk = ladder_hop_clock(c, ns->cap, fs->cap);
    size_t nn = ns->nrecs, nf = fs->nrecs;
    nl_pkt_rec *a = malloc((nn ? nn : 1) * sizeof *a), *b = malloc((nf ? nf : 1) * sizeof *b);
    int32_t *tw = malloc((nn ? nn : 1) * sizeof *tw);
    size_t *unfin = malloc((nn + 1) * sizeof *unfin);
    int known = clk && clk->known;
    if (!a || !b || !tw || !unfin) {
        free(a);
        free(b);
        free(tw);
        free(unfin);
        return -1;
    }
    L->window_ns = correlate_twin_window_ns(clk);
    /* the rule takes each side in its own head's orientation */
    for (size_t i = 0; i < nn; i++) {
        a[i] = *ns->recs[i].rec;
        a[i].dir = ns->recs[i].dir;
    }
    for (size_t j = 0; j < nf; j++) {
        b[j] = *fs->recs[j].rec;
        b[j].dir = (uint8_t)(fs->recs[j].dir ^ L->flip);
    }
    correlate_pkt_twins(L->match, clk, a, nn, b, nf, tw);
    unfin[0] = 0;
    for (size_t i = 0; i < nn; i++)
        unfin[i + 1] = unfin[i] + (tw[i] == NL_TWIN_UNKNOWN);
    for (size_t i = 0; i < nn; i++)
        if (tw[i] >= 0 && (size_t)tw[i] < nf) {
            ns->recs[i].twin = tw[i];
            ns->recs[i].other = fs->recs[tw[i]].other = NL_LADDER_PAIRED;
            fs->recs[tw[i]].twin = (int32_t)i;
        }
    for (size_t i = 0; i < nn; i++) {
        nl_ladder_rec *r = &ns->recs[i];
        if (r->twin >= 0)
            continue;
        r->other = known && tw[i] != NL_TWIN_UNKNOWN &&
                   ladder_covered(c, fs, ladder_clock(c, ns->cap, fs->cap, r->rec->ts_ns),
                                  L->window_ns) ? NL_LADDER_NOT_SEEN : NL_LADDER_UNKNOWN;
    }
    for (size_t j = 0; j < nf; j++) {
        nl_ladder_rec *r = &fs->recs[j];
        if (r->twin >= 0)
            continue;
        r->other = known && ladder_covered(c, ns, r->t_ns, L->window_ns) &&
                   !ladder_near_unfinished(ns, unfin, r->t_ns, L->window_ns)
                   ? NL_LADDER_NOT_SEEN : NL_LADDER_UNKNOWN;
    }
    free(a);
    free(b);
    free(tw);
    free(unfin);
    return 0;
}

/* No pair: a record's absence is correlate's verdict (ALONE) where the
 * other capture ran at its time, unknown elsewhere. */
static void ladder_alone(const nl_correlation *c, nl_ladder *L, int side)
{
    nl_ladder_side *s = &L->side[side], *o = &L->side[!side];
    const nl_clock_offset *clk = ladder_hop_clock(c, s->cap, o->cap);
    for (size_t i = 0; i < s->nrecs; i++) {
        nl_ladder_rec *r = &s->recs[i];
        uint64_t t = ladder_clock(c, s->cap, o->cap, r->rec->ts_ns);
        const nl_corr_input *in = c && o->cap >= 0 && (size_t)o->cap < c->ncaps ? &c->caps[o->cap] : NULL;
        r->other = in && clk && clk->known && t >= in->first_ns && t <= in->last_ns
                   ? NL_LADDER_ALONE : NL_LADDER_UNKNOWN;
    }
}

void ladder_free(nl_ladder *L)
{
    free(L->side[0].recs);
    free(L->side[1].recs);
    memset(L, 0, sizeof *L);
    L->side[0].cap = L->side[1].cap = -1;
}

int ladder_build(const nl_correlation *c, const nl_ladder_hop *h, nl_ladder *L)
{
    return ladder_build_recs(c, h, NULL, NULL, L);
}

int ladder_build_recs(const nl_correlation *c, const nl_ladder_hop *h, nl_ladder_recs_fn recs_of,
                      void *recs_ctx, nl_ladder *L)
{
    const ladder_src src = { recs_of, recs_ctx };
    const nl_flow *nf = h->near, *ff = h->far;
    int near_cap = h->near_cap, far_cap = h->far_cap;
    memset(L, 0, sizeof *L);
    L->side[0].cap = L->side[1].cap = -1;
    L->window_ns = UINT64_MAX;
    L->match = h->match;
    if (h->match) {
        near_cap = h->match->near_cap;
        far_cap = h->match->far_cap;
        nf = nf ? nf : h->match->near;
        ff = ff ? ff : h->match->far;
        L->flip = h->match->flip;
    }
    if (ladder_side_load(c, &src, near_cap, near_cap, nf, 0, &L->side[0]) < 0 ||
        ladder_side_load(c, &src, far_cap, near_cap, ff, L->flip, &L->side[1]) < 0)
        goto oom;
    if (L->match && L->side[0].head && L->side[1].head) {
        if (ladder_pair(c, L) < 0)
            goto oom;
    } else {
        ladder_alone(c, L, 0);
        ladder_alone(c, L, 1);
    }
    return 0;
oom:
    ladder_free(L);
    return -1;
}

int ladder_of_chain(const nl_correlation *c, const nl_chain *ch, size_t hop, nl_ladder *L)
{
    nl_ladder_hop h;
    const nl_hop *hp;
    memset(&h, 0, sizeof h);
    if (!ch || hop >= ch->nhops) {
        memset(L, 0, sizeof *L);
        L->side[0].cap = L->side[1].cap = -1;
        return 0;
    }
    hp = &ch->hops[hop];
    h.near_cap = hp->from;
    h.far_cap = hp->to;
    if (hp->present && hp->match) {
        h.match = hp->match;
    } else {
        /* vanished at `to`: the leg that faced it went that way */
        h.near = ch->alt && ch->alt[hp->from] ? ch->alt[hp->from] : ch->flows[hp->from];
    }
    return ladder_build(c, &h, L);
}

void ladder_seq_base(const nl_ladder *L, int side, size_t p, uint32_t base[2])
{
    const nl_ladder_side *s = &L->side[side ? 1 : 0];
    const nl_flow *g, *head = s->head;
    uint8_t hf = side ? L->flip : 0;
    base[0] = base[1] = 0;
    if (!head || p >= s->npieces)
        return;
    g = s->piece[p];
    for (int d = 0; d < 2; d++) {
        int pd = d ^ s->piece_flip[p] ^ hf, hd = d ^ hf;
        if (g->sig[pd].has_syn) {
            base[d] = g->sig[pd].syn_isn;
        } else if (head->sig[hd].has_syn) {
            base[d] = head->sig[hd].syn_isn;
        } else {
            for (uint16_t i = 0; g->recs && i < g->nrecs; i++)
                if ((g->recs[i].dir & 1) == pd) {
                    base[d] = g->recs[i].seq;
                    break;
                }
        }
    }
}
