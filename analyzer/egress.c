/* egress.c - which source address did the destination see, per inner host
 * and destination? The answer an allow-list request needs.
 *
 * Read from the chains: the inner host and the destination are what capture
 * 0 (the client side) saw, the egress address is the source the farthest
 * capture of the chain saw (flips composed along the way). Times stay in
 * capture 0's clock, so no offset enters them.
 */
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "correlate_int.h"

/* A SYN-ACK the client never asked for (it came back from an address the
 * client did not call, the asymmetric-return case) and that the client
 * only reset: not a connection of the inner host, so no egress evidence. */
static int egress_refused_reply(const nl_flow *f)
{
    if (f->proto != IPPROTO_TCP || !f->flipped || f->sig[NL_ORIG].has_syn ||
        !f->sig[NL_RESP].has_syn)
        return 0;
    for (const char *h = f->history; *h; h++)
        if (*h >= 'A' && *h <= 'Z' && *h != 'R')
            return 0;
    return 1;
}

int egress_chain_view(const nl_correlation *c, const nl_chain *ch,
                      nl_addr *inner, nl_addr *dest, uint16_t *dport,
                      uint8_t *proto, nl_addr *egress_ip, int *seen_at)
{
    (void)c;
    const nl_flow *f0 = ch->flows[0];
    if (!f0 || ch->last_cap < 1 || egress_refused_reply(f0))
        return 0;
    int flip = 0;
    for (size_t i = 0; i < ch->nhops; i++)
        if (ch->hops[i].present)
            flip ^= ch->hops[i].match->flip;
    const nl_flow *fl = ch->flows[ch->last_cap];
    *inner = f0->orig_ip;
    *dest = f0->resp_ip;
    /* ICMP echo: the "port" is the identifier, new for every ping run;
     * the destination is the address alone */
    *dport = f0->proto == IPPROTO_ICMP || f0->proto == IPPROTO_ICMPV6
             ? 0 : f0->resp_port;
    *proto = f0->proto;
    *egress_ip = flip ? fl->resp_ip : fl->orig_ip;
    *seen_at = ch->last_cap;
    return 1;
}

/* inner host, destination, port, protocol: the group an egress row is in */
static int egress_group_cmp(const nl_egress *x, const nl_egress *y)
{
    int r;
    if ((r = nl_addr_cmp(&x->inner_ip, &y->inner_ip)))
        return r;
    if ((r = nl_addr_cmp(&x->dest_ip, &y->dest_ip)))
        return r;
    if (x->dest_port != y->dest_port)
        return x->dest_port < y->dest_port ? -1 : 1;
    if (x->proto != y->proto)
        return x->proto < y->proto ? -1 : 1;
    return 0;
}

static int obs_cmp(const void *a, const void *b)
{
    const nl_egress *x = a, *y = b;
    int r;
    if ((r = egress_group_cmp(x, y)) || (r = nl_addr_cmp(&x->egress_ip, &y->egress_ip)))
        return r;
    return x->first_ns < y->first_ns ? -1 : x->first_ns > y->first_ns;
}

/* Final order: per destination, addresses in the order they were first seen. */
static int egress_cmp(const void *a, const void *b)
{
    const nl_egress *x = a, *y = b;
    int r;
    if ((r = egress_group_cmp(x, y)))
        return r;
    return x->first_ns < y->first_ns ? -1 : x->first_ns > y->first_ns;
}

int egress_build(nl_correlation *c)
{
    c->negress = 0;
    if (c->nchains == 0)
        return 0;
    nl_egress *v = calloc(c->nchains, sizeof *v);
    if (!v)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < c->nchains; i++) {
        nl_egress *e = &v[n];
        const nl_chain *ch = &c->chains[i];
        if (!egress_chain_view(c, ch, &e->inner_ip, &e->dest_ip, &e->dest_port,
                               &e->proto, &e->egress_ip, &e->seen_at))
            continue;
        e->first_ns = ch->flows[0]->first_ns;
        e->last_ns = ch->flows[0]->last_ns;
        e->flows = 1;
        n++;
    }
    qsort(v, n, sizeof *v, obs_cmp);
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (out > 0) {
            nl_egress *p = &v[out - 1];
            nl_egress t = v[i];
            t.first_ns = p->first_ns;      /* compare the key only */
            if (obs_cmp(p, &t) == 0) {
                if (v[i].last_ns > p->last_ns)
                    p->last_ns = v[i].last_ns;
                if (v[i].seen_at > p->seen_at)
                    p->seen_at = v[i].seen_at;
                p->flows++;
                continue;
            }
        }
        v[out++] = v[i];
    }
    qsort(v, out, sizeof *v, egress_cmp);
    c->egress = v;
    c->negress = out;
    return 0;
}
