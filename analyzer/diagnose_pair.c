/* diagnose_pair.c - what two or more correlated captures show together.
 *
 *   - the answer went missing: a later capture saw the SYN-ACK, an earlier
 *     one (nearer the client) did not -> handshake_broken naming the two
 *     capture points it vanished between. When some capture shows why (the
 *     SYN-ACK left by another interface, or reached the client from another
 *     address), the single-capture rules name the same connection
 *     asymmetric_return, and the merge keeps that (with this evidence);
 *   - a flow seen near never reached the next capture while other
 *     connections to the same destination did -> never_arrived;
 *   - ISNs differ between two captures (nl_match.seq_offset) -> seq_rewritten
 *     with the offset, one finding per pair of captures.
 * Times in evidence are each capture's own clock.
 */
#define NATLENS_DIAGNOSE_INTERNAL
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/diagnose.h"
#include "natlens/flow_out.h"

static const char *cap_name(const nl_findings *fs, int cap)
{
    return diagnose_capture_name(fs, cap);
}

/* The first (nearest the client) capture where the connection of flow f at
 * capture cap was seen, walking matches toward the near side. */
static int walk_near(const nl_correlation *c, int cap, const nl_flow *f, const nl_flow **out)
{
    const nl_match *m;
    *out = f;
    while (cap > 0 && (m = correlate_match_for(c, cap, *out, 0)) != NULL) {
        *out = m->near;
        cap = m->near_cap;
    }
    return cap;
}

/* ---- the answer vanished between two capture points ---------------------- */

static void rule_answer_lost(nl_findings *fs, const nl_correlation *c, const nl_chain *ch)
{
    const nl_flow *cl = ch->flows[ch->first_cap];
    dg_hs h0, hk;
    int j = -1;
    if (!cl || cl->proto != DG_PROTO_TCP)
        return;
    diagnose_single_hs(cl, &h0);
    if (!h0.syn_seen || h0.completed || h0.synack_seen || h0.rst_resp || flow_icmp_errors(cl))
        return;
    for (int k = ch->first_cap + 1; k <= ch->last_cap; k++) {
        const nl_flow *f = ch->flows[k];
        if (!f)
            break;
        diagnose_single_hs(f, &hk);
        if (hk.synack_seen) {
            j = k;
            break;
        }
    }
    if (j < 0)
        return;
    const nl_flow *fj = ch->flows[j];
    char t[200], ep[80], sep[80];
    flow_out_tuple(cl, t, sizeof t, 1);
    diagnose_ep(&cl->resp_ip, cl->resp_port, ep, sizeof ep);
    diagnose_ep(&fj->resp_ip, fj->resp_port, sep, sizeof sep);
    dg_case *k = diagnose_case_new(fs, NL_FK_HANDSHAKE_BROKEN, NL_SEV_ERROR);
    k->rank = 20;
    for (int i = ch->first_cap; i <= ch->last_cap; i++)
        diagnose_case_flow(k, i, ch->flows[i]);
    snprintf(k->subject1, sizeof k->subject1, "The handshake %s", t);
    snprintf(k->subjectn, sizeof k->subjectn, "handshakes to %s", ep);
    snprintf(k->predicate, sizeof k->predicate,
             "broke: the server answered (SYN-ACK seen at %s) but the answer never reached %s: "
             "it was lost or routed elsewhere between those two capture points",
             cap_name(fs, j), cap_name(fs, j - 1));
    snprintf(k->group, sizeof k->group, "lostpair|%s|%d", ep, j);
    if (h0.syn)
        diagnose_case_ev(k, ch->first_cap, h0.syn->frame, h0.syn->ts_ns,
                         "SYN to %s seq=%" PRIu32, ep, h0.syn->seq);
    if (hk.syn)
        diagnose_case_ev(k, j, hk.syn->frame, hk.syn->ts_ns, "the SYN arrives (as %s)", sep);
    if (hk.synack)
        diagnose_case_ev(k, j, hk.synack->frame, hk.synack->ts_ns,
                         "SYN-ACK from %s leaves towards the client%s", sep,
                         hk.nsynack > 1 ? " (retransmitted)" : "");
    diagnose_case_ev(k, j - 1, 0, 0, "no SYN-ACK for it reaches %s%s", cap_name(fs, j - 1),
                     h0.nsyn > 1 ? "; the client keeps retrying its SYN" : "");
    {
        char buf[1024], cip[64];
        nl_addr_str(&fj->orig_ip, cip, sizeof cip); /* as the server sees the client */
        snprintf(buf, sizeof buf,
                 "the SYN-ACK leaves %s but does not reach %s: check the return route from the "
                 "server (%s) to %s and the devices between the two capture points; if the "
                 "server has another default gateway, replies take it (see asymmetric_return)",
                 cap_name(fs, j), cap_name(fs, j - 1), sep, cip);
        diagnose_case_fix(k, 8, strdup(buf));
    }
}

/* ---- a flow that never reached the next capture -------------------------- */

/* Destinations (per near capture) that matched flows reached the next
 * capture through: sorted, searched per unmatched flow. */
typedef struct dest_ent {
    int     cap;
    nl_addr ip;
} dest_ent;

static int dest_cmp(const void *a, const void *b)
{
    const dest_ent *x = a, *y = b;
    if (x->cap != y->cap)
        return x->cap - y->cap;
    return nl_addr_cmp(&x->ip, &y->ip);
}

static int dest_passes(const dest_ent *d, size_t n, int cap, const nl_addr *dst)
{
    dest_ent k;
    memset(&k, 0, sizeof k);
    k.cap = cap;
    k.ip = *dst;
    return d && bsearch(&k, d, n, sizeof *d, dest_cmp) != NULL;
}

static void rule_never_arrived(nl_findings *fs, const nl_correlation *c, const nl_unmatched *u,
                               const dest_ent *dests, size_t ndests)
{
    const nl_flow *f = u->flow, *cl;
    dg_hs h, h0;
    int first;
    if (u->reason != NL_UNM_NEVER_ARRIVED || u->other != u->capture + 1)
        return;
    if (f->proto != DG_PROTO_TCP && f->proto != DG_PROTO_UDP)
        return;
    first = walk_near(c, u->capture, f, &cl);
    if (f->proto == DG_PROTO_TCP) {
        diagnose_single_hs(f, &h);
        diagnose_single_hs(cl, &h0);
        if (!h.syn_seen || h.synack_seen || h0.completed || h0.synack_seen)
            return;
        /* a lone SYN near the end of a capture had no time to arrive */
        if (h.nsyn < 2 && (uint64_t)c->caps[u->capture].last_ns < f->last_ns + 3 * DG_NS)
            return;
    } else {
        if (cl->pkts[NL_RESP] > 0 || f->pkts[NL_RESP] > 0)
            return;
        memset(&h, 0, sizeof h);
        memset(&h0, 0, sizeof h0);
    }
    /* the next capture may simply not lie on this flow's path: only flows to
     * a destination others reached through it are missing */
    if (!dest_passes(dests, ndests, u->capture, &f->resp_ip))
        return;

    char t[200], ep[80], dip[64];
    const char *proto = f->proto == DG_PROTO_TCP ? "tcp" : "udp";
    flow_out_tuple(cl, t, sizeof t, 1);
    diagnose_ep(&f->resp_ip, f->resp_port, ep, sizeof ep);
    nl_addr_str(&f->resp_ip, dip, sizeof dip);
    dg_case *k = diagnose_case_new(fs, NL_FK_NEVER_ARRIVED,
                                   f->proto == DG_PROTO_TCP ? NL_SEV_ERROR : NL_SEV_WARNING);
    k->rank = 10;
    diagnose_case_flow(k, first, cl);
    diagnose_case_flow(k, u->capture, f);
    snprintf(k->subject1, sizeof k->subject1, "The %s %s",
             f->proto == DG_PROTO_TCP ? "connection" : "UDP flow", t);
    snprintf(k->subjectn, sizeof k->subjectn, "%s flows to %s", proto, ep);
    snprintf(k->predicate, sizeof k->predicate,
             "never reached %s: it was dropped between %s and %s, while other traffic to %s "
             "passed", cap_name(fs, u->other), cap_name(fs, u->capture), cap_name(fs, u->other),
             dip);
    snprintf(k->group, sizeof k->group, "na|%s|%d", ep, u->capture);
    if (f->proto == DG_PROTO_TCP && h.syn)
        diagnose_case_ev(k, u->capture, h.syn->frame, h.syn->ts_ns, "SYN to %s seq=%" PRIu32
                         "%s", ep, h.syn->seq, h.nsyn > 1 ? " (then retried)" : "");
    else
        diagnose_case_ev(k, u->capture, f->first_frame, f->first_ns, "%s to %s, %" PRIu64
                         " packets", proto, ep, f->pkts[NL_ORIG]);
    diagnose_case_ev(k, u->other, 0, 0, "none of its %" PRIu64 " packets appears in %s",
                     f->pkts[NL_ORIG], cap_name(fs, u->other));
    diagnose_case_fix(k, 10, diagnose_fix_lost_between(cap_name(fs, u->capture),
                                                       cap_name(fs, u->other), dip, proto,
                                                       f->resp_port));
}

/* ---- rewritten sequence numbers ------------------------------------------ */

/* Does f's direction d hold x among its SYNs' sequence numbers? A flow
 * that kept no records sent at most one SYN that way when it kept its
 * summary only (a retransmitted SYN keeps the records: flow_table.h), so
 * the first one is all of them; else the first is all that is known. */
static int syn_seq_has(const nl_flow *f, int d, uint32_t x)
{
    if (!f->recs)
        return f->sig[d].syn_isn == x;
    for (uint16_t j = 0; j < f->nrecs; j++) {
        const nl_pkt_rec *y = &f->recs[j];
        if (y->dir == d && (y->tcp_flags & NL_TH_SYN) && y->seq == x)
            return 1;
    }
    return 0;
}

/* Did flow a (direction da) send a SYN with a sequence number that flow b
 * (direction db) also sent? Then the "offset" only pairs two different
 * handshakes of one 5-tuple (a server answering each retried SYN anew), not
 * a rewrite. Without records on either side only the first SYNs are known;
 * with them on one side, its SYNs are checked against the other's. */
static int syn_seq_shared(const nl_flow *a, int da, const nl_flow *b, int db)
{
    if (!a->recs && !b->recs)
        return a->sig[da].syn_isn == b->sig[db].syn_isn;
    if (!a->recs)
        return syn_seq_has(b, db, a->sig[da].syn_isn);
    for (uint16_t i = 0; i < a->nrecs; i++) {
        const nl_pkt_rec *x = &a->recs[i];
        if (x->dir == da && (x->tcp_flags & NL_TH_SYN) && syn_seq_has(b, db, x->seq))
            return 1;
    }
    return 0;
}

/* The match's rewritten directions (bit per near direction). */
static unsigned seq_rewritten_dirs(const nl_match *m)
{
    unsigned bits = 0;
    if (!m->has_seq_offset || m->near->proto != DG_PROTO_TCP)
        return 0;
    for (int d = 0; d < 2; d++) {
        int fd = m->flip ? 1 - d : d;
        if (m->seq_offset[d] && m->near->sig[d].has_syn && m->far->sig[fd].has_syn &&
            !syn_seq_shared(m->near, d, m->far, fd))
            bits |= 1u << d;
    }
    return bits;
}

static void rule_seq(nl_findings *fs, const nl_correlation *c)
{
    for (size_t cp = 0; cp + 1 < c->ncaps; cp++) {
        dg_case *k = NULL;
        uint32_t n = 0, off0 = 0;
        int same = 1;
        for (size_t i = 0; i < c->nmatches; i++) {
            const nl_match *m = &c->matches[i];
            unsigned dirs;
            if (m->near_cap != (int)cp || !(dirs = seq_rewritten_dirs(m)))
                continue;
            n++;
            {
                uint32_t o = (dirs & 1u) ? m->seq_offset[NL_ORIG] : m->seq_offset[NL_RESP];
                if (n == 1)
                    off0 = o;
                else if (o != off0)
                    same = 0;
            }
            if (!k) {
                k = diagnose_case_new(fs, NL_FK_SEQ_REWRITTEN, NL_SEV_INFO);
                k->claims = 0;
                k->rank = 10;
                snprintf(k->group, sizeof k->group, "seq|%zu", cp);
            }
            diagnose_case_flow(k, m->near_cap, m->near);
            diagnose_case_flow(k, m->far_cap, m->far);
            for (int d = 0; d < 2; d++) {
                const nl_flow *nf = m->near;
                int fd = m->flip ? 1 - d : d;
                if (!(dirs & (1u << d)))
                    continue;
                char t[200];
                flow_out_tuple(nf, t, sizeof t, 1);
                diagnose_case_ev(k, m->far_cap, m->far->first_frame, m->far->first_ns,
                                 "%s: %s ISN %" PRIu32 " at %s is %" PRIu32
                                 " at %s (offset %+" PRId32 ", 0x%08" PRIx32 ")",
                                 t, d == NL_ORIG ? "client" : "server", nf->sig[d].syn_isn,
                                 cap_name(fs, m->near_cap), m->far->sig[fd].syn_isn,
                                 cap_name(fs, m->far_cap), (int32_t)m->seq_offset[d],
                                 m->seq_offset[d]);
            }
        }
        if (!k)
            continue;
        snprintf(k->subject1, sizeof k->subject1, "A device between %s and %s",
                 cap_name(fs, (int)cp), cap_name(fs, (int)cp + 1));
        snprintf(k->subjectn, sizeof k->subjectn, "devices between %s and %s",
                 cap_name(fs, (int)cp), cap_name(fs, (int)cp + 1));
        if (same)
            snprintf(k->predicate, sizeof k->predicate,
                     "rewrites TCP sequence numbers: offset %+" PRId32 " (0x%08" PRIx32 ") on %u "
                     "connection%s", (int32_t)off0, off0, n, n > 1 ? "s" : "");
        else
            snprintf(k->predicate, sizeof k->predicate,
                     "rewrites TCP sequence numbers with a different offset per connection (%u "
                     "connection%s; offsets in the evidence)", n, n > 1 ? "s" : "");
        diagnose_case_fix(k, 1, diagnose_fix_seq());
    }
}

void diagnose_pair_run(nl_findings *fs, const nl_correlation *c)
{
    if (!c || c->ncaps < 2)
        return;
    for (size_t i = 0; i < c->nchains; i++)
        rule_answer_lost(fs, c, &c->chains[i]);
    dest_ent *dests = c->nmatches ? malloc(c->nmatches * sizeof *dests) : NULL;
    size_t nd = 0;
    for (size_t i = 0; dests && i < c->nmatches; i++) {
        memset(&dests[nd], 0, sizeof dests[nd]);
        dests[nd].cap = c->matches[i].near_cap;
        dests[nd].ip = c->matches[i].near->resp_ip;
        nd++;
    }
    if (dests)
        qsort(dests, nd, sizeof *dests, dest_cmp);
    for (size_t i = 0; i < c->nunmatched; i++)
        rule_never_arrived(fs, c, &c->unmatched[i], dests, nd);
    free(dests);
    rule_seq(fs, c);
}
