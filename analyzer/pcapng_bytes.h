/* pcapng_bytes.h - reading pcapng block fields in the section's byte
 * order, and whole ranges of a regular file by offset (private to
 * analyzer/). One copy for the three readers of blocks libpcap does not
 * hand out: the walker between packets (pcapng_walk.c), the side blocks
 * (source_blocks.c) and the host context (hostmeta.c). */
#ifndef NATLENS_PCAPNG_BYTES_H
#define NATLENS_PCAPNG_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Fields at p (the caller has checked the bytes are there); swap is 1 when
 * the section's byte order is not the host's. */
static inline uint16_t pcapng_u16(const uint8_t *p, int swap)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return swap ? __builtin_bswap16(v) : v;
}

static inline uint32_t pcapng_u32(const uint8_t *p, int swap)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return swap ? __builtin_bswap32(v) : v;
}

static inline uint64_t pcapng_u64(const uint8_t *p, int swap)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return swap ? __builtin_bswap64(v) : v;
}

/* Read exactly n bytes at off of fd (pread: the file position stays,
 * EINTR retried). 0, or -1 on an error or a short file. */
int pcapng_pread_full(int fd, void *buf, size_t n, uint64_t off);

#endif
