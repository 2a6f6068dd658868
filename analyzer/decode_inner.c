/* decode_inner.c - from an encapsulation header to the packet inside it:
 * the UDP dispatch (which decoder for which kind), Zeek's detection of
 * tunnels on ports no tunnel owns, and the inner frame's decode.
 *
 *   outer frame   [ link | IP | UDP | VXLAN | Ethernet | IP | TCP ... ]
 *                                           ^ e.off                    ^ e.end
 * The inner packet is decoded from the same buffer, bounded by e.end, so
 * its offsets (payload_off, l4_off) stay valid for the caller's bytes.
 */
#include <string.h>
#include "decode_int.h"

static const char *const tun_names[NL_TUN_KINDS] = {
    "none", "ip", "gre", "vxlan", "geneve", "gtpu", "teredo", "ayiya"
};

const char *decode_tun_name(int kind)
{
    return kind > 0 && kind < NL_TUN_KINDS ? tun_names[kind] : "?";
}

int decode_tun_kind(const char *name)
{
    for (int k = 1; k < NL_TUN_KINDS; k++)
        if (!strcmp(name, tun_names[k]))
            return k;
    return NL_TUN_NONE;
}

void decode_encap_span(nl_encap *e, const nl_packet *outer, uint32_t off)
{
    uint32_t pend = outer->payload_off + outer->payload_caplen;
    uint32_t used = off > outer->payload_off ? off - outer->payload_off : 0;
    e->off = off < pend ? off : pend;
    e->end = pend;
    e->wire_len = outer->payload_len > used ? outer->payload_len - used : 0;
}

int decode_encap_udp(nl_encap *e, int kind, const nl_packet *outer, const uint8_t *b)
{
    memset(e, 0, sizeof *e);
    if (outer->proto != 17 || !(outer->flags & NL_PKT_HAS_L4))
        return NL_ENCAP_NONE;
    switch (kind) {
    case NL_TUN_VXLAN:  return decode_overlay_vxlan(e, outer, b);
    case NL_TUN_GENEVE: return decode_overlay_geneve(e, outer, b);
    case NL_TUN_GTPU:   return decode_gtp_u(e, outer, b);
    case NL_TUN_TEREDO: return decode_teredo(e, outer, b);
    case NL_TUN_AYIYA:  return decode_ayiya(e, outer, b);
    case NL_TUN_GRE:    return decode_iptun_gre_udp(e, outer, b);
    default:            return NL_ENCAP_NONE;
    }
}

int decode_encap_detect(const nl_packet *outer, const uint8_t *b)
{
    const uint8_t *p = b + outer->payload_off;
    uint32_t n = outer->payload_caplen;
    if (outer->proto != 17 || !(outer->flags & NL_PKT_HAS_L4))
        return NL_TUN_NONE;
    if (decode_teredo_detect(p, n))
        return NL_TUN_TEREDO;
    /* AYIYA's old DPD signature: identity type/len and signature method */
    if (n >= 3 && p[1] == 0x52 && p[2] == 0x11)
        return NL_TUN_AYIYA;
    return NL_TUN_NONE;
}

int decode_inner(nl_packet *in, const nl_packet *out, const nl_encap *e,
                 const uint8_t *b, int verify_csum)
{
    uint32_t end = e->end;
    memset(in, 0, sizeof *in);
    in->ts_ns = out->ts_ns;
    in->frame = out->frame;
    in->file_off = out->file_off;
    in->caplen = out->caplen;
    in->wirelen = out->wirelen;
    in->linktype = out->linktype;
    in->ifindex = out->ifindex;
    in->pkttype = out->pkttype;
    in->vlan = out->vlan;
    in->flags = out->flags & (NL_PKT_HAS_IFINDEX | NL_PKT_HAS_MAC);
    memcpy(in->src_mac, out->src_mac, 6);
    memcpy(in->dst_mac, out->dst_mac, 6);
    if (end > out->caplen || e->off > end) {   /* never past the frame */
        in->flags |= NL_PKT_MALFORMED;
        return -1;
    }
    switch (e->inner) {
    case NL_INNER_ETH: {
        uint16_t et;
        if (!dec_have(end, e->off, 14)) {
            in->flags |= NL_PKT_TRUNCATED;
            return -1;
        }
        memcpy(in->dst_mac, b + e->off, 6);
        memcpy(in->src_mac, b + e->off + 6, 6);
        in->flags |= NL_PKT_HAS_MAC;
        et = dec_be16(b + e->off + 12);
        if (et <= 1500) {
            in->flags |= NL_PKT_NOT_IP;
            return -1;
        }
        return decode_ethertype(in, b, end, e->off + 14, et, verify_csum);
    }
    case NL_INNER_ETYPE:
        return decode_ethertype(in, b, end, e->off, e->etype, verify_csum);
    case NL_INNER_IP:
        return decode_ip_guess(in, b, end, e->off, verify_csum);
    default:
        in->flags |= NL_PKT_NOT_IP;
        return -1;
    }
}
