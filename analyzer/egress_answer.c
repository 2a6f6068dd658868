/* egress_answer.c - one capture point's answer, ready for any presenter:
 * the text, the reports and the viewer print the same addresses in the
 * same order and summarise a pool too big to list the same way.
 *
 * Addresses are listed in address order (the line goes into allow lists).
 * Past NL_ANSWER_LIST addresses (a NAT that hands every flow a new source)
 * the answer is the prefix they fill when they fill at least a quarter of
 * it, else their /24 (/64) blocks. n log n in addresses.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/flow_out.h"
#include "correlate_int.h"

static int addr_ptr_cmp(const void *a, const void *b)
{
    const nl_egress_addr *x = *(const nl_egress_addr *const *)a;
    const nl_egress_addr *y = *(const nl_egress_addr *const *)b;
    return nl_addr_cmp(&x->ip, &y->ip);
}

/* The prefix both a and b lie in (common leading bits), IPv4 counted in
 * its own 32 bits. */
static int common_prefix(const nl_addr *a, const nl_addr *b, nl_addr *pfx)
{
    int bits = 0;
    while (bits < 128 && ((a->b[bits / 8] ^ b->b[bits / 8]) & (0x80 >> (bits % 8))) == 0)
        bits++;
    memset(pfx, 0, sizeof *pfx);
    for (int i = 0; i < bits; i++)
        pfx->b[i / 8] |= a->b[i / 8] & (0x80 >> (i % 8));
    return nl_addr_is_v4(a) && nl_addr_is_v4(b) ? bits - 96 : bits;
}

static void addr_block(const nl_addr *a, nl_addr *blk, int *len)
{
    *blk = *a;
    if (nl_addr_is_v4(a)) {
        blk->b[15] = 0;
        *len = 24;
    } else {
        memset(blk->b + 8, 0, 8);
        *len = 64;
    }
}

static int answer_blocks(nl_answer *a)
{
    a->blocks = malloc(a->naddrs * sizeof *a->blocks);
    if (!a->blocks)
        return -1;
    for (size_t i = 0; i < a->naddrs;) {
        nl_answer_block *b = &a->blocks[a->nblocks++];
        addr_block(&a->addrs[i]->ip, &b->prefix, &b->len);
        size_t e = i + 1;
        for (; e < a->naddrs; e++) {
            nl_addr p;
            int l;
            addr_block(&a->addrs[e]->ip, &p, &l);
            if (l != b->len || nl_addr_cmp(&p, &b->prefix))
                break;
        }
        b->addrs = (uint32_t)(e - i);
        i = e;
    }
    const nl_addr *lo = &a->addrs[0]->ip, *hi = &a->addrs[a->naddrs - 1]->ip;
    if (nl_addr_is_v4(lo) != nl_addr_is_v4(hi))
        return 0;
    nl_answer_block *cv = &a->cover;
    cv->len = common_prefix(lo, hi, &cv->prefix);
    if (nl_addr_is_v4(lo))
        cv->prefix.b[10] = cv->prefix.b[11] = 0xff;   /* ::ffff:a.b.c.d again */
    cv->addrs = (uint32_t)a->naddrs;
    int host_bits = (nl_addr_is_v4(lo) ? 32 : 128) - cv->len;
    a->covered = host_bits < 63 &&
                 (double)a->naddrs >= 0.25 * (double)(UINT64_C(1) << host_bits);
    return 0;
}

int correlate_answer(const nl_correlation *c, int seen_at, nl_answer *a)
{
    memset(a, 0, sizeof *a);
    a->seen_at = seen_at;
    size_t n = 0;
    for (size_t i = 0; i < c->negress_addrs; i++)
        n += c->egress_addrs[i].seen_at == seen_at;
    if (!n)
        return 1;
    a->addrs = malloc(n * sizeof *a->addrs);
    if (!a->addrs)
        return -1;
    for (size_t i = 0; i < c->negress_addrs; i++) {
        const nl_egress_addr *e = &c->egress_addrs[i];
        if (e->seen_at != seen_at)
            continue;
        a->addrs[a->naddrs++] = e;
        a->flows += e->flows;
        if (e->flows > a->most_flows)
            a->most_flows = e->flows;
    }
    qsort(a->addrs, a->naddrs, sizeof *a->addrs, addr_ptr_cmp);
    for (size_t i = 0; i < c->negress_pools; i++)
        if (c->egress_pools[i].seen_at == seen_at)
            a->pool = &c->egress_pools[i];
    for (size_t i = 0; i < c->negress_switches; i++)
        if (c->egress_switches[i].seen_at == seen_at) {
            if (!a->first_switch)
                a->first_switch = &c->egress_switches[i];   /* by time */
            a->nswitches++;
        }
    if (a->naddrs > NL_ANSWER_LIST && answer_blocks(a) < 0) {
        correlate_answer_free(a);
        return -1;
    }
    return 0;
}

void correlate_answer_free(nl_answer *a)
{
    free(a->addrs);
    free(a->blocks);
    memset(a, 0, sizeof *a);
}

char *correlate_block_str(const nl_answer_block *b, char *buf, size_t len)
{
    char ip[64];
    snprintf(buf, len, "%s/%d", nl_addr_str(&b->prefix, ip, sizeof ip), b->len);
    return buf;
}

/* snprintf at the end of buf, never past it. */
static void cat(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void cat(char *buf, size_t len, const char *fmt, ...)
{
    size_t l = strlen(buf);
    va_list ap;
    if (l + 1 >= len)
        return;
    va_start(ap, fmt);
    vsnprintf(buf + l, len - l, fmt, ap);
    va_end(ap);
}

char *correlate_answer_addrs(const nl_answer *a, char *buf, size_t len)
{
    char ip[64], b[80];
    buf[0] = 0;
    if (a->naddrs <= NL_ANSWER_LIST) {
        for (size_t i = 0; i < a->naddrs; i++)
            cat(buf, len, "%s%s", i ? " " : "", nl_addr_str(&a->addrs[i]->ip, ip, sizeof ip));
        return buf;
    }
    if (a->covered) {
        int host = (nl_addr_is_v4(&a->cover.prefix) ? 32 : 128) - a->cover.len;
        cat(buf, len, "%s (%zu addresses seen in it, %.0f%% of the block)",
            correlate_block_str(&a->cover, b, sizeof b), a->naddrs,
            100.0 * (double)a->naddrs / (double)(UINT64_C(1) << host));
        return buf;
    }
    size_t shown = a->nblocks < 8 ? a->nblocks : 8;
    for (size_t i = 0; i < shown; i++)
        cat(buf, len, "%s%s (%u)", i ? " " : "", correlate_block_str(&a->blocks[i], b, sizeof b),
            a->blocks[i].addrs);
    if (a->nblocks > shown)
        cat(buf, len, " and %zu more blocks", a->nblocks - shown);
    cat(buf, len, " (%zu addresses)", a->naddrs);
    return buf;
}

char *correlate_answer_note(const nl_answer *a, char *buf, size_t len)
{
    char ip[64], ip2[64], t[40];
    buf[0] = 0;
    if (a->pool && a->pool->naddrs > NL_ANSWER_LIST) {
        cat(buf, len, "a pool of %u addresses: %llu flows, at most %u on one address%s",
            a->pool->naddrs, (unsigned long long)a->flows, a->most_flows,
            a->most_flows == 1 ? ": every flow a new source address" : "");
    } else if (a->pool) {
        cat(buf, len, "a pool of %u: ", a->pool->naddrs);
        int first = 1;
        for (size_t i = 0; i < a->naddrs; i++)
            if (a->addrs[i]->pool_hosts) {
                cat(buf, len, "%s%.0f%%", first ? "" : " / ",
                    a->flows ? 100.0 * a->addrs[i]->flows / (double)a->flows : 0.0);
                first = 0;
            }
        cat(buf, len, " of %llu flows", (unsigned long long)a->flows);
    } else if (a->first_switch) {
        const nl_egress_switch *s = a->first_switch;
        flow_out_time(s->first_ns, t, sizeof t, 0);
        cat(buf, len, "%s until %.12s, then %s", nl_addr_str(&s->from_ip, ip, sizeof ip), t,
            nl_addr_str(&s->to_ip, ip2, sizeof ip2));
        if (a->nswitches > 1)
            cat(buf, len, "; %zu switches", a->nswitches);
        cat(buf, len, ": %llu flows", (unsigned long long)a->flows);
    } else {
        cat(buf, len, "%llu flow%s", (unsigned long long)a->flows, a->flows == 1 ? "" : "s");
        if (a->naddrs > 1)
            cat(buf, len, ", each inner host always by the same address");
    }
    return buf;
}

int correlate_answer_point(const nl_correlation *c)
{
    int best = -1;
    for (size_t i = 0; i < c->negress_addrs; i++)
        if (c->egress_addrs[i].seen_at > best)
            best = c->egress_addrs[i].seen_at;
    return best;
}
