/* flow.h - one bidirectional connection as seen in one capture.
 *
 * A flow is owned by its flow table (flow_table.h): pointers stay valid
 * until flow_table_free(), also after the flow ended or was evicted (ended
 * flows stay in the table's list of flows, reduced to this summary; only a
 * streaming table, keep_done = 0, recycles them). Per-direction arrays are
 * indexed by NL_ORIG / NL_RESP.
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

/* One kept packet, for the ladder view, findings and correlation. A flow
 * keeps its first keep_limit (<= NL_FLOW_KEEP_PKTS) packets when the table
 * was created with keep_packets; which ended flows keep them is the
 * table's keep_policy (flow_table.h). */
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

/* nl_flow.flags bits (the same as the bit-fields ended, evicted, flipped) */
enum { NL_FLOW_ENDED = 0x01, NL_FLOW_EVICTED = 0x02, NL_FLOW_FLIPPED = 0x04 };

/* The public part of one TCP endpoint: what conn_state needs once the
 * flow ended. Zeek's sequence bookkeeping (TCP_Endpoint) lives only while
 * the flow is live, in the table's live block (analyzer/conn_zeek.h); the
 * ISN is sig[dir].syn_isn. UDP and other protocols: 0 inactive, 1 active. */
typedef struct nl_tcp_endpoint {
    uint8_t  state;          /* enum nl_tcp_state */
} nl_tcp_endpoint;

/* The first values of each direction: what survives a NAT, for pairing,
 * and what the first packet showed (TTL, whether it had a MAC). */
typedef struct nl_flow_sig {
    uint64_t first_ns;       /* first packet in this direction */
    uint32_t syn_isn;        /* seq of the first SYN in this direction */
    uint32_t first_tsval;
    uint32_t data_hash[2];   /* FNV-1a of the first two payload segments */
    uint16_t data_len[2];
    uint16_t first_ipid;
    uint16_t syn_mss;
    uint8_t  has_syn;
    uint8_t  has_tsval;
    uint8_t  syn_count;      /* SYNs (retransmissions included), saturating */
    uint8_t  ndata;
    uint8_t  ttl;            /* of the first packet in this direction */
    uint8_t  has_mac;        /* nl_flow.mac[dir] is valid */
} nl_flow_sig;

/* Facts few flows have, kept off the flow (nl_flow.ext, NULL if none; read
 * them with the flow_icmp_* accessors). Owned by the flow table, freed
 * with the flow. */
typedef struct nl_flow_ext {
    uint32_t icmp_errors;    /* ICMP errors that quoted this flow */
    uint8_t  icmp_err_type, icmp_err_code; /* of the first one */
    nl_addr  icmp_err_from;  /* its sender */
    /* TCP flows whose originator sent no SYN and that keep no packet
     * records: Zeek's ack_seq of the originator when the flow was settled
     * (the responder's highest ack of the originator's data; for a lone
     * SYN-ACK what it acknowledged), 0 if none */
    uint32_t orig_ack_seq;
} nl_flow_ext;

/* One flow: everything readers use, also after the flow ended (296 bytes
 * on LP64, checked by tests/unit/test_flow_table.c; field order packs it). Live-only bookkeeping (Zeek's endpoint
 * machine, hash and LRU links, record slots) is the table's and is
 * released when the flow ends. */
typedef struct nl_flow {
    uint32_t id;             /* 1-based, in order of first packet */
    uint8_t  proto;          /* IPPROTO_TCP / UDP / ICMP / ICMPV6 / other */
    uint8_t  icmp_type;      /* ICMP: type of the originator's first message */
    union {
        uint8_t flags;       /* the bits below as one byte (serializers) */
        struct {
            uint8_t ended : 1;   /* closed, evicted or timed out */
            uint8_t evicted : 1; /* pushed out by --max-flows */
            uint8_t flipped : 1; /* Zeek '^': roles swapped from the first packet */
        };
    };
    uint8_t  hist_len;
    nl_addr  orig_ip, resp_ip;
    uint16_t orig_port, resp_port;
    uint16_t nrecs;          /* kept packets in recs */
    nl_tcp_endpoint ep[2];
    uint64_t first_ns, last_ns;
    uint64_t first_frame;

    /* per direction */
    uint64_t pkts[2];
    uint64_t ip_bytes[2];
    uint64_t bytes[2];       /* payload bytes (TCP: sequence space, as Zeek) */
    uint64_t frame_bytes[2]; /* wire length of the frames (tshark's bytes) */
    int32_t  ifindex[2];     /* first seen, -1 if none */
    uint8_t  mac[2][6];      /* source MAC of the first packet (sig[d].has_mac) */
    /* 1-based index of the flow's link in its trace's tunnel table
     * (tunnel.h: tunnel_table_link), 0 when it never met a tunnel */
    uint32_t tunnel;
    nl_flow_sig sig[2];

    /* TCP */
    char     history[32];    /* Zeek history letters, NUL-terminated */
    uint64_t missed_bytes;

    /* kept packets (keep_packets; which ended flows keep them: keep_policy
     * in flow_table.h), owned by the table's record pool */
    nl_pkt_rec *recs;
    nl_flow_ext *ext;        /* rare facts, NULL if none */
} nl_flow;

/* ICMP errors that quoted f: how many, type and code of the first, its
 * sender (all zero when none). */
static inline uint32_t flow_icmp_errors(const nl_flow *f)
{
    return f->ext ? f->ext->icmp_errors : 0;
}
static inline uint8_t flow_icmp_err_type(const nl_flow *f)
{
    return f->ext ? f->ext->icmp_err_type : 0;
}
static inline uint8_t flow_icmp_err_code(const nl_flow *f)
{
    return f->ext ? f->ext->icmp_err_code : 0;
}
const nl_addr *flow_icmp_err_from(const nl_flow *f);
/* nl_flow_ext.orig_ack_seq, 0 if none. */
static inline uint32_t flow_orig_ack_seq(const nl_flow *f)
{
    return f->ext ? f->ext->orig_ack_seq : 0;
}

/* The record a flow table keeps of packet p (decoded from the frame
 * `bytes`, NULL: no payload hash or text), sent in direction dir
 * (NL_ORIG/NL_RESP of its flow): the same fields, hash and printable
 * text as the table's own, for readers that read a flow's packets again
 * (the viewer's ladder). */
void flow_pkt_rec_fill(nl_pkt_rec *r, const nl_packet *p, const uint8_t *bytes, int dir);

/* Zeek conn_state ("S0", "SF", ...) computed from the endpoint states. */
const char *flow_conn_state(const nl_flow *f);

/* Community ID v1 (seed 0) of the flow, "1:base64" into buf (>= 40). */
char *flow_community_id(const nl_flow *f, char *buf, size_t len);
/* The same with another seed (Suricata's community-id-seed). */
char *flow_community_id_seed(const nl_flow *f, uint16_t seed, char *buf, size_t len);

/* Swap originator and responder: every per-direction field of the
 * summary, the addresses and ports, the history letters' case, the kept
 * packets' directions. (A live flow's Zeek state is swapped by the table,
 * conn_zeek_flip.) */
void flow_swap_roles(nl_flow *f);

/* Protocol name: "tcp", "udp", "icmp", or the number. buf >= 8. */
const char *flow_proto_name(uint8_t proto, char *buf, size_t len);

#endif
