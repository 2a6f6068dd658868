/* decode_ip.c - IPv4 (RFC 791, options, fragments) and IPv6 (RFC 8200,
 * extension headers), bounded by the captured length.
 *
 *   IPv4                                IPv6
 *  +-------+-------+-------+-------+    +-------+---------------+-------+
 *  |ver|ihl|  tos  |  total length |    |ver|tc |  flow label           |
 *  |   identification  |flg| frag  |    | payload length| next  | hops  |
 *  |  ttl  | proto |   checksum    |    |  source (16) dest (16)        |
 *  |  source address               |    +-------------------------------+
 *  |  destination address          |
 *  +-------------------------------+
 */
#include <netinet/in.h>
#include "decode_int.h"

int decode_ipv4(nl_packet *pkt, const uint8_t *b, uint32_t caplen, uint32_t off,
                int verify_csum)
{
    uint32_t hlen, tot, end, fo;
    if (!dec_have(caplen, off, 20)) {
        pkt->flags |= NL_PKT_TRUNCATED;
        return -1;
    }
    if ((b[off] >> 4) != 4) {
        pkt->flags |= NL_PKT_MALFORMED;
        return -1;
    }
    hlen = (uint32_t)(b[off] & 0x0f) * 4;
    tot = dec_be16(b + off + 2);
    pkt->ip_ver = 4;
    pkt->ip_off = (uint16_t)(off > 0xffff ? 0xffff : off);
    pkt->tos = b[off + 1];
    pkt->ip_id = dec_be16(b + off + 4);
    pkt->ttl = b[off + 8];
    pkt->proto = b[off + 9];
    nl_addr_from_v4(&pkt->src, b + off + 12);
    nl_addr_from_v4(&pkt->dst, b + off + 16);
    if (hlen < 20 || tot < hlen) {
        /* TSO on the capturing host writes total length 0: accept the
         * captured length as the packet's length, as tcpdump does */
        if (hlen >= 20 && tot == 0)
            tot = pkt->wirelen > off ? pkt->wirelen - off : caplen - off;
        else {
            pkt->flags |= NL_PKT_MALFORMED;
            return 0;
        }
    }
    pkt->ip_len = tot;
    if (!dec_have(caplen, off, hlen)) {
        pkt->flags |= NL_PKT_TRUNCATED;
        return 0;
    }
    fo = dec_be16(b + off + 6);
    pkt->frag_off = (fo & 0x1fff) * 8;
    if ((fo & 0x2000) || pkt->frag_off)
        pkt->flags |= NL_PKT_FRAGMENT;
    /* the IP payload ends at the smaller of the header's claim and capture;
     * Ethernet padding after `tot` is not payload */
    end = off + tot;
    if (end > caplen || end < off)
        end = caplen;
    if (pkt->frag_off)
        return 0; /* non-first fragment: no L4 header here */
    decode_l4(pkt, b, caplen, off + hlen, end, tot - hlen, verify_csum);
    return 0;
}

static int ipv6_is_ext(uint8_t nh)
{
    return nh == 0 || nh == 43 || nh == 44 || nh == 60 || nh == 51 || nh == 135 ||
           nh == 139 || nh == 140;
}

int decode_ipv6(nl_packet *pkt, const uint8_t *b, uint32_t caplen, uint32_t off,
                int verify_csum)
{
    uint32_t plen, end, p;
    uint8_t nh;
    int n = 0;
    if (!dec_have(caplen, off, 40)) {
        pkt->flags |= NL_PKT_TRUNCATED;
        return -1;
    }
    if ((b[off] >> 4) != 6) {
        pkt->flags |= NL_PKT_MALFORMED;
        return -1;
    }
    pkt->ip_ver = 6;
    pkt->ip_off = (uint16_t)(off > 0xffff ? 0xffff : off);
    pkt->tos = (uint8_t)(((b[off] & 0x0f) << 4) | (b[off + 1] >> 4));
    plen = dec_be16(b + off + 4);
    nh = b[off + 6];
    pkt->ttl = b[off + 7];
    for (int i = 0; i < 16; i++) {
        pkt->src.b[i] = b[off + 8 + i];
        pkt->dst.b[i] = b[off + 24 + i];
    }
    if (plen == 0) /* jumbogram or TSO-captured: trust the capture */
        plen = pkt->wirelen > off + 40 ? pkt->wirelen - off - 40 : caplen - off - 40;
    pkt->ip_len = plen + 40;
    end = off + 40 + plen;
    if (end > caplen || end < off)
        end = caplen;
    p = off + 40;
    /* walk extension headers, at most 8 of them */
    while (ipv6_is_ext(nh)) {
        uint32_t elen;
        if (++n > 8) {
            pkt->flags |= NL_PKT_MALFORMED;
            pkt->proto = nh;
            return 0;
        }
        if (!dec_have(end, p, 8)) {
            pkt->flags |= NL_PKT_TRUNCATED;
            pkt->proto = nh;
            return 0;
        }
        if (nh == 44) { /* fragment header: fixed 8 bytes */
            uint16_t fo = dec_be16(b + p + 2);
            pkt->frag_off = (uint32_t)(fo & 0xfff8);
            pkt->ip_id = (uint16_t)dec_be32(b + p + 4);
            /* an "atomic fragment" (offset 0, no M flag) is a whole packet */
            if (pkt->frag_off || (fo & 1))
                pkt->flags |= NL_PKT_FRAGMENT;
            elen = 8;
        } else if (nh == 51) { /* AH: length in 4-byte units, minus 2 */
            elen = ((uint32_t)b[p + 1] + 2) * 4;
        } else {
            elen = ((uint32_t)b[p + 1] + 1) * 8;
        }
        nh = b[p];
        if (!dec_have(end, p, elen)) {
            pkt->flags |= NL_PKT_TRUNCATED;
            pkt->proto = nh;
            return 0;
        }
        p += elen;
        if (pkt->frag_off)
            break;
    }
    pkt->proto = nh;
    if (pkt->frag_off)
        return 0;
    if (nh == 59) /* no next header */
        return 0;
    decode_l4(pkt, b, caplen, p, end, off + 40 + plen >= p ? off + 40 + plen - p : 0,
              verify_csum);
    return 0;
}
