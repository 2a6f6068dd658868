/* diagnose_stray.c - a SYN to A:p answered by a SYN-ACK from B:p.
 *
 * In one capture (the client's side), a flow whose SYN got no answer in
 * its own flow, and a flow that is only a SYN-ACK (no SYN) from another
 * address to the same client port that acknowledges exactly that SYN (ack
 * == SYN seq + 1), sent within a second before to two minutes after it:
 * the reply bypassed the device that translated the request (a DNAT whose
 * return path does not pass the NAT again) -> asymmetric_return naming
 * both flows. The SYN-ACK flows explained this way are marked in claimed[]
 * so the weaker lone SYN-ACK rule (diagnose_single.c) skips them.
 */
#define NATLENS_DIAGNOSE_INTERNAL
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include "natlens/diagnose.h"

#define DG_STRAY_WINDOW_NS (120 * DG_NS)

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
    if (!f->recs && f->sig[NL_RESP].has_syn && flow_orig_ack_seq(f)) {
        /* summary only: the Zeek endpoint state starts the originator's
         * sequence space at what the SYN-ACK acknowledged */
        *ok = 1;
        return flow_orig_ack_seq(f);
    }
    return 0;
}

/* The case for SYN flow req answered by the SYN-ACK-only flow s (h: its
 * handshake view, sa: its SYN-ACK record or NULL). */
static void stray_case(const dg_ctx *cx, const nl_flow *req, const nl_flow *s, const dg_hs *h,
                       const nl_pkt_rec *sa)
{
    char got[80], gotip[64];
    dg_names nm;
    dg_hs rh;
    diagnose_single_hs(req, &rh);
    diagnose_ep(&s->resp_ip, s->resp_port, got, sizeof got);
    nl_addr_str(&s->resp_ip, gotip, sizeof gotip);
    dg_case *k = diagnose_single_case(cx, req, NL_FK_ASYMMETRIC_RETURN, NL_SEV_ERROR, 30,
                                      "handshake", "handshakes", &nm);
    const char *want = nm.ep;
    diagnose_case_flow(k, cx->cap, s);
    snprintf(k->predicate, sizeof k->predicate,
             "broke: the server answered from %s, bypassing the device that translated "
             "the request", gotip);
    snprintf(k->group, sizeof k->group, "bypass|%s|%s", want, gotip);
    diagnose_single_ev_syn(k, cx, req, &rh);
    if (sa)
        diagnose_case_ev(k, cx->cap, sa->frame, sa->ts_ns,
                         "SYN-ACK from %s, expected from %s (ack=%" PRIu32
                         " = SYN seq+1: it answers that SYN)", got, want, sa->ack);
    else
        diagnose_case_ev(k, cx->cap, s->first_frame, s->first_ns,
                         "SYN-ACK from %s, expected from %s (it acknowledges that SYN)",
                         got, want);
    if (h->rst_orig)
        diagnose_case_ev(k, cx->cap, h->rst_orig->frame, h->rst_orig->ts_ns,
                         "client resets it: %s is not the address it called", got);
    diagnose_single_ev_retries(k, cx, &rh);
    diagnose_case_fix(k, 20, diagnose_fix_bypass(gotip, want, "tcp", s->resp_port));
}

void diagnose_stray_run(const dg_ctx *cx, uint8_t *claimed)
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
        if (!diagnose_single_lone_synack(s, &h))
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
            if (s->first_ns + DG_NS < q->first_ns ||
                s->first_ns > q->last_ns + DG_STRAY_WINDOW_NS)
                continue;
            req = q;
            break;
        }
        if (!req)
            continue;
        claimed[i] = 1;
        stray_case(cx, req, s, &h, sa);
    }
    free(rq);
}
