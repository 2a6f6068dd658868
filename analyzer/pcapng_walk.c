/* pcapng_walk.c - blocks between the packets libpcap returns (see
 * pcapng_walk.h).
 *
 * pcapng (draft-ietf-opsawg-pcapng): every block is
 *     u32 type | u32 total length | body | u32 total length
 * in its section's byte order (the Section Header Block's byte-order magic
 * 0x1A2B3C4D tells it; the SHB's type 0x0A0D0D0A reads the same both
 * ways). Packet blocks: Enhanced (6, 32 bytes + data padded to 32 bits +
 * options), Simple (3, 16 bytes + data), obsolete Packet Block (2).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pcapng_bytes.h"
#include "pcapng_walk.h"

#define PW_SHB      0x0A0D0D0Au
#define PW_BOM      0x1A2B3C4Du
#define PW_CB_COPY  0x00000BADu
#define PW_CB_NOCOPY 0x40000BADu
#define PW_JOURNAL  0x00000009u
#define PW_PAD4(n)  (((uint64_t)(n) + 3u) & ~(uint64_t)3u)

struct pcapng_walk {
    int      fd;
    uint64_t size;
    int      swap;             /* the current section's order differs from ours */
    pcapng_custom_fn fn;
    void    *ctx;
    uint8_t *buf;              /* PCAPNG_WALK_CUSTOM_MAX */
};

int pcapng_pread_full(int fd, void *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* The byte order of the SHB at off: 0 ours, 1 swapped, -1 not an SHB. */
static int pw_shb_order(int fd, uint64_t off)
{
    uint8_t h[12];
    if (pcapng_pread_full(fd, h, 12, off) != 0 || pcapng_u32(h, 0) != PW_SHB)
        return -1;
    if (pcapng_u32(h + 8, 0) == PW_BOM)
        return 0;
    return pcapng_u32(h + 8, 1) == PW_BOM ? 1 : -1;
}

pcapng_walk *pcapng_walk_new(int fd, uint64_t size)
{
    pcapng_walk *w;
    int order = pw_shb_order(fd, 0);
    if (order < 0 || !(w = calloc(1, sizeof *w)))
        return NULL;
    if (!(w->buf = malloc(PCAPNG_WALK_CUSTOM_MAX))) {
        free(w);
        return NULL;
    }
    w->fd = fd;
    w->size = size;
    w->swap = order;
    return w;
}

void pcapng_walk_free(pcapng_walk *w)
{
    if (!w)
        return;
    free(w->buf);
    free(w);
}

void pcapng_walk_on_custom(pcapng_walk *w, pcapng_custom_fn fn, void *ctx)
{
    w->fn = fn;
    w->ctx = ctx;
}

static int pw_is_packet(uint32_t type)
{
    return type == 6 || type == 3 || type == 2;
}

/* A custom block of blen bytes at off: read it whole (when small enough)
 * and hand it out. */
static void pw_custom(pcapng_walk *w, uint32_t type, uint32_t blen, uint64_t off, uint64_t frame)
{
    if (!w->fn)
        return;
    if (blen > PCAPNG_WALK_CUSTOM_MAX || pcapng_pread_full(w->fd, w->buf, blen, off) != 0) {
        w->fn(w->ctx, type, NULL, 0, w->swap, off, frame);
        return;
    }
    w->fn(w->ctx, type, w->buf + 8, blen - 12, w->swap, off, frame);
}

/* Walk [from, to): every block's framing checked. Stops at a packet block
 * (its offset in *pkt_off) or at a block whose framing does not hold (its
 * offset in *bad_off). Returns the frames counted. */
static uint64_t pw_walk(pcapng_walk *w, uint64_t from, uint64_t to, uint64_t frame,
                        uint64_t *pkt_off, uint64_t *bad_off)
{
    uint64_t off = from, n = 0;
    *pkt_off = *bad_off = UINT64_MAX;
    while (off + 12 <= to) {
        uint8_t h[12], tr[4];
        uint32_t type, blen;
        if (pcapng_pread_full(w->fd, h, 12, off) != 0)
            break;
        if (pcapng_u32(h, 0) == PW_SHB) {
            int order = pw_shb_order(w->fd, off);
            if (order < 0) {
                *bad_off = off;
                break;
            }
            w->swap = order;
        }
        type = pcapng_u32(h, w->swap);
        blen = pcapng_u32(h + 4, w->swap);
        if (blen < 12 || (blen & 3) || blen > to - off ||
            pcapng_pread_full(w->fd, tr, 4, off + blen - 4) != 0 || pcapng_u32(tr, w->swap) != blen) {
            *bad_off = off;
            break;
        }
        if (pw_is_packet(type)) {
            *pkt_off = off;
            break;
        }
        if (type == PW_CB_COPY || type == PW_CB_NOCOPY) {
            n++;
            pw_custom(w, type, blen, off, frame + n);
        } else if (type == PW_JOURNAL) {
            n++;
        }
        off += blen;
    }
    /* fewer than 12 bytes left: a block cut in its header */
    if (off < to && off + 12 > to && *pkt_off == UINT64_MAX && *bad_off == UINT64_MAX)
        *bad_off = off;
    return n;
}

uint64_t pcapng_walk_packet(pcapng_walk *w, uint64_t from, uint64_t to, uint32_t caplen,
                            uint64_t frame)
{
    uint64_t pkt, bad;
    if (!w || to <= from || to > w->size)
        return 0;
    /* one Enhanced (32 + data) or Simple (16 + data) Packet Block without
     * options and nothing before it: the common case, no reads at all */
    if (to - from == 32 + PW_PAD4(caplen) || to - from == 16 + PW_PAD4(caplen))
        return 0;
    return pw_walk(w, from, to, frame, &pkt, &bad);
}

int pcapng_walk_tail(pcapng_walk *w, uint64_t from, uint64_t frame, uint64_t *bad_off)
{
    uint64_t pkt, bad;
    if (!w || from >= w->size)
        return 0;
    pw_walk(w, from, w->size, frame, &pkt, &bad);
    if (bad == UINT64_MAX)
        return 0;
    *bad_off = bad;
    return 1;
}
