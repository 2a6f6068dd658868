/* diagnose_egress.c - what the egress addresses did: one finding per pool
 * and one per switch, however many hosts and flows (issue #12.3: a
 * three-address pool used to make tens of thousands of findings).
 *
 *   - egress_pool (info): per capture point, the addresses that new flows
 *     of one host took in turn, with each one's share of the flows;
 *   - source_changed (warning): per switch (nl_egress_switch: from -> to,
 *     hosts summed), the earliest host's first flow on the new address and
 *     the per-destination changes as evidence, a few of them (the JSON's
 *     ip_changes lists all).
 */
#define NATLENS_DIAGNOSE_INTERNAL
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/diagnose.h"
#include "natlens/flow_out.h"

#define EG_EV_CHANGES 6          /* per-destination changes shown per switch */

static const char *cap_name(const nl_findings *fs, int cap)
{
    return diagnose_capture_name(fs, cap);
}

static void rule_pool(nl_findings *fs, const nl_correlation *c, const nl_egress_pool *p)
{
    uint32_t total = 0;
    for (size_t i = 0; i < c->negress_addrs; i++)
        if (c->egress_addrs[i].seen_at == p->seen_at && c->egress_addrs[i].pool_hosts)
            total += c->egress_addrs[i].flows;
    dg_case *k = diagnose_case_new(fs, NL_FK_EGRESS_POOL, NL_SEV_INFO);
    k->claims = 0;
    k->rank = 10;
    snprintf(k->group, sizeof k->group, "pool|%d", p->seen_at);
    snprintf(k->subject1, sizeof k->subject1, "Flows seen at %s", cap_name(fs, p->seen_at));
    snprintf(k->predicate, sizeof k->predicate,
             "leave by a pool of %u addresses: new flows of one inner host take any of them "
             "(%u host%s, %u flow%s); allow every address of the pool, not only the one a test "
             "showed", p->naddrs, p->hosts, p->hosts == 1 ? "" : "s", p->flows,
             p->flows == 1 ? "" : "s");
    for (size_t i = 0; i < c->negress_addrs; i++) {
        const nl_egress_addr *e = &c->egress_addrs[i];
        char ip[64];
        if (e->seen_at != p->seen_at || !e->pool_hosts)
            continue;
        diagnose_case_ev(k, p->seen_at, 0, e->first_ns, "%s: %u flow%s (%.0f%%) from %u host%s",
                         nl_addr_str(&e->ip, ip, sizeof ip), e->flows, e->flows == 1 ? "" : "s",
                         total ? 100.0 * e->flows / total : 0.0, e->hosts,
                         e->hosts == 1 ? "" : "s");
    }
}

/* Address-level changes ordered by (seen_at, from, to, time), so each
 * switch finds its own by binary search: no switch scans every change. */
static int chg_cmp(const void *a, const void *b)
{
    const nl_ip_change *x = *(const nl_ip_change *const *)a, *y = *(const nl_ip_change *const *)b;
    int r;
    if (x->seen_at != y->seen_at)
        return x->seen_at < y->seen_at ? -1 : 1;
    if ((r = nl_addr_cmp(&x->from_ip, &y->from_ip)) || (r = nl_addr_cmp(&x->to_ip, &y->to_ip)))
        return r;
    return x->at_ns < y->at_ns ? -1 : x->at_ns > y->at_ns;
}

static int chg_key_cmp(const nl_ip_change *x, const nl_egress_switch *s)
{
    int r;
    if (x->seen_at != s->seen_at)
        return x->seen_at < s->seen_at ? -1 : 1;
    if ((r = nl_addr_cmp(&x->from_ip, &s->from_ip)))
        return r;
    return nl_addr_cmp(&x->to_ip, &s->to_ip);
}

static void rule_switch(nl_findings *fs, const nl_egress_switch *s,
                        const nl_ip_change *const *chg, size_t nchg)
{
    char from[64], to[64], in[64], tm[32];
    nl_addr_str(&s->from_ip, from, sizeof from);
    nl_addr_str(&s->to_ip, to, sizeof to);
    nl_addr_str(&s->first_inner, in, sizeof in);
    flow_out_time(s->first_ns, tm, sizeof tm, 0);
    dg_case *k = diagnose_case_new(fs, NL_FK_SOURCE_CHANGED, NL_SEV_WARNING);
    k->claims = 0;
    k->rank = 10;
    snprintf(k->group, sizeof k->group, "sc|%d|%.60s|%.60s", s->seen_at, from, to);
    if (s->hosts == 1)
        snprintf(k->subject1, sizeof k->subject1, "The address %s sees for %s",
                 cap_name(fs, s->seen_at), in);
    else
        snprintf(k->subject1, sizeof k->subject1, "The address %s sees for %u inner hosts",
                 cap_name(fs, s->seen_at), s->hosts);
    snprintf(k->predicate, sizeof k->predicate,
             "changed from %s to %s at %s (%s clock): new flows left as %s from then on%s",
             from, to, tm, cap_name(fs, 0), to,
             s->last_ns > s->first_ns + 1000000000ull ? ", host by host as they opened flows" : "");
    if (s->first_new) {
        char t[200];
        diagnose_case_flow(k, 0, s->first_new);
        flow_out_tuple(s->first_new, t, sizeof t, 1);
        diagnose_case_ev(k, 0, s->first_new->first_frame, s->first_new->first_ns,
                         "first flow on the new address: %s, seen as %s at %s", t, to,
                         cap_name(fs, s->seen_at));
    }
    size_t shown = 0, more = 0, lo = 0, hi = nchg;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (chg_key_cmp(chg[mid], s) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < nchg && !chg_key_cmp(chg[i], s); i++) {
        const nl_ip_change *x = chg[i];
        if (shown >= EG_EV_CHANGES) {
            more++;
            continue;
        }
        char xi[64], xd[64], xt[32];
        nl_addr_str(&x->inner_ip, xi, sizeof xi);
        nl_addr_str(&x->dest_ip, xd, sizeof xd);
        flow_out_time(x->at_ns, xt, sizeof xt, 0);
        diagnose_case_ev(k, 0, 0, x->at_ns,
                         "%s \xe2\x86\x92 %s: last flow as %s, then as %s from %s%s", xi, xd,
                         from, to, xt, x->old_still_open ? " (earlier flows kept the old address)"
                                                         : "");
        shown++;
    }
    if (more)
        diagnose_case_ev(k, 0, 0, 0, "%zu more inner host/destination pairs changed the same "
                         "way (--json: ip_changes)", more);
    diagnose_case_fix(k, 10, diagnose_fix_source_changed(NULL, from, to,
                                                         s->hosts == 1 ? in : NULL));
}

void diagnose_egress_run(nl_findings *fs, const nl_correlation *c)
{
    for (size_t i = 0; i < c->negress_pools; i++)
        rule_pool(fs, c, &c->egress_pools[i]);
    if (!c->negress_switches)
        return;
    const nl_ip_change **chg = malloc((c->nip_changes ? c->nip_changes : 1) * sizeof *chg);
    if (!chg) {
        fs->oom = 1;
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < c->nip_changes; i++)
        if (!c->ip_changes[i].has_port)
            chg[n++] = &c->ip_changes[i];
    if (n > 1)
        qsort(chg, n, sizeof *chg, chg_cmp);
    for (size_t i = 0; i < c->negress_switches; i++)
        rule_switch(fs, &c->egress_switches[i], chg, n);
    free(chg);
}
