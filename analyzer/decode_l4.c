/* decode_l4.c - TCP (RFC 9293, options MSS/WS/SACK/TS), UDP (RFC 768),
 * ICMP (RFC 792) / ICMPv6 (RFC 4443) with the quoted packet of errors, all
 * bounded by the capture. Tunnels (IP-in-IP, GRE) are left to the caller.
 *
 *   TCP                                     ICMP error
 *  +-------------+-------------+            +------+------+----------+
 *  | src port    | dst port    |            | type | code | checksum |
 *  | sequence number           |            | unused / mtu (4)        |
 *  | acknowledgment number     |            | quoted IP header + 8    |
 *  |off|  flags  | window      |            +-------------------------+
 *  | checksum    | urgent      |
 *  | options ...               |
 *  +---------------------------+
 */
#include <netinet/in.h>
#include <string.h>
#include "decode_int.h"

#define PROTO_GRE  47
#define PROTO_IPIP 4
#define PROTO_IPV6 41

/* Pseudo-header sum for the L4 checksum. */
static uint32_t l4_pseudo(const nl_packet *pkt, uint32_t l4len)
{
    uint32_t sum = 0;
    if (pkt->ip_ver == 4) {
        sum = decode_csum_add(sum, pkt->src.b + 12, 4);
        sum = decode_csum_add(sum, pkt->dst.b + 12, 4);
    } else {
        sum = decode_csum_add(sum, pkt->src.b, 16);
        sum = decode_csum_add(sum, pkt->dst.b, 16);
    }
    sum += pkt->proto;
    sum += l4len & 0xffff;
    sum += l4len >> 16;
    return sum;
}

static void l4_verify(nl_packet *pkt, const uint8_t *b, uint32_t off,
                      uint32_t end, uint32_t wire_len, int pseudo)
{
    uint32_t sum;
    if (pkt->flags & NL_PKT_FRAGMENT)
        return; /* the checksum covers the whole datagram, not this fragment */
    if (end - off != wire_len)
        return; /* not fully captured: cannot tell */
    sum = pseudo ? l4_pseudo(pkt, wire_len) : 0;
    sum = decode_csum_add(sum, b + off, wire_len);
    pkt->flags |= decode_csum_fold(sum) == 0 ? NL_PKT_CSUM_OK : NL_PKT_BAD_CSUM;
}

static void tcp_options(nl_packet *pkt, const uint8_t *b, uint32_t p, uint32_t oend)
{
    while (p < oend) {
        uint8_t kind = b[p], len;
        if (kind == 0)
            break;
        if (kind == 1) {
            p++;
            continue;
        }
        if (p + 1 >= oend)
            break;
        len = b[p + 1];
        if (len < 2 || len > oend - p) {
            pkt->flags |= NL_PKT_MALFORMED;
            break;
        }
        switch (kind) {
        case 2:
            if (len == 4) {
                pkt->mss = dec_be16(b + p + 2);
                pkt->flags |= NL_PKT_TCP_MSS;
            }
            break;
        case 3:
            if (len == 3) {
                pkt->wscale = b[p + 2];
                pkt->flags |= NL_PKT_TCP_WS;
            }
            break;
        case 4:
            pkt->flags |= NL_PKT_TCP_SACKOK;
            break;
        case 5: {
            uint32_t q = p + 2;
            pkt->flags |= NL_PKT_TCP_SACK;
            while (q + 8 <= (uint32_t)p + len && pkt->nsack < NL_MAX_SACK) {
                pkt->sack[pkt->nsack][0] = dec_be32(b + q);
                pkt->sack[pkt->nsack][1] = dec_be32(b + q + 4);
                pkt->nsack++;
                q += 8;
            }
            break;
        }
        case 8:
            if (len == 10) {
                pkt->tsval = dec_be32(b + p + 2);
                pkt->tsecr = dec_be32(b + p + 6);
                pkt->flags |= NL_PKT_TCP_TS;
            }
            break;
        default:
            break;
        }
        p += len;
    }
}

static void decode_tcp(nl_packet *pkt, const uint8_t *b, uint32_t off,
                       uint32_t end, uint32_t wire_len, int verify_csum)
{
    uint32_t hl;
    if (!dec_have(end, off, 20)) {
        pkt->flags |= NL_PKT_TRUNCATED;
        return;
    }
    pkt->sport = dec_be16(b + off);
    pkt->dport = dec_be16(b + off + 2);
    pkt->seq = dec_be32(b + off + 4);
    pkt->ack = dec_be32(b + off + 8);
    hl = (uint32_t)(b[off + 12] >> 4) * 4;
    pkt->tcp_flags = b[off + 13];
    pkt->win = dec_be16(b + off + 14);
    pkt->flags |= NL_PKT_HAS_L4;
    pkt->tcp_hlen = (uint16_t)hl;
    if (hl < 20 || hl > wire_len) {
        pkt->flags |= NL_PKT_MALFORMED;
        return;
    }
    if (!dec_have(end, off, hl)) {
        pkt->flags |= NL_PKT_TRUNCATED;
        tcp_options(pkt, b, off + 20, end);
    } else {
        tcp_options(pkt, b, off + 20, off + hl);
    }
    pkt->payload_off = off + hl;
    pkt->payload_len = wire_len - hl;
    pkt->payload_caplen = end > off + hl ? end - off - hl : 0;
    if (pkt->payload_caplen > pkt->payload_len)
        pkt->payload_caplen = pkt->payload_len;
    if (verify_csum)
        l4_verify(pkt, b, off, end, wire_len, 1);
}

static void decode_udp(nl_packet *pkt, const uint8_t *b, uint32_t off,
                       uint32_t end, uint32_t wire_len, int verify_csum)
{
    uint32_t ulen;
    if (!dec_have(end, off, 8)) {
        pkt->flags |= NL_PKT_TRUNCATED;
        return;
    }
    pkt->sport = dec_be16(b + off);
    pkt->dport = dec_be16(b + off + 2);
    ulen = dec_be16(b + off + 4);
    pkt->flags |= NL_PKT_HAS_L4;
    if (ulen >= 8 && ulen > wire_len && (pkt->flags & NL_PKT_FRAGMENT)) {
        /* first fragment: the UDP length is the whole datagram's */
    } else if (ulen < 8 || ulen > wire_len) {
        /* length 0 happens with TSO/GSO captures; trust the IP length */
        if (ulen != 0)
            pkt->flags |= NL_PKT_MALFORMED;
        ulen = wire_len;
    }
    pkt->payload_off = off + 8;
    pkt->payload_len = ulen - 8;
    pkt->payload_caplen = end > off + 8 ? end - off - 8 : 0;
    if (pkt->payload_caplen > pkt->payload_len)
        pkt->payload_caplen = pkt->payload_len;
    if (verify_csum && (pkt->ip_ver == 6 || dec_be16(b + off + 6) != 0))
        l4_verify(pkt, b, off, end, wire_len, 1);
}

/* Flow ports of an ICMP message, as decode_icmp gives them. */
static void icmp_ports(int v6, uint8_t t, uint8_t code, int have_id, uint16_t id,
                       uint16_t *sport, uint16_t *dport)
{
    int echo = v6 ? (t == 128 || t == 129) : (t == 8 || t == 0);
    if (echo && have_id) {
        *sport = *dport = id;
        return;
    }
    *sport = t;
    if (v6)
        *dport = t == 133 ? 134 : t == 134 ? 133 : t == 135 ? 136 : t == 136 ? 135 : code;
    else
        *dport = t == 13 ? 14 : t == 14 ? 13 : t == 15 ? 16 : t == 16 ? 15 :
                 t == 17 ? 18 : t == 18 ? 17 : t == 10 ? 9 : t == 9 ? 10 : code;
}

/* The quoted packet of an ICMP error: IP header plus at least 8 bytes. */
static void icmp_quoted(nl_packet *pkt, const uint8_t *b, uint32_t off, uint32_t end)
{
    uint32_t l4 = 0;
    if (!dec_have(end, off, 1))
        return;
    if ((b[off] >> 4) == 4 && dec_have(end, off, 20)) {
        uint32_t hl = (uint32_t)(b[off] & 0x0f) * 4;
        if (hl < 20)
            return;
        pkt->q_proto = b[off + 9];
        nl_addr_from_v4(&pkt->q_src, b + off + 12);
        nl_addr_from_v4(&pkt->q_dst, b + off + 16);
        l4 = off + hl;
    } else if ((b[off] >> 4) == 6 && dec_have(end, off, 40)) {
        uint8_t nh = b[off + 6];
        int n = 0;
        memcpy(pkt->q_src.b, b + off + 8, 16);
        memcpy(pkt->q_dst.b, b + off + 24, 16);
        l4 = off + 40;
        /* hop-by-hop, routing, destination options, fragment: skip */
        while ((nh == 0 || nh == 43 || nh == 60 || nh == 44) && n++ < 8 &&
               dec_have(end, l4, 8)) {
            uint32_t el = nh == 44 ? 8 : ((uint32_t)b[l4 + 1] + 1) * 8;
            nh = b[l4];
            l4 += el;
        }
        pkt->q_proto = nh;
    } else {
        return;
    }
    pkt->flags |= NL_PKT_ICMP_ERROR;
    if (pkt->q_proto == IPPROTO_ICMP || pkt->q_proto == IPPROTO_ICMPV6) {
        if (dec_have(end, l4, 2))
            icmp_ports(pkt->q_proto == IPPROTO_ICMPV6, b[l4], b[l4 + 1], dec_have(end, l4, 8),
                       dec_have(end, l4, 8) ? dec_be16(b + l4 + 4) : 0, &pkt->q_sport, &pkt->q_dport);
        return;
    }
    if (dec_have(end, l4, 4)) {
        pkt->q_sport = dec_be16(b + l4);
        pkt->q_dport = dec_be16(b + l4 + 2);
    }
    if (pkt->q_proto == IPPROTO_TCP && dec_have(end, l4, 8))
        pkt->q_seq = dec_be32(b + l4 + 4);
}

static void decode_icmp(nl_packet *pkt, const uint8_t *b, uint32_t off,
                        uint32_t end, uint32_t wire_len, int verify_csum)
{
    int v6 = pkt->proto == IPPROTO_ICMPV6;
    uint8_t t;
    if (!dec_have(end, off, 4)) {
        pkt->flags |= NL_PKT_TRUNCATED;
        return;
    }
    t = b[off];
    pkt->icmp_type = t;
    pkt->icmp_code = b[off + 1];
    pkt->flags |= NL_PKT_HAS_L4;
    pkt->payload_off = off + 8 <= end ? off + 8 : end;
    pkt->payload_len = wire_len >= 8 ? wire_len - 8 : 0;
    pkt->payload_caplen = end > off + 8 ? end - off - 8 : 0;
    if (pkt->payload_caplen > pkt->payload_len)
        pkt->payload_caplen = pkt->payload_len;
    int echo = v6 ? (t == 128 || t == 129) : (t == 8 || t == 0);
    int error = v6 ? (t >= 1 && t <= 4) : (t == 3 || t == 4 || t == 5 || t == 11 || t == 12);
    if (echo && dec_have(end, off, 8)) {
        pkt->icmp_id = dec_be16(b + off + 4);
        pkt->icmp_seq = dec_be16(b + off + 6);
        /* the echo id is what NAT rewrites: it serves as both ports */
        pkt->sport = pkt->dport = pkt->icmp_id;
    } else {
        /* Zeek's convention for other messages: type and counterpart/code */
        pkt->sport = t;
        if (v6)
            pkt->dport = t == 133 ? 134 : t == 134 ? 133 : t == 135 ? 136 :
                         t == 136 ? 135 : pkt->icmp_code;
        else
            pkt->dport = t == 13 ? 14 : t == 14 ? 13 : t == 15 ? 16 : t == 16 ? 15 :
                         t == 17 ? 18 : t == 18 ? 17 : t == 10 ? 9 : t == 9 ? 10 :
                         pkt->icmp_code;
        if (error && dec_have(end, off, 8))
            icmp_quoted(pkt, b, off + 8, end);
    }
    if (verify_csum)
        l4_verify(pkt, b, off, end, wire_len, v6);
}

/* IP-in-IP and GRE: no ports; only the payload range, so the tunnel
 * decoders (decode_iptun.c) know where the inner bytes are. */
static void decode_tunnel_payload(nl_packet *pkt, uint32_t off, uint32_t end,
                                  uint32_t wire_len)
{
    pkt->payload_off = off <= end ? off : end;
    pkt->payload_len = wire_len;
    pkt->payload_caplen = end > off ? end - off : 0;
    if (pkt->payload_caplen > pkt->payload_len)
        pkt->payload_caplen = pkt->payload_len;
}

void decode_l4(nl_packet *pkt, const uint8_t *b, uint32_t caplen, uint32_t off,
               uint32_t end, uint32_t wire_len, int verify_csum)
{
    pkt->l4_off = (uint16_t)(off > 0xffff ? 0xffff : off);
    if (end > caplen)
        end = caplen;
    switch (pkt->proto) {
    case IPPROTO_TCP:
        decode_tcp(pkt, b, off, end, wire_len, verify_csum);
        break;
    case IPPROTO_UDP:
        decode_udp(pkt, b, off, end, wire_len, verify_csum);
        break;
    case IPPROTO_ICMP: case IPPROTO_ICMPV6:
        decode_icmp(pkt, b, off, end, wire_len, verify_csum);
        break;
    case PROTO_GRE: case PROTO_IPIP: case PROTO_IPV6:
        decode_tunnel_payload(pkt, off, end, wire_len);
        break;
    default:
        break;
    }
}
