/* decode_overlay.c - network virtualization overlays in UDP: VXLAN
 * (RFC 7348, UDP 4789; Linux's default 8472) and Geneve (RFC 8926, UDP
 * 6081), as Zeek's VXLAN and Geneve analyzers open them. Geneve options
 * are skipped by their lengths; AWS Gateway Load Balancer's options
 * (class 0x0108: endpoint id, attachment id, flow cookie) are kept.
 *
 *   VXLAN                                   Geneve
 *  +-+-+-+-+-+-+-+-+---------------------+  +---+------+-+-+-----+------------------+
 *  |R|R|R|R|I|R|R|R|  reserved (24)      |  |ver|optlen|O|C| rsv | protocol type    |
 *  +-----------------------+-------------+  +---------------------+----------------+
 *  | VNI (24)              | reserved    |  | VNI (24)            | reserved       |
 *  +-----------------------+-------------+  +---------------------+----------------+
 *  | inner Ethernet frame ...            |  | options (optlen * 4 bytes) ...       |
 *                                           | inner frame (by protocol type) ...   |
 *  Geneve option: class (16) | C | type (7) | rsv (3) | length (5, 4-byte units) | data
 */
#include <string.h>
#include "decode_int.h"

#define GENEVE_CLASS_AWS 0x0108

int decode_overlay_vxlan(nl_encap *e, const nl_packet *outer, const uint8_t *b)
{
    uint32_t p = outer->payload_off;
    memset(e, 0, sizeof *e);
    e->kind = NL_TUN_VXLAN;
    if (!dec_have(p + outer->payload_caplen, p, 8))
        return NL_ENCAP_BAD;            /* Zeek: "VXLAN header truncation" */
    if (!(b[p] & 0x08))
        return NL_ENCAP_BAD;            /* the I flag says the VNI is valid */
    e->vni = ((uint32_t)b[p + 4] << 16) | ((uint32_t)b[p + 5] << 8) | b[p + 6];
    e->has_vni = 1;
    if (outer->payload_caplen == 8)
        return NL_ENCAP_NONE;           /* a header and nothing in it */
    e->inner = NL_INNER_ETH;
    decode_encap_span(e, outer, p + 8);
    return NL_ENCAP_OK;
}

/* Keep AWS GWLB's options; skip every other by its length. Bounded by the
 * option area (at most 63 * 4 bytes), each option at least 4 bytes. */
static void geneve_options(nl_encap *e, const uint8_t *b, uint32_t p, uint32_t end)
{
    dec_cur c = {b, p, end, 0};
    while (c.p + 4 <= end) {
        uint16_t cls = dec_u16(&c);
        uint8_t type = dec_u8(&c) & 0x7f;
        uint32_t olen = (uint32_t)(dec_u8(&c) & 0x1f) * 4, at = c.p;
        if (c.bad || !dec_have(end, at, olen))
            break;
        if (cls == GENEVE_CLASS_AWS && (type == 1 || type == 2) && olen >= 8) {
            uint64_t v = ((uint64_t)dec_be32(b + at) << 32) | dec_be32(b + at + 4);
            if (type == 1) {
                e->gwlb_eni = v;
                e->notes |= NL_ENC_GWLB_ENI;
            } else {
                e->gwlb_attach = v;
                e->notes |= NL_ENC_GWLB_ATTACH;
            }
        } else if (cls == GENEVE_CLASS_AWS && type == 3 && olen >= 4) {
            e->gwlb_cookie = dec_be32(b + at);
            e->notes |= NL_ENC_GWLB_COOKIE;
        }
        c.p = at + olen;
    }
}

int decode_overlay_geneve(nl_encap *e, const nl_packet *outer, const uint8_t *b)
{
    uint32_t p = outer->payload_off, end = p + outer->payload_caplen, hdr;
    uint16_t pt;
    memset(e, 0, sizeof *e);
    e->kind = NL_TUN_GENEVE;
    if (!dec_have(end, p, 8))
        return NL_ENCAP_BAD;            /* "Geneve header truncation" */
    if (b[p] >> 6)
        return NL_ENCAP_NONE;           /* version 0 only; Zeek notes a weird */
    hdr = 8 + (uint32_t)(b[p] & 0x3f) * 4;
    if (!dec_have(end, p, hdr))
        return NL_ENCAP_BAD;            /* "Geneve option header truncation" */
    pt = dec_be16(b + p + 2);
    e->vni = ((uint32_t)b[p + 4] << 16) | ((uint32_t)b[p + 5] << 8) | b[p + 6];
    e->has_vni = 1;
    geneve_options(e, b, p + 8, p + hdr);
    if (outer->payload_caplen == hdr)
        return NL_ENCAP_NONE;
    if (pt == 0x6558) {
        e->inner = NL_INNER_ETH;
    } else if (pt == 0x0800 || pt == 0x86dd || pt == 0x0806) {
        e->inner = NL_INNER_ETYPE;      /* ARP decodes as "not IP" */
        e->etype = pt;
    } else {
        return NL_ENCAP_NONE;
    }
    decode_encap_span(e, outer, p + hdr);
    return NL_ENCAP_OK;
}
