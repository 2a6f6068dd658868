/* decode_link.c - link layers: Ethernet (802.1Q, QinQ, PPPoE, MPLS), Linux
 * SLL and SLL2, raw IPv4/IPv6, BSD NULL/LOOP; then hand over to IP.
 *
 * Ethernet II:                    Linux SLL2 (20 bytes):
 *  +--------+--------+------+      +-------+-------+---------+-------+----+----+--------+
 *  | dst(6) | src(6) | type |      | proto | resvd | ifindex | hatype|ptyp|alen| addr(8)|
 *  +--------+--------+------+      +-------+-------+---------+-------+----+----+--------+
 * SLL (16 bytes): pkttype(2) hatype(2) halen(2) addr(8) proto(2).
 */
#include <pcap/dlt.h>
#include <stdio.h>
#include <string.h>
#include "decode_int.h"

#define ETH_IPV4   0x0800
#define ETH_IPV6   0x86dd
#define ETH_VLAN   0x8100
#define ETH_QINQ   0x88a8
#define ETH_QINQ2  0x9100
#define ETH_PPPOE  0x8864
#define ETH_MPLS   0x8847
#define ETH_MPLS_M 0x8848

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif

int decode_linktype_supported(int lt)
{
    switch (lt) {
    case DLT_EN10MB: case DLT_RAW: case 101: /* LINKTYPE_RAW */
    case DLT_IPV4: case DLT_IPV6: case DLT_NULL: case DLT_LOOP:
    case DLT_LINUX_SLL: case DLT_LINUX_SLL2:
        return 1;
    default:
        return 0;
    }
}

int decode_ip_guess(nl_packet *pkt, const uint8_t *b, uint32_t caplen,
                    uint32_t off, int verify_csum)
{
    if (!dec_have(caplen, off, 1)) {
        pkt->flags |= NL_PKT_TRUNCATED;
        return -1;
    }
    switch (b[off] >> 4) {
    case 4: return decode_ipv4(pkt, b, caplen, off, verify_csum);
    case 6: return decode_ipv6(pkt, b, caplen, off, verify_csum);
    default:
        pkt->flags |= NL_PKT_NOT_IP;
        return -1;
    }
}

int decode_ethertype(nl_packet *pkt, const uint8_t *b, uint32_t caplen,
                     uint32_t off, uint16_t etype, int verify_csum)
{
    int tags = 0;
    /* VLAN tags: bounded, a hostile frame may stack many */
    while ((etype == ETH_VLAN || etype == ETH_QINQ || etype == ETH_QINQ2) &&
           tags < 8) {
        if (!dec_have(caplen, off, 4)) {
            pkt->flags |= NL_PKT_TRUNCATED;
            return -1;
        }
        if (tags == 0)
            pkt->vlan = dec_be16(b + off) & 0x0fff;
        etype = dec_be16(b + off + 2);
        off += 4;
        tags++;
    }
    switch (etype) {
    case ETH_IPV4:
        return decode_ipv4(pkt, b, caplen, off, verify_csum);
    case ETH_IPV6:
        return decode_ipv6(pkt, b, caplen, off, verify_csum);
    case ETH_PPPOE: {
        /* PPPoE session: ver/type, code, session id, length, then PPP proto */
        uint16_t ppp;
        if (!dec_have(caplen, off, 8)) {
            pkt->flags |= NL_PKT_TRUNCATED;
            return -1;
        }
        ppp = dec_be16(b + off + 6);
        if (ppp == 0x0021)
            return decode_ipv4(pkt, b, caplen, off + 8, verify_csum);
        if (ppp == 0x0057)
            return decode_ipv6(pkt, b, caplen, off + 8, verify_csum);
        pkt->flags |= NL_PKT_NOT_IP;
        return -1;
    }
    case ETH_MPLS: case ETH_MPLS_M: {
        int labels = 0;
        for (;;) {
            if (!dec_have(caplen, off, 4)) {
                pkt->flags |= NL_PKT_TRUNCATED;
                return -1;
            }
            int bottom = b[off + 2] & 1;
            off += 4;
            if (bottom)
                break;
            if (++labels >= 16) {
                pkt->flags |= NL_PKT_MALFORMED;
                return -1;
            }
        }
        return decode_ip_guess(pkt, b, caplen, off, verify_csum);
    }
    default:
        pkt->flags |= NL_PKT_NOT_IP;
        return -1;
    }
}

static int decode_null(nl_packet *pkt, const uint8_t *b, uint32_t caplen,
                       int loop, int verify_csum)
{
    uint32_t fam;
    if (!dec_have(caplen, 0, 4)) {
        pkt->flags |= NL_PKT_TRUNCATED;
        return -1;
    }
    /* NULL: host byte order of the capturing machine, which we don't know;
     * AF_INET is 2 everywhere, AF_INET6 is 10, 24, 28 or 30. */
    fam = loop ? dec_be32(b) : dec_le32(b);
    if (!loop && fam > 0xffff)
        fam = dec_be32(b);
    if (fam == 2)
        return decode_ipv4(pkt, b, caplen, 4, verify_csum);
    if (fam == 10 || fam == 24 || fam == 28 || fam == 30)
        return decode_ipv6(pkt, b, caplen, 4, verify_csum);
    pkt->flags |= NL_PKT_NOT_IP;
    return -1;
}

int decode_packet(nl_packet *pkt, const uint8_t *b, uint32_t caplen,
                  uint32_t wirelen, int linktype, int verify_csum)
{
    uint64_t ts = pkt->ts_ns, frame = pkt->frame, foff = pkt->file_off;
    memset(pkt, 0, sizeof *pkt);
    pkt->ts_ns = ts;
    pkt->frame = frame;
    pkt->file_off = foff;
    pkt->caplen = caplen;
    pkt->wirelen = wirelen;
    pkt->linktype = linktype;
    pkt->ifindex = -1;
    pkt->pkttype = NL_DIR_UNKNOWN;

    switch (linktype) {
    case DLT_EN10MB:
        if (!dec_have(caplen, 0, 14)) {
            pkt->flags |= NL_PKT_TRUNCATED;
            return -1;
        }
        memcpy(pkt->dst_mac, b, 6);
        memcpy(pkt->src_mac, b + 6, 6);
        pkt->flags |= NL_PKT_HAS_MAC;
        {
            uint16_t et = dec_be16(b + 12);
            if (et <= 1500) { /* 802.3 length field: LLC, no IP we track */
                pkt->flags |= NL_PKT_NOT_IP;
                return -1;
            }
            return decode_ethertype(pkt, b, caplen, 14, et, verify_csum);
        }
    case DLT_LINUX_SLL:
        if (!dec_have(caplen, 0, 16)) {
            pkt->flags |= NL_PKT_TRUNCATED;
            return -1;
        }
        pkt->pkttype = (uint8_t)dec_be16(b);
        if (dec_be16(b + 4) == 6) {
            memcpy(pkt->src_mac, b + 6, 6);
            pkt->flags |= NL_PKT_HAS_MAC;
        }
        return decode_ethertype(pkt, b, caplen, 16, dec_be16(b + 14), verify_csum);
    case DLT_LINUX_SLL2:
        if (!dec_have(caplen, 0, 20)) {
            pkt->flags |= NL_PKT_TRUNCATED;
            return -1;
        }
        pkt->ifindex = (int32_t)dec_be32(b + 4);
        pkt->flags |= NL_PKT_HAS_IFINDEX;
        pkt->pkttype = b[10];
        if (b[11] == 6) {
            memcpy(pkt->src_mac, b + 12, 6);
            pkt->flags |= NL_PKT_HAS_MAC;
        }
        return decode_ethertype(pkt, b, caplen, 20, dec_be16(b), verify_csum);
    case DLT_RAW: case 101:
        return decode_ip_guess(pkt, b, caplen, 0, verify_csum);
    case DLT_IPV4:
        return decode_ipv4(pkt, b, caplen, 0, verify_csum);
    case DLT_IPV6:
        return decode_ipv6(pkt, b, caplen, 0, verify_csum);
    case DLT_NULL:
        return decode_null(pkt, b, caplen, 0, verify_csum);
    case DLT_LOOP:
        return decode_null(pkt, b, caplen, 1, verify_csum);
    default:
        pkt->flags |= NL_PKT_NOT_IP;
        return -1;
    }
}

char *decode_tcp_flags_str(uint8_t f, char *buf, size_t len)
{
    static const char *names[8] = {"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"};
    /* print in the order people read them: SYN,ACK rather than bit order */
    static const int order[8] = {1, 0, 2, 3, 4, 5, 6, 7};
    size_t used = 0;
    int i;
    if (len == 0)
        return buf;
    buf[0] = '\0';
    for (i = 0; i < 8; i++) {
        int bit = order[i];
        if (!(f & (1u << bit)))
            continue;
        int n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", names[bit]);
        if (n < 0 || (size_t)n >= len - used)
            break;
        used += (size_t)n;
    }
    if (used == 0)
        snprintf(buf, len, "none");
    return buf;
}
