/* correlate_chain.c - follow each connection through every capture, and
 * name the flows that have no twin.
 *
 * Each flow has at most one match toward the far side and one toward the
 * near side, so the matches form disjoint paths: a chain starts at a flow
 * not reached from nearer captures and follows far-side matches until one
 * is missing. A capture that saw both legs of a NAT (a firewall's `-i any`)
 * holds the connection twice: the near side matched one leg, the far side
 * the other, and the chain crosses over through the twin (alt). Only
 * chains with at least one match are listed (with two captures they repeat
 * the matches); lone flows are in `unmatched`.
 */
#include <stdlib.h>
#include <netinet/in.h>
#include <string.h>
#include "natlens/record.h"
#include "natlens/tunnel_out.h"
#include "correlate_int.h"

static int32_t twin_pos(const nl_correlation *c, size_t cap, size_t pos)
{
    int32_t t = c->twin_idx ? c->twin_idx[cap][pos] : -1;
    return t < 0 ? -1 : t / 2;
}

static int twin_flip(const nl_correlation *c, size_t cap, size_t pos)
{
    return c->twin_idx[cap][pos] & 1;
}

/* The responder answered this near flow (a SYN-ACK, or any reply of a
 * non-TCP flow): it reached some destination. Records are no such proof. */
static int answered(const nl_flow *f)
{
    if (f->proto == IPPROTO_TCP)
        return f->sig[NL_RESP].has_syn && f->pkts[NL_RESP] > 0;
    return f->pkts[NL_RESP] > 0 && f->pkts[NL_ORIG] > 0;
}

/* Follow one chain from (cap, pos). Returns 1 if it holds a match. */
static int chain_follow(nl_correlation *c, uint8_t **visited, size_t cap,
                        size_t pos, nl_chain *ch)
{
    size_t nc = c->ncaps;
    ch->first_cap = (int)cap;
    ch->flows[cap] = c->caps[cap].flows[pos];
    visited[cap][pos] = 1;
    for (;;) {
        int32_t t = twin_pos(c, cap, pos);
        int32_t k = c->fwd_idx[cap][pos];
        int via = 0;
        if (t >= 0 && !visited[cap][t]) {
            ch->alt[cap] = c->caps[cap].flows[t];
            visited[cap][t] = 1;
            if (k < 0 && c->fwd_idx[cap][t] >= 0) {
                k = c->fwd_idx[cap][t];
                via = 1;
            }
        }
        if (cap + 1 >= nc)
            break;
        nl_hop *h = &ch->hops[ch->nhops++];
        h->from = (int)cap;
        h->to = (int)cap + 1;
        if (k < 0) {          /* it vanished between cap and cap + 1 */
            h->present = 0;
            h->lost_packets = ch->flows[cap]->pkts[NL_ORIG];
            h->answered = (uint8_t)answered(ch->alt[cap] ? ch->alt[cap] : ch->flows[cap]);
            break;
        }
        const nl_match *m = &c->matches[k];
        h->present = 1;
        h->match = m;
        h->via_alt = (uint8_t)via;
        h->lost_packets = m->lost[0] + m->lost[1];
        h->translation = via ? corr_translation(ch->flows[cap], m->far,
                                                twin_flip(c, cap, pos) ^ m->flip,
                                                NULL, NULL)
                             : m->translation;
        cap++;
        pos = m->far_pos;
        ch->flows[cap] = m->far;
        visited[cap][pos] = 1;
    }
    ch->last_cap = (int)cap;
    /* a lone flow (and its twin) is not a chain */
    return ch->nhops > 0 && ch->hops[0].present;
}

int corr_chains_build(nl_correlation *c)
{
    size_t nc = c->ncaps, cap_chains = c->nmatches;
    c->nchains = 0;
    if (cap_chains == 0)
        return 0;
    uint8_t **visited = calloc(nc, sizeof *visited);
    c->chains = calloc(cap_chains, sizeof *c->chains);
    const nl_flow **fl = calloc(cap_chains * nc, sizeof *fl);
    const nl_flow **alt = calloc(cap_chains * nc, sizeof *alt);
    nl_hop *hops = calloc(cap_chains * (nc - 1), sizeof *hops);
    int rc = -1;
    if (!visited || !c->chains || !fl || !alt || !hops)
        goto fail;
    for (size_t i = 0; i < nc; i++)
        if (!(visited[i] = calloc(c->caps[i].nflows + 1, 1)))
            goto fail;
    for (size_t i = 0; i + 1 < nc; i++) {
        for (size_t p = 0; p < c->caps[i].nflows; p++) {
            if (visited[i][p] || c->nchains == cap_chains)
                continue;
            int32_t t = twin_pos(c, i, p);
            if (c->fwd_idx[i][p] < 0 && (t < 0 || c->fwd_idx[i][t] < 0))
                continue;
            nl_chain *ch = &c->chains[c->nchains];
            ch->flows = fl + c->nchains * nc;
            ch->alt = alt + c->nchains * nc;
            ch->hops = hops + c->nchains * (nc - 1);
            if (chain_follow(c, visited, i, p, ch)) {
                c->nchains++;
            } else {          /* reuse the slot */
                memset(ch->flows, 0, nc * sizeof *ch->flows);
                memset(ch->alt, 0, nc * sizeof *ch->alt);
                memset(ch->hops, 0, (nc - 1) * sizeof *ch->hops);
                ch->nhops = 0;
            }
        }
    }
    rc = 0;
fail:
    if (visited)
        for (size_t i = 0; i < nc; i++)
            free(visited[i]);
    free(visited);
    if (rc < 0 || c->nchains == 0) {
        free(fl);
        free(alt);
        free(hops);
        free(c->chains);
        c->chains = NULL;
        c->nchains = 0;
    }
    return rc;
}

/* Does flow f (capture cap) lie wholly outside capture other's span? */
static int outside_window(const nl_correlation *c, int cap, int other,
                          const nl_flow *f)
{
    const nl_corr_input *o = &c->caps[other];
    int lo = cap < other ? cap : other;
    if (!c->offsets[lo].known || o->first_ns == 0 || o->last_ns == 0)
        return 0;
    /* the other capture's span in this capture's clock */
    double off = correlate_offset_s(c, cap, other) * 1e9;
    double a = (double)o->first_ns - off, b = (double)o->last_ns - off;
    return (double)f->last_ns < a || (double)f->first_ns > b;
}

/* Unrelated captures (or ones that share nothing pairable): "never
 * arrived" or "answered elsewhere" would claim what nothing supports. */
static int no_clock(const nl_correlation *c, int cap, int other)
{
    return c->offsets[cap < other ? cap : other].basis == NL_CLOCK_NONE;
}

static int unm_push(nl_correlation *c, size_t *cap, int capture, int other,
                    const nl_flow *f, uint8_t reason)
{
    if (c->nunmatched == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        nl_unmatched *nv = realloc(c->unmatched, ncap * sizeof *nv);
        if (!nv)
            return -1;
        c->unmatched = nv;
        *cap = ncap;
    }
    nl_unmatched *u = &c->unmatched[c->nunmatched++];
    u->capture = capture;
    u->other = other;
    u->flow = f;
    u->reason = reason;
    return 0;
}

/* Protocol classes a capture point holds flows of (bits of proto_bit()). */
static unsigned proto_bit(uint8_t proto)
{
    return proto == IPPROTO_TCP ? 1u : proto == IPPROTO_UDP ? 2u
         : proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6 ? 4u : 8u;
}

/* A record file that holds not one flow of f's protocol class did not
 * log that protocol: f's absence there is no evidence of anything. */
static int not_logged(const nl_correlation *c, const unsigned *protos, int other,
                      const nl_flow *f)
{
    return c->caps[other].trace && c->caps[other].trace->is_record &&
           !(protos[other] & proto_bit(f->proto));
}

int corr_unmatched_build(nl_correlation *c)
{
    size_t cap = 0;
    unsigned *protos = calloc(c->ncaps ? c->ncaps : 1, sizeof *protos);
    if (!protos)
        return -1;
    for (size_t i = 0; i < c->ncaps; i++)
        for (size_t p = 0; p < c->caps[i].nflows; p++)
            protos[i] |= proto_bit(c->caps[i].flows[p]->proto);
    c->nunmatched = 0;
    for (size_t i = 0; i < c->ncaps; i++) {
        for (size_t p = 0; p < c->caps[i].nflows; p++) {
            const nl_flow *f = c->caps[i].flows[p];
            int ci = (int)i;
            /* a later piece of a connection is where its first one is */
            if (c->piece_head && c->piece_head[i][p] != (int32_t)p)
                continue;
            /* the kernel's events a capture carries describe connections
             * its packets show: they never pair, so they are not lone */
            if (c->caps[i].trace && !c->caps[i].trace->is_record &&
                record_info_of(c->caps[i].trace, f))
                continue;
            if (correlate_is_link_control(f))
                continue;           /* presenters list it apart */
            /* a UDP flow that carries a tunnel is the underlay's transport
             * of the connections inside it, which pair on their own */
            if (c->caps[i].trace && c->caps[i].trace->tunnels &&
                tunnel_out_carrier(c->caps[i].trace->tunnels, f) != NL_TUN_NONE)
                continue;
            int32_t t = twin_pos(c, i, p);
            /* a leg whose twin crossed is not lost */
            if (i + 1 < c->ncaps && c->fwd_idx[i][p] < 0 &&
                (t < 0 || c->fwd_idx[i][t] < 0)) {
                uint8_t r = not_logged(c, protos, ci + 1, f) ? NL_UNM_NOT_LOGGED
                            : no_clock(c, ci, ci + 1) ? NL_UNM_NO_CLOCK
                            : outside_window(c, ci, ci + 1, f) ? NL_UNM_OUTSIDE_WINDOW
                            : answered(f) ? NL_UNM_ANSWERED_ELSEWHERE : NL_UNM_NEVER_ARRIVED;
                if (unm_push(c, &cap, ci, ci + 1, f, r) < 0)
                    goto oom;
            }
            if (i > 0 && c->back_idx[i][p] < 0 &&
                (t < 0 || c->back_idx[i][t] < 0)) {
                uint8_t r = not_logged(c, protos, ci - 1, f) ? NL_UNM_NOT_LOGGED
                            : no_clock(c, ci, ci - 1) ? NL_UNM_NO_CLOCK
                            : outside_window(c, ci, ci - 1, f) ? NL_UNM_OUTSIDE_WINDOW
                            : NL_UNM_FROM_ELSEWHERE;
                if (unm_push(c, &cap, ci, ci - 1, f, r) < 0)
                    goto oom;
            }
        }
    }
    free(protos);
    return 0;
oom:
    free(protos);
    return -1;
}
