/* egress.c - which source address did the destination see? The answer an
 * allow-list request needs, per capture point.
 *
 * Read from the chains: the inner host and the destination are what capture
 * 0 (the client side) saw, the egress address is the source the farthest
 * capture of the chain saw (flips composed along the way), and that capture
 * is named with it: chains that end at a middle capture point (a load
 * balancer sent them to a backend nobody captured) are rows of that point,
 * never mixed with the last point's. Times stay in capture 0's clock.
 *
 * Three views, all sorted, all n log n in followed connections:
 *   - rows (nl_egress): per capture point, inner host, destination and
 *     egress address, with how many flows were followed by confident pairs;
 *   - the answer (nl_egress_addr): per capture point, each address with its
 *     flows and inner hosts, from confident pairs only;
 *   - pools and switches (egress_groups.c) and source changes
 *     (egress_changes.c) from the same observations.
 */
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "natlens/record.h"
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
    const nl_flow *f0 = ch->flows[0];
    if (!f0 || ch->last_cap < 1 || egress_refused_reply(f0))
        return 0;
    int flip = 0;
    for (size_t i = 0; i < ch->nhops; i++)
        if (ch->hops[i].present)
            flip ^= ch->hops[i].match->flip;
    const nl_flow *fl = ch->flows[ch->last_cap];
    /* the last point saw both legs of a NAT (a balancer's both sides): the
     * destination saw the far-facing one, alt. A NAT's record is matched
     * by its outer leg already (the flow as the destination saw it). */
    const nl_flow *alt = ch->alt[ch->last_cap];
    const nl_trace *lt = c->caps[ch->last_cap].trace;
    const nl_record_info *ri = lt ? record_info_of(lt, fl) : NULL;
    if (alt && !(ri && ri->side == NL_REC_SIDE_OUTER)) {
        flip ^= corr_twin_flip(c, ch->last_cap, fl);
        fl = alt;
    }
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

int correlate_chain_egress(const nl_correlation *c, const nl_chain *ch, nl_addr *egress,
                           int *seen_at)
{
    nl_addr inner, dest;
    uint16_t dport;
    uint8_t proto;
    return egress_chain_view(c, ch, &inner, &dest, &dport, &proto, egress, seen_at);
}

/* Every hop of the chain is a pair people can rely on. */
static int chain_confident(const nl_chain *ch)
{
    for (size_t i = 0; i < ch->nhops; i++)
        if (ch->hops[i].present && ch->hops[i].match->level < NL_CONF_STRONG)
            return 0;
    return 1;
}

static size_t obs_build(const nl_correlation *c, egress_obs *v)
{
    size_t n = 0;
    for (size_t i = 0; i < c->nchains; i++) {
        egress_obs *o = &v[n];
        const nl_chain *ch = &c->chains[i];
        memset(o, 0, sizeof *o);
        if (!egress_chain_view(c, ch, &o->inner, &o->dest, &o->dport, &o->proto,
                               &o->egress, &o->seen_at))
            continue;
        o->f = ch->flows[0];
        o->start = o->f->first_ns;
        o->last = o->f->last_ns;
        o->confident = (uint8_t)chain_confident(ch);
        n++;
    }
    return n;
}

/* ---- rows -------------------------------------------------------------- */

/* capture point, inner host, destination, port, protocol: a row's group */
static int egress_group_cmp(const nl_egress *x, const nl_egress *y)
{
    int r;
    if (x->seen_at != y->seen_at)
        return x->seen_at < y->seen_at ? -1 : 1;
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

static int row_key_cmp(const void *a, const void *b)
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

static int rows_build(nl_correlation *c, const egress_obs *o, size_t n)
{
    nl_egress *v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < n; i++) {
        v[i].inner_ip = o[i].inner;
        v[i].dest_ip = o[i].dest;
        v[i].dest_port = o[i].dport;
        v[i].proto = o[i].proto;
        v[i].egress_ip = o[i].egress;
        v[i].seen_at = o[i].seen_at;
        v[i].first_ns = o[i].start;
        v[i].last_ns = o[i].last;
        v[i].flows = 1;
        v[i].confident = o[i].confident;
    }
    qsort(v, n, sizeof *v, row_key_cmp);
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (out > 0) {
            nl_egress *p = &v[out - 1];
            if (!egress_group_cmp(p, &v[i]) && !nl_addr_cmp(&p->egress_ip, &v[i].egress_ip)) {
                if (v[i].last_ns > p->last_ns)
                    p->last_ns = v[i].last_ns;
                p->flows++;
                p->confident += v[i].confident;
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

/* ---- the answer: addresses per capture point --------------------------- */

static int obs_addr_cmp(const void *a, const void *b)
{
    const egress_obs *x = a, *y = b;
    int r;
    if (x->seen_at != y->seen_at)
        return x->seen_at < y->seen_at ? -1 : 1;
    if ((r = nl_addr_cmp(&x->egress, &y->egress)))
        return r;
    return nl_addr_cmp(&x->inner, &y->inner);
}

/* Addresses sorted by (seen_at, ip), so egress_groups.c can find them. */
static int addrs_build(nl_correlation *c, egress_obs *o, size_t n)
{
    qsort(o, n, sizeof *o, obs_addr_cmp);
    nl_egress_addr *v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return -1;
    size_t out = 0;
    const egress_obs *prev = NULL;   /* the last confident observation */
    for (size_t i = 0; i < n; i++) {
        if (!o[i].confident)
            continue;
        nl_egress_addr *p = out ? &v[out - 1] : NULL;
        if (!p || p->seen_at != o[i].seen_at || nl_addr_cmp(&p->ip, &o[i].egress)) {
            p = &v[out++];
            p->seen_at = o[i].seen_at;
            p->ip = o[i].egress;
            p->first_ns = o[i].start;
            p->last_ns = o[i].start;
            p->hosts = 1;
        } else if (nl_addr_cmp(&prev->inner, &o[i].inner)) {
            p->hosts++;     /* sorted by inner inside the address */
        }
        prev = &o[i];
        p->flows++;
        if (o[i].start < p->first_ns)
            p->first_ns = o[i].start;
        if (o[i].start > p->last_ns)
            p->last_ns = o[i].start;
    }
    c->egress_addrs = v;
    c->negress_addrs = out;
    return 0;
}

static int addr_answer_cmp(const void *a, const void *b)
{
    const nl_egress_addr *x = a, *y = b;
    if (x->seen_at != y->seen_at)
        return x->seen_at < y->seen_at ? -1 : 1;
    if (x->flows != y->flows)
        return x->flows > y->flows ? -1 : 1;
    return nl_addr_cmp(&x->ip, &y->ip);
}

int egress_build(nl_correlation *c)
{
    c->negress = c->negress_addrs = 0;
    c->nip_changes = c->negress_pools = c->negress_switches = 0;
    if (c->nchains == 0)
        return 0;
    egress_obs *o = malloc(c->nchains * sizeof *o);
    if (!o)
        return -1;
    size_t n = obs_build(c, o);
    int rc = -1;
    if (rows_build(c, o, n) < 0 || addrs_build(c, o, n) < 0 ||
        egress_groups_build(c, o, n) < 0 || egress_changes_build(c, o, n) < 0)
        goto done;
    if (c->negress_addrs > 1)
        qsort(c->egress_addrs, c->negress_addrs, sizeof *c->egress_addrs, addr_answer_cmp);
    rc = 0;
done:
    free(o);
    return rc;
}
