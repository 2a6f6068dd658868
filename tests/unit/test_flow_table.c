/* test_flow_table.c - the flow table's memory contract on hand-built
 * packets: the summary's size, which ended flows keep their packet records
 * under each keep policy (and that the kept ones are intact), the sample
 * bound, Zeek's removal timers ending closed flows without changing which
 * packets make which flow, streaming, flow_table_put's copy of rare facts,
 * flow_table_finish(), and trace_load's max_flows (ended flows keep their
 * summary only). Exit 0 on success. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/flow_table.h"
#include "natlens/trace.h"
#include "unit.h"

#define SEC UINT64_C(1000000000)
#define T0 (UINT64_C(1763800000) * SEC)

enum { F = NL_TH_FIN, S = NL_TH_SYN, R = NL_TH_RST, A = NL_TH_ACK };

static uint64_t frame_no;

/* One TCP packet of client 10.0.<net>.1:cport <-> 192.0.2.1:80; dir 0 is
 * from the client. */
static void tcp(nl_flow_table *t, uint8_t net, uint16_t cport, int dir, uint8_t flags,
                uint32_t seq, uint32_t ack, uint64_t ts)
{
    nl_packet p;
    uint8_t c[4] = {10, 0, net, 1}, s[4] = {192, 0, 2, 1};
    memset(&p, 0, sizeof p);
    p.ts_ns = ts;
    p.frame = ++frame_no;
    p.ip_ver = 4;
    p.proto = IPPROTO_TCP;
    p.flags = NL_PKT_HAS_L4;
    p.ip_len = 40;
    p.wirelen = 54;
    p.tcp_flags = flags;
    p.seq = seq;
    p.ack = ack;
    p.win = 1000;
    nl_addr_from_v4(dir ? &p.dst : &p.src, c);
    nl_addr_from_v4(dir ? &p.src : &p.dst, s);
    p.sport = dir ? 80 : cport;
    p.dport = dir ? cport : 80;
    flow_table_add(t, &p, NULL);
}

/* A clean connection: handshake, FIN both ways. */
static void clean(nl_flow_table *t, uint8_t net, uint16_t port, uint64_t ts)
{
    tcp(t, net, port, 0, S, 1000, 0, ts);
    tcp(t, net, port, 1, S | A, 5000, 1001, ts + 1000);
    tcp(t, net, port, 0, A, 1001, 5001, ts + 2000);
    tcp(t, net, port, 0, F | A, 1001, 5001, ts + 3000);
    tcp(t, net, port, 1, F | A, 5001, 1002, ts + 4000);
    tcp(t, net, port, 0, A, 1002, 5002, ts + 5000);
}

static nl_flow_table *table(nl_keep_policy pol)
{
    nl_flow_table_opts o;
    memset(&o, 0, sizeof o);
    o.keep_done = 1;
    o.keep_packets = 1;
    o.keep_limit = 8;
    o.keep_policy = pol;
    return flow_table_new(&o);
}

static const nl_flow *flow_by_port(nl_flow_table *t, uint16_t port)
{
    size_t n;
    nl_flow **fl = flow_table_all(t, &n);
    for (size_t i = 0; i < n; i++)
        if (fl[i]->orig_port == port)
            return fl[i];
    return NULL;
}

static void test_size(void)
{
    /* the summary every flow keeps for its whole life: at most 296 bytes,
     * so a 4-byte field still fits under 300 */
    CHECK(sizeof(nl_flow) <= 296);
}

/* NEEDED: past the sample, clean flows lose their records when they end;
 * a lone SYN, a refused SYN and a retransmitted SYN keep theirs, intact. */
static void test_needed(void)
{
    nl_flow_table *t = table(NL_KEEP_NEEDED);
    nl_flow_table_stats st;
    uint64_t ts = T0;
    const nl_flow *f;
    const uint16_t nclean = NL_FLOW_SAMPLE_FLOWS + 100;

    for (uint16_t i = 0; i < nclean; i++, ts += SEC / 1000)
        clean(t, 1, (uint16_t)(10000 + i), ts);
    tcp(t, 2, 2000, 0, S, 7000, 0, ts);                       /* no answer */
    tcp(t, 2, 2001, 0, S, 8000, 0, ts);                       /* refused */
    tcp(t, 2, 2001, 1, R | A, 0, 8001, ts + 1000);
    tcp(t, 2, 2002, 0, S, 9000, 0, ts);                       /* retried */
    tcp(t, 2, 2002, 0, S, 9000, 0, ts + SEC);
    tcp(t, 2, 2002, 1, S | A, 3000, 9001, ts + SEC + 1000);
    tcp(t, 2, 2002, 0, A, 9001, 3001, ts + SEC + 2000);
    /* 30 s later every closed flow has met Zeek's 5 s close timer */
    tcp(t, 3, 3000, 0, S, 1, 0, ts + 30 * SEC);
    flow_table_stats(t, &st);
    CHECK_EQ(st.removed, nclean + 2);          /* closed, refused, unanswered */
    CHECK_EQ(st.recs_sampled, NL_FLOW_SAMPLE_FLOWS);
    CHECK_EQ(st.recs_dropped, nclean - NL_FLOW_SAMPLE_FLOWS);
    f = flow_by_port(t, 10000);
    CHECK(f && f->ended && f->nrecs == 6 && f->recs && f->recs[1].seq == 5000);
    f = flow_by_port(t, (uint16_t)(10000 + nclean - 1));
    CHECK(f && f->ended && f->nrecs == 0 && !f->recs);
    CHECK(f && !strcmp(f->history, "ShAFf") && f->pkts[0] == 4 && f->pkts[1] == 2);
    f = flow_by_port(t, 2001);
    CHECK(f && f->ended && f->nrecs == 2 && f->recs[1].tcp_flags == (R | A));
    flow_table_finish(t);
    f = flow_by_port(t, 2000);
    CHECK(f && f->ended && f->nrecs == 1 && f->recs[0].seq == 7000);
    f = flow_by_port(t, 2002);
    CHECK(f && f->nrecs == 4 && f->sig[0].syn_count == 2);
    /* finished: no more packets */
    frame_no = 0;
    tcp(t, 4, 4000, 0, S, 1, 0, ts + 31 * SEC);
    CHECK(flow_by_port(t, 4000) == NULL);
    flow_table_free(t);
}

/* ALL keeps every record; SUMMARY keeps none of ended flows, but those
 * still live when the input ends keep theirs. */
static void test_all_summary(void)
{
    nl_flow_table *t = table(NL_KEEP_ALL);
    nl_flow_table_stats st;
    const nl_flow *f;
    for (uint16_t i = 0; i < 50; i++)
        clean(t, 1, (uint16_t)(10000 + i), T0 + i * SEC / 100);
    tcp(t, 3, 3000, 0, S, 1, 0, T0 + 60 * SEC);
    flow_table_finish(t);
    flow_table_stats(t, &st);
    CHECK_EQ(st.recs_kept, 51);
    CHECK_EQ(st.recs_dropped, 0);
    f = flow_by_port(t, 10049);
    CHECK(f && f->nrecs == 6 && f->recs[5].ack == 5002);
    flow_table_free(t);

    t = table(NL_KEEP_SUMMARY);
    for (uint16_t i = 0; i < 50; i++)
        clean(t, 1, (uint16_t)(10000 + i), T0 + i * SEC / 100);
    tcp(t, 3, 3000, 0, S, 1, 0, T0 + 60 * SEC);
    flow_table_finish(t);
    flow_table_stats(t, &st);
    CHECK_EQ(st.recs_dropped, 50);
    f = flow_by_port(t, 10049);
    CHECK(f && f->nrecs == 0 && !f->recs && f->pkts[0] == 4);
    f = flow_by_port(t, 3000);
    CHECK(f && f->nrecs == 1);
    flow_table_free(t);
}

/* The close timer ends a flow 5 s after it closed, not before: a packet at
 * +4 s still belongs to it, one at +6 s starts a new flow, as when the
 * table only noticed on the packet (conn_zeek_is_reuse). */
static void test_removal(void)
{
    nl_flow_table *t = table(NL_KEEP_ALL);
    nl_flow_table_stats st;
    size_t n;
    nl_flow **fl;
    clean(t, 1, 10000, T0);
    tcp(t, 9, 9000, 0, S, 1, 0, T0 + 4 * SEC);      /* time passes */
    tcp(t, 1, 10000, 0, A, 1002, 5002, T0 + 4 * SEC + 1);
    flow_table_stats(t, &st);
    CHECK_EQ(st.removed, 0);
    CHECK_EQ(st.flows_total, 2);
    tcp(t, 9, 9000, 0, S, 1, 0, T0 + 6 * SEC);
    flow_table_stats(t, &st);
    CHECK_EQ(st.removed, 1);
    tcp(t, 1, 10000, 0, A, 1002, 5002, T0 + 6 * SEC + 1);
    fl = flow_table_all(t, &n);
    CHECK_EQ(n, 3);
    CHECK(n == 3 && fl[0]->pkts[0] == 5 && fl[0]->ended && fl[2]->orig_port == 10000 &&
          fl[2]->pkts[0] == 1);
    flow_table_free(t);
}

static int streamed;
static void on_end(void *ctx, const nl_flow *f)
{
    (void)ctx;
    if (f->ended && f->pkts[0] == 4)
        streamed++;
}

/* Streaming with max_flows: memory stays bounded by the cap, every ended
 * flow is handed over once. */
static void test_stream(void)
{
    nl_flow_table_opts o;
    nl_flow_table *t;
    nl_flow_table_stats st;
    uint64_t first;
    memset(&o, 0, sizeof o);
    o.keep_packets = 1;
    o.max_flows = 100;
    o.on_end = on_end;
    t = flow_table_new(&o);
    for (uint16_t i = 0; i < 1000; i++)
        clean(t, 1, (uint16_t)(10000 + i), T0 + i * (SEC / 1000));
    flow_table_stats(t, &st);
    first = st.bytes_allocated;
    for (uint16_t i = 0; i < 20000; i++)
        clean(t, (uint8_t)(2 + i / 10000), (uint16_t)(10000 + i % 10000),
              T0 + SEC + i * (SEC / 1000));
    flow_table_stats(t, &st);
    CHECK_EQ(st.flows_total, 21000);
    CHECK(st.flows_live <= 100);
    CHECK(st.bytes_allocated == first);   /* pools reused, nothing new */
    CHECK(streamed >= 20000);
    flow_table_free(t);
}

/* flow_table_put copies the rare facts into the table's own ext. */
static void test_put(void)
{
    nl_flow_table *t = table(NL_KEEP_ALL);
    nl_flow src;
    nl_flow_ext x;
    const nl_flow *f;
    uint8_t from[4] = {198, 51, 100, 9};
    memset(&src, 0, sizeof src);
    memset(&x, 0, sizeof x);
    src.proto = IPPROTO_UDP;
    src.orig_port = 5000;
    x.icmp_errors = 2;
    x.icmp_err_type = 3;
    nl_addr_from_v4(&x.icmp_err_from, from);
    src.ext = &x;
    f = flow_table_put(t, &src);
    memset(&x, 0, sizeof x);
    CHECK(f && f->ext && f->ext != &x && flow_icmp_errors(f) == 2 && flow_icmp_err_type(f) == 3);
    CHECK(f && nl_addr_is_v4(flow_icmp_err_from(f)) && flow_icmp_err_from(f)->b[15] == 9);
    flow_table_free(t);
}

/* trace_load with max_flows (correlate, report): flows pushed out keep
 * their summary, not their records; without the cap all keep them. */
static void test_trace_max_flows(void)
{
    char err[512];
    nl_trace_opts o;
    nl_trace *t;
    nl_flow **fl;
    size_t n, with = 0, evicted = 0;
    memset(&o, 0, sizeof o);
    o.keep_packets = 1;
    o.max_flows = 2;
    t = trace_load("samples/snat-pool/client.pcap", &o, err);
    CHECK(t != NULL);
    if (!t)
        return;
    fl = trace_flows(t, &n);
    for (size_t i = 0; i < n; i++) {
        if (fl[i]->evicted) {
            evicted++;
            CHECK(fl[i]->nrecs == 0 && fl[i]->pkts[0] > 0);
        }
        with += fl[i]->nrecs > 0;
    }
    CHECK(evicted > 0);
    CHECK(with <= 2);
    trace_free(t);
    o.max_flows = 0;
    t = trace_load("samples/snat-pool/client.pcap", &o, err);
    CHECK(t != NULL);
    if (!t)
        return;
    fl = trace_flows(t, &n);
    with = 0;
    for (size_t i = 0; i < n; i++)
        with += fl[i]->nrecs > 0;
    CHECK(n > 2 && with == n);
    trace_free(t);
}

int main(void)
{
    test_size();
    test_needed();
    test_all_summary();
    test_removal();
    test_stream();
    test_put();
    test_trace_max_flows();
    return UNIT_END();
}
