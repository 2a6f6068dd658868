/* test_pkt_rec.c - a packet read again is the record the flow table kept.
 *
 * The viewer reads a flow's packets again from the capture file when its
 * ladder opens (analyzer/tui/tui_pkts.c) and makes them into records with
 * flow_pkt_rec_fill(); the ladder pairs them with correlate's twin rule, so
 * they must be the table's records byte for byte (payload hash, text,
 * direction, ICMP type and echo seq, MACs, interface). Reads samples
 * (Ethernet with TCP, UDP and ICMP; Linux cooked v2 with interfaces, a
 * connection Zeek splits into pieces) with every record kept, reads each
 * file again with source_next(), matches every packet to its flow by tuple,
 * time span and count (as the viewer does) and compares. Exit 0 on success. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/flow.h"
#include "natlens/source.h"
#include "natlens/trace.h"
#include "unit.h"

static int dir_of(const nl_flow *g, const nl_packet *p)
{
    if (g->proto != p->proto)
        return -1;
    if (g->orig_port == p->sport && g->resp_port == p->dport &&
        !nl_addr_cmp(&g->orig_ip, &p->src) && !nl_addr_cmp(&g->resp_ip, &p->dst))
        return NL_ORIG;
    if (g->orig_port == p->dport && g->resp_port == p->sport &&
        !nl_addr_cmp(&g->orig_ip, &p->dst) && !nl_addr_cmp(&g->resp_ip, &p->src))
        return NL_RESP;
    return -1;
}

static void check_file(const char *path)
{
    nl_trace_opts o;
    nl_trace *t;
    nl_source *s;
    nl_flow **fl;
    size_t n, *got, compared = 0;
    nl_packet pkt;
    const uint8_t *bytes;
    char err[512];

    memset(&o, 0, sizeof o);
    o.keep_packets = 1;
    o.keep_policy = NL_KEEP_ALL;
    t = trace_load(path, &o, err);
    CHECK(t != NULL);
    if (!t) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    fl = trace_flows(t, &n);
    got = calloc(n + 1, sizeof *got);
    s = source_open(path, NULL, err);
    CHECK(s != NULL && got != NULL);
    if (!s || !got) {
        free(got);
        trace_free(t);
        return;
    }
    memset(&pkt, 0, sizeof pkt);
    while (source_next(s, &pkt, &bytes) == 1) {
        if ((pkt.flags & NL_PKT_NOT_IP) || !pkt.ip_ver || !(pkt.flags & NL_PKT_HAS_L4))
            continue;
        for (size_t i = 0; i < n; i++) {
            const nl_flow *g = fl[i];
            int d = dir_of(g, &pkt);
            nl_pkt_rec r;
            if (d < 0 || g->tunnel || pkt.ts_ns < g->first_ns || pkt.ts_ns > g->last_ns ||
                got[i] >= g->pkts[0] + g->pkts[1])
                continue;
            flow_pkt_rec_fill(&r, &pkt, bytes, d);
            if (g->recs && got[i] < g->nrecs) {
                const nl_pkt_rec *k = &g->recs[got[i]];
                CHECK_EQ(r.frame, k->frame);
                CHECK_EQ(r.dir, k->dir);
                CHECK_EQ(r.payload_hash, k->payload_hash);
                CHECK(!memcmp(&r, k, sizeof r));
                compared++;
            }
            got[i]++;
            break;
        }
    }
    /* every packet of every flow found again, and most compared */
    for (size_t i = 0; i < n; i++)
        if (!fl[i]->tunnel)
            CHECK_EQ(got[i], fl[i]->pkts[0] + fl[i]->pkts[1]);
    CHECK(compared >= 10);
    printf("%s: %zu flows, %zu records compared\n", path, n, compared);
    source_close(s);
    free(got);
    trace_free(t);
}

int main(void)
{
    check_file("samples/snat-masq/client.pcap");
    check_file("samples/snat-masq/server.pcap");
    check_file("samples/asym-return/server.pcap");
    check_file("samples/asym-return/client.pcap");
    return UNIT_END();
}
