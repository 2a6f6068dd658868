/* source_blocks.h - the pcapng blocks libpcap reads but does not expose:
 * the leading blocks of the first section (the Section Header Block, where
 * natlens-capture keeps the host context, and any block before the first
 * packet) and the Interface Statistics Blocks (drop counters).
 *
 * Two ways in, one result: a stream is watched as libpcap reads it
 * (source_blocks_feed() as the source_stream observer: standard input,
 * FIFOs, compressed files; nothing is read twice), a regular file is read
 * by offset (source_blocks_read_fd(): the leading blocks from the start,
 * the statistics walking back from the end, where writers put them).
 * Only block headers are trusted after they are checked (length >= 12,
 * a multiple of 4, inside the file); framing that does not hold stops the
 * watch, and libpcap reports the damage.
 *
 * Bounds: the leading blocks are kept up to NL_BLOCKS_LEAD_MAX bytes and
 * 4096 blocks; statistics blocks up to 64 KiB each, for at most 256
 * interfaces; the walk from the end visits at most 256 blocks.
 */
#ifndef NATLENS_SOURCE_BLOCKS_H
#define NATLENS_SOURCE_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#define NL_BLOCKS_LEAD_MAX ((16u << 20) + (1u << 20))

/* Counters of the last statistics block of every interface, summed over
 * the interfaces that gave each one (has_* says whether any did). */
typedef struct nl_capture_stats {
    uint32_t interfaces;    /* interfaces with a statistics block; 0: none */
    int      has_ifrecv, has_ifdrop, has_osdrop, has_usrdeliv;
    uint64_t ifrecv;        /* packets the interface received */
    uint64_t ifdrop;        /* dropped by the interface (NIC, driver) */
    uint64_t osdrop;        /* dropped by the OS (kernel buffer full) */
    uint64_t usrdeliv;      /* delivered to the capturing program */
} nl_capture_stats;

typedef struct nl_blocks nl_blocks;

nl_blocks *source_blocks_new(void);
void source_blocks_free(nl_blocks *b);

/* Observer for source_stream_observe(): ctx is the nl_blocks. Sees the
 * content from its first byte; content that is not pcapng is ignored. */
void source_blocks_feed(void *ctx, const uint8_t *p, size_t n);

/* Read a regular pcapng file of `size` bytes through fd by offset
 * (pread: the file position is not moved). Not pcapng: nothing kept. */
void source_blocks_read_fd(nl_blocks *b, int fd, uint64_t size);

/* The leading blocks of the first section, from byte 0 up to (not
 * including) the first packet block or the next section; NULL when the
 * content is not pcapng. Owned by b. */
const uint8_t *source_blocks_lead(const nl_blocks *b, size_t *n);

/* 1 with *off set when a block's framing did not hold (a length under 12,
 * not a multiple of 4, or past the end of a file), else 0. */
int source_blocks_damage(const nl_blocks *b, uint64_t *off);

/* The statistics found (interfaces = 0 when none). */
void source_blocks_stats(const nl_blocks *b, nl_capture_stats *st);

#endif
