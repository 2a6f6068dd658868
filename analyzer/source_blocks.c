/* source_blocks.c - leading blocks and interface statistics of a pcapng
 * stream or file (see source_blocks.h).
 *
 * pcapng (draft-ietf-opsawg-pcapng): every block is
 *     u32 type | u32 total length | body | u32 total length
 * in the byte order of its section, which the Section Header Block's
 * byte-order magic 0x1A2B3C4D gives. An Interface Statistics Block (type 5)
 * body is u32 interface id | u32 ts high | u32 ts low | options, options
 * being u16 code | u16 length | value padded to 4 bytes; the counters are
 * u64: isb_ifrecv (4), isb_ifdrop (5), isb_osdrop (7), isb_usrdeliv (8).
 * Packets are never looked at here: libpcap reads them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "natlens/source_blocks.h"
#include "pcapng_bytes.h"

#define BK_SHB        0x0A0D0D0Au
#define BK_BOM        0x1A2B3C4Du
#define BK_ISB        5u
#define BK_ISB_MAX    65536u
#define BK_MAX_IF     256
#define BK_MAX_LEAD_BLOCKS 4096
#define BK_MAX_BACK   256

typedef struct bk_if {
    uint32_t section, id;
    int      has[4];           /* ifrecv, ifdrop, osdrop, usrdeliv */
    uint64_t v[4];
} bk_if;

struct nl_blocks {
    int      pcapng;           /* 1 pcapng, 0 unknown yet, -1 not / lost */
    int      swap;
    uint32_t section;          /* sections seen */
    /* the block being watched */
    uint8_t  hdr[12];
    size_t   hdr_len;
    uint32_t type, len;
    uint64_t left;             /* bytes of the block after its header */
    /* leading blocks */
    uint8_t *lead;
    size_t   lead_len, lead_cap;
    unsigned lead_blocks;
    int      lead_done;
    /* statistics block being collected */
    uint8_t *isb;
    size_t   isb_len;
    int      isb_on;
    bk_if    ifs[BK_MAX_IF];
    size_t   nifs;
    uint64_t pos;              /* offset of the block being watched */
    int      damaged;
    uint64_t damage_off;
};

nl_blocks *source_blocks_new(void)
{
    return calloc(1, sizeof(nl_blocks));
}

void source_blocks_free(nl_blocks *b)
{
    if (!b)
        return;
    free(b->lead);
    free(b->isb);
    free(b);
}

static int bk_is_packet(uint32_t type)
{
    return type == 6 || type == 3 || type == 2;   /* EPB, SPB, obsolete PB */
}

/* Append to the leading blocks; past the bound they end there. */
static void bk_lead_add(nl_blocks *b, const uint8_t *p, size_t n)
{
    if (b->lead_done || n == 0)
        return;
    if (b->lead_len + n > NL_BLOCKS_LEAD_MAX) {
        b->lead_done = 1;
        return;
    }
    if (b->lead_len + n > b->lead_cap) {
        size_t nc = b->lead_cap ? b->lead_cap : 65536;
        uint8_t *np;
        while (nc < b->lead_len + n)
            nc *= 2;
        if (!(np = realloc(b->lead, nc))) {
            b->lead_done = 1;
            return;
        }
        b->lead = np;
        b->lead_cap = nc;
    }
    memcpy(b->lead + b->lead_len, p, n);
    b->lead_len += n;
}

/* One complete ISB (header included, len bytes) of the current section. */
static void bk_isb_parse(nl_blocks *b, const uint8_t *blk, uint32_t len)
{
    static const uint16_t codes[4] = {4, 5, 7, 8};
    uint32_t id, off = 20, end = len - 4;
    bk_if *e = NULL;
    if (len < 24)
        return;
    id = pcapng_u32(blk + 8, b->swap);
    for (size_t i = 0; i < b->nifs; i++)
        if (b->ifs[i].section == b->section && b->ifs[i].id == id)
            e = &b->ifs[i];
    if (!e) {
        if (b->nifs == BK_MAX_IF)
            return;
        e = &b->ifs[b->nifs++];
        memset(e, 0, sizeof *e);
        e->section = b->section;
        e->id = id;
    }
    /* the last block of an interface holds its final counts */
    memset(e->has, 0, sizeof e->has);
    while (off + 4 <= end) {
        uint16_t code = pcapng_u16(blk + off, b->swap), olen = pcapng_u16(blk + off + 2, b->swap);
        if (code == 0 || off + 4 + (uint32_t)olen > end)
            break;
        for (int k = 0; k < 4; k++)
            if (code == codes[k] && olen == 8) {
                e->has[k] = 1;
                e->v[k] = pcapng_u64(blk + off + 4, b->swap);
            }
        off += 4 + (((uint32_t)olen + 3) & ~3u);
    }
}

/* A block header is complete in b->hdr: check it, decide what to keep.
 * Returns 0, or -1 when the framing does not hold (the watch stops). */
static int bk_header(nl_blocks *b)
{
    uint32_t raw = pcapng_u32(b->hdr, 0);
    if (raw == BK_SHB) {
        uint32_t bom = pcapng_u32(b->hdr + 8, 0);
        if (bom == BK_BOM)
            b->swap = 0;
        else if (__builtin_bswap32(bom) == BK_BOM)
            b->swap = 1;
        else
            return -1;
        b->pcapng = 1;
        b->section++;
    } else if (b->pcapng != 1) {
        return -1;
    }
    b->type = pcapng_u32(b->hdr, b->swap);
    b->len = pcapng_u32(b->hdr + 4, b->swap);
    if (b->len < 12 || (b->len & 3))
        return -1;
    b->left = b->len - 12;
    if (bk_is_packet(b->type) || (raw == BK_SHB && b->section > 1) ||
        ++b->lead_blocks > BK_MAX_LEAD_BLOCKS)
        b->lead_done = 1;
    bk_lead_add(b, b->hdr, 12);
    b->isb_on = b->type == BK_ISB && b->len <= BK_ISB_MAX;
    if (b->isb_on) {
        if (!b->isb && !(b->isb = malloc(BK_ISB_MAX)))
            b->isb_on = 0;
        else {
            memcpy(b->isb, b->hdr, 12);
            b->isb_len = 12;
        }
    }
    return 0;
}

void source_blocks_feed(void *ctx, const uint8_t *p, size_t n)
{
    nl_blocks *b = ctx;
    while (n > 0 && b->pcapng >= 0) {
        size_t m;
        if (b->hdr_len < 12) {
            m = 12 - b->hdr_len < n ? 12 - b->hdr_len : n;
            memcpy(b->hdr + b->hdr_len, p, m);
            b->hdr_len += m;
            p += m;
            n -= m;
            if (b->hdr_len == 12 && bk_header(b) < 0) {
                if (b->pcapng == 1) {
                    b->damaged = 1;
                    b->damage_off = b->pos;
                }
                b->pcapng = -1;
                b->lead_done = 1;
            }
            continue;
        }
        m = b->left < n ? (size_t)b->left : n;
        bk_lead_add(b, p, m);
        if (b->isb_on) {
            memcpy(b->isb + b->isb_len, p, m);
            b->isb_len += m;
        }
        b->left -= m;
        p += m;
        n -= m;
        if (b->left == 0) {
            if (b->isb_on)
                bk_isb_parse(b, b->isb, b->len);
            b->isb_on = 0;
            b->hdr_len = 0;
            b->pos += b->len;
        }
    }
}

/* Walk back from the end: the statistics blocks writers put last. Found
 * last-first, parsed first-first, so an interface's final block wins. */
static void bk_read_tail(nl_blocks *b, int fd, uint64_t size)
{
    uint64_t end = size, at[BK_MAX_BACK];
    uint32_t lens[BK_MAX_BACK];
    int n = 0;
    uint8_t *blk;
    for (int i = 0; i < BK_MAX_BACK && end >= 12; i++) {
        uint8_t t[4], h[8];
        uint32_t len, type;
        if (pcapng_pread_full(fd, t, 4, end - 4) != 0)
            break;
        len = pcapng_u32(t, b->swap);
        if (len < 12 || (len & 3) || len > end || pcapng_pread_full(fd, h, 8, end - len) != 0 ||
            pcapng_u32(h + 4, b->swap) != len)
            break;
        type = pcapng_u32(h, b->swap);
        if (bk_is_packet(type) || type == BK_SHB)
            break;
        end -= len;
        if (type == BK_ISB && len <= BK_ISB_MAX) {
            at[n] = end;
            lens[n++] = len;
        }
    }
    if (n == 0 || !(blk = malloc(BK_ISB_MAX)))
        return;
    while (n-- > 0)
        if (pcapng_pread_full(fd, blk, lens[n], at[n]) == 0)
            bk_isb_parse(b, blk, lens[n]);
    free(blk);
}

void source_blocks_read_fd(nl_blocks *b, int fd, uint64_t size)
{
    uint64_t off = 0;
    uint8_t *buf = NULL;
    size_t cap = 0;
    while (off + 12 <= size && !b->lead_done && b->pcapng >= 0) {
        uint32_t len;
        if (pcapng_pread_full(fd, b->hdr, 12, off) != 0)
            break;
        b->hdr_len = 12;
        if (bk_header(b) < 0) {
            if (b->pcapng == 1) {
                b->damaged = 1;
                b->damage_off = off;
            }
            b->pcapng = -1;
            break;
        }
        len = b->len;
        if (len > size - off || len > NL_BLOCKS_LEAD_MAX) {
            b->damaged = len > size - off;
            b->damage_off = off;
        }
        if (len > size - off || len > NL_BLOCKS_LEAD_MAX || b->lead_done) {
            /* a packet block, the next section, or a length past the
             * end (libpcap reports that): the leading blocks end here */
            if (!b->lead_done)
                b->lead_len -= 12;
            b->lead_done = 1;
            break;
        }
        if (len > cap) {
            uint8_t *nb = realloc(buf, len);
            if (!nb)
                break;
            buf = nb;
            cap = len;
        }
        if (pcapng_pread_full(fd, buf, len, off) != 0)
            break;
        bk_lead_add(b, buf + 12, len - 12);
        if (b->isb_on)
            bk_isb_parse(b, buf, len);
        b->isb_on = 0;
        off += len;
    }
    free(buf);
    b->hdr_len = 0;
    if (b->pcapng == 1)
        bk_read_tail(b, fd, size);
}

const uint8_t *source_blocks_lead(const nl_blocks *b, size_t *n)
{
    *n = b->pcapng == 0 ? 0 : b->lead_len;
    return b->lead_len && b->section >= 1 ? b->lead : NULL;
}

int source_blocks_damage(const nl_blocks *b, uint64_t *off)
{
    if (b->damaged)
        *off = b->damage_off;
    return b->damaged;
}

void source_blocks_stats(const nl_blocks *b, nl_capture_stats *st)
{
    int *has[4] = {&st->has_ifrecv, &st->has_ifdrop, &st->has_osdrop, &st->has_usrdeliv};
    uint64_t *val[4] = {&st->ifrecv, &st->ifdrop, &st->osdrop, &st->usrdeliv};
    memset(st, 0, sizeof *st);
    for (size_t i = 0; i < b->nifs; i++) {
        st->interfaces++;
        for (int k = 0; k < 4; k++)
            if (b->ifs[i].has[k]) {
                *has[k] = 1;
                *val[k] += b->ifs[i].v[k];
            }
    }
}
