/* diagnose_single.c - what one capture alone shows about broken handshakes.
 *
 * Rules, per TCP flow whose originator sent a SYN (flows without a SYN
 * began before the capture and are never judged):
 *   - completed (the originator acknowledged after its SYN): fine, nothing;
 *   - the SYN and its SYN-ACK took different ways through this capture
 *     point: different interfaces (SLL/SLL2 ifindex, pcapng interface) or
 *     different next hops (Ethernet: the SYN's source MAC is not the
 *     SYN-ACK's destination MAC) -> asymmetric_return (server side);
 *   - a SYN to A:p "answered" by a SYN-ACK from B:p in a different flow,
 *     recognised by the client port and ack == SYN seq + 1
 *     -> asymmetric_return (client side: the reply bypassed the device
 *     that translated the request);
 *   - a SYN-ACK sent without any SYN coming in here (while the capture was
 *     running) -> asymmetric_return (the request came another way);
 *   - the SYN answered by RST -> rejected; by an ICMP error quoting it
 *     -> icmp_unreachable (UDP flows with no reply too);
 *   - SYN retransmissions and no answer, or a SYN-ACK never acknowledged
 *     -> handshake_broken, with the retry times as seen (Linux may retry
 *     at 1 s intervals, older stacks double: nothing is assumed).
 * A flow whose only SYN lies in the last 3 s of the capture and saw no
 * retry had no time to fail and is not judged.
 */
#define NATLENS_DIAGNOSE_INTERNAL
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/diagnose.h"
#include "natlens/flow_out.h"
#include "natlens/hostmeta.h"

#define NS 1000000000ull
#define DG_PROTO_TCP 6
#define DG_PROTO_UDP 17
#define DG_PROTO_ICMP 1
#define DG_PROTO_ICMP6 58
#define DG_GRACE_NS (3 * NS)       /* a lone SYN this close to the end: not judged */
#define DG_STRAY_WINDOW_NS (120 * NS)


static int has_letter(const nl_flow *f, char c)
{
    return strchr(f->history, c) != NULL;
}

static void ifset_add(uint64_t *set, int32_t ifx)
{
    if (ifx >= 0 && ifx < 64)
        *set |= 1ull << ifx;
}

void diagnose_single_hs(const nl_flow *f, dg_hs *h)
{
    memset(h, 0, sizeof *h);
    h->has_recs = f->recs && f->nrecs > 0;
    if (!h->has_recs) {
        /* summary only: Zeek history letters and signatures */
        h->syn_seen = has_letter(f, 'S');
        h->synack_seen = has_letter(f, 'h') || (f->sig[NL_RESP].has_syn && has_letter(f, 'S'));
        h->completed = h->syn_seen && (has_letter(f, 'A') || has_letter(f, 'D') ||
                                       has_letter(f, 'F'));
        h->nsyn = f->sig[NL_ORIG].syn_count;
        h->nsynack = f->sig[NL_RESP].syn_count;
        h->isn = f->sig[NL_ORIG].syn_isn;
        h->syn_first_ns = f->sig[NL_ORIG].first_ns;
        if (f->ifindex[NL_ORIG] >= 0 && f->ifindex[NL_RESP] >= 0) {
            ifset_add(&h->syn_if, f->ifindex[NL_ORIG]);
            ifset_add(&h->synack_if, f->ifindex[NL_RESP]);
        }
        return;
    }
    for (uint16_t i = 0; i < f->nrecs; i++) {
        const nl_pkt_rec *r = &f->recs[i];
        uint8_t fl = r->tcp_flags;
        if (r->dir == NL_ORIG && (fl & NL_TH_SYN) && !(fl & NL_TH_ACK)) {
            if (!h->syn) {
                h->syn = r;
                h->isn = r->seq;
                h->syn_first_ns = r->ts_ns;
            }
            h->syn_seen = 1;
            h->nsyn++;
            /* one SYN seen at two interfaces of a router (in and out) is
             * one transmission: keep distinct times only */
            if (h->nsyn_ts < DG_MAX_RETRY &&
                (h->nsyn_ts == 0 || r->ts_ns - h->syn_ts[h->nsyn_ts - 1] > NS / 20)) {
                h->syn_ts[h->nsyn_ts] = r->ts_ns;
                h->syn_frame[h->nsyn_ts] = r->frame;
                h->nsyn_ts++;
            }
            ifset_add(&h->syn_if, r->ifindex);
            if (r->pkttype == NL_DIR_OUTGOING)
                ifset_add(&h->syn_out_if, r->ifindex);
            else if (r->pkttype != NL_DIR_UNKNOWN)
                ifset_add(&h->syn_in_if, r->ifindex);
        } else if (r->dir == NL_RESP && (fl & NL_TH_SYN) && (fl & NL_TH_ACK)) {
            if (!h->synack)
                h->synack = r;
            h->synack_last = r;
            h->synack_seen = 1;
            h->nsynack++;
            ifset_add(&h->synack_if, r->ifindex);
            if (r->pkttype == NL_DIR_OUTGOING)
                ifset_add(&h->synack_out_if, r->ifindex);
            else if (r->pkttype != NL_DIR_UNKNOWN)
                ifset_add(&h->synack_in_if, r->ifindex);
        } else if (fl & NL_TH_RST) {
            if (r->dir == NL_RESP && !h->rst_resp)
                h->rst_resp = r;
            if (r->dir == NL_ORIG && !h->rst_orig)
                h->rst_orig = r;
        } else if (r->dir == NL_ORIG && (fl & NL_TH_ACK) && !(fl & NL_TH_SYN)) {
            /* an ACK from the client: the handshake completed (through
             * this point, or - without a SYN here - elsewhere) */
            if (!h->ack_orig)
                h->ack_orig = r;
            if (h->syn_seen)
                h->completed = 1;
        }
    }
    /* more SYNs than records could hold */
    if (f->sig[NL_ORIG].syn_count > h->nsyn && h->syn_seen)
        h->nsyn = f->sig[NL_ORIG].syn_count;
}

static const char *proto_word(uint8_t p)
{
    return p == DG_PROTO_TCP ? "tcp" : p == DG_PROTO_UDP ? "udp" : "ip";
}

/* "+1.0 s, +2.0 s, +3.0 s" from syn_ts[1..] relative to syn_ts[0]. */
static void retry_list(const dg_hs *h, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (unsigned i = 1; i < h->nsyn_ts && o + 16 < len; i++) {
        double d = (double)(h->syn_ts[i] - h->syn_ts[0]) / 1e9;
        o += (size_t)snprintf(buf + o, len - o, "%s+%.*f s", i > 1 ? ", " : "",
                              d < 10 ? 1 : 0, d);
    }
}

static void tuple(const nl_flow *f, char *buf, size_t len)
{
    flow_out_tuple(f, buf, len, 1);
}

/* Interface words: "eth1 (ifindex 3)" with host metadata, else "ifindex 3". */
static void if_words(const dg_ctx *cx, int ifx, char *buf, size_t len, char *name, size_t nlen)
{
    name[0] = '\0';
    if (cx->hostmeta && hostmeta_ifname(cx->hostmeta, ifx, name, nlen) == 0 && name[0])
        snprintf(buf, len, "%s (ifindex %d)", name, ifx);
    else
        snprintf(buf, len, "interface %d", ifx);
}

static int lowest_bit(uint64_t s)
{
    for (int i = 0; i < 64; i++)
        if (s & (1ull << i))
            return i;
    return -1;
}

static void ev_syn_retries(dg_case *k, const dg_ctx *cx, const nl_flow *f, const dg_hs *h)
{
    char rl[256];
    if (h->nsyn_ts < 2)
        return;
    retry_list(h, rl, sizeof rl);
    diagnose_case_ev(k, cx->cap, h->syn_frame[h->nsyn_ts - 1], h->syn_ts[h->nsyn_ts - 1],
                     "SYN retried at %s (%u SYNs in all)", rl, h->nsyn);
}

static void ev_syn(dg_case *k, const dg_ctx *cx, const nl_flow *f, const dg_hs *h)
{
    char ep[80];
    diagnose_ep(&f->resp_ip, f->resp_port, ep, sizeof ep);
    if (h->syn)
        diagnose_case_ev(k, cx->cap, h->syn->frame, h->syn->ts_ns, "SYN to %s seq=%" PRIu32,
                         ep, h->syn->seq);
    else
        diagnose_case_ev(k, cx->cap, f->first_frame, f->first_ns, "SYN to %s (%u SYNs)", ep,
                         h->nsyn);
}

/* ---- server side: the SYN and its SYN-ACK took different ways ---------- */

/* How a SYN and its SYN-ACK differ in the way they passed this point. */
typedef struct dg_path {
    char    how;               /* 'i' in/out interface, 'r' router interfaces,
                                  's' interface sets, 'm' next hops (MAC),
                                  'b' next hops seen from the client side */
    int     in_if, out_if;
    uint8_t in_mac[6], out_mac[6];
} dg_path;

/* Signatures of asymmetries that completed handshakes show too (a mirror
 * port, a synthetic file, a bridge): what working connections do is how
 * this capture point looks, not a fault. */
#define DG_MAX_NORMAL 32
typedef struct dg_normal {
    dg_path p[DG_MAX_NORMAL];
    size_t  n;
} dg_normal;

static int path_detect(const dg_hs *h, dg_path *p)
{
    static const uint8_t zero[6];
    memset(p, 0, sizeof *p);
    p->in_if = p->out_if = -1;
    if (!h->syn_seen || !h->synack_seen)
        return 0;
    /* interfaces: compare where the request came in with where the reply
     * went out (and, on a router, where the request went out with where
     * the reply came in); without packet types, the sets of interfaces */
    if (h->syn_in_if && h->synack_out_if && !(h->syn_in_if & h->synack_out_if)) {
        p->in_if = lowest_bit(h->syn_in_if);
        p->out_if = lowest_bit(h->synack_out_if);
        p->how = 'i';
    } else if (h->syn_out_if && h->synack_in_if && !(h->syn_out_if & h->synack_in_if)) {
        p->in_if = lowest_bit(h->synack_in_if);
        p->out_if = lowest_bit(h->syn_out_if);
        p->how = 'r';
    } else if (!h->syn_in_if && !h->syn_out_if && h->syn_if && h->synack_if &&
               !(h->syn_if & h->synack_if)) {
        p->in_if = lowest_bit(h->syn_if);
        p->out_if = lowest_bit(h->synack_if);
        p->how = 's';
    } else if (h->syn && h->synack && h->syn->pkttype == NL_DIR_UNKNOWN) {
        /* Ethernet: next hop that delivered the SYN vs next hop the SYN-ACK
         * was handed to; and next hop the SYN went to vs where the SYN-ACK
         * came from (the same test seen from the client's side) */
        if (memcmp(h->syn->src_mac, zero, 6) && memcmp(h->synack->dst_mac, zero, 6) &&
            memcmp(h->syn->src_mac, h->synack->dst_mac, 6)) {
            memcpy(p->in_mac, h->syn->src_mac, 6);
            memcpy(p->out_mac, h->synack->dst_mac, 6);
            p->how = 'm';
        } else if (memcmp(h->syn->dst_mac, zero, 6) && memcmp(h->synack->src_mac, zero, 6) &&
                   memcmp(h->syn->dst_mac, h->synack->src_mac, 6)) {
            memcpy(p->in_mac, h->syn->dst_mac, 6);
            memcpy(p->out_mac, h->synack->src_mac, 6);
            p->how = 'b';
        }
    }
    return p->how != 0;
}

static int path_is_normal(const dg_normal *nm, const dg_path *p)
{
    for (size_t i = 0; nm && i < nm->n; i++) {
        const dg_path *q = &nm->p[i];
        if (q->how == p->how && q->in_if == p->in_if && q->out_if == p->out_if &&
            !memcmp(q->in_mac, p->in_mac, 6) && !memcmp(q->out_mac, p->out_mac, 6))
            return 1;
    }
    return 0;
}

static void path_learn(dg_normal *nm, const nl_flow *f, const dg_hs *h)
{
    dg_path p;
    if (h->completed && path_detect(h, &p) && !path_is_normal(nm, &p) && nm->n < DG_MAX_NORMAL)
        nm->p[nm->n++] = p;
}

static int rule_path(const dg_ctx *cx, const nl_flow *f, const dg_hs *h, const dg_normal *nm)
{
    char t[200], ep[80], a[96], b[96], an[64], bn[64], ip[64];
    const char *how = NULL;
    int in_if = -1, out_if = -1;
    char in_mac[20] = "", out_mac[20] = "";
    dg_path p;

    if (!path_detect(h, &p) || path_is_normal(nm, &p))
        return 0;
    in_if = p.in_if;
    out_if = p.out_if;
    diagnose_mac(p.in_mac, in_mac, sizeof in_mac);
    diagnose_mac(p.out_mac, out_mac, sizeof out_mac);
    switch (p.how) {
    case 'i': how = "in"; break;
    case 'r': how = "router"; break;
    case 's': how = "seen"; break;
    case 'm': how = "mac"; break;
    default: how = "macback"; break;
    }
    if (!how)
        return 0;

    tuple(f, t, sizeof t);
    diagnose_ep(&f->resp_ip, f->resp_port, ep, sizeof ep);
    nl_addr_str(&f->resp_ip, ip, sizeof ip);
    dg_case *k = diagnose_case_new(cx->fs, NL_FK_ASYMMETRIC_RETURN, NL_SEV_ERROR);
    k->rank = 20;
    diagnose_case_flow(k, cx->cap, f);
    snprintf(k->subject1, sizeof k->subject1, "The handshake %s", t);
    snprintf(k->subjectn, sizeof k->subjectn, "handshakes to %s", ep);
    if (how[0] == 'm') {
        if (how[3] == '\0') {
            snprintf(k->predicate, sizeof k->predicate,
                     "broke: the SYN came in from next hop %s but the SYN-ACK was sent to next "
                     "hop %s, so the reply does not go back the way the request came "
                     "(\"source in, source out\" is violated)", in_mac, out_mac);
            snprintf(k->group, sizeof k->group, "mac|%s|%s|%s", ep, in_mac, out_mac);
            snprintf(k->why, sizeof k->why, "%s shows the SYN arriving from next hop %s and "
                     "the SYN-ACK sent to %s", cx->name, in_mac, out_mac);
            k->why_own = 1;
            if (h->syn)
                diagnose_case_ev(k, cx->cap, h->syn->frame, h->syn->ts_ns,
                                 "SYN to %s arrives from next hop %s", ep, in_mac);
            diagnose_case_ev(k, cx->cap, h->synack->frame, h->synack->ts_ns,
                             "SYN-ACK from %s leaves to next hop %s, not %s", ep, out_mac, in_mac);
            diagnose_case_fix(k, 10, diagnose_fix_source_routing(cx->hostmeta, ip, NULL, -1,
                                                                 in_mac, NULL));
        } else {
            snprintf(k->predicate, sizeof k->predicate,
                     "broke: the SYN was sent to next hop %s but the SYN-ACK came back from "
                     "next hop %s: the reply returned by another path than the request took",
                     in_mac, out_mac);
            snprintf(k->group, sizeof k->group, "macback|%s|%s|%s", ep, in_mac, out_mac);
            if (h->syn)
                diagnose_case_ev(k, cx->cap, h->syn->frame, h->syn->ts_ns,
                                 "SYN to %s sent to next hop %s", ep, in_mac);
            diagnose_case_ev(k, cx->cap, h->synack->frame, h->synack->ts_ns,
                             "SYN-ACK from %s arrives from next hop %s, not %s", ep, out_mac,
                             in_mac);
            diagnose_case_fix(k, 5, diagnose_fix_source_routing(NULL, ip, NULL, -1, in_mac,
                                                                "on the server"));
        }
    } else {
        if_words(cx, in_if, a, sizeof a, an, sizeof an);
        if_words(cx, out_if, b, sizeof b, bn, sizeof bn);
        if (how[0] == 'r') {
            snprintf(k->predicate, sizeof k->predicate,
                     "broke: the SYN left by %s but the SYN-ACK came back in on %s: the reply "
                     "returned by another path than the request took", b, a);
            snprintf(k->group, sizeof k->group, "rif|%s|%d|%d", ep, in_if, out_if);
        } else {
            snprintf(k->predicate, sizeof k->predicate,
                     "broke: the SYN came in on %s but the SYN-ACK left by %s, so the reply does "
                     "not go back the way the request came (\"source in, source out\" is "
                     "violated)", a, b);
            snprintf(k->group, sizeof k->group, "if|%s|%d|%d", ep, in_if, out_if);
            snprintf(k->why, sizeof k->why, "%s shows the SYN coming in on %s and the SYN-ACK "
                     "leaving by %s", cx->name, a, b);
            k->why_own = 1;
        }
        if (h->syn)
            diagnose_case_ev(k, cx->cap, h->syn->frame, h->syn->ts_ns, "SYN to %s %s %s", ep,
                             how[0] == 'r' ? "leaves by" : "comes in on",
                             how[0] == 'r' ? b : a);
        if (h->synack)
            diagnose_case_ev(k, cx->cap, h->synack->frame, h->synack->ts_ns,
                             "SYN-ACK from %s %s %s", ep,
                             how[0] == 'r' ? "comes back in on" : "leaves by",
                             how[0] == 'r' ? a : b);
        if (how[0] != 'r') {
            /* SLL/SLL2 give the sender's MAC of incoming frames: the next
             * hop that delivered the SYN */
            if (h->syn && h->syn->pkttype != NL_DIR_OUTGOING)
                diagnose_mac(h->syn->src_mac, in_mac, sizeof in_mac);
            diagnose_case_fix(k, an[0] ? 30 : 25,
                              diagnose_fix_source_routing(cx->hostmeta, ip, an[0] ? an : NULL,
                                                          in_if, in_mac, NULL));
        }
    }
    if (h->rst_orig)
        diagnose_case_ev(k, cx->cap, h->rst_orig->frame, h->rst_orig->ts_ns,
                         "the client resets the connection (it did not accept the SYN-ACK)");
    else if (h->nsynack > 1)
        diagnose_case_ev(k, cx->cap, 0, 0, "SYN-ACK sent %u times, never acknowledged",
                         h->nsynack);
    ev_syn_retries(k, cx, f, h);
    return 1;
}

/* ---- client side: a SYN to A:p answered from B -------------------------- */

typedef struct dg_req {          /* a SYN without a SYN-ACK in its own flow */
    const nl_flow *f;
    uint32_t want_ack;           /* ISN + 1 */
} dg_req;

static int req_cmp(const void *a, const void *b)
{
    const dg_req *x = a, *y = b;
    if (x->f->orig_port != y->f->orig_port)
        return x->f->orig_port < y->f->orig_port ? -1 : 1;
    if (x->want_ack != y->want_ack)
        return x->want_ack < y->want_ack ? -1 : 1;
    return x->f->first_ns < y->f->first_ns ? -1 : x->f->first_ns > y->f->first_ns;
}

/* The responder's ack in a flow's first SYN-ACK; 0 with *ok = 0 if none. */
static uint32_t synack_ack(const nl_flow *f, const nl_pkt_rec **rec, int *ok)
{
    *ok = 0;
    *rec = NULL;
    for (uint16_t i = 0; f->recs && i < f->nrecs; i++) {
        const nl_pkt_rec *r = &f->recs[i];
        if (r->dir == NL_RESP && (r->tcp_flags & (NL_TH_SYN | NL_TH_ACK)) ==
                                     (NL_TH_SYN | NL_TH_ACK)) {
            *ok = 1;
            *rec = r;
            return r->ack;
        }
    }
    if (!f->recs && f->sig[NL_RESP].has_syn && f->ep[NL_ORIG].ack_seq) {
        /* summary only: the Zeek endpoint state starts the originator's
         * sequence space at what the SYN-ACK acknowledged */
        *ok = 1;
        return f->ep[NL_ORIG].ack_seq;
    }
    return 0;
}

/* A flow that is only an answer: a SYN-ACK, no SYN from the originator. */
static int is_lone_synack(const nl_flow *f, const dg_hs *h)
{
    return f->proto == DG_PROTO_TCP && h->synack_seen && !h->syn_seen;
}

static void rule_stray(const dg_ctx *cx, uint8_t *claimed)
{
    dg_req *rq = NULL;
    size_t nr = 0;
    if (!cx->nflows)
        return;
    rq = malloc(cx->nflows * sizeof *rq);
    if (!rq)
        return;
    for (size_t i = 0; i < cx->nflows; i++) {
        const nl_flow *f = cx->flows[i];
        dg_hs h;
        if (f->proto != DG_PROTO_TCP)
            continue;
        diagnose_single_hs(f, &h);
        if (h.syn_seen && !h.completed) {
            rq[nr].f = f;
            rq[nr].want_ack = h.isn + 1;
            nr++;
        }
    }
    qsort(rq, nr, sizeof *rq, req_cmp);
    for (size_t i = 0; i < cx->nflows; i++) {
        const nl_flow *s = cx->flows[i];
        const nl_pkt_rec *sa;
        dg_hs h;
        int ok;
        if (s->proto != DG_PROTO_TCP)
            continue;
        diagnose_single_hs(s, &h);
        if (!is_lone_synack(s, &h))
            continue;
        uint32_t ack = synack_ack(s, &sa, &ok);
        if (!ok)
            continue;
        /* binary search for (client port, ack) */
        size_t lo = 0, hi = nr;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            const dg_req *m = &rq[mid];
            if (m->f->orig_port < s->orig_port ||
                (m->f->orig_port == s->orig_port && m->want_ack < ack))
                lo = mid + 1;
            else
                hi = mid;
        }
        const nl_flow *req = NULL;
        for (size_t j = lo; j < nr && rq[j].f->orig_port == s->orig_port &&
                            rq[j].want_ack == ack; j++) {
            const nl_flow *q = rq[j].f;
            if (nl_addr_cmp(&q->orig_ip, &s->orig_ip))
                continue;
            if (!nl_addr_cmp(&q->resp_ip, &s->resp_ip) && q->resp_port == s->resp_port)
                continue;
            if (s->first_ns + NS < q->first_ns || s->first_ns > q->last_ns + DG_STRAY_WINDOW_NS)
                continue;
            req = q;
            break;
        }
        if (!req)
            continue;
        claimed[i] = 1;

        char t[200], want[80], got[80], gotip[64], port[16];
        dg_hs rh;
        diagnose_single_hs(req, &rh);
        tuple(req, t, sizeof t);
        diagnose_ep(&req->resp_ip, req->resp_port, want, sizeof want);
        diagnose_ep(&s->resp_ip, s->resp_port, got, sizeof got);
        nl_addr_str(&s->resp_ip, gotip, sizeof gotip);
        snprintf(port, sizeof port, "%u", s->resp_port);
        dg_case *k = diagnose_case_new(cx->fs, NL_FK_ASYMMETRIC_RETURN, NL_SEV_ERROR);
        k->rank = 30;
        diagnose_case_flow(k, cx->cap, req);
        diagnose_case_flow(k, cx->cap, s);
        snprintf(k->subject1, sizeof k->subject1, "The handshake %s", t);
        snprintf(k->subjectn, sizeof k->subjectn, "handshakes to %s", want);
        snprintf(k->predicate, sizeof k->predicate,
                 "broke: the server answered from %s, bypassing the device that translated "
                 "the request", gotip);
        snprintf(k->group, sizeof k->group, "bypass|%s|%s", want, gotip);
        ev_syn(k, cx, req, &rh);
        if (sa)
            diagnose_case_ev(k, cx->cap, sa->frame, sa->ts_ns,
                             "SYN-ACK from %s, expected from %s (ack=%" PRIu32
                             " = SYN seq+1: it answers that SYN)", got, want, sa->ack);
        else
            diagnose_case_ev(k, cx->cap, s->first_frame, s->first_ns,
                             "SYN-ACK from %s, expected from %s (it acknowledges that SYN)",
                             got, want);
        if (h.rst_orig)
            diagnose_case_ev(k, cx->cap, h.rst_orig->frame, h.rst_orig->ts_ns,
                             "client resets it: %s is not the address it called", got);
        ev_syn_retries(k, cx, req, &rh);
        diagnose_case_fix(k, 20, diagnose_fix_bypass(gotip, want, "tcp", s->resp_port));
    }
    free(rq);
}

/* A SYN-ACK leaving (or arriving) with no SYN through this point while the
 * capture ran: the request took another way. Weaker than the rules above:
 * a spoofed SYN's victim answers the same way (backscatter). */
static void rule_lone_synack(const dg_ctx *cx, const nl_flow *f, const dg_hs *h)
{
    char ep[80], cl[80];
    const nl_pkt_rec *sa = h->synack_last ? h->synack_last : h->synack;
    uint64_t t0 = sa ? sa->ts_ns : f->first_ns;
    /* the capture must have been running a while before the answer: the
     * first packet of a file cannot prove that no SYN came before it */
    if (t0 < cx->first_ns + NS || h->completed || h->ack_orig ||
        (!h->has_recs && (has_letter(f, 'A') || has_letter(f, 'D'))))
        return;
    /* one SYN-ACK and silence is too little (a lost packet of the capture
     * itself); the answer must be repeated or refused */
    if (h->nsynack < 2 && !h->rst_orig && !(!h->has_recs && has_letter(f, 'R')))
        return;
    diagnose_ep(&f->resp_ip, f->resp_port, ep, sizeof ep);
    diagnose_ep(&f->orig_ip, f->orig_port, cl, sizeof cl);
    dg_case *k = diagnose_case_new(cx->fs, NL_FK_ASYMMETRIC_RETURN, NL_SEV_WARNING);
    k->rank = 5;
    diagnose_case_flow(k, cx->cap, f);
    snprintf(k->subject1, sizeof k->subject1, "A SYN-ACK from %s to %s", ep, cl);
    snprintf(k->subjectn, sizeof k->subjectn, "SYN-ACKs from %s", ep);
    snprintf(k->predicate, sizeof k->predicate,
             "passed %s although the SYN it answers never did: the request came in by another "
             "path (asymmetric routing), or the SYN was spoofed", cx->name);
    snprintf(k->group, sizeof k->group, "lone|%s", ep);
    if (sa && sa->pkttype == NL_DIR_OUTGOING)
        k->sev = NL_SEV_ERROR; /* this host sent it: it did receive the SYN, elsewhere */
    diagnose_case_ev(k, cx->cap, sa ? sa->frame : f->first_frame, t0,
                     "SYN-ACK from %s to %s; no SYN for it since the capture began %.1f s earlier",
                     ep, cl, (double)(t0 - cx->first_ns) / 1e9);
    if (h->rst_orig)
        diagnose_case_ev(k, cx->cap, h->rst_orig->frame, h->rst_orig->ts_ns,
                         "%s resets it", cl);
    if (h->nsynack > 1)
        diagnose_case_ev(k, cx->cap, 0, 0, "SYN-ACK sent %u times", h->nsynack);
}

/* ---- the ICMP error that quoted a flow ---------------------------------- */

/* The kept record of the ICMP error flow (from `from` to `to`, type) nearest
 * after ts; the flow's first packet without records. */
typedef struct dg_icmp_list {      /* the capture's ICMP flows, for icmp_find */
    const nl_flow **v;
    size_t n;
} dg_icmp_list;

static void icmp_find(const dg_icmp_list *il, const nl_flow *q, uint64_t after, uint64_t *frame,
                      uint64_t *ts)
{
    *frame = 0;
    *ts = 0;
    for (size_t i = 0; il && i < il->n; i++) {
        const nl_flow *e = il->v[i];
        if ((e->proto != DG_PROTO_ICMP && e->proto != DG_PROTO_ICMP6) ||
            e->icmp_type != q->icmp_err_type || nl_addr_cmp(&e->orig_ip, &q->icmp_err_from))
            continue;
        if (nl_addr_cmp(&e->resp_ip, &q->orig_ip) && nl_addr_cmp(&e->resp_ip, &q->resp_ip))
            continue;
        if (e->recs) {
            for (uint16_t r = 0; r < e->nrecs; r++)
                if (e->recs[r].ts_ns + NS / 1000 >= after && (!*frame || e->recs[r].ts_ns < *ts)) {
                    *frame = e->recs[r].frame;
                    *ts = e->recs[r].ts_ns;
                }
        } else if (!*frame) {
            *frame = e->first_frame;
            *ts = e->first_ns;
        }
    }
}

static int is_unreach(const nl_flow *f)
{
    int v6 = !nl_addr_is_v4(&f->orig_ip);
    return f->icmp_errors && (v6 ? f->icmp_err_type == 1 : f->icmp_err_type == 3) &&
           !(!v6 && f->icmp_err_code == 4); /* fragmentation needed is PMTU discovery */
}

static int rule_icmp(const dg_ctx *cx, const nl_flow *f, const dg_hs *h, const dg_icmp_list *il)
{
    char t[200], ep[80], from[64], dip[64];
    uint64_t fr, ts;
    int v6 = !nl_addr_is_v4(&f->orig_ip);
    const char *words;
    if (!is_unreach(f))
        return 0;
    if (f->proto == DG_PROTO_TCP ? h->completed || !h->syn_seen : f->pkts[NL_RESP] > 0)
        return 0;
    tuple(f, t, sizeof t);
    diagnose_ep(&f->resp_ip, f->resp_port, ep, sizeof ep);
    nl_addr_str(&f->icmp_err_from, from, sizeof from);
    nl_addr_str(&f->resp_ip, dip, sizeof dip);
    words = diagnose_icmp_words(v6, f->icmp_err_type, f->icmp_err_code);
    dg_case *k = diagnose_case_new(cx->fs, NL_FK_ICMP_UNREACHABLE,
                                   f->proto == DG_PROTO_TCP ? NL_SEV_ERROR : NL_SEV_WARNING);
    k->rank = 10;
    diagnose_case_flow(k, cx->cap, f);
    snprintf(k->subject1, sizeof k->subject1, "The %s %s",
             f->proto == DG_PROTO_TCP ? "connection" : "flow", t);
    snprintf(k->subjectn, sizeof k->subjectn, "%s flows to %s", proto_word(f->proto), ep);
    snprintf(k->predicate, sizeof k->predicate, "%s refused by ICMP %s from %s%s",
             "was", words, from, f->proto == DG_PROTO_TCP ? " (it quotes the SYN)" : "");
    snprintf(k->group, sizeof k->group, "icmp|%s|%s|%u|%u", ep, from, f->icmp_err_type,
             f->icmp_err_code);
    if (f->proto == DG_PROTO_TCP)
        ev_syn(k, cx, f, h);
    else
        diagnose_case_ev(k, cx->cap, f->first_frame, f->first_ns, "%s to %s, %" PRIu64
                         " packets, no reply", proto_word(f->proto), ep, f->pkts[NL_ORIG]);
    icmp_find(il, f, f->first_ns, &fr, &ts);
    diagnose_case_ev(k, cx->cap, fr, ts, "ICMP %s (type %u code %u) from %s quoting it%s", words,
                     f->icmp_err_type, f->icmp_err_code, from,
                     f->icmp_errors > 1 ? " (and more)" : "");
    if (f->proto == DG_PROTO_TCP)
        ev_syn_retries(k, cx, f, h);
    diagnose_case_fix(k, 10, diagnose_fix_icmp((uint8_t)v6, f->icmp_err_type, f->icmp_err_code,
                                               from, dip, f->resp_port, proto_word(f->proto)));
    return 1;
}

/* ---- RST in answer to the SYN ------------------------------------------- */

static int rule_rejected(const dg_ctx *cx, const nl_flow *f, const dg_hs *h)
{
    char t[200], ep[80], ip[64];
    const nl_pkt_rec *r = h->rst_resp;
    if (!h->syn_seen || h->completed)
        return 0;
    if (h->has_recs) {
        if (!r || (h->synack && h->synack->ts_ns < r->ts_ns))
            return 0;
    } else if (strcmp(flow_conn_state(f), "REJ") != 0) {
        return 0;
    }
    tuple(f, t, sizeof t);
    diagnose_ep(&f->resp_ip, f->resp_port, ep, sizeof ep);
    nl_addr_str(&f->resp_ip, ip, sizeof ip);
    dg_case *k = diagnose_case_new(cx->fs, NL_FK_REJECTED, NL_SEV_WARNING);
    k->rank = 10;
    diagnose_case_flow(k, cx->cap, f);
    snprintf(k->subject1, sizeof k->subject1, "The connection %s", t);
    snprintf(k->subjectn, sizeof k->subjectn, "connections to %s", ep);
    snprintf(k->predicate, sizeof k->predicate,
             "was refused: the SYN was answered with RST (nothing listens on %s, or a firewall "
             "rejects it)", ep);
    snprintf(k->group, sizeof k->group, "rej|%s", ep);
    ev_syn(k, cx, f, h);
    if (r && h->syn)
        diagnose_case_ev(k, cx->cap, r->frame, r->ts_ns, "RST from %s %.3f ms later (TTL %u)", ep,
                         (double)(r->ts_ns - h->syn->ts_ns) / 1e6, r->ttl);
    else if (r)
        diagnose_case_ev(k, cx->cap, r->frame, r->ts_ns, "RST from %s (TTL %u)", ep, r->ttl);
    ev_syn_retries(k, cx, f, h);
    diagnose_case_fix(k, 10, diagnose_fix_rejected(ip, f->resp_port, "tcp"));
    return 1;
}

/* ---- no answer, or an answer never acknowledged -------------------------- */

static int rule_broken(const dg_ctx *cx, const nl_flow *f, const dg_hs *h)
{
    char t[200], ep[80];
    if (!h->syn_seen || h->completed)
        return 0;
    tuple(f, t, sizeof t);
    diagnose_ep(&f->resp_ip, f->resp_port, ep, sizeof ep);
    if (h->synack_seen) {
        /* answered here, never acknowledged: the answer got lost further on
         * (this is the server's side, or a point between) */
        /* one SYN, one SYN-ACK, the client's RST: the client chose to
         * abort (a SYN scan, or its own firewall) - not a path fault */
        if (h->nsynack < 2 && h->nsyn < 2)
            return 0;
        dg_case *k = diagnose_case_new(cx->fs, NL_FK_HANDSHAKE_BROKEN, NL_SEV_ERROR);
        k->rank = 10;
        diagnose_case_flow(k, cx->cap, f);
        snprintf(k->subject1, sizeof k->subject1, "The handshake %s", t);
        snprintf(k->subjectn, sizeof k->subjectn, "handshakes to %s", ep);
        if (h->rst_orig)
            snprintf(k->predicate, sizeof k->predicate,
                     "broke: %s answered the SYN but the client reset the answer instead of "
                     "acknowledging it", ep);
        else
            snprintf(k->predicate, sizeof k->predicate,
                     "broke: %s answered the SYN but the answer was never acknowledged: it is "
                     "lost on the way back to the client (seen at %s)", ep, cx->name);
        snprintf(k->group, sizeof k->group, "lost|%s|%d", ep, h->rst_orig != NULL);
        ev_syn(k, cx, f, h);
        if (h->synack)
            diagnose_case_ev(k, cx->cap, h->synack->frame, h->synack->ts_ns,
                             "SYN-ACK from %s%s", ep, h->nsynack > 1 ? ", retransmitted" : "");
        if (h->nsynack > 1)
            diagnose_case_ev(k, cx->cap, 0, 0, "SYN-ACK sent %u times, no ACK came back",
                             h->nsynack);
        if (h->rst_orig)
            diagnose_case_ev(k, cx->cap, h->rst_orig->frame, h->rst_orig->ts_ns,
                             "the client resets it");
        ev_syn_retries(k, cx, f, h);
        diagnose_case_fix(k, 3, diagnose_fix_no_answer(ep, "tcp", 1, cx->name));
        return 1;
    }
    /* no answer at all: judge only flows that had time to fail */
    uint64_t last = h->nsyn_ts ? h->syn_ts[h->nsyn_ts - 1] : f->last_ns;
    if (h->nsyn < 2 && cx->last_ns < last + DG_GRACE_NS)
        return 0;
    if (h->rst_orig) /* the client gave up by itself (e.g. a scanner) */
        return 0;
    dg_case *k = diagnose_case_new(cx->fs, NL_FK_HANDSHAKE_BROKEN, NL_SEV_ERROR);
    k->rank = 5;
    diagnose_case_flow(k, cx->cap, f);
    snprintf(k->subject1, sizeof k->subject1, "The handshake %s", t);
    snprintf(k->subjectn, sizeof k->subjectn, "handshakes to %s", ep);
    snprintf(k->predicate, sizeof k->predicate,
             "got no answer in %s: no SYN-ACK, RST or ICMP error came back", cx->name);
    snprintf(k->group, sizeof k->group, "noans|%s", ep);
    ev_syn(k, cx, f, h);
    if (h->nsyn_ts >= 2) {
        ev_syn_retries(k, cx, f, h);
    } else {
        diagnose_case_ev(k, cx->cap, 0, 0, "%u SYN%s, no answer", h->nsyn, h->nsyn == 1 ? "" : "s");
    }
    diagnose_case_fix(k, 3, diagnose_fix_no_answer(ep, "tcp", 0, cx->name));
    return 1;
}

void diagnose_single_run(const dg_ctx *cx)
{
    uint8_t *claimed;
    dg_normal normal;
    dg_icmp_list il = { NULL, 0 };
    if (!cx->nflows)
        return;
    claimed = calloc(cx->nflows, 1);
    il.v = malloc(cx->nflows * sizeof *il.v);
    if (!claimed || !il.v) {
        free(claimed);
        free(il.v);
        return;
    }
    for (size_t i = 0; i < cx->nflows; i++)
        if (cx->flows[i]->proto == DG_PROTO_ICMP || cx->flows[i]->proto == DG_PROTO_ICMP6)
            il.v[il.n++] = cx->flows[i];
    normal.n = 0;
    for (size_t i = 0; i < cx->nflows; i++) {
        dg_hs h;
        if (cx->flows[i]->proto != DG_PROTO_TCP)
            continue;
        diagnose_single_hs(cx->flows[i], &h);
        path_learn(&normal, cx->flows[i], &h);
    }
    rule_stray(cx, claimed);
    for (size_t i = 0; i < cx->nflows; i++) {
        const nl_flow *f = cx->flows[i];
        dg_hs h;
        memset(&h, 0, sizeof h);
        if (f->proto == DG_PROTO_UDP) {
            rule_icmp(cx, f, &h, &il);
            continue;
        }
        if (f->proto != DG_PROTO_TCP)
            continue;
        diagnose_single_hs(f, &h);
        if (is_lone_synack(f, &h)) {
            if (!claimed[i])
                rule_lone_synack(cx, f, &h);
            continue;
        }
        if (!h.syn_seen || h.completed)
            continue; /* mid-flow capture, or fine */
        if (rule_path(cx, f, &h, &normal))
            continue;
        if (rule_rejected(cx, f, &h))
            continue;
        if (rule_icmp(cx, f, &h, &il))
            continue;
        rule_broken(cx, f, &h);
    }
    free(claimed);
    free(il.v);
}
