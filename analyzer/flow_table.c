/* flow_table.c - pooled hash table of flows (see flow_table.h).
 *
 * Hot path per packet: one hash, one bucket walk, counters, the Zeek state
 * update, at most one record; no allocation except when a pool needs a new
 * slab (the number of live flows or records reached a new high) or the
 * bucket array doubles (amortised).
 *
 * A live flow is two items: its summary (nl_flow, what readers see) and a
 * live block (ft_live: hash and LRU links, Zeek's per-connection state,
 * the class of its record chunk). Buckets and LRU lists hold live blocks;
 * a summary does not point back. When the flow ends the live block is
 * recycled and the records are settled by keep_policy (flow_record.c);
 * the structures are in flow_int.h.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "flow_int.h"

#define FT_INIT_BKTS  4096u
#define NS            1000000000ull

/* ---- hashing: direction-independent, seeded ----
 *
 * Each endpoint (address, port) is hashed on its own and the two are
 * added: a sum does not care which side came first, so both directions
 * hash alike without ordering the endpoints (Suricata orders them; this
 * costs two 64-bit mixes per packet and no comparison). */

static uint64_t ft_fmix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static uint64_t ft_ep_hash(const nl_addr *a, uint16_t port)
{
    uint64_t lo, hi;
    memcpy(&lo, a->b, 8);
    memcpy(&hi, a->b + 8, 8);
    return ft_fmix64(hi ^ (lo * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)port << 47));
}

static uint32_t ft_hash(uint32_t seed, uint8_t proto, const nl_addr *a, uint16_t pa,
                        const nl_addr *b, uint16_t pb)
{
    uint64_t h = ft_ep_hash(a, pa) + ft_ep_hash(b, pb);
    return (uint32_t)ft_fmix64(h ^ seed ^ ((uint64_t)proto << 56));
}

static int ft_addr_eq(const nl_addr *a, const nl_addr *b)
{
    uint64_t a0, a1, b0, b1;
    memcpy(&a0, a->b, 8);
    memcpy(&a1, a->b + 8, 8);
    memcpy(&b0, b->b, 8);
    memcpy(&b1, b->b + 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

/* Direction of pkt relative to f, or -1 if it is not f's 5-tuple. */
static int ft_match(const nl_flow *f, const nl_packet *p)
{
    if (f->proto != p->proto)
        return -1;
    if (f->orig_port == p->sport && f->resp_port == p->dport &&
        ft_addr_eq(&f->orig_ip, &p->src) && ft_addr_eq(&f->resp_ip, &p->dst))
        return NL_ORIG;
    if (f->orig_port == p->dport && f->resp_port == p->sport &&
        ft_addr_eq(&f->orig_ip, &p->dst) && ft_addr_eq(&f->resp_ip, &p->src))
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
    if (t->opts.keep_policy > NL_KEEP_SUMMARY)
        t->opts.keep_policy = NL_KEEP_ALL;
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
    t->next_id = 1;
    t->st.bytes_allocated = sizeof *t + t->nbkt * sizeof *t->bkt;
    ft_pool_init(&t->flows, sizeof(nl_flow), &t->st.bytes_allocated);
    ft_pool_init(&t->lives, sizeof(ft_live), &t->st.bytes_allocated);
    ft_pool_init(&t->exts, sizeof(nl_flow_ext), &t->st.bytes_allocated);
    flow_record_classes(t);
    ft_arena_init(&t->kept, &t->st.bytes_allocated);
    return t;
}

void flow_table_free(nl_flow_table *t)
{
    if (!t)
        return;
    ft_pool_destroy(&t->flows);
    ft_pool_destroy(&t->lives);
    ft_pool_destroy(&t->exts);
    for (unsigned c = 0; c < t->nclass; c++)
        ft_pool_destroy(&t->recs[c]);
    ft_arena_destroy(&t->kept);
    free(t->bkt);
    free(t->all);
    free(t);
}

static void ft_grow(nl_flow_table *t)
{
    uint32_t n = t->nbkt * 2, i;
    ft_live **nb = calloc(n, sizeof *nb);
    if (!nb)
        return; /* keep the old table: slower chains, still correct */
    for (i = 0; i < t->nbkt; i++) {
        ft_live *l = t->bkt[i];
        while (l) {
            ft_live *nx = l->hnext;
            l->hnext = nb[l->hash & (n - 1)];
            nb[l->hash & (n - 1)] = l;
            l = nx;
        }
    }
    free(t->bkt);
    t->bkt = nb;
    t->st.bytes_allocated += (uint64_t)(n - t->nbkt) * sizeof *nb;
    t->nbkt = n;
}

static int ft_lru_class(const ft_live *l)
{
    return l->f->proto == IPPROTO_TCP ? LRU_TCP : LRU_OTHER;
}

static void ft_lru_unlink(nl_flow_table *t, ft_live *l)
{
    int c = ft_lru_class(l);
    if (l->lprev) l->lprev->lnext = l->lnext; else t->lru_head[c] = l->lnext;
    if (l->lnext) l->lnext->lprev = l->lprev; else t->lru_tail[c] = l->lprev;
    l->lprev = l->lnext = NULL;
}

static void ft_lru_append(nl_flow_table *t, ft_live *l)
{
    int c = ft_lru_class(l);
    l->lnext = NULL;
    l->lprev = t->lru_tail[c];
    if (t->lru_tail[c]) t->lru_tail[c]->lnext = l; else t->lru_head[c] = l;
    t->lru_tail[c] = l;
}

/* ---- Zeek's removal timers ----
 *
 * Zeek removes a connection 5 s after it closed, 5 s after an unanswered
 * SYN, a DNS flow after 10 s idle; until now the table noticed that only
 * when the 5-tuple came back (conn_zeek_is_reuse). Ending such flows when
 * their timer falls due keeps the live set to what Zeek would hold, so
 * closed flows release their live state and records seconds after they
 * close instead of at the 5 min idle timeout. A flow is ended only once
 * conn_zeek_removed() says so, never earlier: the flows and their counts
 * are the same as when the table waited. */

static void ft_timer_unlink(nl_flow_table *t, ft_live *l)
{
    if (!l->in_timer)
        return;
    if (l->tprev) l->tprev->tnext = l->tnext; else t->wheel[l->in_timer - 1] = l->tnext;
    if (l->tnext) l->tnext->tprev = l->tprev;
    l->tprev = l->tnext = NULL;
    l->in_timer = 0;
}

static void ft_timer_put(nl_flow_table *t, ft_live *l, uint64_t due)
{
    uint64_t sec = due / NS;
    unsigned slot;
    if (sec < t->wheel_sec)
        sec = t->wheel_sec;                    /* already due: the next call */
    if (sec > t->wheel_sec + FT_WHEEL - 1)
        sec = t->wheel_sec + FT_WHEEL - 1;
    slot = (unsigned)(sec % FT_WHEEL);
    l->due = due;
    l->in_timer = (uint8_t)(slot + 1);
    l->tprev = NULL;
    l->tnext = t->wheel[slot];
    if (l->tnext)
        l->tnext->tprev = l;
    t->wheel[slot] = l;
}

static void ft_timer_arm(nl_flow_table *t, ft_live *l)
{
    uint64_t due = conn_zeek_removal_due(l->f, &l->z);
    if (due)
        ft_timer_put(t, l, due);
}

/* End the flows whose removal falls due by `now`: every slot from the
 * first unfinished second to now's (that one stays unfinished: flows due
 * later within it wait for the next call). */
static void ft_end(nl_flow_table *t, ft_live *l);

static void ft_timer_expire(nl_flow_table *t, uint64_t now)
{
    uint64_t now_sec = now / NS, sec = t->wheel_sec;
    if (!sec || now_sec >= sec + FT_WHEEL)
        sec = now_sec >= FT_WHEEL ? now_sec - (FT_WHEEL - 1) : 0;  /* a gap: one lap */
    for (; sec <= now_sec; sec++) {
        unsigned slot = (unsigned)(sec % FT_WHEEL);
        ft_live *l = t->wheel[slot];
        t->wheel[slot] = NULL;
        while (l) {
            ft_live *nx = l->tnext;
            l->in_timer = 0;
            l->tprev = l->tnext = NULL;
            if (l->due > now) {
                ft_timer_put(t, l, l->due);        /* later in this second, or a later lap */
            } else if (conn_zeek_removed(l->f, &l->z, now)) {
                t->st.removed++;
                ft_end(t, l);
            } else if (conn_zeek_removal_due(l->f, &l->z) > now) {
                ft_timer_arm(t, l);                /* moved or re-armed by later packets */
            }
            l = nx;
        }
    }
    t->wheel_sec = now_sec;
}

static void ft_unhash(nl_flow_table *t, ft_live *l)
{
    ft_live **pp = &t->bkt[l->hash & (t->nbkt - 1)];
    while (*pp && *pp != l)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = l->hnext;
    l->hnext = NULL;
}

/* ---- ending flows ---- */

/* What the summary keeps of Zeek's live state: the originator's ack_seq
 * of a TCP flow without records whose originator sent no SYN (a lone
 * SYN-ACK: the stray rule of diagnose_stray.c reads it). */
static void ft_keep_orig_ack(nl_flow_table *t, nl_flow *f, const ft_live *l)
{
    uint32_t ack = l->z.ep[NL_ORIG].ack_seq;
    if (f->proto != IPPROTO_TCP || f->recs || !ack || !f->sig[NL_RESP].has_syn ||
        memchr(f->history, 'S', f->hist_len))
        return;
    if (!f->ext) {
        if (!(f->ext = ft_pool_get(&t->exts)))
            return;
        memset(f->ext, 0, sizeof *f->ext);
    }
    f->ext->orig_ack_seq = ack;
}

/* A flow leaves the live state (it ended or the input did): records
 * settled, what the summary needs of Zeek's state copied. */
static void ft_settle(nl_flow_table *t, nl_flow *f, ft_live *l, int last)
{
    conn_zeek_settle(f, &l->z);
    flow_record_settle(t, f, l, last);
    ft_keep_orig_ack(t, f, l);
}

static void ft_flow_release(nl_flow_table *t, nl_flow *f, ft_live *l)
{
    flow_record_release(t, f, l, 0);
    if (f->ext)
        ft_pool_put(&t->exts, f->ext);
    ft_pool_put(&t->flows, f);
}

/* End a live flow: out of the hash and the LRU, its live block recycled;
 * the summary kept for output (records as keep_policy says) or, when the
 * table streams, handed to on_end and recycled. */
static void ft_end(nl_flow_table *t, ft_live *l)
{
    nl_flow *f = l->f;
    ft_unhash(t, l);
    ft_lru_unlink(t, l);
    ft_timer_unlink(t, l);
    f->ended = 1;
    t->st.flows_live--;
    if (t->opts.keep_done) {
        ft_settle(t, f, l, 0);
    } else {
        conn_zeek_settle(f, &l->z);
        if (t->opts.on_end)
            t->opts.on_end(t->opts.on_end_ctx, f);
        ft_flow_release(t, f, l);
    }
    ft_pool_put(&t->lives, l);
}

/* With max_flows, push out the least recently used live flow. */
static void ft_evict_one(nl_flow_table *t)
{
    ft_live *a = t->lru_head[LRU_TCP], *b = t->lru_head[LRU_OTHER], *v;
    v = !a ? b : !b ? a : (a->f->last_ns <= b->f->last_ns ? a : b);
    if (!v)
        return;
    v->f->evicted = 1;
    t->st.evicted++;
    ft_end(t, v);
}

void flow_table_finish(nl_flow_table *t)
{
    if (!t->opts.keep_done || t->finished)
        return;
    for (int c = 0; c < LRU_N; c++) {
        ft_live *l = t->lru_head[c];
        while (l) {
            ft_live *nx = l->lnext;
            ft_settle(t, l->f, l, 1);
            l = nx;
        }
        t->lru_head[c] = t->lru_tail[c] = NULL;
    }
    memset(t->wheel, 0, sizeof t->wheel);
    /* no live block is in use any more: give the pool to malloc */
    ft_pool_destroy(&t->lives);
    free(t->bkt);
    t->bkt = NULL;
    t->nbkt = 0;
    t->finished = 1;
}

void flow_table_expire(nl_flow_table *t, uint64_t now)
{
    for (int c = 0; c < LRU_N; c++) {
        for (;;) {
            ft_live *l = t->lru_head[c];
            const nl_flow *f;
            uint64_t idle;
            if (!l)
                break;
            f = l->f;
            idle = f->proto == IPPROTO_TCP ? t->opts.tcp_idle_ns :
                   (f->proto == IPPROTO_UDP ? t->opts.udp_idle_ns : t->opts.icmp_idle_ns);
            if (now < f->last_ns || now - f->last_ns <= idle)
                break;
            t->st.timed_out++;
            ft_end(t, l);
        }
    }
    ft_timer_expire(t, now);
    t->last_expire_ns = now;
}

/* ---- new flows ---- */

/* Room for one more entry in the id-ordered list (grows per flow, never
 * per packet). */
static int ft_all_reserve(nl_flow_table *t)
{
    if (t->nall == t->cap_all) {
        size_t nc = t->cap_all ? t->cap_all * 2 : 4096;
        nl_flow **na = realloc(t->all, nc * sizeof *na);
        if (!na)
            return -1;
        t->st.bytes_allocated += (uint64_t)(nc - t->cap_all) * sizeof *na;
        t->all = na;
        t->cap_all = nc;
    }
    return 0;
}

static ft_live *ft_create(nl_flow_table *t, const nl_packet *p, uint32_t h)
{
    nl_flow *f;
    ft_live *l;
    if (t->opts.max_flows && t->st.flows_live >= t->opts.max_flows)
        ft_evict_one(t);
    if (t->opts.keep_done && ft_all_reserve(t) < 0)
        return NULL;
    f = ft_pool_get(&t->flows);
    if (!f)
        return NULL;
    l = ft_pool_get(&t->lives);
    if (!l) {
        ft_pool_put(&t->flows, f);
        return NULL;
    }
    memset(f, 0, sizeof *f);
    memset(l, 0, sizeof *l);
    l->f = f;
    l->hash = h;
    l->rclass = FT_NO_CLASS;
    f->id = t->next_id++;
    f->proto = p->proto;
    f->orig_ip = p->src;
    f->resp_ip = p->dst;
    f->orig_port = p->sport;
    f->resp_port = p->dport;
    f->first_ns = f->last_ns = p->ts_ns;
    f->first_frame = p->frame;
    f->ifindex[0] = f->ifindex[1] = -1;
    if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6)
        f->icmp_type = p->icmp_type;
    if (conn_zeek_new_flow_flipped(p, t->opts.server_ports)) {
        flow_swap_roles(f);
        conn_zeek_history(f, &l->z, '^', NL_ORIG);
    }
    l->hnext = t->bkt[h & (t->nbkt - 1)];
    t->bkt[h & (t->nbkt - 1)] = l;
    ft_lru_append(t, l);
    if (t->opts.keep_done)
        t->all[t->nall++] = f;
    t->st.flows_total++;
    t->st.flows_live++;
    if (t->st.flows_live > t->nbkt)
        ft_grow(t);
    return l;
}

nl_flow *flow_table_put(nl_flow_table *t, const nl_flow *src)
{
    nl_flow *f;
    nl_flow_ext *x = NULL;
    if ((t->opts.keep_done && ft_all_reserve(t) < 0) || !(f = ft_pool_get(&t->flows))) {
        t->st.no_memory++;
        return NULL;
    }
    if (src->ext && !(x = ft_pool_get(&t->exts))) {
        ft_pool_put(&t->flows, f);
        t->st.no_memory++;
        return NULL;
    }
    memcpy(f, src, sizeof *f);
    /* the copy is the table's: its own id, its own ext, records settled
     * like those of a flow that ends */
    f->recs = NULL;
    f->nrecs = 0;
    f->ext = x;
    if (x)
        memcpy(x, src->ext, sizeof *x);   /* padding too: readers compare bytes */
    f->id = t->next_id++;
    f->ended = 1;
    t->st.flows_total++;
    if (t->opts.keep_done) {
        flow_record_put(t, f, src->recs, src->recs ? src->nrecs : 0);
        t->all[t->nall++] = f;
        return f;
    }
    if (t->opts.keep_packets && src->recs) {
        /* on_end reads them during the call: src's own, not copied */
        f->recs = src->recs;
        f->nrecs = src->nrecs < t->opts.keep_limit ? src->nrecs : t->opts.keep_limit;
    }
    if (t->opts.on_end)
        t->opts.on_end(t->opts.on_end_ctx, f);
    f->recs = NULL;
    f->nrecs = 0;
    ft_flow_release(t, f, NULL);
    return NULL;
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
    for (ft_live *l = t->bkt[h & (t->nbkt - 1)]; l; l = l->hnext) {
        nl_flow *f = l->f;
        if (l->hash != h || ft_match(f, &q) < 0)
            continue;
        if (!f->ext) {
            /* rare: an ICMP error per flow at most once allocates */
            if (!(f->ext = ft_pool_get(&t->exts)))
                return;
            memset(f->ext, 0, sizeof *f->ext);
        }
        if (f->ext->icmp_errors == 0) {
            f->ext->icmp_err_type = p->icmp_type;
            f->ext->icmp_err_code = p->icmp_code;
            f->ext->icmp_err_from = p->src;
        }
        f->ext->icmp_errors++;
        return;
    }
}

nl_flow *flow_table_add(nl_flow_table *t, const nl_packet *p, const uint8_t *b)
{
    uint32_t h;
    ft_live *l;
    nl_flow *f;
    int dir = -1;

    if (t->finished)
        return NULL;
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
    for (l = t->bkt[h & (t->nbkt - 1)]; l; l = l->hnext)
        if (l->hash == h && (dir = ft_match(l->f, p)) >= 0)
            break;
    if (l && conn_zeek_is_reuse(l->f, &l->z, p, dir)) {
        ft_end(t, l);
        l = NULL;
    }
    if (!l) {
        l = ft_create(t, p, h);
        if (!l) {
            t->st.no_memory++;
            return NULL;
        }
        dir = ft_match(l->f, p);
    } else if (l->lnext) {
        /* most packets belong to a flow already at the tail */
        ft_lru_unlink(t, l);
        ft_lru_append(t, l);
    }
    f = l->f;
    dir = conn_zeek_packet(f, &l->z, p, dir);
    if (!l->in_timer)
        ft_timer_arm(t, l);
    if (dir < 0)
        return f; /* not counted (bad checksum under verification) */

    f->pkts[dir]++;
    f->ip_bytes[dir] += p->ip_len;
    f->frame_bytes[dir] += p->wirelen;
    if (p->ts_ns < f->first_ns)
        f->first_ns = p->ts_ns;
    if (p->ts_ns > f->last_ns)
        f->last_ns = p->ts_ns;
    flow_record_packet(t, f, l, p, b, dir);
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
            for (ft_live *l = t->lru_head[c]; l && t->nall < t->cap_all; l = l->lnext) {
                conn_zeek_settle(l->f, &l->z);
                t->all[t->nall++] = l->f;
            }
        if (t->nall > 1)        /* t->all is NULL while nothing was live */
            qsort(t->all, t->nall, sizeof *t->all, ft_cmp_id);
    }
    *n = t->nall;
    return t->all;
}

void flow_table_stats(const nl_flow_table *t, nl_flow_table_stats *st)
{
    *st = t->st;
    st->max_flows = t->opts.max_flows;
}
