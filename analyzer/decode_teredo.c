/* decode_teredo.c - IPv6 over UDP for hosts behind NAT: Teredo (RFC 4380,
 * server port 3544; relays use any port, so Zeek also recognises Teredo by
 * its content) and AYIYA ("Anything In Anything", UDP 5072). Rules follow
 * Zeek's Teredo and AYIYA analyzers.
 *
 *   Teredo: optional indicators, then an IPv6 packet
 *  +-------+-------+-----------+-----------+----------------+-------+
 *  | 0x0001| id len| auth len  | client id | auth value     | nonce (8) | conf (1) |
 *  +-------+-------+-----------+-----------+----------------+-------+   (authentication)
 *  | 0x0000| port ^ 0xffff     | IPv4 address ^ 0xffffffff  |         (origin indication)
 *  +-------+-------------------+----------------------------+
 *  | IPv6 header (version 6) ...
 *
 *   AYIYA
 *  +--------+--------+--------+--------+--------------------------------+
 *  |idl|idt |sgl|mth |ac |op  | next hdr| epoch time (32)               |
 *  +--------+--------+--------+--------+--------------------------------+
 *  | identity (2^idl bytes) | signature (sgl * 4 bytes) | packet ...
 */
#include <string.h>
#include "decode_int.h"

#define TEREDO_MAX_IND 2    /* at most authentication, then origin */

int decode_inner_ip_len(const uint8_t *b, uint32_t p, uint32_t caplen, uint32_t wire,
                        int version, int bubble_ok)
{
    uint32_t tot;
    int v;
    if (caplen < 1)
        return NL_ENCAP_BAD;
    v = b[p] >> 4;
    if ((version && v != version) || (v != 4 && v != 6))
        return NL_ENCAP_BAD;
    if (caplen < (v == 4 ? 20u : 40u))
        return NL_ENCAP_BAD;
    tot = v == 4 ? dec_be16(b + p + 2) : dec_be16(b + p + 4) + 40u;
    if (wire == tot)
        return NL_ENCAP_OK;
    /* a bubble (no next header, empty payload) with trailing bytes is only
     * "weird" to Zeek; any other mismatch is a violation */
    if (wire > tot && bubble_ok && v == 6 && tot == 40 && b[p + 6] == 59)
        return NL_ENCAP_OK;
    return NL_ENCAP_BAD;
}

int decode_teredo(nl_encap *e, const nl_packet *outer, const uint8_t *b)
{
    uint32_t p = outer->payload_off, end = p + outer->payload_caplen;
    int i;
    memset(e, 0, sizeof *e);
    e->kind = NL_TUN_TEREDO;
    for (i = 0; i <= TEREDO_MAX_IND; i++) {
        uint16_t tag;
        if (!dec_have(end, p, 2))
            return NL_ENCAP_BAD;
        tag = dec_be16(b + p);
        if (tag == 0) {                 /* origin indication, last indicator */
            if ((e->notes & NL_ENC_TEREDO_ORIGIN) || !dec_have(end, p, 8))
                return NL_ENCAP_BAD;
            e->notes |= NL_ENC_TEREDO_ORIGIN;
            e->teredo_port = (uint16_t)(dec_be16(b + p + 2) ^ 0xffff);
            for (int k = 0; k < 4; k++)
                e->teredo_ip[k] = (uint8_t)(b[p + 4 + k] ^ 0xff);
            p += 8;
        } else if (tag == 1) {          /* authentication, first indicator */
            uint32_t tot;
            if (e->notes || !dec_have(end, p, 4))
                return NL_ENCAP_BAD;
            tot = 4u + b[p + 2] + b[p + 3] + 8u + 1u;
            if (!dec_have(end, p, tot))
                return NL_ENCAP_BAD;
            e->notes |= NL_ENC_TEREDO_AUTH;
            p += tot;
        } else if ((tag >> 12) == 6) {
            break;
        } else {
            return NL_ENCAP_BAD;
        }
    }
    if (i > TEREDO_MAX_IND || !dec_have(end, p, 40))
        return NL_ENCAP_BAD;            /* "truncated_IPv6_in_Teredo" */
    if (decode_inner_ip_len(b, p, end - p, outer->payload_len - (p - outer->payload_off),
                            6, 1) != NL_ENCAP_OK)
        return NL_ENCAP_BAD;
    e->inner = NL_INNER_IP;
    decode_encap_span(e, outer, p);
    return NL_ENCAP_OK;
}

/* Zeek's TeredoAnalyzer::DetectProtocol: an IPv6 header with a Teredo
 * address (2001:0000::/32) as source or destination, or indicators
 * followed by an IPv6 header. `p` has `len` captured bytes. */
int decode_teredo_detect(const uint8_t *p, uint32_t len)
{
    static const uint8_t prefix[4] = {0x20, 0x01, 0x00, 0x00};
    uint8_t val;
    if (len < 40)
        return 0;
    if ((p[0] >> 4) != 6 && (p[0] != 0 || (p[1] != 0 && p[1] != 1)))
        return 0;
    if ((p[0] >> 4) == 6 && (!memcmp(p + 8, prefix, 4) || !memcmp(p + 24, prefix, 4)))
        return 1;
    val = p[1];
    if (val == 1) {
        uint32_t skip = 13u + p[2] + p[3];
        if (len < skip || len - skip < 40)
            return 0;
        p += skip;
        len -= skip;
        if (p[0] != 0)   /* the two octets after it must read 0: origin */
            return 0;
        val = p[1];
    }
    if (val != 0 || len < 48)
        return 0;
    return (p[8] >> 4) == 6;
}

int decode_ayiya(nl_encap *e, const nl_packet *outer, const uint8_t *b)
{
    uint32_t p = outer->payload_off, len = outer->payload_caplen, hdr;
    memset(e, 0, sizeof *e);
    e->kind = NL_TUN_AYIYA;
    if (len < 8)
        return NL_ENCAP_BAD;
    /* identity: 2^n bytes (n up to 15); signature: n * 4 bytes */
    hdr = 8u + (1u << (b[p] >> 4)) + (uint32_t)(b[p + 1] >> 4) * 4u;
    if (len < hdr)
        return NL_ENCAP_BAD;
    if ((b[p + 2] & 0x0f) != 1)
        return NL_ENCAP_NONE;           /* not "forward": no packet inside */
    if (b[p + 3] != 4 && b[p + 3] != 41)
        return NL_ENCAP_NONE;
    if (len == hdr)
        return NL_ENCAP_NONE;
    e->inner = NL_INNER_IP;
    decode_encap_span(e, outer, p + hdr);
    return NL_ENCAP_OK;
}
