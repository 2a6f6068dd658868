/* record.c - record facts of a trace (record.h) and the step that turns a
 * reader's entries into flows: one flow per entry, two linked legs when
 * the entry holds a NAT mapping (record_int.h).
 *
 * The set owns one nl_record_info per record flow, indexed by flow id -
 * first_id (record flows are put one after another, so their ids are
 * consecutive), and the interned names (open addressing over the string
 * bytes; at most REC_STR_MAX bytes in all).
 */
#include <stdlib.h>
#include <string.h>
#include "natlens/flow_table.h"
#include "record_int.h"

struct nl_record_set {
    nl_record_info *info;
    size_t   n, cap;
    uint32_t first_id;
    char   **strs;           /* hash slots, NULL empty */
    size_t   nslots, nstrs;
    size_t   str_bytes;
    nl_record_capture_stats capstats;   /* records inside a capture */
};

void record_set_free(struct nl_record_set *rs)
{
    if (!rs)
        return;
    for (size_t i = 0; i < rs->nslots; i++)
        free(rs->strs[i]);
    free(rs->strs);
    free(rs->info);
    free(rs);
}

static struct nl_record_set *record_set_of(nl_trace *t)
{
    if (!t->records)
        t->records = calloc(1, sizeof *t->records);
    return t->records;
}

const nl_record_info *record_info_of(const nl_trace *t, const nl_flow *f)
{
    const struct nl_record_set *rs = t ? t->records : NULL;
    if (!rs || !f || f->id < rs->first_id || rs->n == 0)
        return NULL;
    if ((size_t)(f->id - rs->first_id) >= rs->n)
        return NULL;
    return &rs->info[f->id - rs->first_id];
}

#define REC_LEG_SCAN 64         /* flows starting at one instant searched for a leg */

const nl_flow *record_other_leg(nl_trace *t, const nl_flow *f)
{
    const nl_record_info *ri = record_info_of(t, f);
    size_t n, lo = 0, hi;
    nl_flow **fl;
    if (!ri || !ri->other_leg)
        return NULL;
    fl = trace_flows(t, &n);
    hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (fl[mid]->first_ns < f->first_ns)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < n && i < lo + REC_LEG_SCAN && fl[i]->first_ns == f->first_ns; i++)
        if (fl[i]->id == ri->other_leg)
            return fl[i];
    return NULL;
}

nl_record_capture_stats *record_capture_stats_mut(nl_trace *t)
{
    struct nl_record_set *rs = record_set_of(t);
    return rs ? &rs->capstats : NULL;
}

void record_capture_stats(const nl_trace *t, nl_record_capture_stats *st)
{
    if (t && t->records)
        *st = t->records->capstats;
    else
        memset(st, 0, sizeof *st);
}

size_t record_count(const nl_trace *t)
{
    return t && t->records ? t->records->n : 0;
}

const char *record_side_name(uint8_t side)
{
    return side == NL_REC_SIDE_INNER ? "inner" : side == NL_REC_SIDE_OUTER ? "outer" : "unknown";
}

const char *record_action_name(uint8_t action)
{
    return action == NL_REC_ACTION_ACCEPT ? "accept" : action == NL_REC_ACTION_REJECT ? "reject" : NULL;
}

const char *record_nat_status_name(const nl_record_info *ri)
{
    switch (ri->nat_status) {
    case NL_REC_NAT_OK: return "OK";
    case NL_REC_NAT_DROPPED: return "DROPPED";
    case NL_REC_NAT_OUT_OF_RESOURCES: return "OUT_OF_RESOURCES";
    case NL_REC_NAT_OTHER: return ri->nat_status_text ? ri->nat_status_text : "other";
    default: return NULL;
    }
}

/* ---- interned names ---------------------------------------------------- */

static uint64_t rec_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static int intern_grow(struct nl_record_set *rs)
{
    size_t ns = rs->nslots ? rs->nslots * 2 : 256;
    char **nv = calloc(ns, sizeof *nv);
    if (!nv)
        return -1;
    for (size_t i = 0; i < rs->nslots; i++) {
        char *s = rs->strs[i];
        if (!s)
            continue;
        size_t k = rec_hash(s, strlen(s)) & (ns - 1);
        while (nv[k])
            k = (k + 1) & (ns - 1);
        nv[k] = s;
    }
    free(rs->strs);
    rs->strs = nv;
    rs->nslots = ns;
    return 0;
}

const char *record_intern(nl_trace *t, const char *s, size_t len)
{
    struct nl_record_set *rs = record_set_of(t);
    size_t k;
    if (!rs || !s)
        return NULL;
    len = strnlen(s, len);
    if (len == 0 || rs->str_bytes + len + 1 > REC_STR_MAX)
        return NULL;
    if ((rs->nstrs + 1) * 2 > rs->nslots && intern_grow(rs) < 0)
        return NULL;
    k = rec_hash(s, len) & (rs->nslots - 1);
    for (; rs->strs[k]; k = (k + 1) & (rs->nslots - 1))
        if (!strncmp(rs->strs[k], s, len) && rs->strs[k][len] == '\0')
            return rs->strs[k];
    if (!(rs->strs[k] = strndup(s, len)))
        return NULL;
    rs->nstrs++;
    rs->str_bytes += len + 1;
    return rs->strs[k];
}

/* ---- batch -------------------------------------------------------------- */

void rec_batch_free(rec_batch *b)
{
    free(b->v);
    free(b->slots);
    memset(b, 0, sizeof *b);
}

rec_entry *rec_batch_add(rec_batch *b)
{
    if (b->n >= REC_MAX_ENTRIES) {
        b->full = 1;
        return NULL;
    }
    if (b->n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 256;
        rec_entry *nv = realloc(b->v, nc * sizeof *nv);
        if (!nv)
            return NULL;
        b->v = nv;
        b->cap = nc;
    }
    memset(&b->v[b->n], 0, sizeof b->v[0]);
    return &b->v[b->n++];
}

/* The merge key: proto, the two in_* endpoints in a fixed order (so both
 * directions of one connection meet), key_extra. */
static uint64_t key_hash(const rec_entry *e)
{
    int swap = nl_addr_cmp(&e->in_src, &e->in_dst) > 0 ||
               (!nl_addr_cmp(&e->in_src, &e->in_dst) && e->in_sport > e->in_dport);
    const nl_addr *a = swap ? &e->in_dst : &e->in_src, *c = swap ? &e->in_src : &e->in_dst;
    uint16_t pa = swap ? e->in_dport : e->in_sport, pc = swap ? e->in_sport : e->in_dport;
    uint64_t h = rec_hash((const char *)a->b, 16) * 31 + rec_hash((const char *)c->b, 16);
    return (h ^ ((uint64_t)pa << 24) ^ ((uint64_t)pc << 8) ^ e->proto) * 0x9e3779b97f4a7c15ull ^ e->key_extra;
}

static int key_eq(const rec_entry *x, const rec_entry *y)
{
    if (x->proto != y->proto || x->key_extra != y->key_extra)
        return 0;
    if (!nl_addr_cmp(&x->in_src, &y->in_src) && !nl_addr_cmp(&x->in_dst, &y->in_dst) &&
        x->in_sport == y->in_sport && x->in_dport == y->in_dport)
        return 1;
    return !nl_addr_cmp(&x->in_src, &y->in_dst) && !nl_addr_cmp(&x->in_dst, &y->in_src) &&
           x->in_sport == y->in_dport && x->in_dport == y->in_sport;
}

static int slots_grow(rec_batch *b)
{
    size_t ns = b->nslots ? b->nslots * 2 : 1024;
    uint32_t *nv = calloc(ns, sizeof *nv);
    if (!nv)
        return -1;
    for (size_t i = 0; i < b->nslots; i++) {
        if (!b->slots[i])
            continue;
        size_t k = key_hash(&b->v[b->slots[i] - 1]) & (ns - 1);
        while (nv[k])
            k = (k + 1) & (ns - 1);
        nv[k] = b->slots[i];
    }
    free(b->slots);
    b->slots = nv;
    b->nslots = ns;
    return 0;
}

rec_entry *rec_batch_find(rec_batch *b, const rec_entry *e)
{
    if (!b->nslots)
        return NULL;
    for (size_t k = key_hash(e) & (b->nslots - 1); b->slots[k]; k = (k + 1) & (b->nslots - 1))
        if (&b->v[b->slots[k] - 1] != e && key_eq(&b->v[b->slots[k] - 1], e))
            return &b->v[b->slots[k] - 1];
    return NULL;
}

int rec_batch_index(rec_batch *b, size_t i)
{
    size_t k;
    if ((b->n + 1) * 2 > b->nslots && slots_grow(b) < 0)
        return -1;
    k = key_hash(&b->v[i]) & (b->nslots - 1);
    while (b->slots[k])
        k = (k + 1) & (b->nslots - 1);
    b->slots[k] = (uint32_t)i + 1;
    return 0;
}

/* ---- entries into flows --------------------------------------------------- */

/* Zeek's conn_state back into the endpoint states flow_conn_state() reads
 * (conn_zeek.c), so a conn.log flow prints the state the log gave. */
static void rec_set_state(nl_flow *f, const char *cs)
{
    static const struct { const char *cs; uint8_t o, r; } tcp[] = {
        {"S0", NL_TCP_SYN_SENT, NL_TCP_INACTIVE}, {"S1", NL_TCP_ESTABLISHED, NL_TCP_ESTABLISHED},
        {"SF", NL_TCP_CLOSED, NL_TCP_CLOSED}, {"REJ", NL_TCP_SYN_SENT, NL_TCP_RESET},
        {"S2", NL_TCP_CLOSED, NL_TCP_ESTABLISHED}, {"S3", NL_TCP_ESTABLISHED, NL_TCP_CLOSED},
        {"RSTO", NL_TCP_RESET, NL_TCP_ESTABLISHED}, {"RSTOS0", NL_TCP_RESET, NL_TCP_INACTIVE},
        {"RSTR", NL_TCP_ESTABLISHED, NL_TCP_RESET}, {"RSTRH", NL_TCP_INACTIVE, NL_TCP_RESET},
        {"SH", NL_TCP_CLOSED, NL_TCP_INACTIVE}, {"SHR", NL_TCP_INACTIVE, NL_TCP_CLOSED},
    };
    if (!cs[0])
        return;
    if (f->proto == IPPROTO_UDP) {
        f->ep[NL_ORIG].state = !strcmp(cs, "SF") || !strcmp(cs, "S0");
        f->ep[NL_RESP].state = !strcmp(cs, "SF") || !strcmp(cs, "SHR");
        return;
    }
    if (f->proto != IPPROTO_TCP)
        return;
    for (size_t i = 0; i < sizeof tcp / sizeof tcp[0]; i++)
        if (!strcmp(tcp[i].cs, cs)) {
            f->ep[NL_ORIG].state = tcp[i].o;
            f->ep[NL_RESP].state = tcp[i].r;
            return;
        }
}

/* The one place a record becomes an nl_flow: what a record cannot know
 * (MACs, TTLs, signatures, packet records) stays empty. */
static void rec_flow_fill(nl_flow *f, const rec_entry *e, int outer)
{
    memset(f, 0, sizeof *f);
    f->proto = e->proto;
    f->icmp_type = e->icmp_type;
    f->orig_ip = outer ? e->out_src : e->in_src;
    f->resp_ip = outer ? e->out_dst : e->in_dst;
    f->orig_port = outer ? e->out_sport : e->in_sport;
    f->resp_port = outer ? e->out_dport : e->in_dport;
    f->first_ns = e->first_ns;
    f->last_ns = e->last_ns >= e->first_ns ? e->last_ns : e->first_ns;
    for (int d = 0; d < 2; d++) {
        f->pkts[d] = e->pkts[d];
        f->ip_bytes[d] = e->ip_bytes[d];
        f->bytes[d] = e->bytes[d];
        f->ifindex[d] = -1;
        f->sig[d].first_ns = d == 0 ? e->first_ns : 0;
    }
    snprintf(f->history, sizeof f->history, "%s", e->history);
    f->hist_len = (uint8_t)strlen(f->history);
    rec_set_state(f, e->conn_state);
    f->ended = 1;
}

static int rec_info_add(struct nl_record_set *rs, uint32_t id, const nl_record_info *ri)
{
    if (rs->n == 0)
        rs->first_id = id;
    if (id != rs->first_id + rs->n)  /* ids of record flows are consecutive */
        return 0;
    if (rs->n == rs->cap) {
        size_t nc = rs->cap ? rs->cap * 2 : 256;
        nl_record_info *nv = realloc(rs->info, nc * sizeof *nv);
        if (!nv)
            return -1;
        rs->info = nv;
        rs->cap = nc;
    }
    rs->info[rs->n++] = *ri;
    return 0;
}

/* Put one leg; its id (0 when the table could not take it). */
static uint32_t rec_put(nl_trace *t, const rec_entry *e, int outer, const nl_record_info *ri)
{
    nl_flow fl;
    nl_flow_table_stats st0, st1;
    nl_flow *f;
    uint32_t id;
    rec_flow_fill(&fl, e, outer);
    flow_table_stats(t->flows, &st0);
    f = flow_table_put(t->flows, &fl);
    flow_table_stats(t->flows, &st1);
    if (f)
        id = f->id;
    else if (st1.flows_total > st0.flows_total)   /* streamed out (keep_done = 0) */
        id = (uint32_t)st1.flows_total;
    else
        return 0;
    if (rec_info_add(t->records, id, ri) < 0)
        return 0;
    return id;
}

static int rec_cmp_time(const void *a, const void *b)
{
    const rec_entry *x = a, *y = b;
    if (x->first_ns != y->first_ns)
        return x->first_ns < y->first_ns ? -1 : 1;
    return x->info.line < y->info.line ? -1 : x->info.line > y->info.line;
}

int record_emit(nl_trace *t, rec_batch *b, char *errbuf)
{
    struct nl_record_set *rs = record_set_of(t);
    int first = 1;
    if (!rs) {
        snprintf(errbuf, 512, "%s: out of memory", t->path);
        rec_batch_free(b);
        return -1;
    }
    if (b->n)
        qsort(b->v, b->n, sizeof b->v[0], rec_cmp_time);
    for (size_t i = 0; i < b->n; i++) {
        rec_entry *e = &b->v[i];
        if (e->orient)
            rec_entry_orient(e);
        nl_record_info ri = e->info;
        if (ri.nrecords == 0)
            ri.nrecords = 1;
        if (e->first_ns && t->is_record) {
            if (first || e->first_ns < t->first_ns)
                t->first_ns = e->first_ns;
            if (e->last_ns > t->last_ns || first)
                t->last_ns = e->last_ns > e->first_ns ? e->last_ns : e->first_ns;
            first = 0;
        }
        if (!e->has_outer) {
            rec_put(t, e, 0, &ri);
            continue;
        }
        ri.pins |= NL_REC_PIN_NAT;
        ri.side = NL_REC_SIDE_INNER;
        uint32_t in_id = rec_put(t, e, 0, &ri);
        ri.side = NL_REC_SIDE_OUTER;
        ri.other_leg = in_id;
        uint32_t out_id = rec_put(t, e, 1, &ri);
        if (in_id && out_id && rs->n >= 2)
            rs->info[in_id - rs->first_id].other_leg = out_id;
    }
    rec_batch_free(b);
    return 0;
}

/* ---- merging directional records ------------------------------------------ */

static void rec_swap_dirs(rec_entry *e)
{
    nl_addr a = e->in_src;
    uint16_t p = e->in_sport;
    e->in_src = e->in_dst;
    e->in_dst = a;
    e->in_sport = e->in_dport;
    e->in_dport = p;
    if (e->has_outer) {
        a = e->out_src;
        e->out_src = e->out_dst;
        e->out_dst = a;
        p = e->out_sport;
        e->out_sport = e->out_dport;
        e->out_dport = p;
    }
    for (int k = 0; k < 3; k++) {
        uint64_t *v = k == 0 ? e->pkts : k == 1 ? e->ip_bytes : e->bytes;
        uint64_t x = v[0];
        v[0] = v[1];
        v[1] = x;
    }
    uint8_t f = e->info.tcp_flags[0];
    e->info.tcp_flags[0] = e->info.tcp_flags[1];
    e->info.tcp_flags[1] = f;
    e->info.reject_dirs = (uint8_t)(((e->info.reject_dirs & 1) << 1) | ((e->info.reject_dirs >> 1) & 1));
}

rec_entry *rec_merge_dir(rec_batch *b, const rec_entry *r)
{
    rec_entry *e = rec_batch_find(b, r);
    int dir;
    if (!e) {
        if (!(e = rec_batch_add(b)))
            return NULL;
        *e = *r;
        e->orient = 1;
        if (r->info.action == NL_REC_ACTION_REJECT)
            e->info.reject_dirs = 1;
        if (!e->info.nrecords)
            e->info.nrecords = 1;
        return rec_batch_index(b, (size_t)(e - b->v)) < 0 ? NULL : e;
    }
    dir = nl_addr_cmp(&e->in_src, &r->in_src) || e->in_sport != r->in_sport;
    e->pkts[dir] += r->pkts[0];
    e->ip_bytes[dir] += r->ip_bytes[0];
    e->bytes[dir] += r->bytes[0];
    e->info.tcp_flags[dir] |= r->info.tcp_flags[0];
    e->info.pins |= r->info.pins;
    if (dir)
        e->info.pins |= NL_REC_PIN_RESP;
    if (r->first_ns && (!e->first_ns || r->first_ns < e->first_ns))
        e->first_ns = r->first_ns;
    if (r->last_ns > e->last_ns)
        e->last_ns = r->last_ns;
    if (r->info.action == NL_REC_ACTION_REJECT)
        e->info.reject_dirs |= (uint8_t)(1u << dir);
    if (r->info.action == NL_REC_ACTION_REJECT)   /* a rejected direction is the news */
        e->info.action = NL_REC_ACTION_REJECT;
    else if (!e->info.action)
        e->info.action = r->info.action;
    if (!e->has_outer && r->has_outer) {
        e->has_outer = 1;
        e->out_src = dir ? r->out_dst : r->out_src;
        e->out_dst = dir ? r->out_src : r->out_dst;
        e->out_sport = dir ? r->out_dport : r->out_sport;
        e->out_dport = dir ? r->out_sport : r->out_dport;
    }
    if (e->info.nrecords < UINT32_MAX)
        e->info.nrecords++;
    return e;
}

void rec_entry_orient(rec_entry *e)
{
    uint8_t f0 = e->info.tcp_flags[0], f1 = e->info.tcp_flags[1];
    int syn0 = (f0 & NL_TH_SYN) && !(f0 & NL_TH_ACK), syn1 = (f1 & NL_TH_SYN) && !(f1 & NL_TH_ACK);
    if (e->proto == IPPROTO_TCP && (e->info.pins & NL_REC_PIN_FLAGS) && (syn0 || syn1)) {
        if (syn1 && !syn0)
            rec_swap_dirs(e);
        return;
    }
    if (e->in_sport < 1024 && e->in_dport >= 1024 && e->proto != IPPROTO_ICMP &&
        e->proto != IPPROTO_ICMPV6)
        rec_swap_dirs(e);
}
