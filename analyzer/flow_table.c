/* flow_table.c - pooled hash table of flows (see flow_table.h).
 *
 * Hot path per packet: one hash, one bucket walk, counters, the Zeek state
 * update; no allocation except when a new flow needs a fresh slab (every
 * FT_SLAB flows) or the bucket array doubles (amortised).
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/flow_table.h"
#include "conn_zeek.h"

#define FT_SLAB       4096u
#define FT_INIT_BKTS  4096u
#define NS            1000000000ull

typedef struct ft_slab {
    struct ft_slab *next;
    nl_flow  flows[FT_SLAB];
} ft_slab;

/* records for FT_SLAB flows, keep_limit each */
typedef struct ft_rec_slab {
    struct ft_rec_slab *next;
    nl_pkt_rec recs[];
} ft_rec_slab;

/* live flows, least recently used first: one list per timeout class so the
 * head of each list is always the next one to expire */
enum { LRU_TCP = 0, LRU_OTHER = 1, LRU_N = 2 };

struct nl_flow_table {
    nl_flow_table_opts opts;
    nl_flow **bkt;
    uint32_t  nbkt;           /* power of two */
    uint32_t  seed;
    ft_slab  *slabs;
    uint32_t  slab_used;      /* flows used in slabs (head slab) */
    ft_rec_slab *rslabs;
    uint32_t  rslab_used;
    nl_flow  *free_list;      /* recycled flows (keep_done == 0) */
    nl_flow  *lru_head[LRU_N], *lru_tail[LRU_N];
    nl_flow **all;            /* every flow kept for output, by id */
    size_t    nall, cap_all;
    uint32_t  next_id;
    uint64_t  last_expire_ns;
    nl_flow_table_stats st;
};

/* ---- hashing: direction-independent, seeded ---- */

static uint32_t ft_mix(uint32_t h, uint32_t v)
{
    h ^= v * 0xcc9e2d51u;
    h = (h << 15) | (h >> 17);
    return h * 0x1b873593u + 0xe6546b64u;
}

static uint32_t ft_addr_hash(uint32_t h, const nl_addr *a)
{
    uint32_t w[4];
    memcpy(w, a->b, 16);
    for (int i = 0; i < 4; i++)
        h = ft_mix(h, w[i]);
    return h;
}

/* Order the two endpoints so that both directions hash alike. */
static uint32_t ft_hash(uint32_t seed, uint8_t proto, const nl_addr *a, uint16_t pa,
                        const nl_addr *b, uint16_t pb)
{
    int c = nl_addr_cmp(a, b);
    if (c > 0 || (c == 0 && pa > pb)) {
        const nl_addr *t = a;
        uint16_t tp = pa;
        a = b; b = t; pa = pb; pb = tp;
    }
    uint32_t h = ft_mix(seed, proto);
    h = ft_addr_hash(h, a);
    h = ft_addr_hash(h, b);
    h = ft_mix(h, ((uint32_t)pa << 16) | pb);
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    return h;
}

/* Direction of pkt relative to f, or -1 if it is not f's 5-tuple. */
static int ft_match(const nl_flow *f, const nl_packet *p)
{
    if (f->proto != p->proto)
        return -1;
    if (f->orig_port == p->sport && f->resp_port == p->dport &&
        nl_addr_cmp(&f->orig_ip, &p->src) == 0 && nl_addr_cmp(&f->resp_ip, &p->dst) == 0)
        return NL_ORIG;
    if (f->orig_port == p->dport && f->resp_port == p->sport &&
        nl_addr_cmp(&f->orig_ip, &p->dst) == 0 && nl_addr_cmp(&f->resp_ip, &p->src) == 0)
        return NL_RESP;
    return -1;
}

/* ---- table life ---- */

nl_flow_table *flow_table_new(const nl_flow_table_opts *opts)
{
    nl_flow_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    if (opts)
        t->opts = *opts;
    else
        t->opts.keep_done = 1;
    if (t->opts.on_end)
        t->opts.keep_done = 0;
    if (t->opts.keep_limit == 0 || t->opts.keep_limit > NL_FLOW_KEEP_PKTS)
        t->opts.keep_limit = NL_FLOW_KEEP_PKTS;
    if (!t->opts.tcp_idle_ns)  t->opts.tcp_idle_ns = 300 * NS;  /* Zeek tcp_inactivity_timeout */
    if (!t->opts.udp_idle_ns)  t->opts.udp_idle_ns = 60 * NS;   /* udp_inactivity_timeout */
    if (!t->opts.icmp_idle_ns) t->opts.icmp_idle_ns = 60 * NS;  /* icmp_inactivity_timeout */
    t->nbkt = FT_INIT_BKTS;
    t->bkt = calloc(t->nbkt, sizeof *t->bkt);
    if (!t->bkt) {
        free(t);
        return NULL;
    }
    /* a fixed seed keeps runs reproducible; mixing in the table address
     * makes the layout differ between tables without costing determinism
     * of results (output order is by flow id, not by bucket) */
    t->seed = 0x9e3779b9u ^ (uint32_t)(uintptr_t)t;
    t->slab_used = FT_SLAB;
    t->rslab_used = FT_SLAB;
    t->next_id = 1;
    t->st.bytes_allocated = sizeof *t + t->nbkt * sizeof *t->bkt;
    return t;
}

void flow_table_free(nl_flow_table *t)
{
    if (!t)
        return;
    while (t->slabs) {
        ft_slab *n = t->slabs->next;
        free(t->slabs);
        t->slabs = n;
    }
    while (t->rslabs) {
        ft_rec_slab *n = t->rslabs->next;
        free(t->rslabs);
        t->rslabs = n;
    }
    free(t->bkt);
    free(t->all);
    free(t);
}

static void ft_grow(nl_flow_table *t)
{
    uint32_t n = t->nbkt * 2, i;
    nl_flow **nb = calloc(n, sizeof *nb);
    if (!nb)
        return; /* keep the old table: slower chains, still correct */
    for (i = 0; i < t->nbkt; i++) {
        nl_flow *f = t->bkt[i];
        while (f) {
            nl_flow *nx = f->hnext;
            f->hnext = nb[f->hash & (n - 1)];
            nb[f->hash & (n - 1)] = f;
            f = nx;
        }
    }
    free(t->bkt);
    t->bkt = nb;
    t->st.bytes_allocated += (uint64_t)(n - t->nbkt) * sizeof *nb;
    t->nbkt = n;
}

static int ft_lru_class(const nl_flow *f)
{
    return f->proto == IPPROTO_TCP ? LRU_TCP : LRU_OTHER;
}

static void ft_lru_unlink(nl_flow_table *t, nl_flow *f)
{
    int c = ft_lru_class(f);
    if (f->lprev) f->lprev->lnext = f->lnext; else t->lru_head[c] = f->lnext;
    if (f->lnext) f->lnext->lprev = f->lprev; else t->lru_tail[c] = f->lprev;
    f->lprev = f->lnext = NULL;
}

static void ft_lru_append(nl_flow_table *t, nl_flow *f)
{
    int c = ft_lru_class(f);
    f->lnext = NULL;
    f->lprev = t->lru_tail[c];
    if (t->lru_tail[c]) t->lru_tail[c]->lnext = f; else t->lru_head[c] = f;
    t->lru_tail[c] = f;
}

static void ft_unhash(nl_flow_table *t, nl_flow *f)
{
    nl_flow **pp = &t->bkt[f->hash & (t->nbkt - 1)];
    while (*pp && *pp != f)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = f->hnext;
    f->hnext = NULL;
}

/* End a live flow: out of the hash and the LRU; kept for output or
 * recycled. */
static void ft_end(nl_flow_table *t, nl_flow *f)
{
    ft_unhash(t, f);
    ft_lru_unlink(t, f);
    f->ended = 1;
    t->st.flows_live--;
    if (!t->opts.keep_done) {
        if (t->opts.on_end)
            t->opts.on_end(t->opts.on_end_ctx, f);
        f->dnext = (nl_flow *)t->free_list;
        t->free_list = f;
    }
}

static nl_flow *ft_alloc(nl_flow_table *t)
{
    nl_flow *f;
    nl_pkt_rec *recs = NULL;
    if (t->free_list) {
        f = t->free_list;
        t->free_list = f->dnext;
        recs = f->recs;
    } else {
        if (t->slab_used == FT_SLAB) {
            ft_slab *s = malloc(sizeof *s);
            if (!s)
                return NULL;
            s->next = t->slabs;
            t->slabs = s;
            t->slab_used = 0;
            t->st.bytes_allocated += sizeof *s;
        }
        f = &t->slabs->flows[t->slab_used++];
        if (t->opts.keep_packets) {
            if (t->rslab_used == FT_SLAB) {
                size_t sz = sizeof(ft_rec_slab) +
                            (size_t)FT_SLAB * t->opts.keep_limit * sizeof(nl_pkt_rec);
                ft_rec_slab *r = malloc(sz);
                if (!r)
                    return NULL;
                r->next = t->rslabs;
                t->rslabs = r;
                t->rslab_used = 0;
                t->st.bytes_allocated += sz;
            }
            recs = &t->rslabs->recs[(size_t)t->rslab_used++ * t->opts.keep_limit];
        }
    }
    memset(f, 0, sizeof *f);
    f->recs = recs;
    f->rec_cap = recs ? t->opts.keep_limit : 0;
    if (t->opts.keep_done) {
        /* the id-ordered list for output grows per flow, never per packet */
        if (t->nall == t->cap_all) {
            size_t nc = t->cap_all ? t->cap_all * 2 : 4096;
            nl_flow **na = realloc(t->all, nc * sizeof *na);
            if (!na)
                return NULL;
            t->all = na;
            t->cap_all = nc;
        }
    }
    return f;
}

/* With max_flows, push out the least recently used live flow. */
static void ft_evict_one(nl_flow_table *t)
{
    nl_flow *a = t->lru_head[LRU_TCP], *b = t->lru_head[LRU_OTHER], *v;
    v = !a ? b : !b ? a : (a->last_ns <= b->last_ns ? a : b);
    if (!v)
        return;
    v->evicted = 1;
    t->st.evicted++;
    ft_end(t, v);
}

void flow_table_expire(nl_flow_table *t, uint64_t now)
{
    for (int c = 0; c < LRU_N; c++) {
        for (;;) {
            nl_flow *f = t->lru_head[c];
            uint64_t idle;
            if (!f)
                break;
            idle = f->proto == IPPROTO_TCP ? t->opts.tcp_idle_ns :
                   (f->proto == IPPROTO_UDP ? t->opts.udp_idle_ns : t->opts.icmp_idle_ns);
            if (now < f->last_ns || now - f->last_ns <= idle)
                break;
            t->st.timed_out++;
            ft_end(t, f);
        }
    }
    t->last_expire_ns = now;
}

static nl_flow *ft_create(nl_flow_table *t, const nl_packet *p, uint32_t h)
{
    nl_flow *f;
    if (t->opts.max_flows && t->st.flows_live >= t->opts.max_flows)
        ft_evict_one(t);
    f = ft_alloc(t);
    if (!f)
        return NULL;
    f->id = t->next_id++;
    f->proto = p->proto;
    f->orig_ip = p->src;
    f->resp_ip = p->dst;
    f->orig_port = p->sport;
    f->resp_port = p->dport;
    f->first_ns = f->last_ns = p->ts_ns;
    f->first_frame = f->last_frame = p->frame;
    f->ifindex[0] = f->ifindex[1] = -1;
    f->hash = h;
    if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6)
        f->icmp_type = p->icmp_type;
    if (conn_zeek_new_flow_flipped(p, t->opts.server_ports)) {
        flow_swap_roles(f);
        conn_zeek_history(f, '^', NL_ORIG);
    }
    f->hnext = t->bkt[h & (t->nbkt - 1)];
    t->bkt[h & (t->nbkt - 1)] = f;
    ft_lru_append(t, f);
    if (t->opts.keep_done)
        t->all[t->nall++] = f;
    t->st.flows_total++;
    t->st.flows_live++;
    if (t->st.flows_live > t->nbkt)
        ft_grow(t);
    return f;
}

nl_flow *flow_table_put(nl_flow_table *t, const nl_flow *src)
{
    nl_flow *f = ft_alloc(t);
    nl_pkt_rec *recs;
    uint16_t cap;
    if (!f) {
        t->st.no_memory++;
        return NULL;
    }
    recs = f->recs;
    cap = f->rec_cap;
    *f = *src;
    /* the copy is the table's: its own id, links and record slots */
    f->recs = recs;
    f->rec_cap = cap;
    f->nrecs = 0;
    f->hnext = f->lprev = f->lnext = f->dnext = NULL;
    f->hash = 0;
    f->id = t->next_id++;
    f->ended = 1;
    t->st.flows_total++;
    if (t->opts.keep_done) {
        t->all[t->nall++] = f;
        return f;
    }
    if (t->opts.on_end)
        t->opts.on_end(t->opts.on_end_ctx, f);
    f->dnext = t->free_list;
    t->free_list = f;
    return NULL;
}

/* FNV-1a over the first 64 payload bytes: a key that survives NAT. */
static uint32_t ft_payload_hash(const uint8_t *b, const nl_packet *p)
{
    uint32_t h = 2166136261u, n = p->payload_caplen < 64 ? p->payload_caplen : 64;
    if (!b || n == 0)
        return 0;
    for (uint32_t i = 0; i < n; i++) {
        h ^= b[p->payload_off + i];
        h *= 16777619u;
    }
    return h ? h : 1;
}

static void ft_signature(nl_flow *f, const nl_packet *p, const uint8_t *b, int dir)
{
    nl_flow_sig *s = &f->sig[dir];
    if (f->pkts[dir] == 1) {
        s->first_ipid = p->ip_id;
        s->first_ns = p->ts_ns;
    }
    if (p->proto == IPPROTO_TCP) {
        if (p->tcp_flags & NL_TH_SYN) {
            if (!s->has_syn) {
                s->has_syn = 1;
                s->syn_isn = p->seq;
                if (p->flags & NL_PKT_TCP_MSS)
                    s->syn_mss = p->mss;
            }
            if (s->syn_count < 255)
                s->syn_count++;
        }
        if ((p->flags & NL_PKT_TCP_TS) && !s->has_tsval) {
            s->has_tsval = 1;
            s->first_tsval = p->tsval;
        }
    }
    if (p->payload_len > 0 && s->ndata < 2) {
        uint32_t h = ft_payload_hash(b, p);
        /* a retransmission of the first segment is not a second segment */
        if (h && !(s->ndata == 1 && s->data_hash[0] == h)) {
            s->data_hash[s->ndata] = h;
            s->data_len[s->ndata] = (uint16_t)(p->payload_len > 0xffff ? 0xffff : p->payload_len);
            s->ndata++;
        }
    }
}

static void ft_record(nl_flow *f, const nl_packet *p, const uint8_t *b, int dir)
{
    nl_pkt_rec *r;
    if (!f->recs || f->nrecs >= f->rec_cap)
        return;
    r = &f->recs[f->nrecs++];
    memset(r, 0, sizeof *r);
    r->ts_ns = p->ts_ns;
    r->frame = p->frame;
    r->seq = p->seq;
    r->ack = p->ack;
    r->tsval = (p->flags & NL_PKT_TCP_TS) ? p->tsval : 0;
    r->payload_hash = ft_payload_hash(b, p);
    r->payload_len = (uint16_t)(p->payload_len > 0xffff ? 0xffff : p->payload_len);
    r->ip_len = (uint16_t)(p->ip_len > 0xffff ? 0xffff : p->ip_len);
    r->ip_id = p->ip_id;
    r->win = p->win;
    r->mss = (p->flags & NL_PKT_TCP_MSS) ? p->mss : 0;
    r->tcp_flags = p->tcp_flags;
    r->dir = (uint8_t)dir;
    r->ttl = p->ttl;
    r->pkttype = p->pkttype;
    r->ifindex = p->ifindex;
    if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6) {
        r->seq = p->icmp_seq;
        r->ack = p->icmp_type;
    }
    if (p->flags & NL_PKT_HAS_MAC) {
        memcpy(r->src_mac, p->src_mac, 6);
        memcpy(r->dst_mac, p->dst_mac, 6);
    }
    /* printable preview only: packet text never reaches a terminal raw */
    if (b) {
        uint32_t n = p->payload_caplen < sizeof r->text - 1 ? p->payload_caplen
                                                            : (uint32_t)sizeof r->text - 1;
        for (uint32_t i = 0; i < n; i++) {
            uint8_t c = b[p->payload_off + i];
            r->text[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '.';
        }
        r->text[n] = '\0';
    }
}

/* Link an ICMP error to the flow whose packet it quotes. */
static void ft_link_icmp_error(nl_flow_table *t, const nl_packet *p)
{
    nl_packet q;
    uint32_t h;
    memset(&q, 0, sizeof q);
    q.proto = p->q_proto;
    q.src = p->q_src;
    q.dst = p->q_dst;
    q.sport = p->q_sport;
    q.dport = p->q_dport;
    h = ft_hash(t->seed, q.proto, &q.src, q.sport, &q.dst, q.dport);
    for (nl_flow *f = t->bkt[h & (t->nbkt - 1)]; f; f = f->hnext) {
        if (f->hash == h && ft_match(f, &q) >= 0) {
            if (f->icmp_errors == 0) {
                f->icmp_err_type = p->icmp_type;
                f->icmp_err_code = p->icmp_code;
                f->icmp_err_from = p->src;
            }
            f->icmp_errors++;
            return;
        }
    }
}

nl_flow *flow_table_add(nl_flow_table *t, const nl_packet *p, const uint8_t *b)
{
    uint32_t h;
    nl_flow *f;
    int dir = -1;

    if (p->flags & NL_PKT_NOT_IP || p->ip_ver == 0) {
        t->st.non_ip++;
        return NULL;
    }
    if (!(p->flags & NL_PKT_HAS_L4) &&
        (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP ||
         p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6)) {
        /* fragments without their first part and cut headers: counted,
         * not made into flows with made-up ports */
        t->st.no_l4++;
        return NULL;
    }
    if (p->ts_ns > t->last_expire_ns + NS)
        flow_table_expire(t, p->ts_ns);
    if (p->flags & NL_PKT_ICMP_ERROR)
        ft_link_icmp_error(t, p);

    h = ft_hash(t->seed, p->proto, &p->src, p->sport, &p->dst, p->dport);
    for (f = t->bkt[h & (t->nbkt - 1)]; f; f = f->hnext)
        if (f->hash == h && (dir = ft_match(f, p)) >= 0)
            break;
    if (f && conn_zeek_is_reuse(f, p, dir)) {
        ft_end(t, f);
        f = NULL;
    }
    if (!f) {
        f = ft_create(t, p, h);
        if (!f) {
            t->st.no_memory++;
            return NULL;
        }
        dir = ft_match(f, p);
    } else {
        ft_lru_unlink(t, f);
        ft_lru_append(t, f);
    }
    dir = conn_zeek_packet(f, p, dir);
    if (dir < 0)
        return f; /* not counted (bad checksum under verification) */

    f->pkts[dir]++;
    f->ip_bytes[dir] += p->ip_len;
    f->frame_bytes[dir] += p->wirelen;
    if (p->ts_ns < f->first_ns)
        f->first_ns = p->ts_ns;
    if (p->ts_ns > f->last_ns)
        f->last_ns = p->ts_ns;
    f->last_frame = p->frame;
    if (f->pkts[dir] == 1) {
        f->ttl[dir] = p->ttl;
        f->ifindex[dir] = (p->flags & NL_PKT_HAS_IFINDEX) ? p->ifindex : -1;
        if (p->flags & NL_PKT_HAS_MAC) {
            memcpy(f->mac[dir], p->src_mac, 6);
            f->has_mac[dir] = 1;
        }
    }
    ft_signature(f, p, b, dir);
    ft_record(f, p, b, dir);
    return f;
}

static int ft_cmp_id(const void *a, const void *b)
{
    const nl_flow *x = *(nl_flow *const *)a, *y = *(nl_flow *const *)b;
    return x->id < y->id ? -1 : x->id > y->id;
}

nl_flow **flow_table_all(nl_flow_table *t, size_t *n)
{
    if (!t->opts.keep_done) {
        /* recycled flows leave holes: rebuild the list from live flows */
        if (t->cap_all < t->st.flows_live) {
            nl_flow **na = realloc(t->all, t->st.flows_live * sizeof *na);
            if (!na) {
                *n = 0;
                return t->all;
            }
            t->all = na;
            t->cap_all = t->st.flows_live;
        }
        t->nall = 0;
        for (int c = 0; c < LRU_N; c++)
            for (nl_flow *f = t->lru_head[c]; f && t->nall < t->cap_all; f = f->lnext)
                t->all[t->nall++] = f;
        qsort(t->all, t->nall, sizeof *t->all, ft_cmp_id);
    }
    *n = t->nall;
    return t->all;
}

void flow_table_stats(const nl_flow_table *t, nl_flow_table_stats *st)
{
    *st = t->st;
}
