/* gen_capture.c - deterministic synthetic captures for benchmarks, fuzz
 * seeds and correlation accuracy tests (the files are listed in gen.h).
 *
 * Writes Ethernet captures (nanosecond pcap) through libpcap's
 * pcap_open_dead + pcap_dump; every IPv4 header, TCP, UDP and ICMP checksum
 * is valid. Four modes:
 *
 *   gen_capture -n 1000000 -f 20000 -o big.pcap
 *       one capture: F flows (80% TCP with handshake, MSS/SACKOK/TS/WS
 *       options, request/response data with TSval, FIN or RST; 15% UDP
 *       request/response; 5% ICMP echo), about N packets in all, interleaved
 *       over a few hundred concurrent flows, some of them IPv6.
 *   gen_capture --pair -f 100000 -o near.pcap -O far.pcap -t truth.json
 *       the same traffic seen on both sides of a source NAT: near = client
 *       side (10.x inner addresses), far = server side (SNAT to a pool in
 *       203.0.113.0/24 with port / ICMP id remaps, some flows with the ISN
 *       rewritten by a constant offset, the far clock --offset seconds
 *       ahead, a little loss between the two capture points repaired by
 *       retransmissions, and a few flows blocked: near side only).
 *       truth.json says which near flow is which far flow.
 *   gen_capture --field [--pool 3|flow] -f 100000 -o near.pcap -O far.pcap -t truth.json
 *       the shape of issue 11 (gen_field.c): short TCP connections through
 *       a NAT pool, no TCP options, 64 shared payloads, 5% ISN rewrites,
 *       1% SYN-ACKs lost before the near point, far clock 2.5 s ahead.
 *   gen_capture --distinct -n 10000000 -o syn.pcap
 *       every packet a SYN of a new flow (memory-bound tests).
 *
 * Same arguments and seed -> byte-identical output. "-" writes stdout.
 * The generator is a test tool: it favours simple, obvious code over
 * cleverness, but it must stay fast (1M packets in a few seconds).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* u_char in pcap.h under -std=c11 */
#endif
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "gen.h"

/* Every packet a SYN of a new flow: 10.0.0.0/8 sources x 50000 ports. */
static int gen_run_distinct(gen_state *g)
{
    gen_pkt p;
    uint64_t i;
    memset(&p, 0, sizeof p);
    p.proto = 6;
    p.flags = 0x02;
    p.win = 64240;
    p.syn_opts = 1;
    p.ttl = 64;
    p.smac = gen_mac_client;
    p.dmac = gen_mac_gw_in;
    for (i = 0; i < g->o.packets; i++) {
        uint64_t h = i / 50000 + 1;   /* 10.0.0.1 onwards */
        uint32_t len;
        gen_v4(&p.src, 10, (uint8_t)(h >> 16), (uint8_t)(h >> 8), (uint8_t)h);
        gen_v4(&p.dst, 198, 51, 100, (uint8_t)(1 + i % 200));
        p.sport = (uint16_t)(10000 + i % 50000);
        p.dport = 443;
        p.seq = (uint32_t)gen_next(&g->rng);
        p.tsval = (uint32_t)(i / 1000);
        p.ip_id = (uint16_t)i;
        len = gen_frame(g->frame, &p);
        gen_side_write(&g->near, g->o.start_ns + i * 1000, g->frame, len);
    }
    return 0;
}

static void gen_usage(FILE *out)
{
    fprintf(out,
        "usage: gen_capture [-n PACKETS] [-f FLOWS] [-s SEED] -o OUT.pcap\n"
        "       gen_capture --pair [-n PACKETS] -f FLOWS -o NEAR.pcap -O FAR.pcap -t TRUTH.json\n"
        "                   [--offset SECONDS] [--loss FRAC] [--isn-rewrite FRAC] [--blocked FRAC]\n"
        "       gen_capture --field -f FLOWS -o NEAR.pcap -O FAR.pcap [-t TRUTH.json] [--pool N|flow]\n"
        "                   [--stretch N] [--offset S] [--isn-rewrite FRAC] [--synack-loss FRAC]\n"
        "                   [--hosts N] [--servers N] [--payloads N]\n"
        "                   (defaults: pool 3, stretch 500, offset 2.5, isn-rewrite 0.05,\n"
        "                   synack-loss 0.01, hosts 2000, servers 30, payloads 64)\n"
        "       gen_capture --distinct -n PACKETS -o OUT.pcap\n"
        "options: --concurrency N (flows active at once, 256), --ppf N (packets per flow\n"
        "         when -n is not given, 10), --v6 FRAC (IPv6 flows, single capture, 0.1),\n"
        "         --start EPOCH_SECONDS (1700000000). OUT may be '-' (stdout).\n");
}

int main(int argc, char **argv)
{
    static gen_state g;
    static const struct option lo[] = {
        {"pair", no_argument, NULL, 'P'}, {"distinct", no_argument, NULL, 'D'},
        {"offset", required_argument, NULL, 1}, {"loss", required_argument, NULL, 2},
        {"isn-rewrite", required_argument, NULL, 3}, {"blocked", required_argument, NULL, 4},
        {"v6", required_argument, NULL, 5}, {"concurrency", required_argument, NULL, 6},
        {"start", required_argument, NULL, 7}, {"ppf", required_argument, NULL, 8},
        {"field", no_argument, NULL, 'F'}, {"pool", required_argument, NULL, 9},
        {"stretch", required_argument, NULL, 10}, {"synack-loss", required_argument, NULL, 11},
        {"hosts", required_argument, NULL, 12}, {"servers", required_argument, NULL, 13},
        {"payloads", required_argument, NULL, 14},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}
    };
    gen_opts *o = &g.o;
    int c, rc;

    o->seed = 1;
    o->loss = 0.002;
    o->isn_frac = 0.2;
    o->blocked_frac = 0.002;
    o->v6_frac = 0.1;
    o->concurrency = 256;
    o->ppf = 10;
    o->start_ns = 1700000000ull * 1000000000ull;
    o->pool = 3;
    o->stretch = 500;
    o->synack_loss = 0.01;
    o->hosts = 2000;
    o->servers = 30;
    o->payloads = 64;
    while ((c = getopt_long(argc, argv, "n:f:s:o:O:t:h", lo, NULL)) != -1) {
        switch (c) {
        case 'n': o->packets = strtoull(optarg, NULL, 10); break;
        case 'f': o->flows = strtoull(optarg, NULL, 10); break;
        case 's': o->seed = strtoull(optarg, NULL, 10); break;
        case 'o': o->out = optarg; break;
        case 'O': o->far_out = optarg; break;
        case 't': o->truth = optarg; break;
        case 'P': o->pair = 1; break;
        case 'D': o->distinct = 1; break;
        case 'F': o->field = 1; break;
        case 1: o->offset_s = strtod(optarg, NULL); o->offset_set = 1; break;
        case 2: o->loss = strtod(optarg, NULL); break;
        case 3: o->isn_frac = strtod(optarg, NULL); o->isn_set = 1; break;
        case 4: o->blocked_frac = strtod(optarg, NULL); break;
        case 5: o->v6_frac = strtod(optarg, NULL); break;
        case 6: o->concurrency = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 7: o->start_ns = strtoull(optarg, NULL, 10) * 1000000000ull; break;
        case 8: o->ppf = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 9: o->pool = strcmp(optarg, "flow") == 0 ? 0 : (uint32_t)strtoul(optarg, NULL, 10);
                if (o->pool == 0 && strcmp(optarg, "flow") != 0)
                    o->pool = UINT32_MAX;     /* rejected below */
                break;
        case 10: o->stretch = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 11: o->synack_loss = strtod(optarg, NULL); break;
        case 12: o->hosts = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 13: o->servers = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 14: o->payloads = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'h': gen_usage(stdout); return 0;
        default: gen_usage(stderr); return 2;
        }
    }
    if (o->field) {
        if (!o->offset_set)
            o->offset_s = 2.5;
        if (!o->isn_set)
            o->isn_frac = 0.05;
        o->pair = 1;            /* two outputs */
    }
    if (!o->out || (o->pair && !o->far_out) || (o->distinct && !o->packets) ||
        o->concurrency == 0 || o->offset_s < 0 || o->pair + o->distinct > 1) {
        gen_usage(stderr);
        return 2;
    }
    /* --field bounds: addresses and tuples stay unique (see gen_field.c) */
    if (o->field && (!o->flows || o->pool > 200 || !o->stretch || !o->hosts || o->hosts > 64000 ||
                     !o->servers || o->servers > 240 || !o->payloads || o->payloads > 4096 ||
                     (o->pool == 0 && o->flows > 4194302))) {
        fprintf(stderr, "gen_capture: --field needs -f 1.. (at most 4194302 with --pool flow), "
                "--pool 1..200 or flow, --hosts 1..64000, --servers 1..240, --payloads 1..4096\n");
        return 2;
    }
    gen_rng_seed(&g.rng, o->seed);
    g.now = o->start_ns;
    g.truth_first = 1;
    if (gen_side_open(&g.near, o->out) != 0)
        return 1;
    if (o->pair && gen_side_open(&g.far, o->far_out) != 0)
        return 1;
    if (o->truth) {
        g.truth = fopen(o->truth, "w");
        if (!g.truth) {
            fprintf(stderr, "gen_capture: %s: %s\n", o->truth, strerror(errno));
            return 1;
        }
        fprintf(g.truth, "{\"near_file\":");
        gen_json_str(g.truth, o->out);
        fprintf(g.truth, ",\"far_file\":");
        gen_json_str(g.truth, o->far_out ? o->far_out : "");
        fprintf(g.truth, ",\"offset_s\":%.9f,\"seed\":%llu,", o->offset_s,
                (unsigned long long)o->seed);
    }
    /* each mode writes "flows":[...] and what else it knows into the truth */
    if (o->distinct) {
        rc = gen_run_distinct(&g);
        if (g.truth)
            fprintf(g.truth, "\"flows\":[\n]");
    } else {
        rc = o->field ? gen_field_run(&g) : gen_flow_run(&g);
    }
    if (gen_side_close(&g.near) != 0)
        rc = -1;
    if (o->pair && gen_side_close(&g.far) != 0)
        rc = -1;
    if (g.truth) {
        fprintf(g.truth, "}\n");
        if (fclose(g.truth) != 0)
            rc = -1;
    }
    if (rc != 0) {
        fprintf(stderr, "gen_capture: writing failed\n");
        return 1;
    }
    fprintf(stderr, "gen_capture: %llu packets, %llu flows -> %s",
            (unsigned long long)g.near.written, (unsigned long long)g.flows_started, o->out);
    if (o->pair)
        fprintf(stderr, " (near), %llu packets -> %s (far)",
                (unsigned long long)g.far.written, o->far_out);
    fprintf(stderr, "\n");
    return 0;
}
