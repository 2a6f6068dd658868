/* decode_int.h - private to the decoders: bounded big-endian reads.
 *
 * Every read of frame bytes goes through these getters with an explicit
 * (bytes, caplen, offset) bound, tcpdump's ND_TTEST habit: a cut frame can
 * never make a decoder read past caplen. */
#ifndef NATLENS_DECODE_INT_H
#define NATLENS_DECODE_INT_H

#include <stdint.h>
#include "natlens/decode.h"

/* Does [off, off+n) lie within caplen? Written to avoid overflow. */
static inline int dec_have(uint32_t caplen, uint32_t off, uint32_t n)
{
    return off <= caplen && n <= caplen - off;
}
static inline uint16_t dec_be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t dec_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | p[3];
}
static inline uint16_t dec_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t dec_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

/* IP layer entry points (decode_ip.c). `off` is the IP header offset in
 * the frame. Return 0 if an IP header was decoded, -1 otherwise. */
int decode_ipv4(nl_packet *pkt, const uint8_t *b, uint32_t caplen, uint32_t off,
                int verify_csum);
int decode_ipv6(nl_packet *pkt, const uint8_t *b, uint32_t caplen, uint32_t off,
                int verify_csum);
/* Guess IPv4/IPv6 from the version nibble (raw IP, MPLS payload, tunnels). */
int decode_ip_guess(nl_packet *pkt, const uint8_t *b, uint32_t caplen,
                    uint32_t off, int verify_csum);
/* Dispatch on an ethertype (decode_link.c), used for tunnels too. */
int decode_ethertype(nl_packet *pkt, const uint8_t *b, uint32_t caplen,
                     uint32_t off, uint16_t etype, int verify_csum);
/* Transport (decode_l4.c): `end` is where the IP payload ends within the
 * capture (<= caplen), `wire_len` what the IP header claims. IP-in-IP and
 * GRE only get their payload range: tunnels are opened by the caller. */
void decode_l4(nl_packet *pkt, const uint8_t *b, uint32_t caplen, uint32_t off,
               uint32_t end, uint32_t wire_len, int verify_csum);
/* Set e's inner frame to start at `off` (absolute) and run to the end of
 * what `outer` carries: its captured payload, and the length it claims. */
void decode_encap_span(nl_encap *e, const nl_packet *outer, uint32_t off);
/* The UDP encapsulations, each in its file; same contract as
 * decode_encap_udp() (decode_inner.c dispatches). */
int decode_iptun_gre_udp(nl_encap *e, const nl_packet *outer, const uint8_t *b);
int decode_overlay_vxlan(nl_encap *e, const nl_packet *outer, const uint8_t *b);
int decode_overlay_geneve(nl_encap *e, const nl_packet *outer, const uint8_t *b);
int decode_gtp_u(nl_encap *e, const nl_packet *outer, const uint8_t *b);
int decode_teredo(nl_encap *e, const nl_packet *outer, const uint8_t *b);
int decode_teredo_detect(const uint8_t *p, uint32_t len);
int decode_ayiya(nl_encap *e, const nl_packet *outer, const uint8_t *b);
/* Zeek's IP::ParsePacket length rule for a raw IP packet carried in a
 * tunnel (Teredo, GTP): [p, p + caplen) captured, `wire` bytes claimed.
 * NL_ENCAP_OK when the packet's own length matches the carrier's, BAD when
 * it is not IP of the expected version (6, or 0 for either) or the lengths
 * disagree; `bubble_ok` accepts an IPv6 packet with no next header and an
 * empty payload followed by extra bytes (Teredo bubbles). */
int decode_inner_ip_len(const uint8_t *b, uint32_t p, uint32_t caplen, uint32_t wire,
                        int version, int bubble_ok);

/* Internet checksum helpers (decode_csum.c). */
uint32_t decode_csum_add(uint32_t sum, const uint8_t *p, uint32_t n);
uint16_t decode_csum_fold(uint32_t sum);

/* A bounded reading cursor over [p, end) of a frame: getters return 0
 * and set `bad` once a read would pass the end, and `bad` sticks, so a
 * header parser checks once at the end instead of before every field
 * (tcpdump's ND_TTEST idea without longjmp). */
typedef struct dec_cur {
    const uint8_t *b;   /* the frame */
    uint32_t p, end;    /* next byte, bound (<= captured length) */
    int bad;
} dec_cur;

static inline int dec_cur_have(dec_cur *c, uint32_t n)
{
    if (c->bad || !dec_have(c->end, c->p, n)) {
        c->bad = 1;
        return 0;
    }
    return 1;
}
static inline uint8_t dec_u8(dec_cur *c)
{
    return dec_cur_have(c, 1) ? c->b[c->p++] : 0;
}
static inline uint16_t dec_u16(dec_cur *c)
{
    uint16_t v = 0;
    if (dec_cur_have(c, 2)) {
        v = dec_be16(c->b + c->p);
        c->p += 2;
    }
    return v;
}
static inline uint32_t dec_u32(dec_cur *c)
{
    uint32_t v = 0;
    if (dec_cur_have(c, 4)) {
        v = dec_be32(c->b + c->p);
        c->p += 4;
    }
    return v;
}
static inline void dec_skip(dec_cur *c, uint32_t n)
{
    if (dec_cur_have(c, n))
        c->p += n;
}

#endif
