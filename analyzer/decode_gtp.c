/* decode_gtp.c - GTP-U, the GPRS Tunnelling Protocol user plane (3GPP TS
 * 29.281, UDP 2152): only G-PDUs (message type 255) carry user packets;
 * echo, error indication and end marker, GTP' (PT = 0) and GTP-C are left
 * alone, as Zeek's GTPv1 analyzer does.
 *
 *   0       1       2       3       4       5       6       7
 *  +---+--+-+-+-+--+-------+---------------+-------------------------------+
 *  |ver|PT|*|E|S|PN| type  |    length     |     TEID (32)                 |
 *  +-----------------------+---------------+-------------------------------+
 *  | sequence (16) | N-PDU | next ext type |   present when E, S or PN     |
 *  +---------------+-------+---------------+
 *  | ext: length (4-byte units) | content ... | next ext type |  (repeats)
 *  +--------------------------------------------------------------------+
 *  | user IP packet (IPv4 or IPv6) ...
 */
#include <string.h>
#include "decode_int.h"

#define GTP_FLAG_PT  0x10
#define GTP_FLAG_E   0x04
#define GTP_FLAG_OPT 0x07   /* E, S or PN: the 4-byte optional part is there */
#define GTP_GPDU     255
#define GTP_MAX_EXT  16     /* extension headers walked; real ones use 1-3 */

int decode_gtp_u(nl_encap *e, const nl_packet *outer, const uint8_t *b)
{
    uint32_t p = outer->payload_off, end = p + outer->payload_caplen, hdr;
    dec_cur c = {b, p, end, 0};
    uint8_t flags, type, next = 0;
    int n = 0;

    memset(e, 0, sizeof *e);
    e->kind = NL_TUN_GTPU;
    flags = dec_u8(&c);
    type = dec_u8(&c);
    dec_u16(&c);                        /* length: Zeek does not bound by it */
    e->vni = dec_u32(&c);
    if (c.bad)
        return NL_ENCAP_BAD;
    e->has_vni = 1;
    if ((flags >> 5) != 1)
        return NL_ENCAP_BAD;            /* "GTPv1 bad Version" */
    if (!(flags & GTP_FLAG_PT) || type != GTP_GPDU)
        return NL_ENCAP_NONE;           /* GTP', signalling: no user packet */
    if (flags & GTP_FLAG_OPT) {
        dec_skip(&c, 3);
        next = dec_u8(&c);
    }
    /* extension headers, chained by their last byte (0: no more) */
    while ((flags & GTP_FLAG_E) && next && !c.bad) {
        uint32_t units = dec_u8(&c);
        if (units == 0 || ++n > GTP_MAX_EXT)
            return NL_ENCAP_BAD;
        dec_skip(&c, units * 4 - 2);
        next = dec_u8(&c);
    }
    if (c.bad)
        return NL_ENCAP_BAD;
    hdr = c.p - p;
    if (outer->payload_len < hdr)
        return NL_ENCAP_BAD;
    if (decode_inner_ip_len(b, c.p, end - c.p, outer->payload_len - hdr, 0, 0) != NL_ENCAP_OK)
        return NL_ENCAP_BAD;            /* "Truncated GTPv1", "non-IP", "payload length" */
    e->inner = NL_INNER_IP;
    decode_encap_span(e, outer, c.p);
    return NL_ENCAP_OK;
}
