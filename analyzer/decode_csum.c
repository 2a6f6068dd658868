/* decode_csum.c - RFC 1071 Internet checksum, for L4 verification. */
#include "decode_int.h"

uint32_t decode_csum_add(uint32_t sum32, const uint8_t *p, uint32_t n)
{
    uint64_t sum = sum32; /* 64 bits: no overflow for any caplen */
    uint32_t i;
    for (i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)((p[i] << 8) | p[i + 1]);
    if (n & 1)
        sum += (uint32_t)(p[n - 1] << 8);
    /* fold early so the 32-bit sum cannot overflow on jumbo frames */
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint32_t)sum;
}

uint16_t decode_csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}
