/* correlate_pkts.c - pair the kept packets of two matched flows.
 *
 * A packet is the same packet at both points when its payload (length and
 * hash), its SYN/FIN/RST/ACK bits, its TSval, and its sequence and
 * acknowledgement numbers (after the flow's ISN offset: a firewall that
 * rewrites the client's ISN shifts the client's seq and the server's ack by
 * the same amount) all agree; UDP and ICMP use payload and IPv4 ID - and
 * when the two copies are no further apart in time than the clock allows
 * (correlate_twin_window_ns: twenty spreads, the one-way latency and 50
 * ms). Without the bound, packets nothing else tells apart (the RST of
 * each SYN retry, without TSvals) pair across retries: a RST the far side
 * lost would take the next retry's copy, a second later. Each far record
 * pairs at most once, earliest first, so a retransmission pairs with its
 * own copy. The ladders show them; counter differences give the packets
 * lost between the points. The clock rests on the flows' first packets
 * (correlate_pair.c), so flows whose records were not kept pair and time
 * alike.
 *
 * Cost: far records are taken in time order (sorted once when a capture's
 * timestamps went backwards), each near record looks at the far records
 * inside its window only, at most TWIN_SCAN_MAX of them (paired ones
 * included); a near record whose window holds more is marked
 * NL_TWIN_UNKNOWN, not "not seen". So a flow's pairing is n log n in its
 * records, whatever the flow keeps.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "correlate_int.h"

#define FLAG_MASK     (NL_TH_SYN | NL_TH_FIN | NL_TH_RST | NL_TH_ACK)
#define TWIN_SCAN_MAX 512       /* far records looked at per near record */
#define TWIN_STACK    256       /* records handled without malloc */

static int same_packet(const nl_pkt_rec *a, const nl_pkt_rec *b, int tcp,
                       int icmp, uint32_t seq_off, uint32_t ack_off)
{
    if (a->payload_len != b->payload_len || a->payload_hash != b->payload_hash)
        return 0;
    if (tcp) {
        if ((a->tcp_flags & FLAG_MASK) != (b->tcp_flags & FLAG_MASK))
            return 0;
        if ((uint32_t)(a->seq + seq_off) != b->seq)
            return 0;
        if ((a->tcp_flags & NL_TH_ACK) && (uint32_t)(a->ack + ack_off) != b->ack)
            return 0;
        return a->tsval == b->tsval;
    }
    if (a->ip_id && b->ip_id && a->ip_id != b->ip_id)
        return 0;
    if (icmp && (a->seq != b->seq || a->ack != b->ack))
        return 0;          /* ICMP records: seq = echo sequence, ack = type */
    return 1;
}

uint64_t correlate_twin_window_ns(const nl_clock_offset *clock)
{
    double tol;
    if (!clock || !clock->known)
        return UINT64_MAX;
    tol = 0.05 + 20 * fabs(clock->spread_s) + (clock->two_way ? fabs(clock->latency_s) : 0);
    /* a hostile spread must not overflow: beyond an hour is no bound */
    return tol < 3600 ? (uint64_t)(tol * 1e9) : UINT64_MAX;
}

void corr_pkts_pair(nl_match *m, const nl_clock_offset *clock)
{
    const nl_flow *n = m->near, *f = m->far;
    int flip = m->flip, tcp = n->proto == IPPROTO_TCP;

    m->has_seq_offset = 0;
    for (int d = 0; d < 2; d++) {
        int fd = d ^ flip;
        m->seq_offset[d] = 0;
        if (tcp && n->sig[d].has_syn && f->sig[fd].has_syn) {
            m->seq_offset[d] = f->sig[fd].syn_isn - n->sig[d].syn_isn;
            if (m->seq_offset[d])
                m->has_seq_offset = 1;
        }
    }
    uint64_t fo = f->pkts[NL_ORIG ^ flip], fr = f->pkts[NL_RESP ^ flip];
    m->lost[NL_ORIG] = n->pkts[NL_ORIG] > fo ? n->pkts[NL_ORIG] - fo : 0;
    m->lost[NL_RESP] = fr > n->pkts[NL_RESP] ? fr - n->pkts[NL_RESP] : 0;

    m->paired_pkts = 0;
    if (n->recs && f->recs && n->nrecs && f->nrecs)
        m->paired_pkts = (uint32_t)correlate_pkt_twins(m, clock, n->recs, n->nrecs,
                                                       f->recs, f->nrecs, NULL);
}

/* A record's time in the near clock, saturating (hostile timestamps). */
static int64_t twin_near_time(const nl_pkt_rec *r, int64_t off_ns)
{
    int64_t t = r->ts_ns > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)r->ts_ns;
    return corr_ssub(t, off_ns);
}

typedef struct twin_ord {
    int64_t  t;                 /* near clock */
    uint32_t j;                 /* index in far[] */
} twin_ord;

static int twin_ord_cmp(const void *a, const void *b)
{
    const twin_ord *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->j < y->j ? -1 : x->j > y->j;
}

size_t correlate_pkt_twins(const nl_match *m, const nl_clock_offset *clock,
                           const nl_pkt_rec *near, size_t nnear,
                           const nl_pkt_rec *far, size_t nfar,
                           int32_t *far_of_near)
{
    int flip = m->flip, tcp = m->near && m->near->proto == IPPROTO_TCP;
    int icmp = m->near && (m->near->proto == IPPROTO_ICMP || m->near->proto == IPPROTO_ICMPV6);
    uint64_t win = correlate_twin_window_ns(clock);
    int64_t off = clock && clock->known ? (int64_t)llround(clock->offset_s * 1e9) : 0;
    twin_ord ord_stack[TWIN_STACK], *ord = ord_stack;
    uint8_t used_stack[TWIN_STACK], *used = used_stack;
    size_t paired = 0, lo = 0;
    int sorted = 1;

    if (m->near && m->far && m->far->proto != m->near->proto)
        tcp = icmp = 0;
    for (size_t i = 0; far_of_near && i < nnear; i++)
        far_of_near[i] = NL_TWIN_NONE;
    if (!nnear || !nfar || !near || !far || nfar > UINT32_MAX)
        return 0;
    if (nfar > TWIN_STACK) {
        ord = malloc(nfar * sizeof *ord);
        used = malloc(nfar);
        if (!ord || !used) {
            /* out of memory: nothing paired, nothing claimed */
            for (size_t i = 0; far_of_near && i < nnear; i++)
                far_of_near[i] = NL_TWIN_UNKNOWN;
            free(ord == ord_stack ? NULL : ord);
            free(used == used_stack ? NULL : used);
            return 0;
        }
    }
    memset(used, 0, nfar);
    for (size_t j = 0; j < nfar; j++) {
        ord[j].t = twin_near_time(&far[j], off);
        ord[j].j = (uint32_t)j;
        if (j && ord[j].t < ord[j - 1].t)
            sorted = 0;
    }
    if (!sorted)
        qsort(ord, nfar, sizeof *ord, twin_ord_cmp);
    for (size_t i = 0; i < nnear; i++) {
        const nl_pkt_rec *a = &near[i];
        int d = a->dir & 1, fd = d ^ flip;
        int64_t t = twin_near_time(a, 0);
        int64_t t_lo = win == UINT64_MAX ? INT64_MIN : corr_ssub(t, (int64_t)win);
        int64_t t_hi = win == UINT64_MAX ? INT64_MAX : corr_sadd(t, (int64_t)win);
        size_t k;
        int32_t got = NL_TWIN_NONE;
        /* near records usually come in time order: the window's start only
         * moves forward; when one goes back, search for it again */
        if (lo > 0 && ord[lo - 1].t >= t_lo)
            lo = 0;
        while (lo < nfar && ord[lo].t < t_lo)
            lo++;
        for (k = lo; k < nfar && ord[k].t <= t_hi; k++) {
            const nl_pkt_rec *b = &far[ord[k].j];
            if (k - lo >= TWIN_SCAN_MAX) {
                got = NL_TWIN_UNKNOWN;
                break;
            }
            if (used[ord[k].j] || (b->dir & 1) != fd)
                continue;
            if (!same_packet(a, b, tcp, icmp, m->seq_offset[d], m->seq_offset[d ^ 1]))
                continue;
            used[ord[k].j] = 1;
            got = (int32_t)ord[k].j;
            paired++;
            break;
        }
        if (far_of_near)
            far_of_near[i] = got;
    }
    if (ord != ord_stack)
        free(ord);
    if (used != used_stack)
        free(used);
    return paired;
}
