/* flow_record.c - what a live flow keeps of its packets: the first values
 * of each direction (nl_flow_sig, TTL, MAC, interface) and, with
 * keep_packets, the first keep_limit packets as records (flow_int.h).
 *
 * Records sit in pooled chunks that grow 1, 2, 4, 8, 16, 24 (capped at
 * keep_limit) as the flow gets packets, so a one-packet flow holds one
 * record, not keep_limit; when the flow settles the keep policy keeps them
 * (copied to their exact size) or gives the chunk back. No allocation per
 * packet: chunks come from pools (flow_pool.c).
 */
#include <netinet/in.h>
#include <string.h>
#include "flow_int.h"

/* Record chunk sizes (a flow moves to the next one when its chunk is
 * full), capped at keep_limit. */
static const uint8_t ft_rec_class_cap[FT_NCLASS] = {1, 2, 4, 8, 16, NL_FLOW_KEEP_PKTS};

void flow_record_classes(nl_flow_table *t)
{
    uint8_t lim = t->opts.keep_limit;
    t->nclass = 0;
    for (size_t c = 0; c < FT_NCLASS; c++) {
        uint8_t cap = ft_rec_class_cap[c] < lim ? ft_rec_class_cap[c] : lim;
        t->rcap[t->nclass] = cap;
        ft_pool_init(&t->recs[t->nclass], (size_t)cap * sizeof(nl_pkt_rec),
                     &t->st.bytes_allocated);
        t->nclass++;
        if (cap == lim)
            break;
    }
}

void flow_record_release(nl_flow_table *t, nl_flow *f, ft_live *l, int last)
{
    /* when the input ended nothing takes a chunk again: do not touch it */
    if (l && l->rclass != FT_NO_CLASS && f->recs && !last)
        ft_pool_put(&t->recs[l->rclass], f->recs);
    if (l)
        l->rclass = FT_NO_CLASS;
    f->recs = NULL;
    f->nrecs = 0;
}

/* A settled flow's records (it ended, or the input did): kept or recycled
 * as the keep policy says. An ended flow's kept records move to the arena
 * at their exact size, so its chunk serves the next flows; when the input
 * ended (`last`) no flow comes to reuse a chunk and copying would only add
 * memory: they stay. Flows still live then keep them under
 * NL_KEEP_SUMMARY (at most max_flows flows). */
void flow_record_settle(nl_flow_table *t, nl_flow *f, ft_live *l, int last)
{
    int keep;
    nl_pkt_rec *r;
    if (!f->recs)
        return;
    switch (t->opts.keep_policy) {
    case NL_KEEP_ALL:
        keep = 1;
        break;
    case NL_KEEP_SUMMARY:
        keep = last;
        break;
    case NL_KEEP_NEEDED:
        keep = flow_keep_needed(f, l->kfacts);
        if (!keep && t->st.recs_sampled < NL_FLOW_SAMPLE_FLOWS) {
            t->st.recs_sampled++;
            keep = 1;
        }
        break;
    default:
        keep = 0;
        break;
    }
    if (!keep || f->nrecs == 0) {
        t->st.recs_dropped += keep ? 0 : 1;
        flow_record_release(t, f, l, last);
        return;
    }
    t->st.recs_kept++;
    if (last)
        return;
    r = ft_arena_recs(&t->kept, f->nrecs);
    if (!r)
        return; /* out of memory: the chunk stays the flow's */
    memcpy(r, f->recs, (size_t)f->nrecs * sizeof *r);
    ft_pool_put(&t->recs[l->rclass], f->recs);
    l->rclass = FT_NO_CLASS;
    f->recs = r;
}

/* Room for one more record of live flow f: a chunk of the next class when
 * the current one is full. NULL when full at keep_limit or out of memory. */
static nl_pkt_rec *ft_rec_slot(nl_flow_table *t, nl_flow *f, ft_live *l)
{
    uint8_t c = l->rclass;
    if (c != FT_NO_CLASS && f->nrecs < t->rcap[c])
        return &f->recs[f->nrecs++];
    if (c != FT_NO_CLASS && c + 1 >= t->nclass)
        return NULL;
    {
        uint8_t nc = c == FT_NO_CLASS ? 0 : (uint8_t)(c + 1);
        nl_pkt_rec *r = ft_pool_get(&t->recs[nc]);
        if (!r)
            return NULL;
        if (f->recs) {
            memcpy(r, f->recs, (size_t)f->nrecs * sizeof *r);
            ft_pool_put(&t->recs[c], f->recs);
        }
        f->recs = r;
        l->rclass = nc;
    }
    return &f->recs[f->nrecs++];
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

/* One packet's payload hash, computed at most once and only when the
 * signature or a record wants it. */
typedef struct ft_phash {
    const uint8_t   *b;
    const nl_packet *p;
    uint32_t         h;
    int              done;
} ft_phash;

static uint32_t ft_phash_get(ft_phash *ph)
{
    if (!ph->done) {
        ph->h = ft_payload_hash(ph->b, ph->p);
        ph->done = 1;
    }
    return ph->h;
}

static void ft_signature(nl_flow *f, const nl_packet *p, ft_phash *ph, int dir)
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
        uint32_t h = ft_phash_get(ph);
        /* a retransmission of the first segment is not a second segment */
        if (h && !(s->ndata == 1 && s->data_hash[0] == h)) {
            s->data_hash[s->ndata] = h;
            s->data_len[s->ndata] = (uint16_t)(p->payload_len > 0xffff ? 0xffff : p->payload_len);
            s->ndata++;
        }
    }
}

/* The record of one packet, its payload hash given (computed once). */
static void fr_fill(nl_pkt_rec *r, const nl_packet *p, const uint8_t *b, uint32_t hash, int dir)
{
    memset(r, 0, sizeof *r);
    r->ts_ns = p->ts_ns;
    r->frame = p->frame;
    r->seq = p->seq;
    r->ack = p->ack;
    r->tsval = (p->flags & NL_PKT_TCP_TS) ? p->tsval : 0;
    r->payload_hash = hash;
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

void flow_pkt_rec_fill(nl_pkt_rec *r, const nl_packet *p, const uint8_t *bytes, int dir)
{
    fr_fill(r, p, bytes, ft_payload_hash(bytes, p), dir);
}

static void fr_record(nl_flow_table *t, nl_flow *f, ft_live *l, const nl_packet *p,
                      ft_phash *ph, int dir)
{
    nl_pkt_rec *r = ft_rec_slot(t, f, l);
    if (!r)
        return;
    fr_fill(r, p, ph->b, ft_phash_get(ph), dir);
    l->kfacts = (uint8_t)flow_keep_note(l->kfacts, &f->recs[0], r);
}

void flow_record_put(nl_flow_table *t, nl_flow *f, const nl_pkt_rec *recs, unsigned n)
{
    unsigned facts = 0;
    int keep;
    nl_pkt_rec *r;
    if (!t->opts.keep_packets || !recs || n == 0)
        return;
    if (n > t->opts.keep_limit)
        n = t->opts.keep_limit;
    for (unsigned i = 0; i < n; i++)
        facts = flow_keep_note(facts, &recs[0], &recs[i]);
    /* what flow_record_settle decides for a flow that ends */
    f->recs = (nl_pkt_rec *)(uintptr_t)recs;   /* read only, by flow_keep_needed */
    f->nrecs = (uint16_t)n;
    keep = t->opts.keep_policy == NL_KEEP_ALL ||
           (t->opts.keep_policy == NL_KEEP_NEEDED && flow_keep_needed(f, facts));
    if (!keep && t->opts.keep_policy == NL_KEEP_NEEDED &&
        t->st.recs_sampled < NL_FLOW_SAMPLE_FLOWS) {
        t->st.recs_sampled++;
        keep = 1;
    }
    f->recs = NULL;
    f->nrecs = 0;
    if (!keep) {
        t->st.recs_dropped++;
        return;
    }
    if (!(r = ft_arena_recs(&t->kept, n)))
        return;
    memcpy(r, recs, n * sizeof *r);
    f->recs = r;
    f->nrecs = (uint16_t)n;
    t->st.recs_kept++;
}

void flow_record_packet(nl_flow_table *t, nl_flow *f, ft_live *l, const nl_packet *p,
                        const uint8_t *b, int dir)
{
    ft_phash ph = { b, p, 0, 0 };
    if (f->pkts[dir] == 1) {
        f->sig[dir].ttl = p->ttl;
        f->ifindex[dir] = (p->flags & NL_PKT_HAS_IFINDEX) ? p->ifindex : -1;
        if (p->flags & NL_PKT_HAS_MAC) {
            memcpy(f->mac[dir], p->src_mac, 6);
            f->sig[dir].has_mac = 1;
        }
    }
    ft_signature(f, p, &ph, dir);
    if (t->opts.keep_packets)
        fr_record(t, f, l, p, &ph, dir);
}
