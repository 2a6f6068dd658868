/* correlate_pkts.c - pair the kept packets of two matched flows.
 *
 * A packet is the same packet at both points when its payload (length and
 * hash), its SYN/FIN/RST/ACK bits, its TSval, and its sequence and
 * acknowledgement numbers (after the flow's ISN offset: a firewall that
 * rewrites the client's ISN shifts the client's seq and the server's ack by
 * the same amount) all agree; UDP and ICMP use payload and IPv4 ID. Each
 * far record pairs at most once, first come first served, so with TSvals a
 * retransmission pairs with its own copy. The ladders show them; counter
 * differences give the packets lost between the points. The clock rests on
 * the flows' first packets (correlate_pair.c), so flows whose records were
 * not kept pair and time alike.
 */
#include <string.h>
#include <netinet/in.h>
#include "correlate_int.h"

#define FLAG_MASK (NL_TH_SYN | NL_TH_FIN | NL_TH_RST | NL_TH_ACK)

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

void corr_pkts_pair(nl_match *m)
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

    int16_t twin[NL_FLOW_KEEP_PKTS];
    m->paired_pkts = (uint32_t)correlate_pkt_twins(m, twin);
}

size_t correlate_pkt_twins(const nl_match *m, int16_t far_of_near[NL_FLOW_KEEP_PKTS])
{
    const nl_flow *n = m->near, *f = m->far;
    int flip = m->flip, tcp = n->proto == IPPROTO_TCP;
    int icmp = n->proto == IPPROTO_ICMP || n->proto == IPPROTO_ICMPV6;
    uint8_t used[NL_FLOW_KEEP_PKTS];
    uint16_t nf = f->nrecs < NL_FLOW_KEEP_PKTS ? f->nrecs : NL_FLOW_KEEP_PKTS;
    uint16_t nn = n->nrecs < NL_FLOW_KEEP_PKTS ? n->nrecs : NL_FLOW_KEEP_PKTS;
    size_t paired = 0;

    memset(used, 0, sizeof used);
    for (uint16_t i = 0; i < NL_FLOW_KEEP_PKTS; i++)
        far_of_near[i] = -1;
    for (uint16_t i = 0; i < nn; i++) {
        const nl_pkt_rec *a = &n->recs[i];
        int d = a->dir & 1, fd = d ^ flip;
        for (uint16_t j = 0; j < nf; j++) {
            const nl_pkt_rec *b = &f->recs[j];
            if (used[j] || b->dir != fd)
                continue;
            if (!same_packet(a, b, tcp, icmp, m->seq_offset[d], m->seq_offset[d ^ 1]))
                continue;
            used[j] = 1;
            far_of_near[i] = (int16_t)j;
            paired++;
            break;
        }
    }
    return paired;
}
