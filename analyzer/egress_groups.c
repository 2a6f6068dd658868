/* egress_groups.c - a NAT pool is one answer, a switch is a change.
 *
 * Per capture point and inner host, the host's confident flows in start
 * order (capture 0's clock) carry a sequence of egress addresses. A
 * stretch ends at position i when every address used before i is never
 * used again from i on (prefix maximum of each address's last position
 * < i): a switch, as when a SNAT rule changes or a NIC fails over. Inside
 * a stretch, two or more addresses interleave: a pool (each new flow takes
 * one of them), as Linux SNAT ranges, cloud NAT gateways and load-balancer
 * outbound rules do. Ordering by start, not by last packet, keeps a
 * long-lived flow that kept the old address from blurring a switch.
 *
 * Summed over hosts: per capture point one pool record (hosts, flows, and
 * which addresses took part: nl_egress_addr.pool_hosts) and one switch
 * record per (from, to) address pair. Everything is sorts and linear
 * sweeps: n log n in flows, whatever the number of addresses.
 */
#include <stdlib.h>
#include <string.h>
#include "correlate_int.h"

static int obs_host_cmp(const void *a, const void *b)
{
    const egress_obs *x = a, *y = b;
    int r;
    if (x->seen_at != y->seen_at)
        return x->seen_at < y->seen_at ? -1 : 1;
    if ((r = nl_addr_cmp(&x->inner, &y->inner)))
        return r;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->f->id < y->f->id ? -1 : x->f->id > y->f->id;
}

typedef struct pos_addr {
    nl_addr  ip;
    uint32_t pos;            /* position in the host's run */
} pos_addr;

static int pos_addr_cmp(const void *a, const void *b)
{
    const pos_addr *x = a, *y = b;
    int r = nl_addr_cmp(&x->ip, &y->ip);
    if (r)
        return r;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* The answer's entry for (seen_at, ip): c->egress_addrs is still sorted
 * by (seen_at, ip) here. */
static nl_egress_addr *addr_find(nl_correlation *c, int seen_at, const nl_addr *ip)
{
    size_t a = 0, b = c->negress_addrs;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        const nl_egress_addr *e = &c->egress_addrs[m];
        int r = e->seen_at != seen_at ? (e->seen_at < seen_at ? -1 : 1) : nl_addr_cmp(&e->ip, ip);
        if (r < 0)
            a = m + 1;
        else if (r > 0)
            b = m;
        else
            return &c->egress_addrs[m];
    }
    return NULL;
}

typedef struct grp_ctx {
    nl_correlation *c;
    pos_addr *pa;            /* scratch: (address, position) of one host */
    uint32_t *last;          /* scratch: last position of each position's address */
    uint32_t *sid;           /* scratch: stretch of each position */
    uint32_t *naddr;         /* scratch: distinct addresses per stretch */
    uint32_t *len;           /* scratch: observations per stretch */
    nl_egress_switch *sw;    /* one per host switch, summed later */
    size_t nsw, capsw;
    uint32_t next_group;
} grp_ctx;

static int sw_push(grp_ctx *g, const egress_obs *from, const egress_obs *to)
{
    if (g->nsw == g->capsw) {
        size_t nc = g->capsw ? g->capsw * 2 : 64;
        nl_egress_switch *nv = realloc(g->sw, nc * sizeof *nv);
        if (!nv)
            return -1;
        g->sw = nv;
        g->capsw = nc;
    }
    nl_egress_switch *s = &g->sw[g->nsw++];
    memset(s, 0, sizeof *s);
    s->seen_at = to->seen_at;
    s->from_ip = from->egress;
    s->to_ip = to->egress;
    s->hosts = 1;
    s->first_ns = s->last_ns = to->start;
    s->first_new = to->f;
    s->first_inner = to->inner;
    return 0;
}

/* One host's confident observations v[0..m) in start order: stretches,
 * switches between them, pool membership. */
static int host_run(grp_ctx *g, egress_obs **v, size_t m, nl_egress_pool *pool)
{
    for (size_t i = 0; i < m; i++) {
        g->pa[i].ip = v[i]->egress;
        g->pa[i].pos = (uint32_t)i;
    }
    qsort(g->pa, m, sizeof *g->pa, pos_addr_cmp);
    for (size_t i = 0; i < m;) {          /* each address's last position */
        size_t e = i;
        while (e < m && !nl_addr_cmp(&g->pa[e].ip, &g->pa[i].ip))
            e++;
        for (size_t k = i; k < e; k++)
            g->last[g->pa[k].pos] = g->pa[e - 1].pos;
        i = e;
    }
    /* cuts: nothing before i is used again from i on */
    uint32_t maxlast = 0;
    for (size_t i = 0; i < m; i++) {
        g->sid[i] = i > 0 && maxlast < i;          /* 1: a cut before i */
        if (i == 0 || g->last[i] > maxlast)
            maxlast = g->last[i];
    }
    /* A stretch of one flow next to another of one flow is no switch but
     * a pool that never reuses an address (every new flow a new source,
     * as some cloud NATs do): such runs of single-flow stretches are one
     * stretch. An isolated single flow after a longer stretch stays a
     * switch (a capture that ends right after a rule change). */
    uint32_t *cut = g->len;               /* the cuts as found, read below */
    memcpy(cut, g->sid, m * sizeof *cut);
    for (size_t i = 1; i < m; i++) {
        int single_here = i + 1 == m || cut[i + 1];   /* stretch [i] is one flow */
        int single_before = i == 1 || cut[i - 1];      /* so is the one before */
        if (cut[i] && single_here && single_before)
            g->sid[i] = 0;
    }
    uint32_t s = 0;
    for (size_t i = 0; i < m; i++) {
        if (g->sid[i]) {
            if (sw_push(g, v[i - 1], v[i]) < 0)
                return -1;
            s++;
        }
        g->sid[i] = s;
        v[i]->group = g->next_group + s;
    }
    memset(g->naddr, 0, (s + 1) * sizeof *g->naddr);
    memset(g->len, 0, (s + 1) * sizeof *g->len);
    for (size_t i = 0; i < m; i++)
        g->len[g->sid[i]]++;
    for (size_t i = 0; i < m; i++)        /* first position of each address */
        if (i == 0 || nl_addr_cmp(&g->pa[i].ip, &g->pa[i - 1].ip))
            g->naddr[g->sid[g->pa[i].pos]]++;
    int any = 0;
    for (uint32_t k = 0; k <= s; k++)
        if (g->naddr[k] >= 2) {
            any = 1;
            pool->flows += g->len[k];
        }
    pool->hosts += (uint32_t)any;
    for (size_t i = 0; any && i < m; i++)
        if ((i == 0 || nl_addr_cmp(&g->pa[i].ip, &g->pa[i - 1].ip)) &&
            g->naddr[g->sid[g->pa[i].pos]] >= 2) {
            nl_egress_addr *e = addr_find(g->c, v[0]->seen_at, &g->pa[i].ip);
            if (e)
                e->pool_hosts++;
        }
    g->next_group += s + 1;
    return 0;
}

static int sw_cmp(const void *a, const void *b)
{
    const nl_egress_switch *x = a, *y = b;
    int r;
    if (x->seen_at != y->seen_at)
        return x->seen_at < y->seen_at ? -1 : 1;
    if ((r = nl_addr_cmp(&x->from_ip, &y->from_ip)) || (r = nl_addr_cmp(&x->to_ip, &y->to_ip)))
        return r;
    return x->first_ns < y->first_ns ? -1 : x->first_ns > y->first_ns;
}

static int sw_time_cmp(const void *a, const void *b)
{
    const nl_egress_switch *x = a, *y = b;
    if (x->seen_at != y->seen_at)
        return x->seen_at < y->seen_at ? -1 : 1;
    return x->first_ns < y->first_ns ? -1 : x->first_ns > y->first_ns;
}

/* One record per (seen_at, from, to): hosts summed, earliest first_new. */
static void switches_sum(nl_correlation *c, grp_ctx *g)
{
    if (g->nsw > 1)
        qsort(g->sw, g->nsw, sizeof *g->sw, sw_cmp);
    size_t out = 0;
    for (size_t i = 0; i < g->nsw; i++) {
        nl_egress_switch *p = out ? &g->sw[out - 1] : NULL;
        if (p && p->seen_at == g->sw[i].seen_at && !nl_addr_cmp(&p->from_ip, &g->sw[i].from_ip) &&
            !nl_addr_cmp(&p->to_ip, &g->sw[i].to_ip)) {
            p->hosts++;
            if (g->sw[i].last_ns > p->last_ns)
                p->last_ns = g->sw[i].last_ns;
            continue;
        }
        g->sw[out++] = g->sw[i];
    }
    if (out > 1)
        qsort(g->sw, out, sizeof *g->sw, sw_time_cmp);
    c->egress_switches = g->sw;
    c->negress_switches = out;
    g->sw = NULL;
}

int egress_groups_build(nl_correlation *c, egress_obs *o, size_t n)
{
    grp_ctx g;
    int rc = -1;
    memset(&g, 0, sizeof g);
    g.c = c;
    qsort(o, n, sizeof *o, obs_host_cmp);
    egress_obs **v = malloc((n ? n : 1) * sizeof *v);
    g.pa = malloc((n ? n : 1) * sizeof *g.pa);
    g.last = malloc((n ? n : 1) * sizeof *g.last);
    g.sid = malloc((n ? n : 1) * sizeof *g.sid);
    g.naddr = malloc((n ? n : 1) * sizeof *g.naddr);
    g.len = malloc((n ? n : 1) * sizeof *g.len);
    c->egress_pools = calloc(c->ncaps, sizeof *c->egress_pools);
    if (!v || !g.pa || !g.last || !g.sid || !g.naddr || !g.len || !c->egress_pools)
        goto done;
    for (size_t i = 0; i < n;) {
        size_t e = i, m = 0;
        while (e < n && o[e].seen_at == o[i].seen_at && !nl_addr_cmp(&o[e].inner, &o[i].inner))
            e++;
        for (size_t k = i; k < e; k++) {
            o[k].group = UINT32_MAX;      /* not confident: in no stretch */
            if (o[k].confident)
                v[m++] = &o[k];
        }
        if (m && host_run(&g, v, m, &c->egress_pools[o[i].seen_at]) < 0)
            goto done;
        i = e;
    }
    size_t np = 0;                         /* keep the points with a pool */
    for (size_t i = 0; i < c->ncaps; i++) {
        if (!c->egress_pools[i].hosts)
            continue;
        nl_egress_pool p = c->egress_pools[i];
        p.seen_at = (int)i;
        for (size_t k = 0; k < c->negress_addrs; k++)
            p.naddrs += c->egress_addrs[k].seen_at == (int)i && c->egress_addrs[k].pool_hosts;
        c->egress_pools[np++] = p;
    }
    c->negress_pools = np;
    switches_sum(c, &g);
    rc = 0;
done:
    free(v);
    free(g.pa);
    free(g.last);
    free(g.sid);
    free(g.naddr);
    free(g.len);
    free(g.sw);
    return rc;
}
