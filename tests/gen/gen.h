/* gen.h - shared parts of gen_capture, the deterministic capture generator.
 *
 * Files, one idea each:
 *   gen_capture.c  options, main, the --distinct mode (one SYN per flow)
 *   gen_side.c     a capture being written: frames in time order via libpcap
 *   gen_frame.c    addresses and Ethernet/IP/TCP/UDP/ICMP frames with valid sums
 *   gen_flow.c     the mixed mode and --pair: flows stepping at random
 *   gen_field.c    --field: the NAT-pool shape of issue 11 (many short TCP
 *                  connections to a few servers, shared payloads, no options)
 *
 * Everything is a pure function of the options and the seed: no clock, no
 * address of an object, no hash of a pointer reaches the output, so the
 * same arguments give byte-identical files.
 */
#ifndef NATLENS_GEN_H
#define NATLENS_GEN_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* u_char in pcap.h under -std=c11 */
#endif
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>

#define GEN_MAX_FRAME 1600
#define GEN_MSS 1448

/* ---- deterministic randomness (splitmix64 seeding xoshiro256**) ------ */

typedef struct gen_rng { uint64_t s[4]; } gen_rng;

static inline uint64_t gen_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline void gen_rng_seed(gen_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = gen_splitmix(&seed);
}

static inline uint64_t gen_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t gen_next(gen_rng *r)
{
    uint64_t *s = r->s;
    uint64_t res = gen_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t; s[3] = gen_rotl(s[3], 45);
    return res;
}

/* uniform in [0, n) (n > 0; the tiny modulo bias does not matter here) */
static inline uint32_t gen_below(gen_rng *r, uint32_t n) { return (uint32_t)(gen_next(r) % n); }
static inline double gen_unit(gen_rng *r) { return (double)(gen_next(r) >> 11) / 9007199254740992.0; }

/* ---- options ----------------------------------------------------------- */

typedef struct gen_opts {
    uint64_t packets;        /* target packet count (0 = from flows) */
    uint64_t flows;
    uint64_t seed;
    const char *out, *far_out, *truth;
    int pair, distinct, field;
    double offset_s;         /* far clock ahead of near */
    double loss;             /* per-packet loss between capture points */
    double isn_frac;         /* flows whose ISN the NAT rewrites */
    double blocked_frac;     /* pair: flows that never reach the far side */
    double v6_frac;          /* single capture: IPv6 flows */
    uint32_t concurrency;
    uint64_t start_ns;
    uint32_t ppf;            /* packets per flow when -n is not given */
    int offset_set, isn_set; /* given on the command line (field defaults differ) */
    /* --field */
    uint32_t pool;           /* SNAT pool addresses; 0 = one address per flow */
    uint32_t stretch;        /* consecutive flows one pool address serves */
    double synack_loss;      /* SYN-ACKs lost between far and near capture */
    uint32_t hosts, servers, payloads;
} gen_opts;

/* ---- a capture being written (gen_side.c) ------------------------------ */

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

/* realloc or exit(1) with a message: a test tool has one way to fail */
void *gen_xrealloc(void *p, size_t n);
/* open PATH ("-" = stdout) as a nanosecond Ethernet capture; -1 on error */
int gen_side_open(gen_side *s, const char *path);
/* queue a copy of FRAME (len <= GEN_MAX_FRAME) to be written at ts */
void gen_side_push(gen_side *s, uint64_t ts, const uint8_t *frame, uint32_t len);
/* write FRAME now (caller keeps time order) */
void gen_side_write(gen_side *s, uint64_t ts, const uint8_t *frame, uint32_t len);
/* write every queued frame stamped at or before upto */
void gen_side_flush(gen_side *s, uint64_t upto);
/* flush everything, close, free; -1 when writing failed */
int gen_side_close(gen_side *s);

/* ---- frames (gen_frame.c) ---------------------------------------------- */

typedef struct gen_addr {
    uint8_t v6;
    uint8_t b[16];           /* IPv4 in b[0..3] */
} gen_addr;

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

extern const uint8_t gen_mac_client[6], gen_mac_gw_in[6], gen_mac_gw_out[6], gen_mac_server[6];

void gen_put16(uint8_t *p, uint32_t v);
void gen_put32(uint8_t *p, uint32_t v);
void gen_v4(gen_addr *a, uint8_t x, uint8_t y, uint8_t z, uint8_t w);
void gen_v6(gen_addr *a, uint16_t net, uint32_t host);
/* the address as inet_ntop writes it, into buf (>= 46 bytes) */
void gen_addr_str(const gen_addr *a, char *buf, size_t len);
/* Build the Ethernet frame for p into f (GEN_MAX_FRAME bytes); returns its
 * length. IPv4 header, TCP, UDP and ICMP checksums are valid. */
uint32_t gen_frame(uint8_t *f, const gen_pkt *p);
/* s as a JSON string, quotes included */
void gen_json_str(FILE *out, const char *s);

/* ---- the run ------------------------------------------------------------ */

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

/* the modes: 0 done, -1 failed (out of memory) */
int gen_flow_run(gen_state *g);
int gen_field_run(gen_state *g);

#endif
