/* diagnose.c - the findings container: cases in, findings out.
 *
 * Rules (diagnose_single.c, diagnose_pair.c) add one case per broken
 * connection. diagnose_finalize() then
 *   1. merges cases that name the same connection: the same flow, or flows
 *      of one correlation chain (the client's SYN and the server's copy of
 *      it are one connection). Cases are visited most specific kind first,
 *      so a connection is named once, by its best explanation; the evidence
 *      of the others is kept under it;
 *   2. groups the surviving cases of one kind and one group key (same
 *      service, same cause) into one finding, "3 handshakes to ... broke";
 *   3. sorts findings most severe first, then by time.
 * Out of memory is sticky (fs->oom) and reported by the public calls.
 */
#define NATLENS_DIAGNOSE_INTERNAL
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/diagnose.h"
#include "natlens/hostmeta.h"

struct nl_findings {
    dg_case    *cases;
    size_t      ncases, capcases;
    nl_finding *v;
    size_t      n;
    char      **names;          /* per capture index */
    char      **meta;           /* host metadata per capture, or NULL */
    uint8_t    *meta_set;       /* 1: looked up (or given) already */
    size_t      ncaps;
    int         oom;
    uint64_t    dropped;        /* cases past DG_MAX_CASES, not analysed */
};

/* A capture of a port scan can hold millions of unanswered SYNs; a case is
 * about 3 KiB, so stop collecting at this many (the rest are counted). */
#define DG_MAX_CASES 200000

static const char *const kind_names[NL_FK_COUNT] = {
    "asymmetric_return", "never_arrived", "icmp_unreachable", "rejected",
    "handshake_broken", "source_changed", "seq_rewritten"
};

const char *diagnose_kind_name(nl_finding_kind k)
{
    return (unsigned)k < NL_FK_COUNT ? kind_names[k] : "unknown";
}

const char *diagnose_severity_name(nl_severity s)
{
    switch (s) {
    case NL_SEV_ERROR: return "error";
    case NL_SEV_WARNING: return "warning";
    default: return "info";
    }
}

nl_findings *diagnose_new(void)
{
    return calloc(1, sizeof(nl_findings));
}

static void case_clear(dg_case *k)
{
    for (size_t i = 0; i < k->nev; i++)
        free(k->ev[i].what);
    free(k->fix);
    k->nev = 0;
    k->fix = NULL;
}

static void findings_clear(nl_findings *fs)
{
    for (size_t i = 0; i < fs->n; i++) {
        nl_finding *f = &fs->v[i];
        free(f->summary);
        free(f->flows);
        for (size_t e = 0; e < f->nevidence; e++)
            free(f->evidence[e].what);
        free(f->evidence);
        free(f->fix);
    }
    free(fs->v);
    fs->v = NULL;
    fs->n = 0;
}

void diagnose_free(nl_findings *fs)
{
    if (!fs)
        return;
    findings_clear(fs);
    for (size_t i = 0; i < fs->ncases; i++)
        case_clear(&fs->cases[i]);
    free(fs->cases);
    for (size_t i = 0; i < fs->ncaps; i++) {
        free(fs->names[i]);
        free(fs->meta[i]);
    }
    free(fs->names);
    free(fs->meta);
    free(fs->meta_set);
    free(fs);
}

int diagnose_oom(const nl_findings *fs)
{
    return fs->oom;
}

/* Make room for capture index cap. 0 or -1. */
static int caps_reserve(nl_findings *fs, int cap)
{
    size_t need = (size_t)cap + 1, old = fs->ncaps;
    if (cap < 0 || cap > 4096)
        return -1;
    if (need <= fs->ncaps)
        return 0;
    char **nn = realloc(fs->names, need * sizeof *nn);
    if (!nn)
        return fs->oom = 1, -1;
    fs->names = nn;
    char **nm = realloc(fs->meta, need * sizeof *nm);
    if (!nm)
        return fs->oom = 1, -1;
    fs->meta = nm;
    uint8_t *ns = realloc(fs->meta_set, need);
    if (!ns)
        return fs->oom = 1, -1;
    fs->meta_set = ns;
    for (size_t i = old; i < need; i++) {
        fs->names[i] = NULL;
        fs->meta[i] = NULL;
        fs->meta_set[i] = 0;
    }
    fs->ncaps = need;
    return 0;
}

int diagnose_set_name(nl_findings *fs, int cap, const char *name)
{
    if (caps_reserve(fs, cap) < 0 || !name)
        return -1;
    char *d = strdup(name);
    if (!d)
        return fs->oom = 1, -1;
    free(fs->names[cap]);
    fs->names[cap] = d;
    return 0;
}

const char *diagnose_capture_name(const nl_findings *fs, int cap)
{
    static char buf[4][32];
    static unsigned slot;
    if (fs && cap >= 0 && (size_t)cap < fs->ncaps && fs->names[cap])
        return fs->names[cap];
    /* a few rotating buffers: callers print two names in one printf */
    char *b = buf[slot++ & 3];
    snprintf(b, sizeof buf[0], "capture %d", cap);
    return b;
}

int diagnose_set_hostmeta(nl_findings *fs, int cap, const char *json)
{
    if (caps_reserve(fs, cap) < 0)
        return -1;
    free(fs->meta[cap]);
    fs->meta[cap] = NULL;
    if (json && !(fs->meta[cap] = strdup(json)))
        return fs->oom = 1, -1;
    fs->meta_set[cap] = 1;
    return 0;
}

/* Host metadata of capture cap, read from its file once on first use. */
static void hostmeta_load(nl_findings *fs, int cap, const char *path)
{
    char err[512];
    if (caps_reserve(fs, cap) < 0 || fs->meta_set[cap])
        return;
    fs->meta_set[cap] = 1;
    if (!path || !strcmp(path, "-"))
        return;
    err[0] = '\0';
    fs->meta[cap] = hostmeta_read(path, err);
}

const char *diagnose_hostmeta_of(const nl_findings *fs, int cap)
{
    if (cap < 0 || (size_t)cap >= fs->ncaps)
        return NULL;
    return fs->meta[cap];
}

/* ---- cases ----------------------------------------------------------- */

dg_case *diagnose_case_new(nl_findings *fs, nl_finding_kind kind, nl_severity sev)
{
    static dg_case scratch;     /* absorbs writes after out-of-memory */
    if (fs->ncases >= DG_MAX_CASES) {
        fs->dropped++;
        case_clear(&scratch);
        memset(&scratch, 0, sizeof scratch);
        return &scratch;
    }
    if (fs->ncases == fs->capcases) {
        size_t nc = fs->capcases ? fs->capcases * 2 : 32;
        dg_case *nv = realloc(fs->cases, nc * sizeof *nv);
        if (!nv) {
            fs->oom = 1;
            case_clear(&scratch);
            memset(&scratch, 0, sizeof scratch);
            return &scratch;
        }
        fs->cases = nv;
        fs->capcases = nc;
    }
    dg_case *k = &fs->cases[fs->ncases++];
    memset(k, 0, sizeof *k);
    k->kind = kind;
    k->sev = sev;
    k->claims = 1;
    k->merged_into = -1;
    k->first_ns = UINT64_MAX;
    return k;
}

dg_case *diagnose_case_find(nl_findings *fs, nl_finding_kind kind, const char *group)
{
    for (size_t i = 0; i < fs->ncases; i++)
        if (fs->cases[i].kind == kind && !strcmp(fs->cases[i].group, group))
            return &fs->cases[i];
    return NULL;
}

void diagnose_case_flow(dg_case *k, int cap, const nl_flow *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < k->nflows; i++)
        if (k->flows[i].flow == f && k->flows[i].capture == cap)
            return;
    if (k->nflows < DG_MAX_FLOWS) {
        k->flows[k->nflows].capture = cap;
        k->flows[k->nflows].flow = f;
        k->nflows++;
    }
}

static int ev_add(dg_case *k, int cap, uint64_t frame, uint64_t ts, char *what)
{
    if (frame) /* one packet is proof once */
        for (size_t i = 0; i < k->nev; i++)
            if (k->ev[i].capture == cap && k->ev[i].frame == frame) {
                free(what);
                return 0;
            }
    if (k->nev >= DG_MAX_EV) {
        free(what);
        return 0;
    }
    k->ev[k->nev].capture = cap;
    k->ev[k->nev].frame = frame;
    k->ev[k->nev].ts_ns = ts;
    k->ev[k->nev].what = what;
    k->nev++;
    if (ts && ts < k->first_ns)
        k->first_ns = ts;
    return 1;
}

void diagnose_case_ev(dg_case *k, int cap, uint64_t frame, uint64_t ts_ns,
                      const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *d = strdup(buf);
    if (d)
        ev_add(k, cap, frame, ts_ns, d);
}

void diagnose_case_fix(dg_case *k, int rank, char *fix_owned)
{
    if (!fix_owned)
        return;
    if (k->fix && k->fix_rank >= rank) {
        free(fix_owned);
        return;
    }
    free(k->fix);
    k->fix = fix_owned;
    k->fix_rank = rank;
}

/* ---- finalise --------------------------------------------------------- */

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

/* Kind order for merging: the most specific explanation first. */
static int kind_priority(nl_finding_kind k)
{
    static const int pr[NL_FK_COUNT] = { 0, 1, 2, 3, 4, 5, 6 };
    return (unsigned)k < NL_FK_COUNT ? pr[k] : 99;
}

static const nl_findings *sort_fs;

static int case_order_cmp(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    const dg_case *x = &sort_fs->cases[i], *y = &sort_fs->cases[j];
    int px = kind_priority(x->kind), py = kind_priority(y->kind);
    if (px != py)
        return px - py;
    if (x->rank != y->rank)
        return y->rank - x->rank;
    return i < j ? -1 : i > j;
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
        ev_add(a, b->ev[i].capture, b->ev[i].frame, b->ev[i].ts_ns, b->ev[i].what);
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

/* Evidence order: by capture, then time; a fact without a time (frame 0,
 * ts 0) stays right after the evidence it was added behind. */
typedef struct ev_key {
    int      cap;
    uint64_t ts;
    size_t   seq;
    const nl_evidence *e;
} ev_key;

static int ev_key_cmp(const void *a, const void *b)
{
    const ev_key *x = a, *y = b;
    if (x->cap != y->cap)
        return x->cap - y->cap;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int finding_cmp(const void *a, const void *b)
{
    const nl_finding *x = a, *y = b;
    if (x->severity != y->severity)
        return (int)y->severity - (int)x->severity;
    if (x->kind != y->kind)
        return kind_priority(x->kind) - kind_priority(y->kind);
    if (x->first_ns != y->first_ns)
        return x->first_ns < y->first_ns ? -1 : 1;
    return 0;
}

static char *dup_str(nl_findings *fs, const char *s)
{
    char *d = strdup(s);
    if (!d)
        fs->oom = 1;
    return d;
}

/* Build one finding from the kept cases idx[0..n) (same kind and group). */
static int finding_build(nl_findings *fs, nl_finding *out, const size_t *idx, size_t n)
{
    const dg_case *k0 = &fs->cases[idx[0]];
    char sum[2048];
    size_t ne = 0, nf = 0;
    int best_fix = -1;

    memset(out, 0, sizeof *out);
    out->kind = k0->kind;
    out->severity = k0->sev;
    out->connections = (uint32_t)n;
    out->first_ns = UINT64_MAX;
    const char *why = "";
    for (size_t i = 0; i < n && !why[0]; i++)
        if (fs->cases[idx[i]].why[0] && !fs->cases[idx[i]].why_own && !k0->why_own)
            why = fs->cases[idx[i]].why;
    if (n == 1)
        snprintf(sum, sizeof sum, "%s %s%s%s.", k0->subject1, k0->predicate, why[0] ? "; " : "",
                 why);
    else
        snprintf(sum, sizeof sum, "%zu %s %s%s%s.", n, k0->subjectn, k0->predicate,
                 why[0] ? "; " : "", why);
    out->summary = dup_str(fs, sum);
    for (size_t i = 0; i < n; i++) {
        ne += fs->cases[idx[i]].nev;
        nf += fs->cases[idx[i]].nflows;
    }
    out->evidence = ne ? calloc(ne, sizeof *out->evidence) : NULL;
    out->flows = nf ? calloc(nf, sizeof *out->flows) : NULL;
    if ((ne && !out->evidence) || (nf && !out->flows) || !out->summary)
        return fs->oom = 1, -1;
    for (size_t i = 0; i < n; i++) {
        dg_case *k = &fs->cases[idx[i]];
        /* per connection in capture then time order */
        ev_key keys[DG_MAX_EV];
        for (size_t e = 0; e < k->nev; e++) {
            keys[e].cap = k->ev[e].capture;
            keys[e].ts = k->ev[e].ts_ns;
            keys[e].seq = e;
            keys[e].e = &k->ev[e];
            if (!keys[e].ts) { /* inherit the time of the line it follows */
                keys[e].ts = UINT64_MAX; /* none: after the capture's timed lines */
                for (size_t p = e; p-- > 0;)
                    if (k->ev[p].capture == k->ev[e].capture && k->ev[p].ts_ns) {
                        keys[e].ts = k->ev[p].ts_ns;
                        break;
                    }
            }
        }
        qsort(keys, k->nev, sizeof keys[0], ev_key_cmp);
        /* copied, not moved: a later diagnose_*() call finalises again */
        for (size_t e = 0; e < k->nev; e++) {
            out->evidence[out->nevidence] = *keys[e].e;
            out->evidence[out->nevidence].what = dup_str(fs, keys[e].e->what);
            out->evidence[out->nevidence].conn = (uint32_t)i;
            out->nevidence++;
        }
        for (size_t f = 0; f < k->nflows; f++)
            out->flows[out->nflows++] = k->flows[f];
        if (k->sev > out->severity)
            out->severity = k->sev;
        if (k->first_ns < out->first_ns)
            out->first_ns = k->first_ns;
        if (k->fix && (!out->fix || k->fix_rank > best_fix)) {
            free(out->fix);
            out->fix = dup_str(fs, k->fix);
            best_fix = k->fix_rank;
        }
    }
    if (out->first_ns == UINT64_MAX)
        out->first_ns = 0;
    return 0;
}

static const dg_case *kept_sort_base;

static int kept_cmp(const void *a, const void *b)
{
    const dg_case *x = &kept_sort_base[*(const size_t *)a];
    const dg_case *y = &kept_sort_base[*(const size_t *)b];
    if (x->kind != y->kind)
        return kind_priority(x->kind) - kind_priority(y->kind);
    int c = strcmp(x->group, y->group);
    if (c)
        return c;
    if (x->rank != y->rank)
        return y->rank - x->rank;
    if (x->first_ns != y->first_ns)
        return x->first_ns < y->first_ns ? -1 : 1;
    return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

void diagnose_finalize(nl_findings *fs, const nl_correlation *c)
{
    conn_map *m = NULL;
    size_t nm = 0, *order = NULL, *kept = NULL, nkept = 0;
    claim_index ix;

    memset(&ix, 0, sizeof ix);
    findings_clear(fs);
    if (!fs->ncases)
        return;
    if (c && c->nchains) {
        size_t tot = 0;
        for (size_t i = 0; i < c->nchains; i++)
            for (size_t cp = 0; cp < c->ncaps; cp++)
                tot += c->chains[i].flows[cp] != NULL;
        m = malloc((tot ? tot : 1) * sizeof *m);
        if (!m)
            goto oom;
        for (size_t i = 0; i < c->nchains; i++)
            for (size_t cp = 0; cp < c->ncaps; cp++)
                if (c->chains[i].flows[cp]) {
                    m[nm].f = c->chains[i].flows[cp];
                    m[nm].key = (uintptr_t)&c->chains[i];
                    nm++;
                }
        qsort(m, nm, sizeof *m, conn_map_cmp);
    }
    order = malloc(fs->ncases * sizeof *order);
    kept = malloc(fs->ncases * sizeof *kept);
    if (!order || !kept)
        goto oom;
    for (size_t i = 0; i < fs->ncases; i++) {
        order[i] = i;
        fs->cases[i].merged_into = -1;
    }
    sort_fs = fs;
    qsort(order, fs->ncases, sizeof *order, case_order_cmp);

    /* 1. one case per connection, the most specific kind first. An index
     * from connection key and from 5-tuple to kept cases keeps this
     * linear: a scan of 100k ports makes 100k cases. */
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

    /* 2. with several captures, one connection's asymmetry is one finding
     * per service as the client addressed it, whichever capture showed it */
    if (c)
        for (size_t i = 0; i < nkept; i++) {
            dg_case *k = &fs->cases[kept[i]];
            const nl_finding_flow *near = NULL;
            char ep[80];
            if (k->kind != NL_FK_ASYMMETRIC_RETURN)
                continue;
            for (size_t j = 0; j < k->nflows; j++)
                if (!near || k->flows[j].capture < near->capture)
                    near = &k->flows[j];
            if (!near || near->flow->proto != 6)
                continue;
            diagnose_ep(&near->flow->resp_ip, near->flow->resp_port, ep, sizeof ep);
            snprintf(k->group, sizeof k->group, "asym|%d|%s", near->capture, ep);
            snprintf(k->subjectn, sizeof k->subjectn, "handshakes to %s", ep);
        }

    /* 3. group kept cases by kind and group key into findings */
    kept_sort_base = fs->cases;
    qsort(kept, nkept, sizeof *kept, kept_cmp);
    fs->v = calloc(nkept, sizeof *fs->v);
    if (!fs->v)
        goto oom;
    for (size_t i = 0; i < nkept;) {
        size_t j = i + 1;
        while (j < nkept && fs->cases[kept[j]].kind == fs->cases[kept[i]].kind &&
               !strcmp(fs->cases[kept[j]].group, fs->cases[kept[i]].group))
            j++;
        if (finding_build(fs, &fs->v[fs->n], kept + i, j - i) < 0) {
            fs->n++;
            goto oom;
        }
        fs->n++;
        i = j;
    }

    /* 4. most severe first */
    qsort(fs->v, fs->n, sizeof *fs->v, finding_cmp);
    free(m);
    free(order);
    free(kept);
    claim_index_free(&ix);
    return;
oom:
    fs->oom = 1;
    free(m);
    free(order);
    free(kept);
    claim_index_free(&ix);
}

/* ---- public entry points ---------------------------------------------- */

int diagnose_trace(nl_findings *out, nl_trace *t, int cap_index)
{
    dg_ctx cx;
    size_t n0 = out->n;
    if (!out || !t || caps_reserve(out, cap_index) < 0)
        return -1;
    diagnose_set_name(out, cap_index, t->name ? t->name : t->path);
    hostmeta_load(out, cap_index, t->path);
    memset(&cx, 0, sizeof cx);
    cx.fs = out;
    cx.cap = cap_index;
    cx.flows = trace_flows(t, &cx.nflows);
    cx.first_ns = t->first_ns;
    cx.last_ns = t->last_ns;
    cx.name = out->names[cap_index];
    cx.hostmeta = out->meta[cap_index];
    diagnose_single_run(&cx);
    diagnose_finalize(out, NULL);
    if (out->oom)
        return -1;
    return (int)(out->n >= n0 ? out->n - n0 : 0);
}

int diagnose_correlation(nl_findings *out, const nl_correlation *c)
{
    if (!out || !c)
        return -1;
    for (size_t i = 0; i < c->ncaps; i++) {
        const nl_corr_input *in = &c->caps[i];
        dg_ctx cx;
        if (caps_reserve(out, (int)i) < 0)
            return -1;
        diagnose_set_name(out, (int)i, in->name ? in->name
                                       : in->trace ? in->trace->name : NULL);
        if (in->trace)
            hostmeta_load(out, (int)i, in->trace->path);
        memset(&cx, 0, sizeof cx);
        cx.fs = out;
        cx.cap = (int)i;
        cx.flows = in->flows;
        cx.nflows = in->nflows;
        cx.first_ns = in->first_ns;
        cx.last_ns = in->last_ns;
        cx.name = diagnose_capture_name(out, (int)i);
        cx.hostmeta = out->meta[i];
        diagnose_single_run(&cx);
    }
    diagnose_pair_run(out, c);
    diagnose_finalize(out, c);
    return out->oom ? -1 : (int)out->n;
}

uint64_t diagnose_dropped(const nl_findings *fs)
{
    return fs ? fs->dropped : 0;
}

size_t diagnose_count(const nl_findings *fs)
{
    return fs ? fs->n : 0;
}

const nl_finding *diagnose_get(const nl_findings *fs, size_t i)
{
    return fs && i < fs->n ? &fs->v[i] : NULL;
}

size_t diagnose_count_at_least(const nl_findings *fs, nl_severity sev)
{
    size_t n = 0;
    for (size_t i = 0; fs && i < fs->n; i++)
        n += fs->v[i].severity >= sev;
    return n;
}

const nl_finding *diagnose_find_flow(const nl_findings *fs, int cap, const nl_flow *f)
{
    /* sorted most severe first: the first hit is the worst */
    for (size_t i = 0; fs && i < fs->n; i++)
        for (size_t j = 0; j < fs->v[i].nflows; j++)
            if (fs->v[i].flows[j].flow == f && fs->v[i].flows[j].capture == cap)
                return &fs->v[i];
    return NULL;
}
