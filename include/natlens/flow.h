/* flow.h - one bidirectional connection as seen in one capture.
 *
 * A flow is owned by its flow table (flow_table.h): pointers stay valid
 * until flow_table_free(), also after the flow ended or was evicted (ended
 * flows move to the table's "done" list, they are not freed). Per-direction
 * arrays are indexed by NL_ORIG / NL_RESP.
 *
 * The originator follows Zeek: the side that sent the first SYN (or, with
 * no SYN seen, the first packet's sender, unless it came from a likely
 * server port (Zeek's default list), or a SYN-ACK was answered by an ACK or
 * data: then roles flip and history starts with '^').
 */
#ifndef NATLENS_FLOW_H
#define NATLENS_FLOW_H

#include <stdint.h>
#include "natlens/decode.h"

enum { NL_ORIG = 0, NL_RESP = 1 };

/* Zeek's TCP endpoint states (analyzer/tcp/TCP_Endpoint.h). */
enum nl_tcp_state {
    NL_TCP_INACTIVE = 0, NL_TCP_SYN_SENT, NL_TCP_SYN_ACK_SENT, NL_TCP_PARTIAL,
    NL_TCP_ESTABLISHED, NL_TCP_CLOSED, NL_TCP_RESET
};

/* One kept packet, for the ladder view and for correlation. A flow keeps
 * its first NL_FLOW_KEEP_PKTS packets when the table was created with
 * keep_packets (correlate, tui, report); `flows` keeps none. */
typedef struct nl_pkt_rec {
    uint64_t ts_ns;
    uint64_t frame;
    uint32_t seq, ack;
    uint32_t tsval;
    uint32_t payload_hash;   /* FNV-1a of the first 64 payload bytes, 0 if none */
    uint16_t payload_len;    /* TCP/UDP payload length (wire) */
    uint16_t ip_len;
    uint16_t ip_id;
    uint16_t win;
    uint16_t mss;
    uint8_t  tcp_flags;
    uint8_t  dir;            /* NL_ORIG / NL_RESP */
    uint8_t  ttl;
    uint8_t  pkttype;        /* NL_DIR_* */
    int32_t  ifindex;
    uint8_t  src_mac[6];
    uint8_t  dst_mac[6];
    char     text[24];       /* first payload bytes, printable ASCII only ('.' otherwise) */
} nl_pkt_rec;

#define NL_FLOW_KEEP_PKTS 24

/* Zeek per-endpoint TCP bookkeeping. */
typedef struct nl_tcp_endpoint {
    uint8_t  state;          /* enum nl_tcp_state */
    uint8_t  has_isn;
    uint32_t isn;            /* ISN from the SYN (SYN-ACK for the responder) */
    uint32_t last_seq;       /* highest seq+len seen (relative tracking) */
    uint32_t ack_seq;        /* highest ack sent */
    uint32_t rxmit_thresh, zw_thresh, gap_thresh, badck_thresh; /* log scale */

    /* Zeek TCP_Endpoint mirror, owned by conn_zeek*.c. Sequence numbers are
     * Zeek's: start/last/ack with wrap counters; *_rel values are relative
     * to start_seq. UDP uses `state` only (0 inactive, 1 active). */
    uint8_t  prev_state;
    uint8_t  did_close;      /* ConnectionClosed() ran for this side */
    uint8_t  first_seen;     /* this side's first packet was processed */
    uint8_t  is_partial;     /* Zeek's is_partial (same value on both sides) */
    uint8_t  fin_cnt;        /* FINs seen, saturating */
    uint8_t  has_pend;       /* an out-of-order block is buffered */
    uint32_t start_seq;
    uint32_t seq_wraps, ack_wraps;
    uint32_t rxmit_cnt, zw_cnt, gap_cnt, badck_cnt;
    uint64_t fin_seq_rel;    /* relative seq just past the FIN */
    uint64_t hist_last_syn, hist_last_fin, hist_last_rst;
    uint64_t reassem_top;    /* relative seq up to which data is contiguous */
    uint64_t pend_lo, pend_hi; /* one buffered out-of-order block */
    /* connection-wide timer facts, kept equal on both sides so a role swap
     * does not lose them */
    uint64_t close_ns;       /* close completed (Zeek deletes 5 s later), 0 = no */
    uint64_t attempt_ns;     /* first SYN of an attempt (5 s attempt timer) */
} nl_tcp_endpoint;

/* What survives a NAT: the first values of each direction, for pairing. */
typedef struct nl_flow_sig {
    uint8_t  has_syn;
    uint32_t syn_isn;        /* seq of the first SYN in this direction */
    uint8_t  has_tsval;
    uint32_t first_tsval;
    uint32_t first_ipid;
    uint16_t syn_mss;
    uint8_t  syn_count;      /* SYNs (retransmissions included) */
    uint32_t data_hash[2];   /* FNV-1a of the first two payload segments */
    uint16_t data_len[2];
    uint8_t  ndata;
    uint64_t first_ns;       /* first packet in this direction */
} nl_flow_sig;

typedef struct nl_flow {
    uint32_t id;             /* 1-based, in order of first packet */
    uint8_t  proto;          /* IPPROTO_TCP / UDP / ICMP / ICMPV6 / other */
    uint8_t  ended;          /* closed, evicted or timed out */
    uint8_t  evicted;        /* pushed out by --max-flows */
    uint8_t  flipped;        /* Zeek '^': roles swapped from the first packet */
    uint8_t  icmp_type;      /* ICMP: type of the originator's first message */
    nl_addr  orig_ip, resp_ip;
    uint16_t orig_port, resp_port;
    uint64_t first_ns, last_ns;
    uint64_t first_frame, last_frame;

    /* per direction */
    uint64_t pkts[2];
    uint64_t ip_bytes[2];
    uint64_t bytes[2];       /* payload bytes (TCP: sequence space, as Zeek) */
    uint64_t frame_bytes[2]; /* wire length of the frames (tshark's bytes) */
    int32_t  ifindex[2];     /* first seen, -1 if none */
    uint8_t  mac[2][6];      /* source MAC of the first packet per direction */
    uint8_t  has_mac[2];
    uint8_t  ttl[2];
    nl_flow_sig sig[2];

    /* TCP */
    nl_tcp_endpoint ep[2];
    char     history[32];    /* Zeek history letters, NUL-terminated */
    uint8_t  hist_len;
    uint32_t hist_seen[2];   /* bit per letter already recorded, per side */
    uint64_t missed_bytes;

    /* ICMP errors that quoted this flow */
    uint32_t icmp_errors;
    uint8_t  icmp_err_type, icmp_err_code;
    nl_addr  icmp_err_from;

    /* kept packets (only with keep_packets) */
    nl_pkt_rec *recs;        /* owned by the table's record pool */
    uint16_t nrecs;
    uint16_t rec_cap;        /* records this flow may keep */

    /* table links (private to flow_table.c) */
    struct nl_flow *hnext;   /* hash chain */
    struct nl_flow *lprev, *lnext; /* LRU of live flows */
    struct nl_flow *dnext;   /* done list */
    uint32_t hash;

    /* 1-based index of the flow's link in its trace's tunnel table
     * (tunnel.h: tunnel_table_link), 0 when it never met a tunnel */
    uint32_t tunnel;
} nl_flow;

/* Zeek conn_state ("S0", "SF", ...) computed from the endpoint states. */
const char *flow_conn_state(const nl_flow *f);

/* Community ID v1 (seed 0) of the flow, "1:base64" into buf (>= 40). */
char *flow_community_id(const nl_flow *f, char *buf, size_t len);
/* The same with another seed (Suricata's community-id-seed). */
char *flow_community_id_seed(const nl_flow *f, uint16_t seed, char *buf, size_t len);

/* Swap originator and responder (Zeek FlipRoles): every per-direction
 * field, the addresses and ports, the history letters' case. */
void flow_swap_roles(nl_flow *f);

/* Protocol name: "tcp", "udp", "icmp", or the number. buf >= 8. */
const char *flow_proto_name(uint8_t proto, char *buf, size_t len);

#endif
