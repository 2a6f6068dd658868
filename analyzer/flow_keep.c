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

unsigned flow_keep_note(unsigned facts, const nl_pkt_rec *first, const nl_pkt_rec *r)
{
    uint8_t fl = r->tcp_flags;
    int same = r->dir == first->dir;
    /* one interface and one MAC pair (mirrored for the answers) in all of
     * the records: the SYN and its answer cannot have taken different ways */
    if (r->ifindex != first->ifindex ||
        memcmp(r->src_mac, same ? first->src_mac : first->dst_mac, 6) ||
        memcmp(r->dst_mac, same ? first->dst_mac : first->src_mac, 6))
        facts |= FK_PATHS;
    if (fl & NL_TH_SYN)
        facts |= FK_ANY_SYN;
    /* the handshake view of diagnose_single_hs(), record by record (a
     * reset keeps the records anyway, whatever it does to the view) */
    if (fl & NL_TH_RST)
        facts |= FK_RST;
    if (r->dir == NL_ORIG && (fl & NL_TH_SYN) && !(fl & NL_TH_ACK))
        facts |= FK_SYN;
    else if (r->dir == NL_ORIG && (fl & NL_TH_ACK) && !(fl & NL_TH_SYN) && (facts & FK_SYN))
        facts |= FK_DONE;
    return facts;
}

/* A handshake the report draws a ladder of (report_flow_failed() in
 * report_ladder.c, by Zeek's final state): its records must stay, even
 * when the records alone look complete (a SYN and the client's ACKs with
 * the answer taking another way is S0). */
static int fk_failed(const nl_flow *f)
{
    static const char *const ok[] = {"S1", "SF", "S2", "S3", "RSTO", "RSTR"};
    const char *st;
    if (!f->sig[NL_ORIG].has_syn)
        return 0;
    st = flow_conn_state(f);
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!strcmp(st, ok[i]))
            return 0;
    return 1;
}

int flow_keep_needed(const nl_flow *f, unsigned facts)
{
    if (flow_icmp_errors(f))
        return 1;
    if (f->proto == IPPROTO_ICMP || f->proto == IPPROTO_ICMPV6)
        return !fk_icmp_echo(f);
    if (f->proto != IPPROTO_TCP || !f->recs || f->nrecs == 0)
        return 0;
    if (fk_failed(f))
        return 1;
    if (f->sig[NL_ORIG].syn_count > 1 || f->sig[NL_RESP].syn_count > 1 ||
        fk_letter(f, 'R') || fk_letter(f, 'r') || (facts & (FK_RST | FK_PATHS)))
        return 1;
    /* the summary's view of the path (first packet of each direction) */
    if (f->ifindex[NL_ORIG] >= 0 && f->ifindex[NL_RESP] >= 0 &&
        f->ifindex[NL_ORIG] != f->ifindex[NL_RESP])
        return 1;
    if (facts & FK_DONE)
        /* the summary must call it completed as well */
        return !(fk_letter(f, 'S') &&
                 (fk_letter(f, 'A') || fk_letter(f, 'D') || fk_letter(f, 'F')));
    /* seen only mid-way: no handshake packet in the records or the history */
    return (facts & FK_ANY_SYN) || fk_letter(f, 'S') || fk_letter(f, 's') ||
           fk_letter(f, 'H') || fk_letter(f, 'h');
}
