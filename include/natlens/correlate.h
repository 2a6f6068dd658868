/* correlate.h - pair flows across captures taken at two or more points.
 *
 * Captures are given in path order, client side first (capture 0) to server
 * side last. Every adjacent pair (i, i+1) is correlated on its own: capture i
 * is the "near" side, capture i+1 the "far" side. One nl_correlation holds
 * everything the presenters need (text, JSON, report, TUI, diagnose); nothing
 * is recomputed elsewhere.
 *
 * How a pair of captures is matched (correlate_pair.c):
 *   1. every flow gives keys that survive NAT (SYN ISN, first TSval, hash of
 *      the first payload, ICMP id, destination, exact tuple); the far side's
 *      keys are indexed in one sorted array (no O(n^2) over flows);
 *   2. pass 1 scores candidates found through the rare, strong keys only,
 *      assigns them greedily and estimates the clock offset from their
 *      paired packets (clock.c) - the far clock may be off by many minutes,
 *      so time is not used before this;
 *   3. pass 2 scores every candidate again, time now a score relative to
 *      the offset (big key buckets are searched in a time window), and a
 *      global greedy assignment gives each flow at most one twin;
 *   4. the offset is estimated once more from all strong matches.
 * Then: per-match packet pairing (lost packets, sequence offsets), twins
 * (a capture that saw both legs of a NAT, e.g. a firewall's `-i any`, is
 * matched against itself), chains through all captures, unmatched flows
 * with a reason, the egress table and the source-IP changes (egress.c,
 * egress_changes.c).
 *
 * What readers use (diagnose, report, TUI): matches (per adjacent pair),
 * offsets, chains (one connection end to end, with where it vanished),
 * unmatched, egress, ip_changes; lookups correlate_match_for(),
 * correlate_twin_of(); clocks correlate_offset_s(), correlate_to_clock()
 * (show far-side times in the near clock). Scale: keys are indexed in
 * sorted arrays, candidates come from equal keys only, so 100k flows a
 * side correlate in about two seconds.
 *
 * Lifetimes: an nl_correlation borrows the flows (and traces) it was built
 * from: they must outlive it. Everything else it points to is owned by it
 * and freed by correlate_free(). Nothing here prints.
 */
#ifndef NATLENS_CORRELATE_H
#define NATLENS_CORRELATE_H

#include <stddef.h>
#include <stdint.h>
#include "natlens/decode.h"
#include "natlens/flow.h"
#include "natlens/trace.h"

/* nl_match.translation / nl_hop.translation: bits. */
enum {
    NL_XLATE_NONE = 0,
    NL_XLATE_SNAT = 1,       /* source address or port changed */
    NL_XLATE_DNAT = 2        /* destination address or port changed */
};

/* nl_match.evidence: which keys agreed (bits, in strength order). */
enum {
    NL_EV_ISN     = 1u << 0, /* SYN initial sequence number, one direction or both */
    NL_EV_TSVAL   = 1u << 1, /* first TCP timestamp value */
    NL_EV_DATA    = 1u << 2, /* hash of a first payload segment */
    NL_EV_IPID    = 1u << 3, /* first IPv4 ID */
    NL_EV_ICMP_ID = 1u << 4, /* ICMP echo identifier */
    NL_EV_PORTS   = 1u << 5, /* ports left untouched */
    NL_EV_SIZE    = 1u << 6, /* packet counts, segment sizes, MSS */
    NL_EV_TIME    = 1u << 7, /* start time agrees with the clock offset */
    NL_EV_RECORD  = 1u << 8  /* a record (conntrack, NAT or flow log) of this
                                exact 5-tuple covers the flow's time */
};
#define NL_EV_COUNT 9
#define NL_EV_STRONG (NL_EV_ISN | NL_EV_TSVAL | NL_EV_DATA)

/* nl_match.level: how a pair is known, for people ("exact", ...). Only
 * EXACT, STRONG and RECORDED pairs make allow-list lines. */
enum {
    NL_CONF_LIKELY = 0,       /* time, addresses and sizes agree; no key */
    NL_CONF_STRONG,           /* a rare key (TSval, payload) and the clock */
    NL_CONF_EXACT,            /* the SYN's ISN (or ISN + TSval) and the clock */
    NL_CONF_RECORDED          /* a NAT's own record of the mapping */
};

/* nl_unmatched.reason */
enum {
    NL_UNM_NEVER_ARRIVED = 0, /* near flow with no twin further along the path */
    NL_UNM_FROM_ELSEWHERE,    /* far flow with no twin nearer the client */
    NL_UNM_OUTSIDE_WINDOW,    /* the flow lies wholly outside the other
                                 capture's time span (clock-corrected) */
    NL_UNM_ANSWERED_ELSEWHERE,/* near flow the responder answered (a completed
                                 handshake, a reply): it arrived somewhere,
                                 only not at the next capture (a load
                                 balancer sent it to another backend) */
    NL_UNM_NO_CLOCK,          /* the two captures share no clock (no
                                 connection agreed on one offset): nothing
                                 can be said about where the flow went */
    NL_UNM_NOT_LOGGED         /* the other capture point is a record file
                                 holding no entry of this protocol at all
                                 (Cloud NAT logs no ICMP): its absence there
                                 says nothing */
};

/* nl_clock_offset.basis: what the offset rests on. */
enum {
    NL_CLOCK_NONE = 0,        /* nothing agreed: no pairs at all */
    NL_CLOCK_STRONG,          /* pairs on unique strong keys (SYN ISN, TSval) */
    NL_CLOCK_CONSENSUS,       /* no strong key: many weak pairs (payloads)
                                 agreed on one offset */
    NL_CLOCK_RECORDS          /* records too coarse to time a clock: paired on
                                 exact tuples inside their time windows, the
                                 clocks assumed to agree */
};

/* Clock relation between capture `from` and capture `to` (adjacent), and
 * what the two captures share. */
typedef struct nl_clock_offset {
    int      from, to;        /* capture indexes */
    int      known;           /* 0: no agreeing pairs, offset_s is 0 and
                                 nothing is paired between the two */
    uint8_t  basis;           /* NL_CLOCK_* */
    uint8_t  same_capture;    /* the same file (or an identical copy) twice */
    uint32_t anchors;         /* pairs that set the clock */
    /* time spans: overlap after clock correction (raw when unknown) */
    int64_t  overlap_ns;      /* < 0: they do not overlap, by that much */
    double   offset_s;        /* how far `to`'s clock runs ahead of `from`'s */
    double   spread_s;        /* robust spread: 1.4826 * MAD of the samples */
    uint32_t samples;         /* packet times used: the first packet of each
                                 direction of each pair that set the clock */
    int      two_way;         /* both directions seen: latency cancelled */
    double   latency_s;       /* one-way latency estimate (two_way only) */
} nl_clock_offset;

/* One flow at capture near_cap paired with one at far_cap (= near_cap + 1).
 * "flip" means the far flow's originator is the near flow's responder
 * (a capture that started mid-flow); per-direction fields below are indexed
 * by the NEAR flow's direction (NL_ORIG / NL_RESP). */
typedef struct nl_match {
    int      near_cap, far_cap;
    const nl_flow *near, *far;
    uint8_t  flip;
    uint8_t  translation;     /* NL_XLATE_* bits */
    uint8_t  sport_changed;   /* originator's port rewritten (PAT) */
    uint8_t  dport_changed;   /* responder's port rewritten */
    uint32_t evidence;        /* NL_EV_* bits */
    double   score;           /* internal score (higher is surer) */
    double   confidence;      /* 0..1 */
    double   dt_s;            /* far start - near start - clock offset (s) */
    uint8_t  level;           /* NL_CONF_*: how the pair is known */
    uint8_t  has_seq_offset;  /* ISNs differ in some direction */
    uint32_t seq_offset[2];   /* far seq - near seq, mod 2^32, per direction */
    uint64_t lost[2];         /* [NL_ORIG]: packets of the near originator's
                                 direction not seen at far; [NL_RESP]: packets
                                 of the responder's direction seen at far but
                                 not at near (counter difference, >= 0) */
    uint32_t paired_pkts;     /* kept packet records paired one to one */
    uint32_t near_pos, far_pos; /* positions in the inputs' flows arrays */
} nl_match;

typedef struct nl_unmatched {
    int      capture;         /* where the flow was seen */
    int      other;           /* the capture it has no twin in */
    const nl_flow *flow;
    uint8_t  reason;          /* NL_UNM_* */
} nl_unmatched;

/* A hop between two adjacent captures of a chain. present = 0 when the flow
 * reached `from` but is missing at `to` (it vanished there). */
typedef struct nl_hop {
    int      from, to;
    int      present;
    uint8_t  translation;     /* NL_XLATE_* (present only), from flows[from]
                                 to flows[to]: includes a translation done
                                 inside capture `from` (see alt) */
    uint8_t  via_alt;         /* the match starts at alt[from], not flows[from] */
    uint64_t lost_packets;    /* lost[0] + lost[1] of the match; when absent:
                                 packets `from` sent toward `to` */
    uint8_t  answered;        /* absent only: the responder answered at `from`
                                 (the connection went on elsewhere, e.g. a
                                 balancer's other backend), not lost */
    const nl_match *match;    /* NULL when absent; match->near is flows[from]
                                 or, with via_alt, alt[from] */
} nl_hop;

/* One connection followed through every capture. flows[i] is NULL where the
 * connection was not seen; flows are contiguous (a chain never skips a
 * capture: a gap ends it). hops cover [first present, next capture after
 * the last present) so a vanishing point shows as a hop with present = 0.
 * flows[i] is the leg facing the near side; when capture i holds both legs
 * of a translation, alt[i] is the far-facing one and the next hop starts
 * from it. */
typedef struct nl_chain {
    const nl_flow **flows;    /* ncaps entries */
    const nl_flow **alt;      /* ncaps entries: the connection's other leg in
                                 the same capture when that capture saw both
                                 sides of a NAT (firewall `-i any`), else NULL */
    nl_hop  *hops;
    size_t   nhops;
    int      first_cap, last_cap; /* first and last capture present */
} nl_chain;

/* Per inner host and destination: one egress address the far side saw.
 * Built from chains reaching capture 0 and a later capture; the egress
 * address is the source the farthest capture saw. Times are capture 0's
 * clock. Destination is as the inner host addressed it (before DNAT). */
typedef struct nl_egress {
    nl_addr  inner_ip;
    nl_addr  dest_ip;
    uint16_t dest_port;       /* 0 for ICMP */
    uint8_t  proto;
    nl_addr  egress_ip;
    int      seen_at;         /* capture index where egress_ip was seen:
                                 rows of different capture points are apart */
    uint64_t first_ns;        /* earliest start of such a flow */
    uint64_t last_ns;         /* latest last packet of such a flow */
    uint32_t flows;
    uint32_t confident;       /* of them, followed by confident pairs only
                                 (level exact, strong or recorded): only
                                 these make allow-list lines */
} nl_egress;

/* The answer of one capture point: an address its destinations saw,
 * summed over every inner host (what an allow list needs). Sorted by
 * seen_at, then flows (most first). Only confident flows count. */
typedef struct nl_egress_addr {
    int      seen_at;
    nl_addr  ip;
    uint32_t flows;
    uint32_t hosts;           /* inner hosts seen with it */
    uint32_t pool_hosts;      /* ... that used it interleaved with another
                                 address: a pool */
    uint64_t first_ns, last_ns;   /* first and last flow start (capture 0 clock) */
} nl_egress_addr;

/* How the addresses of one capture point were used over time, per inner
 * host, summed. An inner host's flows in start order form stretches: a
 * stretch ends where every address used so far is never used again (a
 * switch: a rule changed, a NIC failed over); inside a stretch, two or more
 * addresses interleave (a pool: each new flow takes one of them). */
typedef struct nl_egress_pool {
    int      seen_at;
    uint32_t hosts;           /* inner hosts with a stretch of >= 2 addresses */
    uint32_t flows;           /* their flows in such stretches */
    uint32_t naddrs;          /* addresses taking part (egress_addrs with
                                 pool_hosts > 0 at seen_at) */
} nl_egress_pool;

/* A switch: inner hosts whose new flows left as to_ip where they had left
 * as from_ip (one per seen_at, from_ip, to_ip), the hosts summed. */
typedef struct nl_egress_switch {
    int      seen_at;
    nl_addr  from_ip, to_ip;
    uint32_t hosts;           /* inner hosts that switched this way */
    uint64_t first_ns, last_ns;   /* earliest and latest switch (start of the
                                     first flow on to_ip), capture 0 clock */
    const nl_flow *first_new; /* the earliest such flow (capture 0) */
    nl_addr  first_inner;     /* its inner host */
} nl_egress_switch;

/* The egress address changed between two consecutive flows (ordered by
 * start) of one inner host to one destination, seen at one capture point,
 * across a switch (nl_egress_switch): addresses that alternate inside a
 * pool are not changes. has_port = 0: the change is per destination
 * address across all ports and protocols. */
typedef struct nl_ip_change {
    int      seen_at;         /* capture index the addresses were seen at */
    nl_addr  inner_ip;
    nl_addr  dest_ip;
    int      has_port;
    uint16_t dest_port;
    uint8_t  proto;
    nl_addr  from_ip, to_ip;
    uint64_t at_ns;           /* start of the first flow on to_ip (capture 0 clock) */
    uint64_t prev_ns;         /* start of the last flow on from_ip before it */
    const nl_flow *first_new; /* that first flow (capture 0) */
    uint32_t old_still_open;  /* flows on from_ip still active at at_ns */
} nl_ip_change;

/* What one capture contributes: the flows (borrowed) and its time span.
 * trace may be NULL (tests, filtered views). */
typedef struct nl_corr_input {
    const char *name;         /* for display */
    nl_flow   **flows;        /* in order of first packet */
    size_t      nflows;
    uint64_t    first_ns, last_ns;
    nl_trace   *trace;
} nl_corr_input;

typedef struct nl_correlate_opts {
    double   max_skew_s;      /* largest clock offset considered (default 1800) */
    double   min_score;       /* lowest score accepted as a match (default 30) */
    uint32_t bucket_cap;      /* key buckets larger than this are searched in a
                                 time window only (default 32) */
} nl_correlate_opts;

typedef struct nl_corr_pos nl_corr_pos;

typedef struct nl_correlation {
    size_t          ncaps;
    nl_corr_input  *caps;         /* copies of the inputs */
    nl_clock_offset *offsets;     /* ncaps - 1: offsets[i] is i -> i+1 */
    nl_match       *matches;      /* all adjacent pairs, by near_cap then near start */
    size_t          nmatches;
    nl_unmatched   *unmatched;    /* by capture then flow start */
    size_t          nunmatched;
    nl_chain       *chains;       /* by first present capture, then start */
    size_t          nchains;
    nl_egress      *egress;       /* by inner, dest, port, proto, first_ns */
    size_t          negress;
    nl_ip_change   *ip_changes;   /* by inner, dest, at_ns */
    size_t          nip_changes;
    nl_egress_addr *egress_addrs; /* the answer per capture point */
    size_t          negress_addrs;
    nl_egress_pool *egress_pools; /* per capture point with a pool */
    size_t          negress_pools;
    nl_egress_switch *egress_switches; /* by seen_at, first_ns */
    size_t          negress_switches;
    /* private: per capture, per flow position: match index toward the far
     * side and toward the near side (-1 none). Use correlate_match_for(). */
    int32_t       **fwd_idx, **back_idx;
    int32_t       **twin_idx;     /* per capture, per flow: the other leg, -1 */
    int32_t       **piece_head;   /* per capture, per flow: first piece of its
                                     connection (itself when first or alone) */
    uint8_t        *dense;        /* per capture: flows[i]->id == i + 1 */
    struct nl_corr_pos { const nl_flow *f; uint32_t pos; } **by_ptr;
                                  /* per capture when not dense: positions
                                     sorted by flow address */
} nl_correlation;

void correlate_opts_default(nl_correlate_opts *o);

/* Correlate ncaps >= 2 inputs (path order). opts may be NULL. Returns NULL
 * with errbuf (>= 256) filled on bad arguments or out of memory. */
nl_correlation *correlate_inputs(const nl_corr_input *caps, size_t ncaps,
                                 const nl_correlate_opts *opts, char *errbuf);

/* Same over loaded traces (load them with keep_packets = 1). */
nl_correlation *correlate_traces(nl_trace **traces, size_t ntraces,
                                 const nl_correlate_opts *opts, char *errbuf);

void correlate_free(nl_correlation *c);

/* The match of flow f (seen at capture cap) toward the far side
 * (toward_far != 0) or toward the near side; NULL if none. */
const nl_match *correlate_match_for(const nl_correlation *c, int cap,
                                    const nl_flow *f, int toward_far);

/* The other leg of flow f inside capture cap (a capture taken on both sides
 * of a NAT sees a translated connection twice), or NULL. */
const nl_flow *correlate_twin_of(const nl_correlation *c, int cap,
                                 const nl_flow *f);

/* Is c->unmatched[i] a connection seen at one capture only, to be listed
 * once? Not when its flow is part of a chain (matched the other way), is
 * the same flow as entry i-1 (a middle capture lacks both neighbours), or
 * is the other leg of a chained connection in the same capture. Every
 * presenter lists lone flows by this rule (text, CSV). */
int correlate_unmatched_is_lone(const nl_correlation *c, size_t i);

/* How far capture `to`'s clock runs ahead of capture `from`'s (sums the
 * adjacent offsets; unknown offsets count as 0). */
double correlate_offset_s(const nl_correlation *c, int from, int to);

/* A timestamp of capture `cap` in capture `ref`'s clock. */
uint64_t correlate_to_clock(const nl_correlation *c, int cap, int ref,
                            uint64_t ts_ns);

/* How far apart (near clock, after the offset) a packet and its copy at
 * the far capture may be: 50 ms, twenty clock spreads and the one-way
 * latency. UINT64_MAX (no bound) when the clock is unknown or NULL. */
uint64_t correlate_twin_window_ns(const nl_clock_offset *clock);

/* far_of_near values besides an index */
#define NL_TWIN_NONE    (-1)  /* every far record that could be it was looked at */
#define NL_TWIN_UNKNOWN (-2)  /* its time window held more records than the
                                 rule looks at: nothing may be claimed */

/* Which far record is each near record: the one rule correlate uses for
 * clock samples and paired-packet counts, shared with the ladders
 * (ladder.h) so no view can disagree with them. near[0..nnear) are records
 * of m's near side, dir in m->near's orientation; far[0..nfar) of the far
 * side, dir in m->far's; times in each capture's own clock, put side by
 * side with clock (the offset from m->near_cap to m->far_cap; NULL or
 * unknown: no time bound). Uses m's flip, proto and seq offsets (as
 * correlate fills them), not m's flows' records, so a caller may pass every
 * piece of a connection, in time order (any order works, time order is
 * linear). far_of_near (nnear entries, may be NULL) gets the far index,
 * NL_TWIN_NONE or NL_TWIN_UNKNOWN. Returns how many were paired. Borrows
 * everything; thread-safe. */
size_t correlate_pkt_twins(const nl_match *m, const nl_clock_offset *clock,
                           const nl_pkt_rec *near, size_t nnear,
                           const nl_pkt_rec *far, size_t nfar,
                           int32_t *far_of_near);

/* Write the contract's correlate sections into an open JSON object:
 * "captures", "clock_offsets", "matches", "unmatched", "egress",
 * "ip_changes", "chains" (the caller adds "findings" and "probes").
 * Declared with an incomplete nl_json so this header needs no json.h. */
struct nl_json;
void correlate_json(struct nl_json *j, const nl_correlation *c);

/* "none", "snat", "dnat", "snat+dnat". */
const char *correlate_translation_name(uint8_t t);
/* The answer of one capture point, ready to print (an allow-list line):
 * its addresses in address order, what kind of answer it is, and - for a
 * pool too big to list (more than NL_ANSWER_LIST addresses) - the prefix
 * they fill densely or their /24 (IPv4) or /64 (IPv6) blocks. */
#define NL_ANSWER_LIST 16
typedef struct nl_answer_block {
    nl_addr  prefix;
    int      len;              /* prefix length, IPv4 counted as 0..32 */
    uint32_t addrs;            /* answer addresses inside it */
} nl_answer_block;

typedef struct nl_answer {
    int      seen_at;
    const nl_egress_addr **addrs;  /* borrowed from the correlation, sorted */
    size_t   naddrs;
    uint64_t flows;
    uint32_t most_flows;       /* flows on the busiest address */
    const nl_egress_pool *pool;    /* a pool at this point, or NULL */
    const nl_egress_switch *first_switch; /* earliest switch, or NULL */
    size_t   nswitches;
    int      covered;          /* cover holds them all, densely (>= 1/4) */
    nl_answer_block cover;
    nl_answer_block *blocks;   /* owned; every block, sorted */
    size_t   nblocks;
} nl_answer;

/* The answer of capture point seen_at. Returns 0, 1 when the point has no
 * confident address (out left empty), -1 on out of memory. Free with
 * correlate_answer_free(); it borrows from c. */
int correlate_answer(const nl_correlation *c, int seen_at, nl_answer *out);
void correlate_answer_free(nl_answer *a);
/* "203.0.113.0/24" into buf (>= 64). */
char *correlate_block_str(const nl_answer_block *b, char *buf, size_t len);
/* The answer as plain text for any presenter: the addresses to allow
 * ("203.0.113.10 203.0.113.11", or the prefix or blocks of a pool too big
 * to list) and a note saying what kind of answer it is ("a pool of 3: 34% /
 * 33% / 33% of 100000 flows", "A until 10:02:18.674, then B: 9 flows").
 * buf >= 1024 holds every case. */
char *correlate_answer_addrs(const nl_answer *a, char *buf, size_t len);
char *correlate_answer_note(const nl_answer *a, char *buf, size_t len);
/* The capture point whose answer the destinations saw: the farthest one
 * with a confident address, -1 when none. */
int correlate_answer_point(const nl_correlation *c);

/* The source address the farthest capture of chain ch saw (its egress)
 * and that capture's index. 0 when the chain says none (it never left
 * capture 0, or it is a stray answer). */
int correlate_chain_egress(const nl_correlation *c, const nl_chain *ch, nl_addr *egress,
                           int *seen_at);

/* IGMP, MLD and IPv6 neighbour discovery: traffic that manages the link
 * itself. It never crosses a router, so it is never paired and never
 * "never arrived": presenters list it apart. */
int correlate_is_link_control(const nl_flow *f);

/* "likely", "strong", "exact", "recorded". */
const char *correlate_level_name(uint8_t level);

/* The first piece of the connection flow f (capture cap) belongs to: Zeek
 * splits one connection into pieces when its 5-tuple is reused after a
 * RST (SYN retries); correlate pairs connections. f itself when it is the
 * first or only piece. Matches, chains and egress name first pieces. */
const nl_flow *correlate_conn_head(const nl_correlation *c, int cap,
                                   const nl_flow *f);
/* The pieces of f's connection in capture cap, in time order, into
 * out[0..max): returns how many there are (may exceed max). */
size_t correlate_conn_pieces(const nl_correlation *c, int cap, const nl_flow *f,
                             const nl_flow **out, size_t max);

/* "never_arrived", "from_elsewhere", "outside_window", "answered_elsewhere". */
const char *correlate_reason_name(uint8_t r);
/* Name of one evidence bit ("isn", "tsval", "data", "ipid", "icmp_id",
 * "ports", "size", "time"); NULL for an unknown bit. */
const char *correlate_evidence_name(uint32_t bit);

/* The far flow's endpoint that corresponds to the near flow's direction
 * `dir` (handles flip): address and port. */
void correlate_far_endpoint(const nl_match *m, int dir, nl_addr *ip,
                            uint16_t *port);

#endif
