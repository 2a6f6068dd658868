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
                int verify_csum, int depth);
int decode_ipv6(nl_packet *pkt, const uint8_t *b, uint32_t caplen, uint32_t off,
                int verify_csum, int depth);
/* Dispatch on an ethertype (decode_link.c), used for tunnels too. */
int decode_ethertype(nl_packet *pkt, const uint8_t *b, uint32_t caplen,
                     uint32_t off, uint16_t etype, int verify_csum, int depth);
/* Transport (decode_l4.c): `end` is where the IP payload ends within the
 * capture (<= caplen), `wire_len` what the IP header claims. */
void decode_l4(nl_packet *pkt, const uint8_t *b, uint32_t caplen, uint32_t off,
               uint32_t end, uint32_t wire_len, int verify_csum, int depth);
/* Internet checksum helpers (decode_csum.c). */
uint32_t decode_csum_add(uint32_t sum, const uint8_t *p, uint32_t n);
uint16_t decode_csum_fold(uint32_t sum);

#define DECODE_MAX_DEPTH 4  /* tunnels within tunnels: bound the recursion */

#endif
