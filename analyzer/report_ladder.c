/* report_ladder.c - ladders of failed handshakes: one connection followed
 * through every capture it reached, the same packet on one row in every
 * column, so a reader sees where a packet stopped or where an answer went.
 *
 * Built only from what the analysis kept: the flows' packet records
 * (nl_pkt_rec, the first NL_FLOW_KEEP_PKTS per flow) and the chain's
 * matches (flip, sequence offsets). Packets pair across adjacent captures
 * when direction, flags, payload length and the sequence number (shifted by
 * the match's offset) agree, first come first paired: retransmissions pair
 * in order. Time is capture 0's clock (correlate_to_clock). */
#include <stdlib.h>
#include <string.h>
#include "natlens/decode.h"
#include "report_int.h"

#define REP_STRAY_SEARCH 200     /* ladders for which a stray reply is looked for */

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

/* First sequence number per direction: the ISN when the SYN was seen. */
static void ladder_bases(const nl_flow *f, uint32_t base[2])
{
    for (int d = 0; d < 2; d++) {
        base[d] = f->sig[d].has_syn ? f->sig[d].syn_isn : 0;
        if (!f->sig[d].has_syn)
            for (uint16_t i = 0; i < f->nrecs; i++)
                if (f->recs[i].dir == d) {
                    base[d] = f->recs[i].seq;
                    break;
                }
    }
}

static int same_ep(const nl_addr *a, uint16_t ap, const nl_addr *b, uint16_t bp)
{
    return ap == bp && !nl_addr_cmp(a, b);
}

/* A flow of the same capture that talks to the client's endpoint from
 * another address while f was trying: the answer that bypassed the NAT. */
static const nl_flow *ladder_stray(nl_trace *t, const nl_flow *f, uint8_t *flip)
{
    size_t n;
    nl_flow **fl;
    uint64_t lo, hi;
    if (!t)
        return NULL;
    fl = trace_flows(t, &n);
    lo = f->first_ns > 1000000000ull ? f->first_ns - 1000000000ull : 0;
    hi = f->last_ns + 1000000000ull;
    for (size_t i = 0; i < n; i++) {
        const nl_flow *g = fl[i];
        if (g == f || g->proto != f->proto || g->first_ns < lo || g->first_ns > hi)
            continue;
        if (same_ep(&g->orig_ip, g->orig_port, &f->orig_ip, f->orig_port) &&
            !same_ep(&g->resp_ip, g->resp_port, &f->resp_ip, f->resp_port)) {
            *flip = 0;
            return g;
        }
        if (same_ep(&g->resp_ip, g->resp_port, &f->orig_ip, f->orig_port) &&
            !same_ep(&g->orig_ip, g->orig_port, &f->resp_ip, f->resp_port)) {
            *flip = 1;
            return g;
        }
    }
    return NULL;
}

/* Pair the records of near (column k-1) with far (column k) through m:
 * correlate's own rule, so the report shows what the offsets came from. */
static void ladder_pair(const nl_match *m, int16_t *pair)
{
    int16_t twin[NL_FLOW_KEEP_PKTS];
    correlate_pkt_twins(m, twin);
    for (uint16_t i = 0; i < m->near->nrecs && i < NL_FLOW_KEEP_PKTS; i++)
        pair[i] = twin[i];
}

static uint64_t ladder_time(const rep_ctx *c, const rep_ladder *l, int col, const nl_pkt_rec *r)
{
    if (!c->in->corr || l->cap[col] == 0)
        return r->ts_ns;
    return correlate_to_clock(c->in->corr, l->cap[col], 0, r->ts_ns);
}

static int lrow_cmp(const void *a, const void *b)
{
    const rep_lrow *x = a, *y = b;
    if (x->t_ns != y->t_ns)
        return x->t_ns < y->t_ns ? -1 : 1;
    if (x->stray != y->stray)
        return x->stray < y->stray ? -1 : 1;
    for (int k = 0; k < REP_MAX_COLS; k++)
        if (x->idx[k] != y->idx[k])
            return x->idx[k] < y->idx[k] ? -1 : 1;   /* -1 (absent) first */
    return 0;
}

static int ladder_rows(const rep_ctx *c, rep_ladder *l)
{
    int16_t pair[REP_MAX_COLS][NL_FLOW_KEEP_PKTS * 4];
    uint8_t seen[REP_MAX_COLS][NL_FLOW_KEEP_PKTS * 4];
    size_t total = 0, n = 0;

    memset(seen, 0, sizeof seen);
    for (int k = 0; k < l->ncols; k++) {
        if (l->flow[k])
            total += l->flow[k]->nrecs;
        if (l->stray[k])
            total += l->stray[k]->nrecs;
    }
    l->rows = calloc(total ? total : 1, sizeof *l->rows);
    if (!l->rows)
        return -1;
    /* pairings between adjacent present columns */
    for (int k = 1; k < l->ncols; k++) {
        const nl_match *m = NULL;
        if (l->chain)
            for (size_t h = 0; h < l->chain->nhops; h++)
                if (l->chain->hops[h].to == l->cap[k] && l->chain->hops[h].present)
                    m = l->chain->hops[h].match;
        for (int i = 0; i < NL_FLOW_KEEP_PKTS * 4; i++)
            pair[k - 1][i] = -1;
        if (m && l->flow[k - 1] && l->flow[k] && m->near == l->flow[k - 1] && m->far == l->flow[k])
            ladder_pair(m, pair[k - 1]);
    }
    for (int k = 0; k < l->ncols; k++) {
        const nl_flow *f = l->flow[k];
        if (!f)
            continue;
        for (uint16_t i = 0; i < f->nrecs && i < NL_FLOW_KEEP_PKTS * 4; i++) {
            rep_lrow *row;
            int16_t at = (int16_t)i;
            if (seen[k][i])
                continue;
            row = &l->rows[n++];
            for (int q = 0; q < REP_MAX_COLS; q++)
                row->idx[q] = -1;
            row->dir = f->recs[i].dir ^ l->flip[k];
            row->t_ns = UINT64_MAX;
            for (int q = k; q < l->ncols && at >= 0 && l->flow[q]; q++) {
                uint64_t t = ladder_time(c, l, q, &l->flow[q]->recs[at]);
                seen[q][at] = 1;
                row->idx[q] = at;
                if (t < row->t_ns)
                    row->t_ns = t;
                at = q + 1 < l->ncols ? pair[q][at] : -1;
                if (at >= 0 && (q + 1 >= l->ncols || !l->flow[q + 1] || seen[q + 1][at]))
                    at = -1;
            }
        }
        if (l->stray[k]) {
            const nl_flow *g = l->stray[k];
            for (uint16_t i = 0; i < g->nrecs; i++) {
                rep_lrow *row = &l->rows[n++];
                for (int q = 0; q < REP_MAX_COLS; q++)
                    row->idx[q] = -1;
                row->idx[k] = (int16_t)i;
                row->stray = 1;
                row->dir = g->recs[i].dir ^ l->sflip[k] ^ l->flip[k];
                row->t_ns = ladder_time(c, l, k, &g->recs[i]);
            }
        }
    }
    qsort(l->rows, n, sizeof *l->rows, lrow_cmp);
    if (n > REP_LADDER_ROWS)
        n = REP_LADDER_ROWS;
    l->nrows = n;
    l->t0_ns = n ? l->rows[0].t_ns : 0;
    return 0;
}

/* Columns of a chain: every capture it reached, and the next one (where it
 * vanished), at most REP_MAX_COLS. */
static void ladder_from_chain(const rep_ctx *c, rep_ladder *l, const nl_chain *ch)
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
static void ladder_from_unmatched(rep_ladder *l, const nl_unmatched *u)
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
            ladder_from_chain(c, l, r->chain);
        } else if (r->unm) {
            ladder_from_unmatched(l, r->unm);
        } else {
            l->ncols = 1;
            l->flow[0] = r->flow;
        }
        for (int k = 0; k < l->ncols; k++) {
            nl_trace *t = c->in->caps[l->cap[k]].trace;
            if (!l->flow[k])
                continue;
            ladder_bases(l->flow[k], l->base[k]);
            if (c->nlad <= REP_STRAY_SEARCH && report_flow_failed(l->flow[k])) {
                l->stray[k] = ladder_stray(t, l->flow[k], &l->sflip[k]);
                if (l->stray[k]) {
                    /* the client's side of a stray exchange continues the
                     * client's own sequence: number it from the real ISN */
                    int cdir = l->sflip[k];   /* stray direction sent by the client */
                    ladder_bases(l->stray[k], l->sbase[k]);
                    l->sbase[k][cdir] = l->base[k][NL_ORIG];
                }
            }
        }
        if (ladder_rows(c, l) < 0) {
            free(cand);
            return -1;
        }
    }
    free(cand);
    return 0;
}

void report_ladders_free(rep_ctx *c)
{
    for (size_t i = 0; i < c->nlad; i++)
        free(c->lad[i].rows);
    free(c->lad);
    c->lad = NULL;
    c->nlad = 0;
}
