/* report_nat.c - the translations the captures prove, grouped: one row per
 * pair of captures, direction of translation, inner and outer source
 * address and destination (address:port). Source ports are left out of the
 * key (port remapping would make every flow its own row); the count of
 * remapped ports is kept instead. */
#include <stdlib.h>
#include <string.h>
#include "report_int.h"

static int nat_key_cmp(const rep_nat *x, const rep_nat *y)
{
    int c;
    if (x->near_cap != y->near_cap)
        return x->near_cap < y->near_cap ? -1 : 1;
    if (x->translation != y->translation)
        return x->translation < y->translation ? -1 : 1;
    if (x->proto != y->proto)
        return x->proto < y->proto ? -1 : 1;
    if ((c = nl_addr_cmp(&x->src, &y->src)) || (c = nl_addr_cmp(&x->dst, &y->dst)))
        return c;
    if (x->dport != y->dport)
        return x->dport < y->dport ? -1 : 1;
    if ((c = nl_addr_cmp(&x->far_src, &y->far_src)) || (c = nl_addr_cmp(&x->far_dst, &y->far_dst)))
        return c;
    if (x->far_dport != y->far_dport)
        return x->far_dport < y->far_dport ? -1 : 1;
    return 0;
}

static int nat_qcmp(const void *a, const void *b)
{
    const rep_nat *x = a, *y = b;
    int c = nat_key_cmp(x, y);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int nat_order_cmp(const void *a, const void *b)
{
    const rep_nat *x = a, *y = b;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Sorting, not a search per match: a capture pair with 100k translated
 * flows to as many destinations must stay O(n log n). */
size_t report_nat_rows(const rep_ctx *c, rep_nat **out)
{
    const nl_correlation *co = c->in->corr;
    rep_nat *v;
    size_t n = 0, k = 0;
    *out = NULL;
    if (!co || !co->nmatches)
        return 0;
    v = calloc(co->nmatches, sizeof *v);
    if (!v)
        return 0;
    for (size_t i = 0; i < co->nmatches; i++) {
        const nl_match *m = &co->matches[i];
        rep_nat *r;
        uint16_t sport;
        if (m->translation == NL_XLATE_NONE)
            continue;
        r = &v[n++];
        r->order = i;
        r->near_cap = m->near_cap;
        r->far_cap = m->far_cap;
        r->translation = m->translation;
        r->proto = m->near->proto;
        r->src = m->near->orig_ip;
        r->dst = m->near->resp_ip;
        r->dport = m->near->resp_port;
        /* far endpoints in the near flow's roles (correlate handles flip) */
        correlate_far_endpoint(m, NL_ORIG, &r->far_src, &sport);
        correlate_far_endpoint(m, NL_RESP, &r->far_dst, &r->far_dport);
        r->flows = 1;
        r->port_remapped = m->sport_changed ? 1 : 0;
    }
    qsort(v, n, sizeof *v, nat_qcmp);
    for (size_t i = 0; i < n; i++) {
        if (k && !nat_key_cmp(&v[k - 1], &v[i])) {
            v[k - 1].flows++;
            v[k - 1].port_remapped += v[i].port_remapped;
            continue;
        }
        v[k++] = v[i];   /* keeps the group's first match as its order */
    }
    qsort(v, k, sizeof *v, nat_order_cmp);
    *out = v;
    return k;
}

static int addr_qcmp(const void *a, const void *b)
{
    return nl_addr_cmp(a, b);
}

size_t report_egress_addrs(const rep_ctx *c, nl_addr **out)
{
    const nl_correlation *co = c->in->corr;
    nl_addr *v;
    size_t n = 0;
    *out = NULL;
    if (!co || !co->negress)
        return 0;
    v = malloc(co->negress * sizeof *v);
    if (!v)
        return 0;
    for (size_t i = 0; i < co->negress; i++)
        v[i] = co->egress[i].egress_ip;
    qsort(v, co->negress, sizeof *v, addr_qcmp);
    for (size_t i = 0; i < co->negress; i++)
        if (!n || nl_addr_cmp(&v[n - 1], &v[i]))
            v[n++] = v[i];
    *out = v;
    return n;
}

void report_changes_range(const nl_correlation *co, const nl_addr *inner, const nl_addr *dest,
                          size_t *lo, size_t *hi)
{
    /* ip_changes are sorted by inner, destination, time */
    size_t a = 0, b = co->nip_changes;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        const nl_ip_change *x = &co->ip_changes[mid];
        int r = nl_addr_cmp(&x->inner_ip, inner);
        if (!r)
            r = nl_addr_cmp(&x->dest_ip, dest);
        if (r < 0)
            a = mid + 1;
        else
            b = mid;
    }
    *lo = a;
    while (a < co->nip_changes && !nl_addr_cmp(&co->ip_changes[a].inner_ip, inner) &&
           !nl_addr_cmp(&co->ip_changes[a].dest_ip, dest))
        a++;
    *hi = a;
}

int report_answer(rep_ctx *c, char *addrs, size_t alen, char *note, size_t nlen, int *at)
{
    const nl_correlation *co = c->in->corr;
    nl_answer a;
    char ip[64];
    addrs[0] = note[0] = 0;
    *at = co ? correlate_answer_point(co) : -1;
    if (*at < 0 || correlate_answer(co, *at, &a) != 0)
        return 0;
    if (a.naddrs <= NL_ANSWER_LIST) {
        /* address by address, through the report's redaction */
        size_t k = 0;
        for (size_t i = 0; i < a.naddrs && k < alen; i++)
            k += (size_t)snprintf(addrs + k, alen - k, "%s%s", i ? " " : "",
                                  report_addr(c, &a.addrs[i]->ip, ip, sizeof ip));
    } else {
        correlate_answer_addrs(&a, addrs, alen);
    }
    correlate_answer_note(&a, note, nlen);
    correlate_answer_free(&a);
    return 1;
}

static int nat_flows_cmp(const void *a, const void *b)
{
    const rep_nat *x = a, *y = b;
    if (x->flows != y->flows)
        return x->flows > y->flows ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

void report_nat_sort(rep_nat *v, size_t n)
{
    if (n > 1)                  /* v is NULL without matches */
        qsort(v, n, sizeof *v, nat_flows_cmp);
}

/* An egress row's index with what it is ranked by: the comparison needs
 * no global (reports may be written on several threads). */
typedef struct egress_rank {
    uint32_t flows;
    size_t   i;
} egress_rank;

static int egress_top_cmp(const void *a, const void *b)
{
    const egress_rank *x = a, *y = b;
    if (x->flows != y->flows)
        return x->flows > y->flows ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static int size_cmp(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

size_t report_egress_top(const rep_ctx *c, size_t **out)
{
    const nl_correlation *co = c->in->corr;
    size_t n = co ? co->negress : 0, keep = n;
    size_t *v;
    *out = NULL;
    if (!n)
        return 0;
    v = malloc(n * sizeof *v);
    if (!v)
        return 0;
    for (size_t i = 0; i < n; i++)
        v[i] = i;
    if (c->o->max_rows && n > c->o->max_rows) {
        /* the busiest rows, shown in the table's own order */
        egress_rank *r = malloc(n * sizeof *r);
        if (!r) {
            free(v);
            return 0;
        }
        for (size_t i = 0; i < n; i++) {
            r[i].flows = co->egress[i].flows;
            r[i].i = i;
        }
        qsort(r, n, sizeof *r, egress_top_cmp);
        keep = c->o->max_rows;
        for (size_t i = 0; i < keep; i++)
            v[i] = r[i].i;
        free(r);
        qsort(v, keep, sizeof *v, size_cmp);
    }
    *out = v;
    return keep;
}

void report_timeline_span(const nl_correlation *co, uint64_t *t0, uint64_t *t1)
{
    /* source changes happen at a flow's start, inside these spans */
    *t0 = UINT64_MAX;
    *t1 = 0;
    for (size_t i = 0; i < co->negress; i++) {
        if (co->egress[i].first_ns < *t0)
            *t0 = co->egress[i].first_ns;
        if (co->egress[i].last_ns > *t1)
            *t1 = co->egress[i].last_ns;
    }
    if (*t1 <= *t0)
        *t1 = *t0 + 1000000000ull;
}
