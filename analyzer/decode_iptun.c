/* decode_iptun.c - IP tunnels: IP-in-IP (RFC 2003: 4in4, RFC 4213: 6in4,
 * 4in6, 6in6) and GRE (RFC 2784, key and sequence RFC 2890, PPTP's
 * enhanced GRE RFC 2637, ERSPAN types I-III), also GRE-in-UDP (RFC 8086).
 * Which GRE payloads are opened follows Zeek's GRE analyzer.
 *
 *   GRE (RFC 2784/2890)                    PPTP enhanced GRE (version 1)
 *  +-+-+-+-+-------+-----+---------------+  +-----------------+-------------+
 *  |C|R|K|S| rsvd0 | ver | protocol type |  | flags/ver (A)   | 0x880b      |
 *  +-+-+-+-+-------+-----+---------------+  | payload length  | call id     |
 *  | checksum (C)  |   reserved1 (C)     |  | sequence (S)    ...         |
 *  | key (K)                             |  | ack (A)                       |
 *  | sequence number (S)                 |  +-------------------------------+
 *  +-------------------------------------+  then PPP: ff 03 | protocol (2)
 *
 * IP-in-IP has no header of its own: the inner IP packet starts where the
 * outer one's payload does (protocol 4 or 41).
 */
#include <string.h>
#include "decode_int.h"

#define GRE_C 0x8000
#define GRE_R 0x4000
#define GRE_K 0x2000
#define GRE_S 0x1000
#define GRE_A 0x0080     /* PPTP acknowledgment present */
#define GRE_RSVD 0x0078  /* reserved flag bits Zeek refuses */

/* ERSPAN (GRE types 0x88be, 0x22eb): a mirrored Ethernet frame follows its
 * header. Returns the header length, or -1 when the frame is too short. */
static int gre_erspan_len(const uint8_t *b, uint32_t p, uint32_t len, uint16_t pt,
                          uint16_t flags, uint32_t gre_len)
{
    if (pt == 0x88be) {  /* type I has no header, type II (S bit) 8 bytes */
        if (len <= gre_len + 14)
            return -1;
        return (flags & GRE_S) ? 8 : 0;
    }
    /* type III: 12 bytes, an 8-byte platform sub-header when the O bit
     * (last bit of the fixed header) is set */
    if (len <= gre_len + 14 + 12)
        return -1;
    if (b[p + gre_len + 11] & 0x01)
        return len > gre_len + 12 + 8 + 14 ? 20 : -1;
    return 12;
}

/* GRE at [p, p + len) of the captured payload. */
static int decode_gre(nl_encap *e, const nl_packet *outer, const uint8_t *b,
                      uint32_t p, uint32_t len)
{
    dec_cur c = {b, p, p + len, 0};
    uint16_t flags = dec_u16(&c), pt = dec_u16(&c);
    uint32_t gre_len = 4, extra = 0;
    int ver = flags & 0x0007;

    if (c.bad || (ver != 0 && ver != 1))
        return NL_ENCAP_BAD;
    if (flags & (GRE_R | GRE_RSVD))  /* RFC 1701 routing: deprecated, not opened */
        return NL_ENCAP_BAD;
    if (flags & GRE_C) gre_len += 4;
    if (flags & GRE_K) gre_len += 4;
    if (flags & GRE_S) gre_len += 4;
    if (flags & GRE_A) gre_len += 4;
    if (flags & GRE_K) {
        c.p = p + 4 + ((flags & GRE_C) ? 4 : 0);
        e->vni = dec_u32(&c);
        e->has_vni = !c.bad;
    }
    e->kind = NL_TUN_GRE;
    if (ver == 1) {
        /* PPTP: PPP address/control, then the PPP protocol */
        uint16_t ppp;
        if (pt != 0x880b || len < gre_len + 4)
            return NL_ENCAP_BAD;
        ppp = dec_be16(b + p + gre_len + 2);
        if (ppp != 0x0021 && ppp != 0x0057)
            return NL_ENCAP_NONE;   /* LCP, CCP...: PPP control, no IP */
        e->inner = NL_INNER_IP;
        extra = 4;
    } else if (pt == 0x6558) {      /* transparent Ethernet bridging */
        if (len <= gre_len + 14)
            return NL_ENCAP_BAD;
        e->inner = NL_INNER_ETH;
    } else if (pt == 0x88be || pt == 0x22eb) {
        int el = gre_erspan_len(b, p, len, pt, flags, gre_len);
        if (el < 0)
            return NL_ENCAP_BAD;
        extra = (uint32_t)el;
        e->inner = NL_INNER_ETH;
    } else if (pt == 0x0800 || pt == 0x86dd || pt == 0x8847 || pt == 0x8848) {
        e->inner = NL_INNER_ETYPE;
        e->etype = pt;
    } else {
        return NL_ENCAP_NONE;       /* Aruba 802.11, keepalives...: not IP */
    }
    if (len < gre_len + extra)
        return NL_ENCAP_BAD;
    decode_encap_span(e, outer, p + gre_len + extra);
    return NL_ENCAP_OK;
}

int decode_encap_ip(nl_encap *e, const nl_packet *outer, const uint8_t *b)
{
    memset(e, 0, sizeof *e);
    if (!outer->ip_ver || outer->payload_caplen == 0 || (outer->flags & NL_PKT_FRAGMENT && outer->frag_off))
        return NL_ENCAP_NONE;
    switch (outer->proto) {
    case 4: case 41:
        e->kind = NL_TUN_IP;
        e->inner = NL_INNER_IP;
        decode_encap_span(e, outer, outer->payload_off);
        return NL_ENCAP_OK;
    case 47:
        return decode_gre(e, outer, b, outer->payload_off, outer->payload_caplen);
    default:
        return NL_ENCAP_NONE;
    }
}

/* GRE-in-UDP (RFC 8086): the UDP payload is a GRE header and its payload. */
int decode_iptun_gre_udp(nl_encap *e, const nl_packet *outer, const uint8_t *b)
{
    return decode_gre(e, outer, b, outer->payload_off, outer->payload_caplen);
}
