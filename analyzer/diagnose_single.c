/* diagnose_single.c - what one capture alone shows about broken handshakes.
 *
 * Rules, per TCP flow whose originator sent a SYN (flows without a SYN
 * began before the capture and are never judged):
 *   - completed (the originator acknowledged after its SYN): fine, nothing;
 *   - the SYN and its SYN-ACK took different ways through this capture
 *     point -> asymmetric_return (server side; diagnose_path.c);
 *   - a SYN to A:p "answered" by a SYN-ACK from B:p in a different flow
 *     -> asymmetric_return (client side: the reply bypassed the device
 *     that translated the request; diagnose_stray.c);
 *   - a SYN-ACK sent without any SYN coming in here (while the capture was
 *     running) -> asymmetric_return (the request came another way);
 *   - the SYN answered by RST -> rejected; by an ICMP error quoting it
 *     -> icmp_unreachable (UDP flows with no reply too);
 *   - SYN retransmissions and no answer, or a SYN-ACK never acknowledged
 *     -> handshake_broken, with the retry times as seen (Linux may retry
 *     at 1 s intervals, older stacks double: nothing is assumed).
 * A flow whose only SYN lies in the last 3 s of the capture and saw no
 * retry had no time to fail and is not judged.
 * This file also holds what those rules share: the handshake view of one
 * flow (diagnose_single_hs(), used by diagnose_pair.c too), the opening of
 * a case about one flow and the evidence lines about its SYN.
 */
#define NATLENS_DIAGNOSE_INTERNAL
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/diagnose.h"
#include "natlens/flow_out.h"

#define DG_GRACE_NS (3 * DG_NS)    /* a lone SYN this close to the end: not judged */

static int has_letter(const nl_flow *f, char c)
{
    return strchr(f->history, c) != NULL;
}

static void ifset_add(uint64_t *set, int32_t ifx)
{
    if (ifx >= 0 && ifx < 64)
        *set |= 1ull << ifx;
}

/* r's interface into the set of all, and of outgoing or incoming packets
 * when the capture says the packet type. */
static void ifsets_add(const nl_pkt_rec *r, uint64_t *all, uint64_t *in, uint64_t *out)
{
    ifset_add(all, r->ifindex);
    if (r->pkttype == NL_DIR_OUTGOING)
        ifset_add(out, r->ifindex);
    else if (r->pkttype != NL_DIR_UNKNOWN)
        ifset_add(in, r->ifindex);
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
                (h->nsyn_ts == 0 || r->ts_ns - h->syn_ts[h->nsyn_ts - 1] > DG_NS / 20)) {
                h->syn_ts[h->nsyn_ts] = r->ts_ns;
                h->syn_frame[h->nsyn_ts] = r->frame;
                h->nsyn_ts++;
            }
            ifsets_add(r, &h->syn_if, &h->syn_in_if, &h->syn_out_if);
        } else if (r->dir == NL_RESP && (fl & NL_TH_SYN) && (fl & NL_TH_ACK)) {
            if (!h->synack)
                h->synack = r;
            h->synack_last = r;
            h->synack_seen = 1;
            h->nsynack++;
            ifsets_add(r, &h->synack_if, &h->synack_in_if, &h->synack_out_if);
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
    /* more SYNs or SYN-ACKs than records could hold: the flow's own
     * counters saw every one */
    if (f->sig[NL_ORIG].syn_count > h->nsyn && h->syn_seen)
        h->nsyn = f->sig[NL_ORIG].syn_count;
    if (f->sig[NL_RESP].syn_count > h->nsynack && h->synack_seen)
        h->nsynack = f->sig[NL_RESP].syn_count;
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

dg_case *diagnose_single_case(const dg_ctx *cx, const nl_flow *f, nl_finding_kind kind,
                              nl_severity sev, int rank, const char *noun, const char *plural,
                              dg_names *nm)
{
    flow_out_tuple(f, nm->t, sizeof nm->t, 1);
    diagnose_ep(&f->resp_ip, f->resp_port, nm->ep, sizeof nm->ep);
    nl_addr_str(&f->resp_ip, nm->ip, sizeof nm->ip);
    dg_case *k = diagnose_case_new(cx->fs, kind, sev);
    k->rank = rank;
    diagnose_case_flow(k, cx->cap, f);
    snprintf(k->subject1, sizeof k->subject1, "The %s %s", noun, nm->t);
    snprintf(k->subjectn, sizeof k->subjectn, "%s to %s", plural, nm->ep);
    return k;
}

void diagnose_single_ev_retries(dg_case *k, const dg_ctx *cx, const dg_hs *h)
{
    char rl[256];
    if (h->nsyn_ts < 2)
        return;
    retry_list(h, rl, sizeof rl);
    diagnose_case_ev(k, cx->cap, h->syn_frame[h->nsyn_ts - 1], h->syn_ts[h->nsyn_ts - 1],
                     "SYN retried at %s (%u SYNs in all)", rl, h->nsyn);
}

void diagnose_single_ev_syn(dg_case *k, const dg_ctx *cx, const nl_flow *f, const dg_hs *h)
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

int diagnose_single_lone_synack(const nl_flow *f, const dg_hs *h)
{
    return f->proto == DG_PROTO_TCP && h->synack_seen && !h->syn_seen;
}

/* ---- a SYN-ACK with no SYN ---------------------------------------------- */

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
    if (t0 < cx->first_ns + DG_NS || h->completed || h->ack_orig ||
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
            e->icmp_type != flow_icmp_err_type(q) || nl_addr_cmp(&e->orig_ip, flow_icmp_err_from(q)))
            continue;
        if (nl_addr_cmp(&e->resp_ip, &q->orig_ip) && nl_addr_cmp(&e->resp_ip, &q->resp_ip))
            continue;
        if (e->recs) {
            for (uint16_t r = 0; r < e->nrecs; r++)
                if (e->recs[r].ts_ns + DG_NS / 1000 >= after &&
                    (!*frame || e->recs[r].ts_ns < *ts)) {
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
    uint8_t type = flow_icmp_err_type(f);
    return flow_icmp_errors(f) && (v6 ? type == 1 : type == 3) &&
           !(!v6 && flow_icmp_err_code(f) == 4); /* fragmentation needed is PMTU discovery */
}

static int rule_icmp(const dg_ctx *cx, const nl_flow *f, const dg_hs *h, const dg_icmp_list *il)
{
    char from[64], plural[16];
    uint64_t fr, ts;
    int v6 = !nl_addr_is_v4(&f->orig_ip);
    const char *words;
    dg_names nm;
    if (!is_unreach(f))
        return 0;
    if (f->proto == DG_PROTO_TCP ? h->completed || !h->syn_seen : f->pkts[NL_RESP] > 0)
        return 0;
    nl_addr_str(flow_icmp_err_from(f), from, sizeof from);
    words = diagnose_icmp_words(v6, flow_icmp_err_type(f), flow_icmp_err_code(f));
    snprintf(plural, sizeof plural, "%s flows", proto_word(f->proto));
    dg_case *k = diagnose_single_case(cx, f, NL_FK_ICMP_UNREACHABLE,
                                      f->proto == DG_PROTO_TCP ? NL_SEV_ERROR : NL_SEV_WARNING, 10,
                                      f->proto == DG_PROTO_TCP ? "connection" : "flow", plural,
                                      &nm);
    const char *ep = nm.ep, *dip = nm.ip;
    snprintf(k->predicate, sizeof k->predicate, "%s refused by ICMP %s from %s%s",
             "was", words, from, f->proto == DG_PROTO_TCP ? " (it quotes the SYN)" : "");
    snprintf(k->group, sizeof k->group, "icmp|%s|%s|%u|%u", ep, from, flow_icmp_err_type(f),
             flow_icmp_err_code(f));
    if (f->proto == DG_PROTO_TCP)
        diagnose_single_ev_syn(k, cx, f, h);
    else
        diagnose_case_ev(k, cx->cap, f->first_frame, f->first_ns, "%s to %s, %" PRIu64
                         " packets, no reply", proto_word(f->proto), ep, f->pkts[NL_ORIG]);
    icmp_find(il, f, f->first_ns, &fr, &ts);
    diagnose_case_ev(k, cx->cap, fr, ts, "ICMP %s (type %u code %u) from %s quoting it%s", words,
                     flow_icmp_err_type(f), flow_icmp_err_code(f), from,
                     flow_icmp_errors(f) > 1 ? " (and more)" : "");
    if (f->proto == DG_PROTO_TCP)
        diagnose_single_ev_retries(k, cx, h);
    diagnose_case_fix(k, 10, diagnose_fix_icmp((uint8_t)v6, flow_icmp_err_type(f),
                                               flow_icmp_err_code(f), from, dip, f->resp_port,
                                               proto_word(f->proto)));
    return 1;
}

/* ---- RST in answer to the SYN ------------------------------------------- */

static int rule_rejected(const dg_ctx *cx, const nl_flow *f, const dg_hs *h)
{
    const nl_pkt_rec *r = h->rst_resp;
    dg_names nm;
    if (!h->syn_seen || h->completed)
        return 0;
    if (h->has_recs) {
        if (!r || (h->synack && h->synack->ts_ns < r->ts_ns))
            return 0;
    } else if (strcmp(flow_conn_state(f), "REJ") != 0) {
        return 0;
    }
    dg_case *k = diagnose_single_case(cx, f, NL_FK_REJECTED, NL_SEV_WARNING, 10, "connection",
                                      "connections", &nm);
    const char *ep = nm.ep, *ip = nm.ip;
    snprintf(k->predicate, sizeof k->predicate,
             "was refused: the SYN was answered with RST (nothing listens on %s, or a firewall "
             "rejects it)", ep);
    snprintf(k->group, sizeof k->group, "rej|%s", ep);
    diagnose_single_ev_syn(k, cx, f, h);
    if (r && h->syn)
        diagnose_case_ev(k, cx->cap, r->frame, r->ts_ns, "RST from %s %.3f ms later (TTL %u)", ep,
                         (double)(r->ts_ns - h->syn->ts_ns) / 1e6, r->ttl);
    else if (r)
        diagnose_case_ev(k, cx->cap, r->frame, r->ts_ns, "RST from %s (TTL %u)", ep, r->ttl);
    diagnose_single_ev_retries(k, cx, h);
    diagnose_case_fix(k, 10, diagnose_fix_rejected(ip, f->resp_port, "tcp"));
    return 1;
}

/* ---- no answer, or an answer never acknowledged -------------------------- */

static int rule_broken(const dg_ctx *cx, const nl_flow *f, const dg_hs *h)
{
    dg_names nm;
    const char *ep = nm.ep;
    if (!h->syn_seen || h->completed)
        return 0;
    if (h->synack_seen) {
        /* answered here, never acknowledged: the answer got lost further on
         * (this is the server's side, or a point between) */
        /* one SYN, one SYN-ACK, the client's RST: the client chose to
         * abort (a SYN scan, or its own firewall) - not a path fault */
        if (h->nsynack < 2 && h->nsyn < 2)
            return 0;
        dg_case *k = diagnose_single_case(cx, f, NL_FK_HANDSHAKE_BROKEN, NL_SEV_ERROR, 10,
                                          "handshake", "handshakes", &nm);
        if (h->rst_orig)
            snprintf(k->predicate, sizeof k->predicate,
                     "broke: %s answered the SYN but the client reset the answer instead of "
                     "acknowledging it", ep);
        else
            snprintf(k->predicate, sizeof k->predicate,
                     "broke: %s answered the SYN but the answer was never acknowledged: it is "
                     "lost on the way back to the client (seen at %s)", ep, cx->name);
        snprintf(k->group, sizeof k->group, "lost|%s|%d", ep, h->rst_orig != NULL);
        diagnose_single_ev_syn(k, cx, f, h);
        if (h->synack)
            diagnose_case_ev(k, cx->cap, h->synack->frame, h->synack->ts_ns,
                             "SYN-ACK from %s%s", ep, h->nsynack > 1 ? ", retransmitted" : "");
        if (h->nsynack > 1)
            diagnose_case_ev(k, cx->cap, 0, 0, "SYN-ACK sent %u times, no ACK came back",
                             h->nsynack);
        if (h->rst_orig)
            diagnose_case_ev(k, cx->cap, h->rst_orig->frame, h->rst_orig->ts_ns,
                             "the client resets it");
        diagnose_single_ev_retries(k, cx, h);
        diagnose_case_fix(k, 3, diagnose_fix_no_answer(ep, "tcp", 1, cx->name));
        return 1;
    }
    /* no answer at all: judge only flows that had time to fail */
    uint64_t last = h->nsyn_ts ? h->syn_ts[h->nsyn_ts - 1] : f->last_ns;
    if (h->nsyn < 2 && cx->last_ns < last + DG_GRACE_NS)
        return 0;
    if (h->rst_orig) /* the client gave up by itself (e.g. a scanner) */
        return 0;
    dg_case *k = diagnose_single_case(cx, f, NL_FK_HANDSHAKE_BROKEN, NL_SEV_ERROR, 5, "handshake",
                                      "handshakes", &nm);
    snprintf(k->predicate, sizeof k->predicate,
             "got no answer in %s: no SYN-ACK, RST or ICMP error came back", cx->name);
    snprintf(k->group, sizeof k->group, "noans|%s", ep);
    diagnose_single_ev_syn(k, cx, f, h);
    if (h->nsyn_ts >= 2) {
        diagnose_single_ev_retries(k, cx, h);
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
        diagnose_path_learn(&normal, &h);
    }
    diagnose_stray_run(cx, claimed);
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
        if (diagnose_single_lone_synack(f, &h)) {
            if (!claimed[i])
                rule_lone_synack(cx, f, &h);
            continue;
        }
        if (!h.syn_seen || h.completed)
            continue; /* mid-flow capture, or fine */
        if (diagnose_path_rule(cx, f, &h, &normal))
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
