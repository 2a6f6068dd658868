/* flow_keep.c - which ended flows keep their packet records (flow_int.h).
 *
 * Under NL_KEEP_NEEDED the table drops the records of clean flows when they
 * end. The test here is written against what the findings of one capture
 * read (diagnose_single.c: the handshake view, the path rule and what it
 * learns from completed handshakes, the ICMP and stray rules): for a flow
 * it calls clean, the records and the summary lead those rules to the same
 * place (nothing to report, nothing learned), so dropping the records
 * changes no finding. Everything else - handshakes that did not complete,
 * resets, retransmitted SYNs, ICMP errors, a path that changes within the
 * flow - keeps its records.
 */
#include <netinet/in.h>
#include <string.h>
#include "flow_int.h"

/* Echo request/reply: the only ICMP messages no finding looks at. */
static int fk_icmp_echo(const nl_flow *f)
{
    if (f->proto == IPPROTO_ICMP)
        return f->icmp_type == 0 || f->icmp_type == 8;
    return f->icmp_type == 128 || f->icmp_type == 129;
}

static int fk_letter(const nl_flow *f, char c)
{
    return memchr(f->history, c, f->hist_len) != NULL;
}

/* One interface and one MAC pair (mirrored for the answers) in all of the
 * records: the SYN and its answer cannot have taken different ways. */
static int fk_one_path(const nl_flow *f)
{
    const nl_pkt_rec *a = &f->recs[0];
    for (uint16_t i = 1; i < f->nrecs; i++) {
        const nl_pkt_rec *r = &f->recs[i];
        int same = r->dir == a->dir;
        if (r->ifindex != a->ifindex)
            return 0;
        if (memcmp(r->src_mac, same ? a->src_mac : a->dst_mac, 6) ||
            memcmp(r->dst_mac, same ? a->dst_mac : a->src_mac, 6))
            return 0;
    }
    return 1;
}

int flow_keep_needed(const nl_flow *f)
{
    int syn = 0, completed = 0, any_syn = 0;

    if (flow_icmp_errors(f))
        return 1;
    if (f->proto == IPPROTO_ICMP || f->proto == IPPROTO_ICMPV6)
        return !fk_icmp_echo(f);
    if (f->proto != IPPROTO_TCP || !f->recs || f->nrecs == 0)
        return 0;
    if (f->sig[NL_ORIG].syn_count > 1 || f->sig[NL_RESP].syn_count > 1 ||
        fk_letter(f, 'R') || fk_letter(f, 'r'))
        return 1;
    /* the summary's view of the path (first packet of each direction) */
    if (f->ifindex[NL_ORIG] >= 0 && f->ifindex[NL_RESP] >= 0 &&
        f->ifindex[NL_ORIG] != f->ifindex[NL_RESP])
        return 1;
    if (!fk_one_path(f))
        return 1;
    /* the handshake view of diagnose_single_hs(), record by record */
    for (uint16_t i = 0; i < f->nrecs; i++) {
        const nl_pkt_rec *r = &f->recs[i];
        uint8_t fl = r->tcp_flags;
        if (fl & NL_TH_SYN)
            any_syn = 1;
        if (fl & NL_TH_RST)
            return 1;
        if (r->dir == NL_ORIG && (fl & NL_TH_SYN) && !(fl & NL_TH_ACK))
            syn = 1;
        else if (r->dir == NL_ORIG && (fl & NL_TH_ACK) && !(fl & NL_TH_SYN) && syn)
            completed = 1;
    }
    if (completed)
        /* the summary must call it completed as well */
        return !(fk_letter(f, 'S') &&
                 (fk_letter(f, 'A') || fk_letter(f, 'D') || fk_letter(f, 'F')));
    /* seen only mid-way: no handshake packet in the records or the history */
    return any_syn || fk_letter(f, 'S') || fk_letter(f, 's') || fk_letter(f, 'H') ||
           fk_letter(f, 'h');
}
