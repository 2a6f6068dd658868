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
 * captured, the L4 checksum is verified (NL_PKT_BAD_CSUM / NL_PKT_CSUM_OK). */
int decode_packet(nl_packet *pkt, const uint8_t *bytes, uint32_t caplen,
                  uint32_t wirelen, int linktype, int verify_csum);

/* Whether decode_packet understands this DLT. */
int decode_linktype_supported(int linktype);

/* "SYN,ACK" style text of TCP flags into buf (>= 40 bytes). */
char *decode_tcp_flags_str(uint8_t flags, char *buf, size_t len);

#endif
