/* report_ladder.c - ladders of failed handshakes: one connection followed
 * through every capture it reached, the same packet on one row in every
 * column, so a reader sees where a packet stopped or where an answer went.
 *
 * The rungs are the library's (ladder.h), the viewer's too: every piece
 * and part of the connection at each capture (a SYN retry in a later
 * piece, an answer from another address), which record is which between
 * two adjacent captures (correlate's time-bounded twin rule), and where a
 * packet's absence may be claimed. Three or more captures chain the
 * pairwise rungs: column k's records are hop k's near side and hop k-1's
 * far side (the same pieces in the same order), so a row follows a packet
 * from hop to hop. "Not seen here" is drawn only in the column a packet
 * was heading to, and only where the library says that capture's records
 * cover it. Time is capture 0's clock (correlate_to_clock). */
#include <stdlib.h>
#include <string.h>
#include "natlens/decode.h"
#include "report_int.h"

int report_flow_failed(const nl_flow *f)
{
    static const char *const ok[] = {"S1", "SF", "S2", "S3", "RSTO", "RSTR"};
    const char *st;
    if (f->proto != 6 || !f->sig[NL_ORIG].has_syn)
        return 0;
    st = flow_conn_state(f);
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!strcmp(st, ok[i]))
            return 0;
    return 1;
}

char *report_pkt_label(const nl_pkt_rec *r, const uint32_t base[2], int text, char *buf, size_t len)
{
    char fl[48];
    size_t k;
    if (r->tcp_flags || r->seq || r->ack) {
        decode_tcp_flags_str(r->tcp_flags, fl, sizeof fl);
        k = (size_t)snprintf(buf, len, "%s", fl[0] ? fl : "-");
        if (k < len && (r->tcp_flags & (NL_TH_SYN | NL_TH_FIN | NL_TH_RST)) && !(r->tcp_flags & NL_TH_ACK))
            k += (size_t)snprintf(buf + k, len - k, " seq=%u", r->seq - base[r->dir]);
        else if (k < len && (r->tcp_flags & NL_TH_ACK))
            k += (size_t)snprintf(buf + k, len - k, " ack=%u", r->ack - base[!r->dir]);
    } else {
        k = (size_t)snprintf(buf, len, "%u bytes", r->ip_len);
    }
    if (k < len && r->payload_len)
        k += (size_t)snprintf(buf + k, len - k, " len=%u", r->payload_len);
    if (text && k < len && r->payload_len && r->text[0])
        snprintf(buf + k, len - k, " \"%.*s\"", (int)sizeof r->text, r->text);
    return buf;
}

static uint64_t lad_time(const rep_ctx *c, const rep_ladder *l, int col, const nl_pkt_rec *r)
{
    if (!c->in->corr || l->cap[col] == 0)
        return r->ts_ns;
    return correlate_to_clock(c->in->corr, l->cap[col], 0, r->ts_ns);
}

static const nl_ladder_side *col_side(const rep_ladder *l, int k)
{
    return l->src[k] ? &l->src[k]->side[l->sside[k]] : NULL;
}

/* The same records in the same order: a column's records and a hop's side
 * of the same connection at the same capture. */
static int same_records(const nl_ladder_side *a, const nl_ladder_side *b)
{
    if (a == b)
        return 1;
    if (!a || !b || !a->head || a->head != b->head || a->nrecs != b->nrecs)
        return 0;
    for (size_t i = 0; i < a->nrecs; i++)
        if (a->recs[i].rec != b->recs[i].rec)
            return 0;
    return 1;
}

static int lrow_cmp(const void *a, const void *b)
{
    const rep_lrow *x = a, *y = b;
    if (x->t_ns != y->t_ns)
        return x->t_ns < y->t_ns ? -1 : 1;
    for (int k = 0; k < REP_MAX_COLS; k++)
        if (x->idx[k] != y->idx[k])
            return x->idx[k] < y->idx[k] ? -1 : 1;   /* -1 (absent) first */
    return 0;
}

/* The ladders of every pair of adjacent columns, and where each column's
 * records come from. -1 out of memory. */
static int lad_hops(const rep_ctx *c, rep_ladder *l)
{
    const nl_correlation *co = c->in->corr;
    l->hop = calloc((size_t)l->ncols, sizeof *l->hop);
    l->own = calloc((size_t)l->ncols, sizeof *l->own);
    if (!l->hop || !l->own)
        return -1;
    for (int k = 0; k + 1 < l->ncols; k++) {
        size_t h = l->chain ? l->chain->nhops : 0;
        if (l->chain)
            for (h = 0; h < l->chain->nhops; h++)
                if (l->chain->hops[h].from == l->cap[k] && l->chain->hops[h].to == l->cap[k + 1])
                    break;
        if (l->chain && h < l->chain->nhops) {
            if (ladder_of_chain(co, l->chain, h, &l->hop[k]) < 0)
                return -1;
        } else {
            nl_ladder_hop lh = { l->cap[k], l->cap[k + 1], NULL, l->flow[k], l->flow[k + 1] };
            if (ladder_build(co, &lh, &l->hop[k]) < 0)
                return -1;
        }
    }
    for (int k = 0; k < l->ncols; k++) {
        if (!l->flow[k])
            continue;
        if (k + 1 < l->ncols && l->hop[k].side[0].head == l->flow[k]) {
            l->src[k] = &l->hop[k];
            l->sside[k] = 0;
        } else if (k > 0 && l->hop[k - 1].side[1].head == l->flow[k]) {
            l->src[k] = &l->hop[k - 1];
            l->sside[k] = 1;
        } else {
            /* a hop that starts at the capture's other leg: this one alone */
            nl_ladder_hop lh = { l->cap[k], -1, NULL, l->flow[k], NULL };
            if (ladder_build(co, &lh, &l->own[k]) < 0)
                return -1;
            l->src[k] = &l->own[k];
            l->sside[k] = 0;
        }
    }
    l->part_at = -1;
    for (int k = 0; k < l->ncols && l->part_at < 0; k++) {
        const nl_ladder_side *s = col_side(l, k);
        for (size_t p = 0; s && p < s->npieces; p++)
            if (s->piece_part[p])
                l->part_at = k;
    }
    return 0;
}

/* What a cell of the capture a packet was heading to says: "not seen"
 * where the library says its records cover it (or, for a connection not
 * paired there, that the capture ran then: correlate's verdict), else
 * that nothing is known. */
static uint8_t lad_miss(uint8_t other)
{
    if (other == NL_LADDER_NOT_SEEN || other == NL_LADDER_ALONE)
        return REP_MISS_NOT_SEEN;
    return other == NL_LADDER_UNKNOWN ? REP_MISS_UNKNOWN : REP_MISS_NONE;
}

/* Rows: each record of each column not placed yet starts one and follows
 * its twins to the right as far as they chain; then where it was heading
 * and missing. */
static int lad_rows(const rep_ctx *c, rep_ladder *l)
{
    uint8_t *placed[REP_MAX_COLS], near_ok[REP_MAX_COLS], far_ok[REP_MAX_COLS];
    size_t total = 0, n = 0;
    int rc = -1;

    memset(placed, 0, sizeof placed);
    for (int k = 0; k < l->ncols; k++) {
        const nl_ladder_side *s = col_side(l, k);
        near_ok[k] = k + 1 < l->ncols && s && same_records(s, &l->hop[k].side[0]);
        far_ok[k] = k > 0 && s && same_records(s, &l->hop[k - 1].side[1]);
        total += s ? s->nrecs : 0;
        if (s && !(placed[k] = calloc(s->nrecs + 1, 1)))
            goto out;
    }
    l->rows = calloc(total ? total : 1, sizeof *l->rows);
    if (!l->rows)
        goto out;
    for (int k = 0; k < l->ncols; k++) {
        const nl_ladder_side *s = col_side(l, k);
        for (size_t i = 0; s && i < s->nrecs; i++) {
            rep_lrow *row;
            int32_t at = (int32_t)i;
            int q = k, first = k, last = k;
            if (placed[k][i])
                continue;
            row = &l->rows[n++];
            for (int z = 0; z < REP_MAX_COLS; z++)
                row->idx[z] = -1;
            /* direction in the column's head's roles, then column 0's */
            row->dir = (uint8_t)(s->recs[i].dir ^ (l->sside[k] ? l->src[k]->flip : 0) ^ l->flip[k]);
            row->t_ns = UINT64_MAX;
            for (;;) {
                const nl_ladder_side *qs = col_side(l, q);
                uint64_t t = lad_time(c, l, q, qs->recs[at].rec);
                placed[q][at] = 1;
                row->idx[q] = at;
                last = q;
                if (t < row->t_ns)
                    row->t_ns = t;
                if (!near_ok[q] || !far_ok[q + 1] || !l->hop[q].match)
                    break;
                at = l->hop[q].side[0].recs[at].twin;
                if (at < 0 || placed[q + 1][at])
                    break;
                q++;
            }
            /* the next capture it was heading to: its records' word */
            if (row->dir == NL_ORIG && last + 1 < l->ncols && near_ok[last]) {
                uint8_t o = l->hop[last].side[0].recs[row->idx[last]].other;
                row->miss[last + 1] = lad_miss(o);
            } else if (row->dir == NL_RESP && first > 0 && far_ok[first]) {
                uint8_t o = l->hop[first - 1].side[1].recs[row->idx[first]].other;
                row->miss[first - 1] = lad_miss(o);
            }
        }
    }
    qsort(l->rows, n, sizeof *l->rows, lrow_cmp);
    if (n > REP_LADDER_ROWS)
        n = REP_LADDER_ROWS;
    l->nrows = n;
    l->t0_ns = n ? l->rows[0].t_ns : 0;
    rc = 0;
out:
    for (int k = 0; k < REP_MAX_COLS; k++)
        free(placed[k]);
    return rc;
}

void report_ladder_cell(const rep_ctx *c, const rep_ladder *l, const rep_lrow *row, int k,
                        rep_lcell *out)
{
    const nl_ladder_side *s = col_side(l, k);
    const nl_ladder_rec *r;
    const nl_flow *g, *h;
    uint32_t nb[2], own[2];
    uint8_t fx;
    memset(out, 0, sizeof *out);
    if (row->idx[k] < 0 || !s) {
        out->miss = row->miss[k];
        return;
    }
    r = &s->recs[row->idx[k]];
    out->rec = r->rec;
    g = s->piece[r->piece];
    h = s->head;
    /* relative numbers in the record's own piece's direction */
    ladder_seq_base(l->src[k], l->sside[k], r->piece, nb);
    fx = (uint8_t)(s->piece_flip[r->piece] ^ (l->sside[k] ? l->src[k]->flip : 0));
    own[0] = nb[fx];
    own[1] = nb[!fx];
    report_pkt_label(r->rec, own, !c->rd, out->label, sizeof out->label);
    if (s->piece_part[r->piece]) {
        /* name the endpoint the head does not have: where the answer
         * came from (or went to), the point of drawing it */
        int orig_new = !((g->orig_port == h->orig_port && !nl_addr_cmp(&g->orig_ip, &h->orig_ip)) ||
                         (g->orig_port == h->resp_port && !nl_addr_cmp(&g->orig_ip, &h->resp_ip)));
        report_ep(c, orig_new ? &g->orig_ip : &g->resp_ip, orig_new ? g->orig_port : g->resp_port,
                  g->proto, out->who, sizeof out->who);
        out->from = (r->rec->dir == NL_ORIG) == orig_new;
    }
}

/* Columns of a chain: every capture it reached, and the next one (where it
 * vanished), at most REP_MAX_COLS. */
static void lad_from_chain(const rep_ctx *c, rep_ladder *l, const nl_chain *ch)
{
    const nl_correlation *co = c->in->corr;
    int last = ch->last_cap + 1 < (int)co->ncaps ? ch->last_cap + 1 : ch->last_cap;
    l->chain = ch;
    for (int cap = ch->first_cap; cap <= last && l->ncols < REP_MAX_COLS; cap++) {
        int k = l->ncols++;
        l->cap[k] = cap;
        l->flow[k] = ch->flows[cap];
        l->flip[k] = 0;
        if (k > 0) {
            l->flip[k] = l->flip[k - 1];
            for (size_t h = 0; h < ch->nhops; h++)
                if (ch->hops[h].to == cap && ch->hops[h].present && ch->hops[h].match)
                    l->flip[k] ^= ch->hops[h].match->flip;
        }
    }
}

/* A flow seen at one capture only: its column, and the adjacent capture it
 * never reached (or came from) as an empty one. */
static void lad_from_unmatched(rep_ladder *l, const nl_unmatched *u)
{
    l->unm = u;
    l->ncols = 2;
    l->cap[0] = u->capture < u->other ? u->capture : u->other;
    l->cap[1] = u->capture < u->other ? u->other : u->capture;
    l->flow[u->capture < u->other ? 0 : 1] = u->flow;
}

static int frow_time_cmp(const void *a, const void *b)
{
    const rep_frow *x = *(const rep_frow *const *)a, *y = *(const rep_frow *const *)b;
    if (x->flow->first_ns != y->flow->first_ns)
        return x->flow->first_ns < y->flow->first_ns ? -1 : 1;
    return x < y ? -1 : x > y;
}

int report_ladders_build(rep_ctx *c)
{
    const rep_frow **cand;
    size_t n = 0;

    /* every failed handshake of the flow table (all rows, not only the top
     * N shown), in time order */
    cand = calloc(c->nrows_total ? c->nrows_total : 1, sizeof *cand);
    if (!cand)
        return -1;
    for (size_t i = 0; i < c->nrows_total; i++)
        if (report_flow_failed(c->rows[i].flow))
            cand[n++] = &c->rows[i];
    qsort(cand, n, sizeof *cand, frow_time_cmp);
    c->nlad_total = n;
    if (c->o->max_ladders && n > c->o->max_ladders)
        n = c->o->max_ladders;
    c->lad = calloc(n ? n : 1, sizeof *c->lad);
    if (!c->lad) {
        free(cand);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const rep_frow *r = cand[i];
        rep_ladder *l = &c->lad[c->nlad++];
        if (r->chain) {
            lad_from_chain(c, l, r->chain);
        } else if (r->unm) {
            lad_from_unmatched(l, r->unm);
        } else {
            l->ncols = 1;
            l->flow[0] = r->flow;
        }
        if (lad_hops(c, l) < 0 || lad_rows(c, l) < 0) {
            free(cand);
            return -1;
        }
    }
    free(cand);
    return 0;
}

void report_ladders_free(rep_ctx *c)
{
    for (size_t i = 0; i < c->nlad; i++) {
        rep_ladder *l = &c->lad[i];
        for (int k = 0; k < l->ncols; k++) {
            if (l->hop)
                ladder_free(&l->hop[k]);
            if (l->own)
                ladder_free(&l->own[k]);
        }
        free(l->hop);
        free(l->own);
        free(l->rows);
    }
    free(c->lad);
    c->lad = NULL;
    c->nlad = 0;
}
