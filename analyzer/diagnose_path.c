/* diagnose_path.c - the SYN and its SYN-ACK took different ways through
 * one capture point.
 *
 * Where the request came in and where the reply went out differ: other
 * interfaces (SLL/SLL2 ifindex, pcapng interface; on a router also the
 * reverse test, where the SYN left vs where the SYN-ACK came back), or, on
 * Ethernet, other next hops (the SYN's source MAC is not the SYN-ACK's
 * destination MAC) -> asymmetric_return, with a source-routing fix that
 * names the interface and gateway when host metadata says them.
 * An asymmetry that completed handshakes of the same capture show too is
 * how this capture point looks (a mirror port, a bridge), not a fault:
 * diagnose_path_learn() records those first, diagnose_path_rule() skips
 * them.
 */
#define NATLENS_DIAGNOSE_INTERNAL
#include <stdio.h>
#include <string.h>
#include "natlens/diagnose.h"
#include "natlens/frame_ref.h"
#include "natlens/hostmeta.h"

/* The interface a file of a capture point of several files (frame_ref.h)
 * was taken on: "the interface of server-eth0.pcap", and when the file's
 * name ends in "-IFNAME" the name it suggests ("eth0, by the file name");
 * a guess from a name is said as one and never pasted into a command. */
static int if_words_file(const dg_ctx *cx, int ifx, char *buf, size_t len)
{
    char file[72], sfx[20];
    int k = frame_ref_ifx_file(ifx);
    if (k < 0 || frame_ref_file_name(cx->name, k, file, sizeof file) != 0)
        return 0;
    if (frame_ref_name_iface(file, sfx, sizeof sfx) == 0)
        snprintf(buf, len, "the interface of %.64s (%.15s, by the file name)", file, sfx);
    else
        snprintf(buf, len, "the interface of %.64s", file);
    return 1;
}

/* Interface words: "eth1 (ifindex 3)" with host metadata, else "interface 3". */
static void if_words(const dg_ctx *cx, int ifx, char *buf, size_t len, char *name, size_t nlen)
{
    name[0] = '\0';
    if (if_words_file(cx, ifx, buf, len))
        return;
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

void diagnose_path_learn(dg_normal *nm, const dg_hs *h)
{
    dg_path p;
    if (h->completed && path_detect(h, &p) && !path_is_normal(nm, &p) && nm->n < DG_MAX_NORMAL)
        nm->p[nm->n++] = p;
}

int diagnose_path_rule(const dg_ctx *cx, const nl_flow *f, const dg_hs *h, const dg_normal *nm)
{
    char a[120], b[120], an[64], bn[64];
    char in_mac[20] = "", out_mac[20] = "";
    dg_names nmf;
    dg_path p;

    if (!path_detect(h, &p) || path_is_normal(nm, &p))
        return 0;
    diagnose_mac(p.in_mac, in_mac, sizeof in_mac);
    diagnose_mac(p.out_mac, out_mac, sizeof out_mac);
    dg_case *k = diagnose_single_case(cx, f, NL_FK_ASYMMETRIC_RETURN, NL_SEV_ERROR, 20,
                                      "handshake", "handshakes", &nmf);
    const char *ep = nmf.ep, *ip = nmf.ip;
    if (p.how == 'm') {
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
    } else if (p.how == 'b') {
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
    } else {
        if_words(cx, p.in_if, a, sizeof a, an, sizeof an);
        if_words(cx, p.out_if, b, sizeof b, bn, sizeof bn);
        if (p.how == 'r') {
            snprintf(k->predicate, sizeof k->predicate,
                     "broke: the SYN left by %s but the SYN-ACK came back in on %s: the reply "
                     "returned by another path than the request took", b, a);
            snprintf(k->group, sizeof k->group, "rif|%s|%d|%d", ep, p.in_if, p.out_if);
        } else {
            snprintf(k->predicate, sizeof k->predicate,
                     "broke: the SYN came in on %s but the SYN-ACK left by %s, so the reply does "
                     "not go back the way the request came (\"source in, source out\" is "
                     "violated)", a, b);
            snprintf(k->group, sizeof k->group, "if|%s|%d|%d", ep, p.in_if, p.out_if);
            snprintf(k->why, sizeof k->why, "%s shows the SYN coming in on %s and the SYN-ACK "
                     "leaving by %s", cx->name, a, b);
            k->why_own = 1;
        }
        if (h->syn)
            diagnose_case_ev(k, cx->cap, h->syn->frame, h->syn->ts_ns, "SYN to %s %s %s", ep,
                             p.how == 'r' ? "leaves by" : "comes in on",
                             p.how == 'r' ? b : a);
        if (h->synack)
            diagnose_case_ev(k, cx->cap, h->synack->frame, h->synack->ts_ns,
                             "SYN-ACK from %s %s %s", ep,
                             p.how == 'r' ? "comes back in on" : "leaves by",
                             p.how == 'r' ? a : b);
        if (p.how != 'r') {
            /* SLL/SLL2 give the sender's MAC of incoming frames: the next
             * hop that delivered the SYN */
            if (h->syn && h->syn->pkttype != NL_DIR_OUTGOING)
                diagnose_mac(h->syn->src_mac, in_mac, sizeof in_mac);
            diagnose_case_fix(k, an[0] ? 30 : 25,
                              diagnose_fix_source_routing(cx->hostmeta, ip, an[0] ? an : NULL,
                                                          frame_ref_ifx_file(p.in_if) >= 0 ?
                                                          -1 : p.in_if, in_mac, NULL));
        }
    }
    if (h->rst_orig)
        diagnose_case_ev(k, cx->cap, h->rst_orig->frame, h->rst_orig->ts_ns,
                         "the client resets the connection (it did not accept the SYN-ACK)");
    else if (h->nsynack > 1)
        diagnose_case_ev(k, cx->cap, 0, 0, "SYN-ACK sent %u times, never acknowledged",
                         h->nsynack);
    diagnose_single_ev_retries(k, cx, h);
    return 1;
}
