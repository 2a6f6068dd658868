/* decode.h - link layer -> IP -> TCP/UDP/ICMP, bounds-checked, one pass.
 *
 * decode_packet() fills a caller-owned nl_packet from the captured bytes of
 * one frame. It never reads past `caplen`: a cut or hostile frame sets
 * NL_PKT_TRUNCATED / NL_PKT_MALFORMED and keeps whatever was decoded before
 * the damage. Nothing is allocated; payload is an offset into the caller's
 * buffer, valid only as long as that buffer is (for libpcap: until the next
 * pcap_next_ex call).
 */
#ifndef NATLENS_DECODE_H
#define NATLENS_DECODE_H

#include <stddef.h>
#include <stdint.h>

/* An IPv4 or IPv6 address. IPv4 is stored as an IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) so one comparison covers both families. */
typedef struct nl_addr {
    uint8_t b[16];
} nl_addr;

int nl_addr_is_v4(const nl_addr *a);
void nl_addr_from_v4(nl_addr *a, const uint8_t v4[4]);
/* Text form into buf (>= 46 bytes). Returns buf. */
char *nl_addr_str(const nl_addr *a, char *buf, size_t len);
/* Parse "1.2.3.4" or "2001:db8::1". Returns 0 on success, -1 otherwise. */
int nl_addr_parse(nl_addr *a, const char *s);
int nl_addr_cmp(const nl_addr *a, const nl_addr *b);

/* TCP flag bits as on the wire. */
enum {
    NL_TH_FIN = 0x01, NL_TH_SYN = 0x02, NL_TH_RST = 0x04, NL_TH_PSH = 0x08,
    NL_TH_ACK = 0x10, NL_TH_URG = 0x20, NL_TH_ECE = 0x40, NL_TH_CWR = 0x80
};

/* nl_packet.flags */
enum {
    NL_PKT_TRUNCATED   = 1u << 0, /* caplen ended inside a header */
    NL_PKT_MALFORMED   = 1u << 1, /* header fields are inconsistent */
    NL_PKT_FRAGMENT    = 1u << 2, /* IP fragment; L4 only if first fragment */
    NL_PKT_HAS_MAC     = 1u << 3, /* src_mac/dst_mac valid */
    NL_PKT_HAS_IFINDEX = 1u << 4, /* ifindex valid (SLL2, pcapng) */
    NL_PKT_HAS_L4      = 1u << 5, /* ports / TCP fields valid */
    NL_PKT_BAD_CSUM    = 1u << 6, /* L4 checksum verified and wrong */
    NL_PKT_CSUM_OK     = 1u << 7, /* L4 checksum verified and right */
    NL_PKT_ICMP_ERROR  = 1u << 8, /* ICMP error: quoted_* fields valid */
    NL_PKT_TCP_TS      = 1u << 9, /* tsval/tsecr valid */
    NL_PKT_TCP_MSS     = 1u << 10,
    NL_PKT_TCP_WS      = 1u << 11,
    NL_PKT_TCP_SACK    = 1u << 12,
    NL_PKT_TCP_SACKOK  = 1u << 13,
    NL_PKT_NOT_IP      = 1u << 14  /* frame carries no IP (ARP, LLDP...) */
};

/* Linux SLL packet types (direction on the capturing host). */
enum {
    NL_DIR_UNKNOWN = 0xff, NL_DIR_HOST = 0, NL_DIR_BROADCAST = 1,
    NL_DIR_MULTICAST = 2, NL_DIR_OTHERHOST = 3, NL_DIR_OUTGOING = 4
};

#define NL_MAX_SACK 4

typedef struct nl_packet {
    /* frame */
    uint64_t ts_ns;      /* ns since the epoch */
    uint64_t frame;      /* 1-based frame number in its capture */
    uint64_t file_off;   /* byte offset of the record in the file, if known */
    uint32_t caplen, wirelen;
    int      linktype;   /* DLT_* of the frame */
    uint32_t flags;      /* NL_PKT_* */

    /* link */
    uint8_t  src_mac[6], dst_mac[6];
    int32_t  ifindex;    /* SLL2 interface index or pcapng interface id */
    uint8_t  pkttype;    /* NL_DIR_* */
    uint16_t vlan;       /* outermost 802.1Q VLAN id, 0 if none */

    /* network */
    uint8_t  ip_ver;     /* 4 or 6, 0 if none */
    uint8_t  proto;      /* IPPROTO_* of the transport */
    uint8_t  ttl;        /* TTL / hop limit */
    uint8_t  tos;
    uint16_t ip_id;      /* IPv4 ID (IPv6: low 16 bits of fragment id or 0) */
    uint16_t ip_off;     /* byte offset of the IP header in the frame */
    uint32_t ip_len;     /* IP total length from the header (wire) */
    uint32_t frag_off;   /* fragment offset in bytes */
    nl_addr  src, dst;

    /* transport: for ICMP echo sport = dport = id; other ICMP sport = type,
     * dport = code (as Zeek does). */
    uint16_t sport, dport;
    uint16_t l4_off;     /* offset of the L4 header in the frame */

    /* TCP */
    uint32_t seq, ack;
    uint8_t  tcp_flags;  /* NL_TH_* */
    uint8_t  wscale;
    uint16_t win;
    uint16_t mss;
    uint16_t tcp_hlen;
    uint32_t tsval, tsecr;
    uint8_t  nsack;
    uint32_t sack[NL_MAX_SACK][2];

    /* ICMP */
    uint8_t  icmp_type, icmp_code;
    uint16_t icmp_id, icmp_seq;
    /* ICMP error: the 5-tuple quoted from the offending packet */
    nl_addr  q_src, q_dst;
    uint16_t q_sport, q_dport;
    uint8_t  q_proto;
    uint32_t q_seq;      /* quoted TCP seq, when present */

    /* payload: [payload_off, payload_off + payload_caplen) lies within the
     * captured frame; payload_len is the length the headers claim. */
    uint32_t payload_off;
    uint32_t payload_caplen;
    uint32_t payload_len;
} nl_packet;

/* Decode one frame. `bytes` has `caplen` readable bytes; `wirelen` is the
 * original length. Always fills what it can; returns 0 when an IP packet
 * was found (check flags for damage), -1 when the frame carries no IP or
 * the link type is unsupported. pkt->ts_ns, frame and file_off are left to
 * the caller. If verify_csum is non-zero and the whole segment was
 * captured, the L4 checksum is verified (NL_PKT_BAD_CSUM / NL_PKT_CSUM_OK).
 * Only the outermost IP packet is decoded: a tunnel (IP-in-IP, GRE, the UDP
 * encapsulations below) is opened layer by layer with decode_encap_*() and
 * decode_inner() (tunnel.h does that for a trace). */
int decode_packet(nl_packet *pkt, const uint8_t *bytes, uint32_t caplen,
                  uint32_t wirelen, int linktype, int verify_csum);

/* ---- encapsulations (decode_iptun.c, decode_overlay.c, decode_gtp.c,
 * decode_teredo.c, decode_inner.c) ---- */

/* Tunnel kinds, named as Zeek's Tunnel::Type. */
enum nl_tun_kind {
    NL_TUN_NONE = 0,
    NL_TUN_IP,       /* IP-in-IP: 4in4, 6in4, 4in6, 6in6 (RFC 2003, RFC 4213) */
    NL_TUN_GRE,      /* GRE (RFC 2784/2890), PPTP (RFC 2637), GRE-in-UDP (RFC 8086) */
    NL_TUN_VXLAN,    /* RFC 7348 */
    NL_TUN_GENEVE,   /* RFC 8926 */
    NL_TUN_GTPU,     /* GTP-U, 3GPP TS 29.281 */
    NL_TUN_TEREDO,   /* RFC 4380 */
    NL_TUN_AYIYA,    /* "Anything In Anything" (draft-massar-v6ops-ayiya) */
    NL_TUN_KINDS
};

/* What an encapsulation header says follows it. */
enum { NL_INNER_ETH = 1, NL_INNER_ETYPE, NL_INNER_IP };

/* nl_encap.notes */
enum {
    NL_ENC_TEREDO_ORIGIN = 1u << 0, /* Teredo origin indication present */
    NL_ENC_TEREDO_AUTH   = 1u << 1, /* Teredo authentication indicator present */
    NL_ENC_GWLB_ENI      = 1u << 2, /* AWS GWLB option: endpoint id */
    NL_ENC_GWLB_ATTACH   = 1u << 3, /* AWS GWLB option: attachment id */
    NL_ENC_GWLB_COOKIE   = 1u << 4  /* AWS GWLB option: flow cookie */
};

/* One encapsulation header, read from the outer packet's bytes. The inner
 * frame is [off, end) of the same buffer the outer packet was decoded from
 * (end never beyond the captured bytes); wire_len is how long the headers
 * say it is. Plain data, no pointers: valid as long as the frame is. */
typedef struct nl_encap {
    uint8_t  kind;         /* NL_TUN_* */
    uint8_t  inner;        /* NL_INNER_* */
    uint16_t etype;        /* NL_INNER_ETYPE: the ethertype that follows */
    uint32_t off, end;
    uint32_t wire_len;
    uint8_t  has_vni;
    uint32_t vni;          /* VXLAN/Geneve VNI, GTP TEID, GRE key */
    uint32_t notes;        /* NL_ENC_* */
    uint16_t teredo_port;  /* origin indication: the client's mapped port */
    uint8_t  teredo_ip[4]; /* ... and IPv4 address (de-obfuscated) */
    uint64_t gwlb_eni, gwlb_attach;
    uint32_t gwlb_cookie;
} nl_encap;

/* Results of the decode_encap_*() functions. NONE is "not a packet this
 * decoder opens" (GTP signalling, a Geneve version it does not know):
 * Zeek ignores those. BAD is a header that breaks its own rules (Zeek's
 * analyzer violation): the caller counts it as malformed. */
enum { NL_ENCAP_BAD = -1, NL_ENCAP_NONE = 0, NL_ENCAP_OK = 1 };

/* IP-in-IP (proto 4, 41) and GRE (proto 47) in the IP packet `outer`
 * decoded from `bytes`. Never reads outside the outer packet's captured
 * payload. Returns NL_ENCAP_*. */
int decode_encap_ip(nl_encap *e, const nl_packet *outer, const uint8_t *bytes);

/* The UDP payload of `outer` as encapsulation `kind` (VXLAN, GENEVE, GTPU,
 * TEREDO, AYIYA or GRE for GRE-in-UDP); which kind is the caller's choice
 * (ports, decode_encap_detect). Bounded by the captured payload; length
 * fields are checked against what the UDP header claims. Returns NL_ENCAP_*. */
int decode_encap_udp(nl_encap *e, int kind, const nl_packet *outer, const uint8_t *bytes);

/* Zeek's protocol detection for UDP payloads on ports no tunnel owns:
 * NL_TUN_TEREDO (an IPv6 packet with a Teredo 2001:0::/32 address, or
 * Teredo indicators before IPv6), NL_TUN_AYIYA, or NL_TUN_NONE. */
int decode_encap_detect(const nl_packet *outer, const uint8_t *bytes);

/* Decode the frame inside encapsulation `e` into `inner`. Frame facts
 * (time, frame number, capture direction, wirelen) are copied from
 * `outer`; link addresses are the inner Ethernet header's when there is
 * one, the outer frame's otherwise. Offsets in `inner` stay relative to
 * `bytes`. Returns 0 when an IP packet was found, -1 otherwise (flags say
 * why, NL_PKT_NOT_IP for ARP and other non-IP payloads). */
int decode_inner(nl_packet *inner, const nl_packet *outer, const nl_encap *e,
                 const uint8_t *bytes, int verify_csum);

/* "vxlan", "geneve", ..., "ip" for IP-in-IP; "?" when unknown. */
const char *decode_tun_name(int kind);
/* The kind named `name` (as decode_tun_name writes it), NL_TUN_NONE if none. */
int decode_tun_kind(const char *name);

/* Whether decode_packet understands this DLT. */
int decode_linktype_supported(int linktype);

/* "SYN,ACK" style text of TCP flags into buf (>= 40 bytes). */
char *decode_tcp_flags_str(uint8_t flags, char *buf, size_t len);

#endif
