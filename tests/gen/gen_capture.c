/* gen_capture.c - deterministic synthetic captures for benchmarks, fuzz
 * seeds and correlation accuracy tests.
 *
 * Writes Ethernet captures (nanosecond pcap) through libpcap's
 * pcap_open_dead + pcap_dump; every IPv4 header, TCP, UDP and ICMP checksum
 * is valid. Three modes:
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
 *   gen_capture --distinct -n 10000000 -o syn.pcap
 *       every packet a SYN of a new flow (memory-bound tests).
 *
 * Same arguments and seed -> byte-identical output. "-" writes stdout.
 * The generator is a test tool: it favours simple, obvious code over
 * cleverness, but it must stay fast (1M packets in a few seconds).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* u_char in pcap.h under -std=c11; memfd_create */
#endif
#include <errno.h>
#include <getopt.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GEN_MAX_FRAME 1600
#define GEN_MSS 1448

/* ---- deterministic randomness (splitmix64 seeding xoshiro256**) ------ */

typedef struct gen_rng { uint64_t s[4]; } gen_rng;

static uint64_t gen_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void gen_rng_seed(gen_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = gen_splitmix(&seed);
}

static uint64_t gen_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t gen_next(gen_rng *r)
{
    uint64_t *s = r->s;
    uint64_t res = gen_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t; s[3] = gen_rotl(s[3], 45);
    return res;
}

/* uniform in [0, n) (n > 0; the tiny modulo bias does not matter here) */
static uint32_t gen_below(gen_rng *r, uint32_t n) { return (uint32_t)(gen_next(r) % n); }
static double gen_unit(gen_rng *r) { return (double)(gen_next(r) >> 11) / 9007199254740992.0; }

/* ---- options ----------------------------------------------------------- */

typedef struct gen_opts {
    uint64_t packets;        /* target packet count (0 = from flows) */
    uint64_t flows;
    uint64_t seed;
    const char *out, *far_out, *truth;
    int pair, distinct;
    double offset_s;         /* far clock ahead of near */
    double loss;             /* per-packet loss between capture points */
    double isn_frac;         /* flows whose ISN the NAT rewrites */
    double blocked_frac;     /* pair: flows that never reach the far side */
    double v6_frac;          /* single capture: IPv6 flows */
    uint32_t concurrency;
    uint64_t start_ns;
    uint32_t ppf;            /* packets per flow when -n is not given */
} gen_opts;

/* ---- output sides ------------------------------------------------------ */

/* A pending frame waiting for its turn in a capture (captures must be in
 * time order; packets are created in causal order per flow but the two
 * capture points see them at different times). */
typedef struct gen_slot {
    uint64_t ts;
    uint64_t order;          /* tie-break: creation order, keeps output stable */
    uint32_t len;
    uint8_t  data[GEN_MAX_FRAME];
} gen_slot;

typedef struct gen_side {
    pcap_t *pd;
    pcap_dumper_t *dump;
    gen_slot **heap;         /* min-heap on (ts, order) */
    size_t n, cap;
    gen_slot **free;         /* recycled slots */
    size_t nfree, freecap;
    uint64_t written, order;
    uint64_t last_ts;
} gen_side;

static void *gen_xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p) {
        fprintf(stderr, "gen_capture: out of memory\n");
        exit(1);
    }
    return p;
}

static int gen_side_open(gen_side *s, const char *path)
{
    memset(s, 0, sizeof *s);
    s->pd = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_NANO);
    if (!s->pd)
        return -1;
    s->dump = pcap_dump_open(s->pd, path);
    if (!s->dump) {
        fprintf(stderr, "gen_capture: %s: %s\n", path, pcap_geterr(s->pd));
        return -1;
    }
    return 0;
}

static int gen_slot_less(const gen_slot *a, const gen_slot *b)
{
    return a->ts < b->ts || (a->ts == b->ts && a->order < b->order);
}

static gen_slot *gen_side_slot(gen_side *s)
{
    if (s->nfree)
        return s->free[--s->nfree];
    return gen_xrealloc(NULL, sizeof(gen_slot));
}

static void gen_side_push(gen_side *s, uint64_t ts, const uint8_t *frame, uint32_t len)
{
    gen_slot *x = gen_side_slot(s);
    size_t i;
    x->ts = ts;
    x->order = s->order++;
    x->len = len;
    memcpy(x->data, frame, len);
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->heap = gen_xrealloc(s->heap, s->cap * sizeof *s->heap);
    }
    i = s->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!gen_slot_less(x, s->heap[p]))
            break;
        s->heap[i] = s->heap[p];
        i = p;
    }
    s->heap[i] = x;
}

static gen_slot *gen_side_pop(gen_side *s)
{
    gen_slot *top = s->heap[0], *last = s->heap[--s->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->n)
            break;
        if (c + 1 < s->n && gen_slot_less(s->heap[c + 1], s->heap[c]))
            c++;
        if (!gen_slot_less(s->heap[c], last))
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (s->n)
        s->heap[i] = last;
    return top;
}

static void gen_side_write(gen_side *s, uint64_t ts, const uint8_t *frame, uint32_t len)
{
    struct pcap_pkthdr h;
    if (ts < s->last_ts)   /* never happens by construction; keep files sane */
        ts = s->last_ts;
    s->last_ts = ts;
    h.ts.tv_sec = (time_t)(ts / 1000000000ull);
    h.ts.tv_usec = (suseconds_t)(ts % 1000000000ull); /* ns: opened with NANO */
    h.caplen = h.len = len;
    pcap_dump((u_char *)s->dump, &h, frame);
    s->written++;
}

/* Write every pending frame stamped at or before `upto`. */
static void gen_side_flush(gen_side *s, uint64_t upto)
{
    while (s->n && s->heap[0]->ts <= upto) {
        gen_slot *x = gen_side_pop(s);
        gen_side_write(s, x->ts, x->data, x->len);
        if (s->nfree == s->freecap) {
            s->freecap = s->freecap ? s->freecap * 2 : 1024;
            s->free = gen_xrealloc(s->free, s->freecap * sizeof *s->free);
        }
        s->free[s->nfree++] = x;
    }
}

static int gen_side_close(gen_side *s)
{
    int rc = 0;
    gen_side_flush(s, UINT64_MAX);
    if (pcap_dump_flush(s->dump) != 0)
        rc = -1;
    pcap_dump_close(s->dump);
    pcap_close(s->pd);
    while (s->nfree)
        free(s->free[--s->nfree]);
    free(s->free);
    free(s->heap);
    return rc;
}

/* ---- frame building ---------------------------------------------------- */

typedef struct gen_addr {
    uint8_t v6;
    uint8_t b[16];           /* IPv4 in b[0..3] */
} gen_addr;

static void gen_put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void gen_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static uint32_t gen_sum(const uint8_t *p, size_t n, uint32_t sum)
{
    size_t i;
    for (i = 0; i + 1 < n; i += 2)
        sum += ((uint32_t)p[i] << 8) | p[i + 1];
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    return sum;
}

static uint16_t gen_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* One packet as the sender made it; the NAT's view is built from the same
 * description with other addresses. */
typedef struct gen_pkt {
    gen_addr src, dst;
    uint8_t  proto;          /* 6, 17, 1, 58 */
    uint16_t sport, dport;   /* ICMP echo: sport = id */
    uint32_t seq, ack;
    uint8_t  flags;
    uint16_t win;
    uint8_t  syn_opts;       /* MSS, SACKOK, TS, WS */
    uint8_t  ts_opt;         /* NOP NOP TS */
    uint32_t tsval, tsecr;
    uint8_t  icmp_type;      /* echo request / reply */
    uint16_t icmp_seq;
    uint16_t ip_id;
    uint8_t  ttl;
    const uint8_t *payload;
    uint32_t plen;
    const uint8_t *smac, *dmac;
} gen_pkt;

/* Build the Ethernet frame for `p` into f; returns its length. */
static uint32_t gen_frame(uint8_t *f, const gen_pkt *p)
{
    uint32_t l3 = 14, l4, l4len, hl = 0, iphl;
    uint8_t *t;
    uint32_t sum;

    memcpy(f, p->dmac, 6);
    memcpy(f + 6, p->smac, 6);
    gen_put16(f + 12, p->src.v6 ? 0x86dd : 0x0800);
    iphl = p->src.v6 ? 40 : 20;
    l4 = l3 + iphl;
    t = f + l4;

    if (p->proto == 6) {
        uint8_t *o = t + 20;
        hl = 20;
        if (p->syn_opts) {   /* Linux order: MSS, SACKOK, TS, NOP, WS */
            o[0] = 2; o[1] = 4; gen_put16(o + 2, p->src.v6 ? 1440 : 1460);
            o[4] = 4; o[5] = 2;
            o[6] = 8; o[7] = 10; gen_put32(o + 8, p->tsval); gen_put32(o + 12, p->tsecr);
            o[16] = 1; o[17] = 3; o[18] = 3; o[19] = 7;
            hl += 20;
        } else if (p->ts_opt) {
            o[0] = 1; o[1] = 1; o[2] = 8; o[3] = 10;
            gen_put32(o + 4, p->tsval); gen_put32(o + 8, p->tsecr);
            hl += 12;
        }
        gen_put16(t, p->sport);
        gen_put16(t + 2, p->dport);
        gen_put32(t + 4, p->seq);
        gen_put32(t + 8, p->ack);
        t[12] = (uint8_t)((hl / 4) << 4);
        t[13] = p->flags;
        gen_put16(t + 14, p->win);
        t[16] = t[17] = 0;
        t[18] = t[19] = 0;
    } else if (p->proto == 17) {
        hl = 8;
        gen_put16(t, p->sport);
        gen_put16(t + 2, p->dport);
        gen_put16(t + 4, 8 + p->plen);
        t[6] = t[7] = 0;
    } else { /* ICMP / ICMPv6 echo */
        hl = 8;
        t[0] = p->icmp_type;
        t[1] = 0;
        t[2] = t[3] = 0;
        gen_put16(t + 4, p->sport);
        gen_put16(t + 6, p->icmp_seq);
    }
    if (p->plen)
        memcpy(t + hl, p->payload, p->plen);
    l4len = hl + p->plen;

    /* IP header */
    if (!p->src.v6) {
        uint8_t *ip = f + l3;
        ip[0] = 0x45; ip[1] = 0;
        gen_put16(ip + 2, 20 + l4len);
        gen_put16(ip + 4, p->ip_id);
        gen_put16(ip + 6, 0x4000);            /* DF */
        ip[8] = p->ttl; ip[9] = p->proto;
        ip[10] = ip[11] = 0;
        memcpy(ip + 12, p->src.b, 4);
        memcpy(ip + 16, p->dst.b, 4);
        gen_put16(ip + 10, gen_fold(gen_sum(ip, 20, 0)));
        if (p->proto == 1) {
            sum = gen_sum(t, l4len, 0);
        } else {
            sum = gen_sum(ip + 12, 8, 0) + p->proto + l4len;
            sum = gen_sum(t, l4len, sum);
        }
    } else {
        uint8_t *ip = f + l3;
        gen_put32(ip, 0x60000000u);
        gen_put16(ip + 4, l4len);
        ip[6] = p->proto;
        ip[7] = p->ttl;
        memcpy(ip + 8, p->src.b, 16);
        memcpy(ip + 24, p->dst.b, 16);
        sum = gen_sum(ip + 8, 32, 0) + p->proto + l4len;
        sum = gen_sum(t, l4len, sum);
    }
    {
        uint16_t c = gen_fold(sum);
        if (p->proto == 17 && c == 0)
            c = 0xffff;
        if (p->proto == 6)
            gen_put16(t + 16, c);
        else if (p->proto == 17)
            gen_put16(t + 6, c);
        else
            gen_put16(t + 2, c);
    }
    return l4 + l4len;
}

/* ---- flows ------------------------------------------------------------- */

enum { GEN_TCP, GEN_UDP, GEN_ICMP };
enum { GEN_C2S = 0, GEN_S2C = 1 };

typedef struct gen_flow {
    uint64_t id;
    int      kind;
    uint8_t  blocked;        /* pair: never reaches the far side */
    uint8_t  rst_end;        /* TCP ends with RST instead of FIN */
    gen_addr cli, srv, nat;  /* nat: SNAT address on the far side */
    uint16_t cport, sport, nport;
    uint32_t isn_off;        /* far = near + isn_off (client's seq space) */
    uint32_t cseq, sseq;     /* next seq per side */
    uint32_t ts_c, ts_s;     /* TSval clocks: base at the flow's start */
    uint16_t ipid_c, ipid_s;
    uint64_t t0;             /* event time of the first packet */
    uint64_t ready;          /* earliest time of the next packet */
    uint64_t lat;            /* one-way latency near <-> far */
    uint32_t budget;         /* packets left for the data phase */
    int      phase;
    int      round_left;     /* server segments left in this response */
    uint32_t resp_len;       /* bytes left in this response */
    uint16_t icmp_seq;
    uint8_t  syn_tries;
} gen_flow;

typedef struct gen_state {
    gen_opts o;
    gen_rng  rng;
    gen_side near, far;
    FILE    *truth;
    uint64_t now;            /* global clock, monotonic */
    uint64_t flows_started;
    uint64_t pkts_made;      /* packets created (near side or single) */
    uint64_t est_remaining;  /* packets the active flows are still expected to send */
    uint8_t  payload[GEN_MAX_FRAME];
    uint8_t  frame[GEN_MAX_FRAME];
    uint32_t nat_next_port[256];
    uint32_t ports_per_client[4096];
    int      truth_first;
} gen_state;

static const uint8_t gen_mac_client[6] = {0x02, 0x00, 0x0a, 0x00, 0x00, 0x01};
static const uint8_t gen_mac_gw_in[6]  = {0x02, 0x00, 0x0a, 0x00, 0x00, 0xfe};
static const uint8_t gen_mac_gw_out[6] = {0x02, 0x00, 0xcb, 0x00, 0x71, 0x01};
static const uint8_t gen_mac_server[6] = {0x02, 0x00, 0xc6, 0x33, 0x64, 0x19};

static void gen_v4(gen_addr *a, uint8_t x, uint8_t y, uint8_t z, uint8_t w)
{
    memset(a, 0, sizeof *a);
    a->b[0] = x; a->b[1] = y; a->b[2] = z; a->b[3] = w;
}

static void gen_v6(gen_addr *a, uint16_t net, uint32_t host)
{
    memset(a, 0, sizeof *a);
    a->v6 = 1;
    a->b[0] = 0x20; a->b[1] = 0x01; a->b[2] = 0x0d; a->b[3] = 0xb8; /* 2001:db8::/32 */
    gen_put16(a->b + 4, net);
    gen_put32(a->b + 12, host);
}

static void gen_addr_str(const gen_addr *a, char *buf, size_t len)
{
    if (!a->v6) {
        snprintf(buf, len, "%u.%u.%u.%u", a->b[0], a->b[1], a->b[2], a->b[3]);
        return;
    }
    /* 2001:db8:NET::HOST-hi:HOST-lo, compressed the way inet_ntop does */
    snprintf(buf, len, "2001:db8:%x::%x:%x", (a->b[4] << 8) | a->b[5],
             (a->b[12] << 8) | a->b[13], (a->b[14] << 8) | a->b[15]);
    if (((a->b[4] << 8) | a->b[5]) == 0)
        snprintf(buf, len, "2001:db8::%x:%x", (a->b[12] << 8) | a->b[13], (a->b[14] << 8) | a->b[15]);
    if (((a->b[12] << 8) | a->b[13]) == 0) {
        if (((a->b[4] << 8) | a->b[5]) == 0)
            snprintf(buf, len, "2001:db8::%x", (a->b[14] << 8) | a->b[15]);
        else
            snprintf(buf, len, "2001:db8:%x::%x", (a->b[4] << 8) | a->b[5], (a->b[14] << 8) | a->b[15]);
    }
}

static void gen_flow_init(gen_state *g, gen_flow *f, uint64_t ppf)
{
    gen_rng *r = &g->rng;
    uint32_t k = gen_below(r, 100), client, ci;
    int v6 = !g->o.pair && gen_unit(r) < g->o.v6_frac;
    static const uint16_t tcp_ports[] = {443, 443, 443, 80, 80, 22, 25, 8080, 993, 5432};
    static const uint16_t udp_ports[] = {53, 53, 53, 123, 443, 5353, 514};

    memset(f, 0, sizeof *f);
    f->id = ++g->flows_started;
    f->kind = k < 80 ? GEN_TCP : k < 95 ? GEN_UDP : GEN_ICMP;
    if (f->kind == GEN_ICMP && v6)
        v6 = 0;              /* keep ICMPv6 out: echo over v4 is enough */

    /* client: one of 4096 inner hosts; unique port per client so that no
     * 5-tuple is reused within a capture */
    ci = gen_below(r, 4096);
    client = ci;
    if (v6)
        gen_v6(&f->cli, 0x10, 0x100 + client);
    else
        gen_v4(&f->cli, 10, (uint8_t)(1 + client / 250), (uint8_t)(client % 250 / 10 * 10),
               (uint8_t)(2 + client % 10));
    /* each client starts at its own place in the ephemeral range */
    if (f->kind == GEN_ICMP)
        f->cport = (uint16_t)(1 + (ci * 40503u + g->ports_per_client[ci]++) % 65535);
    else
        f->cport = (uint16_t)(32768 + (ci * 2654435761u + g->ports_per_client[ci]++) % 28232);

    /* server: a few hundred in the documentation ranges */
    {
        uint32_t s = gen_below(r, 400);
        if (v6)
            gen_v6(&f->srv, 0x20, 0x1000 + s);
        else if (s < 200)
            gen_v4(&f->srv, 198, 51, 100, (uint8_t)(1 + s));
        else
            gen_v4(&f->srv, 192, 0, 2, (uint8_t)(1 + s - 200));
    }
    if (f->kind == GEN_TCP)
        f->sport = tcp_ports[gen_below(r, sizeof tcp_ports / sizeof tcp_ports[0])];
    else if (f->kind == GEN_UDP)
        f->sport = udp_ports[gen_below(r, sizeof udp_ports / sizeof udp_ports[0])];
    else
        f->sport = f->cport;   /* echo: id both ways */

    if (g->o.pair) {
        /* SNAT: pool address from the client, a fresh port (ICMP id) per
         * pool address, so far tuples never repeat either */
        uint32_t pool = 1 + client % 254;
        gen_v4(&f->nat, 203, 0, 113, (uint8_t)pool);
        /* ports (and echo ids) handed out in a scrambled order */
        f->nport = (uint16_t)(1024 + (g->nat_next_port[pool]++ * 7919u) % 64512u);
        if (f->kind == GEN_TCP && gen_unit(r) < g->o.isn_frac)
            f->isn_off = (uint32_t)gen_next(r) | 1u;
        f->blocked = gen_unit(r) < g->o.blocked_frac;
    }

    f->cseq = (uint32_t)gen_next(r);
    f->sseq = (uint32_t)gen_next(r);
    f->ts_c = (uint32_t)gen_next(r);
    f->ts_s = (uint32_t)gen_next(r);
    f->ipid_c = (uint16_t)gen_next(r);
    f->ipid_s = (uint16_t)gen_next(r);
    f->lat = 200000 + gen_below(r, 1800000);      /* 0.2 .. 2 ms */
    f->ready = g->now;
    f->rst_end = f->kind == GEN_TCP && gen_below(r, 100) < 5;
    /* packets left after the fixed parts (TCP: 3 handshake + 3 teardown) */
    if (f->kind == GEN_TCP)
        f->budget = ppf > 6 ? (uint32_t)(ppf - 6) : 0;
    else
        f->budget = ppf > 2 ? (uint32_t)ppf : 2;
    if (f->blocked)
        f->budget = 0;
}

/* TSval: 1 kHz clock from the flow's base */
static uint32_t gen_tsval(uint32_t base, uint64_t t, uint64_t t0)
{
    return base + (uint32_t)((t - t0) / 1000000ull);
}

static void gen_fill_payload(gen_state *g, uint32_t n)
{
    uint32_t i = 0;
    while (i + 8 <= n) {
        uint64_t v = gen_next(&g->rng);
        memcpy(g->payload + i, &v, 8);
        i += 8;
    }
    if (i < n) {
        uint64_t v = gen_next(&g->rng);
        memcpy(g->payload + i, &v, n - i);
    }
}

/* Emit one packet of flow f at event time te in direction dir: build the
 * near (or only) frame, and in pair mode the far frame. lost: the packet
 * is dropped between the two capture points. */
static void gen_emit(gen_state *g, const gen_flow *f, gen_pkt *p, int dir, uint64_t te, int lost)
{
    uint32_t len;
    uint64_t near_ts, far_ts;
    uint64_t off = (uint64_t)(g->o.offset_s * 1e9);

    p->ttl = 64;
    if (dir == GEN_C2S) {
        p->src = f->cli; p->dst = f->srv;
        p->sport = f->cport; p->dport = f->sport;
        p->ip_id = f->ipid_c;
        p->smac = gen_mac_client; p->dmac = gen_mac_gw_in;
        near_ts = te;
        far_ts = te + f->lat + off;
    } else {
        p->src = f->srv; p->dst = f->cli;
        p->sport = f->sport; p->dport = f->cport;
        p->ip_id = f->ipid_s;
        p->smac = gen_mac_gw_in; p->dmac = gen_mac_client;
        p->ttl = 63;          /* routed by the gateway */
        near_ts = te + f->lat;
        far_ts = te + off;
    }
    if (f->kind == GEN_ICMP)
        p->sport = p->dport = f->cport;

    if (!g->o.pair) {
        len = gen_frame(g->frame, p);
        gen_side_push(&g->near, near_ts, g->frame, len);
        return;
    }
    /* near side sees a client packet always, a server packet unless lost */
    if (dir == GEN_C2S || !lost) {
        len = gen_frame(g->frame, p);
        gen_side_push(&g->near, near_ts, g->frame, len);
    }
    if (f->blocked || (dir == GEN_C2S && lost))
        return;
    /* far side: after SNAT */
    if (dir == GEN_C2S) {
        p->src = f->nat;
        p->sport = f->nport;
        if (f->kind == GEN_ICMP)
            p->dport = f->nport;
        p->seq += f->isn_off;
        p->ttl = 63;
        p->smac = gen_mac_gw_out; p->dmac = gen_mac_server;
    } else {
        p->dst = f->nat;
        p->dport = f->nport;
        if (f->kind == GEN_ICMP)
            p->sport = f->nport;
        if (p->flags & 0x10)
            p->ack += f->isn_off;
        p->ttl = 64;
        p->smac = gen_mac_server; p->dmac = gen_mac_gw_out;
    }
    len = gen_frame(g->frame, p);
    gen_side_push(&g->far, far_ts, g->frame, len);
}

/* Build the next packet of flow f into *p; returns its direction and sets
 * *done when it is the flow's last packet. */
static int gen_flow_next(gen_state *g, gen_flow *f, gen_pkt *p, uint64_t te, int *done)
{
    gen_rng *r = &g->rng;
    int dir = GEN_C2S;

    memset(p, 0, sizeof *p);
    p->win = 64240;
    *done = 0;
    if (f->kind == GEN_TCP) {
        uint32_t tc = gen_tsval(f->ts_c, te, f->t0), tsv = gen_tsval(f->ts_s, te, f->t0);
        p->proto = 6;
        p->ts_opt = 1;
        switch (f->phase) {
        case 0: /* SYN; a blocked flow retransmits it twice, then gives up */
            p->flags = 0x02; p->seq = f->cseq; p->syn_opts = 1; p->ts_opt = 0;
            p->tsval = tc; p->tsecr = 0;
            if (f->blocked) {
                *done = ++f->syn_tries >= 3;
                return GEN_C2S;
            }
            f->cseq++;
            f->phase = 1;
            return GEN_C2S;
        case 1: /* SYN-ACK */
            p->flags = 0x12; p->seq = f->sseq++; p->ack = f->cseq; p->syn_opts = 1; p->ts_opt = 0;
            p->win = 65160; p->tsval = tsv; p->tsecr = tc;
            f->phase = 2;
            return GEN_S2C;
        case 2: /* ACK */
            p->flags = 0x10; p->seq = f->cseq; p->ack = f->sseq;
            p->win = 502; p->tsval = tc; p->tsecr = tsv;
            f->phase = f->budget >= 3 ? 3 : 5;
            return GEN_C2S;
        case 3: { /* request; the response gets 1..4 segments, then an ACK */
            uint32_t n = 40 + gen_below(r, 360);
            gen_fill_payload(g, n);
            p->flags = 0x18; p->seq = f->cseq; p->ack = f->sseq;
            p->win = 502; p->tsval = tc; p->tsecr = tsv;
            p->payload = g->payload; p->plen = n;
            f->cseq += n;
            f->budget--;
            f->round_left = 1 + (int)gen_below(r, 4);
            if ((uint32_t)f->round_left > f->budget - 1)
                f->round_left = (int)f->budget - 1;
            f->resp_len = (uint32_t)(f->round_left - 1) * GEN_MSS + 1 + gen_below(r, GEN_MSS);
            f->phase = 4;
            return GEN_C2S;
        }
        case 4:
            if (f->round_left > 0) {
                uint32_t n = f->resp_len > GEN_MSS ? GEN_MSS : f->resp_len;
                gen_fill_payload(g, n);
                p->flags = f->round_left == 1 ? 0x18 : 0x10;
                p->seq = f->sseq; p->ack = f->cseq;
                p->win = 509; p->tsval = tsv; p->tsecr = tc;
                p->payload = g->payload; p->plen = n;
                f->sseq += n;
                f->resp_len -= n;
                f->round_left--;
                f->budget--;
                return GEN_S2C;
            }
            p->flags = 0x10; p->seq = f->cseq; p->ack = f->sseq;
            p->win = 502; p->tsval = tc; p->tsecr = tsv;
            f->budget--;
            f->phase = f->budget >= 3 ? 3 : 5;
            return GEN_C2S;
        case 5: /* client closes (FIN, or RST for a few) */
            p->seq = f->cseq; p->ack = f->sseq; p->win = 502; p->tsval = tc; p->tsecr = tsv;
            if (f->rst_end) {
                p->flags = 0x14;
                p->ts_opt = 0;
                *done = 1;
            } else {
                p->flags = 0x11;
                f->cseq++;
                f->phase = 6;
            }
            return GEN_C2S;
        case 6: /* server FIN */
            p->flags = 0x11; p->seq = f->sseq++; p->ack = f->cseq;
            p->win = 509; p->tsval = tsv; p->tsecr = tc;
            f->phase = 7;
            return GEN_S2C;
        default: /* last ACK */
            p->flags = 0x10; p->seq = f->cseq; p->ack = f->sseq;
            p->win = 502; p->tsval = tc; p->tsecr = tsv;
            *done = 1;
            return GEN_C2S;
        }
    }
    /* UDP request/response or ICMP echo request/reply, alternating */
    dir = (f->phase & 1) ? GEN_S2C : GEN_C2S;
    if (f->kind == GEN_UDP) {
        uint32_t n = dir == GEN_C2S ? 28 + gen_below(r, 40) : 60 + gen_below(r, 440);
        gen_fill_payload(g, n);
        p->proto = 17;
        p->payload = g->payload; p->plen = n;
    } else {
        p->proto = f->cli.v6 ? 58 : 1;
        p->icmp_type = dir == GEN_C2S ? (f->cli.v6 ? 128 : 8) : (f->cli.v6 ? 129 : 0);
        p->icmp_seq = (uint16_t)(1 + f->phase / 2);
        gen_fill_payload(g, 56);
        p->payload = g->payload; p->plen = 56;
    }
    f->phase++;
    if (f->budget)
        f->budget--;
    *done = (f->budget == 0 && dir == GEN_S2C) || f->blocked;
    return dir;
}

/* Direction of the flow's next packet (for its timing). */
static int gen_flow_next_dir(const gen_flow *f)
{
    if (f->kind == GEN_TCP)
        return (f->phase == 1 || f->phase == 6 || (f->phase == 4 && f->round_left > 0)) ? GEN_S2C : GEN_C2S;
    return (f->phase & 1) ? GEN_S2C : GEN_C2S;
}

/* One packet of flow f at the earliest time it may go. Returns 1 when the
 * flow is finished. A packet lost between the capture points shows only on
 * the sender's side; TCP sends it again after an RTO. */
static int gen_flow_step(gen_state *g, gen_flow *f)
{
    gen_pkt p, again;
    gen_rng *r = &g->rng;
    uint64_t te = f->ready > g->now ? f->ready : g->now;
    uint64_t gap = 5000 + gen_below(r, 20000);   /* 5..25 us, same sender */
    int done, dir, lost;

    if (f->t0 == 0)
        f->t0 = te;
    lost = g->o.pair && !f->blocked && g->o.loss > 0 && gen_unit(r) < g->o.loss;
    dir = gen_flow_next(g, f, &p, te, &done);
    if (f->cli.v6 && p.proto == 1)
        p.proto = 58;
    again = p;
    gen_emit(g, f, &p, dir, te, lost);
    g->pkts_made++;
    /* TCP resends what it must (data, SYN, FIN), never a bare ACK or RST */
    if (lost && f->kind == GEN_TCP && (again.plen || (again.flags & 0x03))) {
        te += 200000000ull + 2 * f->lat;          /* RTO */
        if (again.ts_opt || again.syn_opts)
            again.tsval = gen_tsval(dir == GEN_C2S ? f->ts_c : f->ts_s, te, f->t0);
        if (dir == GEN_C2S)   /* a resent packet gets a new IP ID */
            again.ip_id = ++f->ipid_c;
        else
            again.ip_id = ++f->ipid_s;
        gen_emit(g, f, &again, dir, te, 0);
        g->pkts_made++;
    }
    if (dir == GEN_C2S)
        f->ipid_c++;
    else
        f->ipid_s++;

    /* a reply waits for the request to cross the path and back; the same
     * sender goes on after a short gap; a blocked SYN backs off 1 s, 2 s */
    if (f->blocked && f->kind == GEN_TCP)
        f->ready = te + (1000000000ull << (f->syn_tries - 1));
    else {
        int nd = gen_flow_next_dir(f);
        f->ready = te + (nd == dir ? gap : 2 * f->lat + gap);
        if (f->kind != GEN_TCP && nd == GEN_C2S)
            f->ready += 1000000ull * gen_below(r, 50);   /* think time */
    }
    return done;
}

/* ---- truth file -------------------------------------------------------- */

static const char *gen_kind_name(int k)
{
    return k == GEN_TCP ? "tcp" : k == GEN_UDP ? "udp" : "icmp";
}

static void gen_truth_flow(gen_state *g, const gen_flow *f)
{
    char c[64], s[64], n[64];
    if (!g->truth)
        return;
    gen_addr_str(&f->cli, c, sizeof c);
    gen_addr_str(&f->srv, s, sizeof s);
    gen_addr_str(&f->nat, n, sizeof n);
    fprintf(g->truth, "%s\n{\"id\":%llu,\"proto\":\"%s\","
            "\"near\":{\"orig_ip\":\"%s\",\"orig_port\":%u,\"resp_ip\":\"%s\",\"resp_port\":%u},",
            g->truth_first ? "" : ",", (unsigned long long)f->id, gen_kind_name(f->kind),
            c, f->cport, s, f->kind == GEN_ICMP ? f->cport : f->sport);
    g->truth_first = 0;
    if (f->blocked)
        fprintf(g->truth, "\"far\":null,");
    else
        fprintf(g->truth, "\"far\":{\"orig_ip\":\"%s\",\"orig_port\":%u,\"resp_ip\":\"%s\",\"resp_port\":%u},",
                n, f->nport, s, f->kind == GEN_ICMP ? f->nport : f->sport);
    fprintf(g->truth, "\"isn_offset\":%u,\"blocked\":%s}", f->isn_off, f->blocked ? "true" : "false");
}

/* ---- modes ------------------------------------------------------------- */

static int gen_run_flows(gen_state *g)
{
    gen_opts *o = &g->o;
    uint64_t ppf, off = (uint64_t)(o->offset_s * 1e9);
    uint32_t cap = o->concurrency, nact = 0;
    gen_flow *act;

    if (!o->flows)
        o->flows = o->packets ? (o->packets / 50 ? o->packets / 50 : 1) : 1000;
    ppf = o->packets ? o->packets / o->flows : o->ppf;
    if (ppf < 2)
        ppf = 2;
    if (cap > o->flows)
        cap = (uint32_t)o->flows;
    act = calloc(cap, sizeof *act);
    if (!act)
        return -1;
    while (nact < cap) {
        gen_flow_init(g, &act[nact], ppf);
        gen_truth_flow(g, &act[nact]);
        nact++;
    }
    while (nact > 0) {
        uint32_t i = gen_below(&g->rng, nact);
        if (gen_flow_step(g, &act[i])) {
            int more = g->flows_started < o->flows &&
                       (!o->packets || g->pkts_made + (uint64_t)nact * ppf / 2 < o->packets);
            if (more) {
                gen_flow_init(g, &act[i], ppf);
                gen_truth_flow(g, &act[i]);
            } else {
                act[i] = act[--nact];
            }
        }
        g->now += 1 + gen_below(&g->rng, 20000);        /* ~10 us per packet */
        /* nothing created later can be stamped before `now` (near) or
         * `now + offset` (far) */
        gen_side_flush(&g->near, g->now);
        if (o->pair)
            gen_side_flush(&g->far, g->now + off);
    }
    free(act);
    return 0;
}

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
        case 1: o->offset_s = strtod(optarg, NULL); break;
        case 2: o->loss = strtod(optarg, NULL); break;
        case 3: o->isn_frac = strtod(optarg, NULL); break;
        case 4: o->blocked_frac = strtod(optarg, NULL); break;
        case 5: o->v6_frac = strtod(optarg, NULL); break;
        case 6: o->concurrency = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 7: o->start_ns = strtoull(optarg, NULL, 10) * 1000000000ull; break;
        case 8: o->ppf = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'h': gen_usage(stdout); return 0;
        default: gen_usage(stderr); return 2;
        }
    }
    if (!o->out || (o->pair && !o->far_out) || (o->distinct && !o->packets) ||
        o->concurrency == 0 || o->offset_s < 0) {
        gen_usage(stderr);
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
        fprintf(g.truth, "{\"near_file\":\"%s\",\"far_file\":\"%s\",\"offset_s\":%.9f,"
                "\"seed\":%llu,\"flows\":[", o->out, o->far_out ? o->far_out : "",
                o->offset_s, (unsigned long long)o->seed);
    }
    rc = o->distinct ? gen_run_distinct(&g) : gen_run_flows(&g);
    if (gen_side_close(&g.near) != 0)
        rc = -1;
    if (o->pair && gen_side_close(&g.far) != 0)
        rc = -1;
    if (g.truth) {
        fprintf(g.truth, "\n]}\n");
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
