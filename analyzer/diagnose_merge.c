/* diagnose_merge.c - one case per broken connection.
 *
 * Rules add a case per connection and per explanation, so one connection
 * can come in several times: the client's SYN and the server's copy of it
 * (flows of one correlation chain), or one 5-tuple split into two flows by
 * a RST and a retried SYN. Cases are visited most specific kind first; the
 * first to claim a connection keeps it and absorbs the evidence (and, for
 * the same kind, the better fix) of the others, which are marked
 * merged_into. Claims are looked up through a hash, so a port scan's 100k
 * cases merge in linear time.
 */
#define NATLENS_DIAGNOSE_INTERNAL
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/diagnose.h"

/* Which connection a flow belongs to: its correlation chain when it has
 * one (so every capture's view of one connection shares the key), else the
 * flow itself. */
typedef struct conn_map {
    const nl_flow *f;
    uintptr_t      key;
} conn_map;

static int conn_map_cmp(const void *a, const void *b)
{
    const conn_map *x = a, *y = b;
    return (uintptr_t)x->f < (uintptr_t)y->f ? -1 : (uintptr_t)x->f > (uintptr_t)y->f;
}

static uintptr_t conn_key(const conn_map *m, size_t n, const nl_flow *f)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if ((uintptr_t)m[mid].f < (uintptr_t)f)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < n && m[lo].f == f)
        return m[lo].key;
    return (uintptr_t)f;
}

/* Every flow of every chain of c with its chain as key, sorted for
 * conn_key(). *out NULL (and 0) without chains; -1 on out of memory. */
static int conn_map_build(const nl_correlation *c, conn_map **out, size_t *nout)
{
    conn_map *m;
    size_t nm = 0, tot = 0;
    *out = NULL;
    *nout = 0;
    if (!c || !c->nchains)
        return 0;
    for (size_t i = 0; i < c->nchains; i++)
        for (size_t cp = 0; cp < c->ncaps; cp++)
            tot += c->chains[i].flows[cp] != NULL;
    m = malloc((tot ? tot : 1) * sizeof *m);
    if (!m)
        return -1;
    for (size_t i = 0; i < c->nchains; i++)
        for (size_t cp = 0; cp < c->ncaps; cp++)
            if (c->chains[i].flows[cp]) {
                m[nm].f = c->chains[i].flows[cp];
                m[nm].key = (uintptr_t)&c->chains[i];
                nm++;
            }
    qsort(m, nm, sizeof *m, conn_map_cmp);
    *out = m;
    *nout = nm;
    return 0;
}

/* A case's index with what orders it (kind priority, rank): the
 * comparison needs no global, so two containers may be finalised on two
 * threads at once. */
typedef struct case_order {
    int    prio, rank;
    size_t i;
} case_order;

static int case_order_cmp(const void *a, const void *b)
{
    const case_order *x = a, *y = b;
    if (x->prio != y->prio)
        return x->prio - y->prio;
    if (x->rank != y->rank)
        return y->rank - x->rank;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* order[0..n) = the cases, most specific kind first. -1 out of memory. */
static int case_order_build(const nl_findings *fs, size_t *order)
{
    case_order *v = malloc((fs->ncases ? fs->ncases : 1) * sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < fs->ncases; i++) {
        v[i].prio = diagnose_kind_priority(fs->cases[i].kind);
        v[i].rank = fs->cases[i].rank;
        v[i].i = i;
    }
    qsort(v, fs->ncases, sizeof *v, case_order_cmp);
    for (size_t i = 0; i < fs->ncases; i++)
        order[i] = v[i].i;
    free(v);
    return 0;
}

/* One connection split into several flows in one capture: the same
 * 5-tuple again within a minute (a RST ended the first flow and the
 * client's retransmitted SYN opened the next). */
#define DG_SAME_TUPLE_GAP_NS (60ull * 1000000000ull)

static int same_tuple(const nl_finding_flow *x, const nl_finding_flow *y)
{
    const nl_flow *a = x->flow, *b = y->flow;
    if (x->capture != y->capture || a->proto != b->proto || a->orig_port != b->orig_port ||
        a->resp_port != b->resp_port || nl_addr_cmp(&a->orig_ip, &b->orig_ip) ||
        nl_addr_cmp(&a->resp_ip, &b->resp_ip))
        return 0;
    if (a->first_ns > b->last_ns + DG_SAME_TUPLE_GAP_NS ||
        b->first_ns > a->last_ns + DG_SAME_TUPLE_GAP_NS)
        return 0;
    return 1;
}

/* The 5-tuple (and capture) of a flow as a hash, for same_tuple(). */
static uint64_t tuple_key(const nl_finding_flow *x)
{
    const nl_flow *f = x->flow;
    uint64_t h = 1469598103934665603ull;
    const uint8_t *p;
#define TK_MIX(ptr, n) do { p = (const uint8_t *)(ptr); \
        for (size_t i_ = 0; i_ < (n); i_++) { h ^= p[i_]; h *= 1099511628211ull; } } while (0)
    TK_MIX(&x->capture, sizeof x->capture);
    TK_MIX(&f->proto, 1);
    TK_MIX(f->orig_ip.b, 16);
    TK_MIX(f->resp_ip.b, 16);
    TK_MIX(&f->orig_port, 2);
    TK_MIX(&f->resp_port, 2);
#undef TK_MIX
    return h;
}

/* Chained hash of claim keys -> position in the kept list. */
typedef struct claim_ent {
    uint64_t        key;
    nl_finding_flow ff;
    size_t          pos;
    uint32_t        next;
} claim_ent;

typedef struct claim_index {
    uint32_t  *head;
    uint64_t   mask;
    claim_ent *ent;
    size_t     n, cap;
} claim_index;

static int claim_index_init(claim_index *ix, size_t ncases)
{
    size_t nb = 64;
    while (nb < ncases * 4 && nb < ((size_t)1 << 30))
        nb <<= 1;
    memset(ix, 0, sizeof *ix);
    ix->head = malloc(nb * sizeof *ix->head);
    if (!ix->head)
        return -1;
    memset(ix->head, 0xff, nb * sizeof *ix->head);
    ix->mask = nb - 1;
    return 0;
}

static int claim_index_add(claim_index *ix, uint64_t key, const nl_finding_flow *ff, size_t pos)
{
    if (ix->n == ix->cap) {
        size_t nc = ix->cap ? ix->cap * 2 : 256;
        claim_ent *ne;
        if (nc >= UINT32_MAX)
            return -1;
        ne = realloc(ix->ent, nc * sizeof *ne);
        if (!ne)
            return -1;
        ix->ent = ne;
        ix->cap = nc;
    }
    claim_ent *e = &ix->ent[ix->n];
    e->key = key;
    e->ff = *ff;
    e->pos = pos;
    e->next = ix->head[key & ix->mask];
    ix->head[key & ix->mask] = (uint32_t)ix->n;
    ix->n++;
    return 0;
}

static void claim_index_free(claim_index *ix)
{
    free(ix->head);
    free(ix->ent);
}

/* Move b's flows and evidence under a (b becomes empty). */
static void case_absorb(dg_case *a, dg_case *b)
{
    for (size_t i = 0; i < b->nflows; i++)
        diagnose_case_flow(a, b->flows[i].capture, b->flows[i].flow);
    for (size_t i = 0; i < b->nev; i++) {
        diagnose_case_ev_take(a, b->ev[i].capture, b->ev[i].frame, b->ev[i].ts_ns,
                              b->ev[i].what);
        b->ev[i].what = NULL;
    }
    b->nev = 0;
    if (b->kind == a->kind && b->fix && (!a->fix || b->fix_rank > a->fix_rank)) {
        free(a->fix);
        a->fix = b->fix;
        a->fix_rank = b->fix_rank;
        b->fix = NULL;
    }
    if (!a->why[0] && b->why[0]) {
        memcpy(a->why, b->why, sizeof a->why);
        a->why_own = 0;
    }
    if (b->sev > a->sev && b->kind == a->kind)
        a->sev = b->sev;
    if (b->first_ns < a->first_ns)
        a->first_ns = b->first_ns;
}

size_t *diagnose_merge_run(nl_findings *fs, const nl_correlation *c, size_t *nkept_out)
{
    conn_map *m = NULL;
    size_t nm = 0, *order = NULL, *kept = NULL, nkept = 0;
    claim_index ix;

    memset(&ix, 0, sizeof ix);
    *nkept_out = 0;
    if (conn_map_build(c, &m, &nm) < 0)
        goto oom;
    order = malloc(fs->ncases * sizeof *order);
    kept = malloc(fs->ncases * sizeof *kept);
    if (!order || !kept)
        goto oom;
    for (size_t i = 0; i < fs->ncases; i++)
        fs->cases[i].merged_into = -1;
    if (case_order_build(fs, order) < 0)
        goto oom;

    /* An index from connection key and from 5-tuple to kept cases keeps
     * this linear: a scan of 100k ports makes 100k cases. */
    if (claim_index_init(&ix, fs->ncases) < 0)
        goto oom;
    for (size_t oi = 0; oi < fs->ncases; oi++) {
        dg_case *k = &fs->cases[order[oi]];
        size_t into = SIZE_MAX, best_pos = SIZE_MAX;
        if (k->claims)
            for (size_t fi = 0; fi < k->nflows; fi++) {
                const nl_finding_flow *ff = &k->flows[fi];
                uint64_t keys[2] = { conn_key(m, nm, ff->flow) * 2 + 1, tuple_key(ff) * 2 };
                for (int q = 0; q < 2; q++)
                    for (uint32_t e = ix.head[keys[q] & ix.mask]; e != UINT32_MAX;
                         e = ix.ent[e].next) {
                        const claim_ent *ce = &ix.ent[e];
                        if (ce->key != keys[q] || ce->pos >= best_pos)
                            continue;
                        if (q == 1 && !same_tuple(&ce->ff, ff))
                            continue;
                        best_pos = ce->pos;
                        into = kept[ce->pos];
                    }
            }
        size_t pos;
        if (into == SIZE_MAX) {
            pos = nkept;
            kept[nkept++] = order[oi];
        } else {
            pos = best_pos;
            case_absorb(&fs->cases[into], k);
            k->merged_into = (int)into;
        }
        if (k->claims)
            for (size_t fi = 0; fi < k->nflows; fi++) {
                const nl_finding_flow *ff = &k->flows[fi];
                if (claim_index_add(&ix, conn_key(m, nm, ff->flow) * 2 + 1, ff, pos) < 0 ||
                    claim_index_add(&ix, tuple_key(ff) * 2, ff, pos) < 0)
                    goto oom;
            }
    }
    free(m);
    free(order);
    claim_index_free(&ix);
    *nkept_out = nkept;
    return kept;
oom:
    fs->oom = 1;
    free(m);
    free(order);
    free(kept);
    claim_index_free(&ix);
    return NULL;
}
