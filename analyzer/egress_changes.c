/* egress_changes.c - when did the address a destination sees change?
 *
 * Flows of one inner host to one destination, seen at one capture point,
 * ordered by their START (capture 0's clock): a change is the first flow
 * of a new stretch of the host (egress_groups.c) whose egress address
 * differs from the flow before it. Addresses alternating inside a pool are
 * not changes (they are the pool); only switches are. Ordering by start,
 * not by last packet, keeps a long-lived flow that kept the old address
 * from hiding (or delaying) the change; such flows are counted in
 * old_still_open. Done twice: per destination port and protocol, and per
 * destination address across ports (has_port = 0). Flows followed only by
 * "likely" pairs take no part.
 */
#include <stdlib.h>
#include <string.h>
#include "correlate_int.h"

static int obs_cmp(const egress_obs *x, const egress_obs *y, int by_port)
{
    int r;
    if (x->seen_at != y->seen_at)
        return x->seen_at < y->seen_at ? -1 : 1;
    if ((r = nl_addr_cmp(&x->inner, &y->inner)))
        return r;
    if ((r = nl_addr_cmp(&x->dest, &y->dest)))
        return r;
    if (by_port) {
        if (x->dport != y->dport)
            return x->dport < y->dport ? -1 : 1;
        if (x->proto != y->proto)
            return x->proto < y->proto ? -1 : 1;
    }
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->f->id < y->f->id ? -1 : x->f->id > y->f->id;
}

static int obs_cmp_port(const void *a, const void *b)
{
    return obs_cmp(a, b, 1);
}

static int obs_cmp_addr(const void *a, const void *b)
{
    return obs_cmp(a, b, 0);
}

static int same_group(const egress_obs *x, const egress_obs *y, int port)
{
    if (x->seen_at != y->seen_at || nl_addr_cmp(&x->inner, &y->inner) ||
        nl_addr_cmp(&x->dest, &y->dest))
        return 0;
    return !port || (x->dport == y->dport && x->proto == y->proto);
}

static int push(nl_correlation *c, size_t *cap, const nl_ip_change *ch)
{
    if (c->nip_changes == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        nl_ip_change *nv = realloc(c->ip_changes, nc * sizeof *nv);
        if (!nv)
            return -1;
        c->ip_changes = nv;
        *cap = nc;
    }
    c->ip_changes[c->nip_changes++] = *ch;
    return 0;
}

/* v: the confident observations, sorted for this view. */
static int scan(nl_correlation *c, size_t *cap, egress_obs *v, size_t n, int port)
{
    qsort(v, n, sizeof *v, port ? obs_cmp_port : obs_cmp_addr);
    size_t run = 0;                /* first flow of the current address run */
    for (size_t i = 1; i < n; i++) {
        if (!same_group(&v[i - 1], &v[i], port)) {
            run = i;
            continue;
        }
        if (nl_addr_cmp(&v[i].egress, &v[i - 1].egress) == 0)
            continue;
        if (v[i].group == v[i - 1].group) {
            run = i;               /* a pool's addresses take turns */
            continue;
        }
        nl_ip_change ch;
        memset(&ch, 0, sizeof ch);
        ch.seen_at = v[i].seen_at;
        ch.inner_ip = v[i].inner;
        ch.dest_ip = v[i].dest;
        ch.has_port = port;
        ch.dest_port = port ? v[i].dport : 0;
        ch.proto = port ? v[i].proto : 0;
        ch.from_ip = v[i - 1].egress;
        ch.to_ip = v[i].egress;
        ch.at_ns = v[i].start;
        ch.prev_ns = v[i - 1].start;
        ch.first_new = v[i].f;
        for (size_t k = run; k < i; k++)
            if (v[k].last >= v[i].start)
                ch.old_still_open++;
        if (push(c, cap, &ch) < 0)
            return -1;
        run = i;
    }
    return 0;
}

static int change_cmp(const void *a, const void *b)
{
    const nl_ip_change *x = a, *y = b;
    int r;
    if ((r = nl_addr_cmp(&x->inner_ip, &y->inner_ip)))
        return r;
    if ((r = nl_addr_cmp(&x->dest_ip, &y->dest_ip)))
        return r;
    if (x->at_ns != y->at_ns)
        return x->at_ns < y->at_ns ? -1 : 1;
    if (x->has_port != y->has_port)           /* address-wide first */
        return x->has_port < y->has_port ? -1 : 1;
    if (x->dest_port != y->dest_port)
        return x->dest_port < y->dest_port ? -1 : 1;
    return x->seen_at < y->seen_at ? -1 : x->seen_at > y->seen_at;
}

int egress_changes_build(nl_correlation *c, egress_obs *o, size_t n)
{
    size_t m = 0, cap = 0;
    for (size_t i = 0; i < n; i++)      /* confident ones to the front */
        if (o[i].confident)
            o[m++] = o[i];
    if (scan(c, &cap, o, m, 1) < 0 || scan(c, &cap, o, m, 0) < 0)
        return -1;
    if (c->nip_changes > 1)
        qsort(c->ip_changes, c->nip_changes, sizeof *c->ip_changes, change_cmp);
    return 0;
}
