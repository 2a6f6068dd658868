/* correlate_score.c - how sure are we that two flows are one connection?
 *
 * Points per agreeing key, strongest first (ISN 40, +10 for the opener's
 * SYN, TSval 25, first payload
 * 30 + second 12, IPv4 ID 8, ICMP id 10, ports/addresses a few, sizes a
 * few, time up to 15). Keys that several flows share (the same HTTP request
 * from many clients) are worth less: points are divided by how many flows
 * carry the key on the busier side. Disagreement costs points, but a
 * differing ISN alone does not (some firewalls rewrite it): it costs only
 * when nothing else strong agrees. Time counts only once the clock offset
 * is known; before that only an offset beyond max_skew_s rules a pair out.
 */
#include <math.h>
#include <netinet/in.h>
#include "correlate_int.h"

#define W_ISN    40.0
#define W_TSVAL  25.0
#define W_DATA0  30.0
#define W_DATA1  12.0
#define W_IPID    8.0
#define W_ICMP   10.0
#define W_TIME   15.0
#define W_OPENER 10.0

static size_t index_count(const corr_index *ix, uint64_t key)
{
    size_t lo;
    return ix && ix->n ? corr_index_find(ix, key, &lo) : 0;
}

/* Weight of an agreeing key: 1 when one flow a side carries it, less when
 * several do (floor 0.1). An ISN counts the busier side only when both
 * sides repeat it: 32 random bits do not collide by chance, but one side
 * may hold one connection twice (both legs of a NAT) and that must not
 * weaken the pair. A binary search per key: n log n over a run. */
void corr_rarity_build(const corr_index *a, const corr_index *b,
                       size_t nflows, corr_rarity *rr)
{
    for (size_t i = 0; i < nflows; i++)
        rr[i].n = 0;
    size_t i = 0, j = 0;
    while (i < a->n) {
        uint64_t key = a->k[i].key;
        size_t ie = i;
        while (ie < a->n && a->k[ie].key == key)
            ie++;
        while (j < b->n && b->k[j].key < key)
            j++;
        size_t je = j;
        while (je < b->n && b->k[je].key == key)
            je++;
        size_t cn = ie - i, cf = je - j;
        size_t m = corr_key_kind(key) == CK_ISN ? (cn < cf ? cn : cf) : (cn > cf ? cn : cf);
        for (size_t e = i; e < ie; e++) {
            corr_rarity *r = &rr[a->k[e].idx];
            if (r->n < CR_MAX) {
                r->key[r->n] = key;
                r->count[r->n++] = m > UINT32_MAX ? UINT32_MAX : (uint32_t)m;
            }
        }
        i = ie;
        j = je;
    }
}

static double rarity(const corr_ctx *cx, const corr_rarity *rr, uint64_t key)
{
    size_t m = 0;
    int found = 0;
    for (size_t i = 0; rr && i < rr->n && !found; i++)
        if (rr->key[i] == key) {
            m = rr->count[i];
            found = 1;
        }
    if (!found) {
        size_t a = index_count(cx->nix, key), b = index_count(cx->fix, key);
        m = corr_key_kind(key) == CK_ISN ? (a < b ? a : b) : (a > b ? a : b);
    }
    if (m <= 1)
        return 1.0;
    double r = 1.0 / (double)m;
    return r < 0.1 ? 0.1 : r;
}

static void far_ep(const nl_flow *f, int dir, const nl_addr **ip,
                   uint16_t *port)
{
    *ip = dir == NL_ORIG ? &f->orig_ip : &f->resp_ip;
    *port = dir == NL_ORIG ? f->orig_port : f->resp_port;
}

static void score_orient(const corr_ctx *cx, const nl_flow *n,
                         const corr_rarity *rr, const nl_flow *f, int flip,
                         corr_score *o)
{
    double s = 0;
    uint32_t ev = 0;
    int isn_eq = 0, isn_ne = 0, ts_eq = 0, ts_ne = 0, data_eq = 0, data_ne = 0;
    double best_dt = INFINITY;

    for (int d = 0; d < 2; d++) {
        int fd = d ^ flip;
        const nl_flow_sig *a = &n->sig[d], *b = &f->sig[fd];
        if (a->has_syn && b->has_syn) {
            if (a->syn_isn == b->syn_isn) {
                s += W_ISN * rarity(cx, rr, corr_key_make(CK_ISN, a->syn_isn));
                /* The opener's SYN names the connection: when a DNAT path
                 * leaks the SYN-ACK, the near side holds two flows (SYN out,
                 * SYN-ACK back from the wrong address) for one far flow,
                 * and the SYN's flow is its twin. */
                if (d == NL_ORIG)
                    s += W_OPENER;
                ev |= NL_EV_ISN;
                isn_eq++;
            } else {
                isn_ne++;
            }
            if (a->syn_mss && a->syn_mss == b->syn_mss) {
                s += 2;
                ev |= NL_EV_SIZE;
            }
        }
        if (a->has_tsval && b->has_tsval && a->first_tsval && b->first_tsval) {
            if (a->first_tsval == b->first_tsval) {
                s += W_TSVAL * rarity(cx, rr, corr_key_make(CK_TSVAL,
                                                        a->first_tsval));
                ev |= NL_EV_TSVAL;
                ts_eq++;
            } else {
                ts_ne++;
            }
        }
        int nd = a->ndata < b->ndata ? a->ndata : b->ndata;
        for (int k = 0; k < nd && k < 2; k++) {
            double w = k == 0 ? W_DATA0 : W_DATA1;
            if (a->data_hash[k] != b->data_hash[k]) {
                if (k == 0)
                    data_ne++;
                continue;
            }
            /* Same first 64 bytes but another length: re-segmented. */
            if (a->data_len[k] != b->data_len[k])
                w /= 2;
            /* the second segment is not a key of its own: it is as
             * common as the first one (identical requests, identical
             * replies) */
            s += w * rarity(cx, rr, corr_key_data(a->data_hash[0], a->data_len[0]));
            ev |= NL_EV_DATA;
            data_eq++;
        }
        if (n->pkts[d] && f->pkts[fd]) {
            if (a->first_ipid != 0 && a->first_ipid == b->first_ipid) {
                s += W_IPID;
                ev |= NL_EV_IPID;
            }
            if (n->pkts[d] == f->pkts[fd]) {
                s += 3;
                ev |= NL_EV_SIZE;
            }
            if (a->first_ns && b->first_ns) {
                double dt = ((double)b->first_ns - (double)a->first_ns) / 1e9;
                if (cx->have_offset)
                    dt -= (double)cx->off_ns / 1e9;
                if (fabs(dt) < fabs(best_dt))
                    best_dt = dt;
            }
        }
    }

    if ((n->proto == IPPROTO_ICMP || n->proto == IPPROTO_ICMPV6) &&
        n->orig_port == (flip ? f->resp_port : f->orig_port)) {
        s += W_ICMP * rarity(cx, rr, corr_key_make(CK_ICMP, n->orig_port));
        ev |= NL_EV_ICMP_ID;
    }

    const nl_addr *fo_ip, *fr_ip;
    uint16_t fo_port, fr_port;
    far_ep(f, NL_ORIG ^ flip, &fo_ip, &fo_port);
    far_ep(f, NL_RESP ^ flip, &fr_ip, &fr_port);
    int same_sport = n->orig_port == fo_port, same_dport = n->resp_port == fr_port;
    int same_dst = nl_addr_cmp(&n->resp_ip, fr_ip) == 0;
    int same_src = nl_addr_cmp(&n->orig_ip, fo_ip) == 0;
    if (same_sport)
        s += 4;
    if (same_dport)
        s += 4;
    if (same_sport && same_dport)
        ev |= NL_EV_PORTS;
    if (same_dst)
        s += 4;
    if (same_src)
        s += 2;

    /* Disagreement. */
    if (isn_ne && !isn_eq && !ts_eq && !data_eq)
        s -= 25;
    /* a first SYN lost between the points: the far side's first TSval
     * is the retransmission's, its ISN the same */
    if (ts_ne && !ts_eq && !isn_eq)
        s -= 15;
    if (data_ne && !data_eq)
        s -= 20;

    if (isfinite(best_dt)) {
        double adt = fabs(best_dt);
        if (!cx->have_offset) {
            if (adt > cx->max_skew_s)
                s -= 100;
        } else {
            if (adt <= cx->tol_s) {
                s += W_TIME;
                ev |= NL_EV_TIME;
            } else if (adt <= 3.5) {
                s += W_TIME * 0.5 * (1 - adt / 3.5);   /* SYN retries: 1-3 s */
            } else if (adt > 120) {
                s -= 40;
            } else if (adt > 30) {
                s -= 15;
            }
        }
        o->dt_s = best_dt;
    } else {
        o->dt_s = 0;
    }
    o->score = s;
    o->evidence = ev;
    o->flip = (uint8_t)flip;
}

int corr_score_pair(const corr_ctx *cx, const nl_flow *n, const corr_rarity *rr,
                    const nl_flow *f, corr_score *out)
{
    if (n->proto != f->proto)
        return 0;
    score_orient(cx, n, rr, f, 0, out);
    /* A handshake seen on both sides fixes the orientation; otherwise a
     * capture that started mid-flow may have named the other originator. */
    if (n->proto == IPPROTO_TCP && n->sig[NL_ORIG].has_syn &&
        f->sig[NL_ORIG].has_syn)
        return 1;
    corr_score alt;
    score_orient(cx, n, rr, f, 1, &alt);
    if (alt.score > out->score)
        *out = alt;
    return 1;
}

double corr_confidence(double score, uint32_t evidence)
{
    if (score <= 0)
        return 0;
    double c = 1 - exp(-score / 40.0);
    if (!(evidence & NL_EV_STRONG) && c > 0.8)
        c = 0.8;              /* time and ports alone never make us sure */
    return c > 0.999 ? 0.999 : c;
}

uint8_t corr_level(uint32_t ev)
{
    /* the pairing stages admit a key only when the clock agrees (or, for
     * an ISN, when SYN retries explain the difference) */
    if (ev & NL_EV_ISN)
        return NL_CONF_EXACT;
    if ((ev & (NL_EV_TSVAL | NL_EV_DATA | NL_EV_ICMP_ID)) && (ev & NL_EV_TIME))
        return NL_CONF_STRONG;
    return NL_CONF_LIKELY;
}

uint8_t corr_translation(const nl_flow *n, const nl_flow *f, int flip,
                         uint8_t *sport_changed, uint8_t *dport_changed)
{
    const nl_addr *oip, *rip;
    uint16_t oport, rport;
    uint8_t t = NL_XLATE_NONE;
    far_ep(f, NL_ORIG ^ flip, &oip, &oport);
    far_ep(f, NL_RESP ^ flip, &rip, &rport);
    if (nl_addr_cmp(oip, &n->orig_ip) != 0 || oport != n->orig_port)
        t |= NL_XLATE_SNAT;
    /* ICMP echo flows carry the identifier as both "ports": a remapped id
     * is the source NAT's doing, not a destination change */
    int icmp = n->proto == IPPROTO_ICMP || n->proto == IPPROTO_ICMPV6;
    int dch = !icmp && rport != n->resp_port;
    if (nl_addr_cmp(rip, &n->resp_ip) != 0 || dch)
        t |= NL_XLATE_DNAT;
    if (sport_changed)
        *sport_changed = oport != n->orig_port;
    if (dport_changed)
        *dport_changed = (uint8_t)dch;
    return t;
}

void corr_classify(nl_match *m)
{
    m->translation = corr_translation(m->near, m->far, m->flip,
                                      &m->sport_changed, &m->dport_changed);
}
