/* pcapng_walk.h - the pcapng blocks libpcap reads past without handing
 * them out, found by file offset between the packets it does hand out
 * (private to analyzer/: source.c drives it).
 *
 * libpcap reads a pcapng file block by block and returns only packet
 * blocks. Between two packets it returns, the file may hold other blocks:
 * statistics, name resolution, and pcapng Custom Blocks (natlens-capture
 * --conntrack writes one per conntrack event: ctev.h). The walker is told
 * the byte range libpcap consumed for one packet (from where the previous
 * packet block ended to where this one ends) and looks only at the blocks
 * before the packet block at its end, so the packets are read once, by
 * libpcap, and nothing is read twice. When the range is exactly one packet
 * block without options (what natlens-capture and dumpcap write) nothing
 * is read at all. A regular file only: blocks are read by offset (pread),
 * which leaves libpcap's file position alone.
 *
 * Frame numbers: Wireshark lists every Custom Block (and Systemd Journal
 * Export Block) as a frame of its own, so the walker counts them, and
 * natlens's frame numbers stay Wireshark's.
 *
 * Bounds: every block length is checked (>= 12, a multiple of 4, inside
 * the range, the trailing copy equal) before it is trusted; a custom block
 * is read whole only when it is at most PCAPNG_WALK_CUSTOM_MAX bytes.
 */
#ifndef NATLENS_PCAPNG_WALK_H
#define NATLENS_PCAPNG_WALK_H

#include <stddef.h>
#include <stdint.h>
#include "natlens/source.h"

#define PCAPNG_WALK_CUSTOM_MAX (65536u + 16u)

/* One custom block (type 0x00000BAD or 0x40000BAD): as source.h's
 * nl_source_custom_fn says; n counts the padding, not the trailer. */
typedef nl_source_custom_fn pcapng_custom_fn;

typedef struct pcapng_walk pcapng_walk;

/* A walker over the regular pcapng file open as fd (not owned, must stay
 * open), `size` bytes long. Reads the first Section Header Block's byte
 * order. NULL when out of memory or the file does not start with one. */
pcapng_walk *pcapng_walk_new(int fd, uint64_t size);
void pcapng_walk_free(pcapng_walk *w);

/* Custom blocks go to fn (NULL: only counted). */
void pcapng_walk_on_custom(pcapng_walk *w, pcapng_custom_fn fn, void *ctx);

/* libpcap consumed [from, to) to hand out one packet of caplen captured
 * bytes, whose block ends at `to`. `frame` is the number of the last frame
 * before the range. Returns how many frames (Wireshark's count) the range
 * held before the packet. */
uint64_t pcapng_walk_packet(pcapng_walk *w, uint64_t from, uint64_t to, uint32_t caplen,
                            uint64_t frame);

/* After libpcap's last packet (end of file or damage): the blocks in
 * [from, size) up to the first one whose framing does not hold. Returns 1
 * with *bad_off set to that block's offset when one did not hold, else 0. */
int pcapng_walk_tail(pcapng_walk *w, uint64_t from, uint64_t frame, uint64_t *bad_off);

#endif
