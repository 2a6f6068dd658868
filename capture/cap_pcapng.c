/* cap_pcapng.c - pcapng block writer (draft-ietf-opsawg-pcapng), host byte
 * order as the format allows. See cap_pcapng.h for the failure contract. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cap_pcapng.h"

#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 0x00000001u
#define BT_ISB 0x00000005u
#define BT_EPB 0x00000006u
#define PAD4(n) (((n) + 3u) & ~(size_t)3u)
#define OPT_MAX 65535u
#define CAP_PCAPNG_CHUNK 65000u

/* Make room for `n` more bytes; blocks are never split across writes. */
static int pn_reserve(cap_pcapng *w, size_t n)
{
    size_t nc;
    uint8_t *nb;
    if (w->err)
        return -1;
    if (w->len + n <= w->cap)
        return 0;
    nc = w->cap ? w->cap : 65536;
    while (nc < w->len + n)
        nc *= 2;
    nb = realloc(w->buf, nc);
    if (!nb) {
        w->err = ENOMEM;
        return -1;
    }
    w->buf = nb;
    w->cap = nc;
    return 0;
}

static void pn_u16(cap_pcapng *w, uint16_t v)
{
    memcpy(w->buf + w->len, &v, 2);
    w->len += 2;
}

static void pn_u32(cap_pcapng *w, uint32_t v)
{
    memcpy(w->buf + w->len, &v, 4);
    w->len += 4;
}

static void pn_bytes(cap_pcapng *w, const void *p, size_t n)
{
    size_t pad = PAD4(n) - n;
    if (n)
        memcpy(w->buf + w->len, p, n);
    w->len += n;
    memset(w->buf + w->len, 0, pad);
    w->len += pad;
}

/* Option (code, length, value padded). Caller reserved the space. */
static void pn_opt(cap_pcapng *w, uint16_t code, const void *v, size_t n)
{
    pn_u16(w, code);
    pn_u16(w, (uint16_t)n);
    pn_bytes(w, v, n);
}

static size_t pn_optsize(const char *s)
{
    return s && *s && strlen(s) <= OPT_MAX ? 4 + PAD4(strlen(s)) : 0;
}

static void pn_optstr(cap_pcapng *w, uint16_t code, const char *s)
{
    if (pn_optsize(s))
        pn_opt(w, code, s, strlen(s));
}

/* Close a block started at `start`: trailing length, header length. */
static void pn_end(cap_pcapng *w, size_t start)
{
    uint32_t blen = (uint32_t)(w->len - start + 4);
    pn_u32(w, blen);
    memcpy(w->buf + start + 4, &blen, 4);
}

int cap_pcapng_open(cap_pcapng *w, const char *path)
{
    memset(w, 0, sizeof *w);
    if (strcmp(path, "-") == 0) {
        w->fd = STDOUT_FILENO;
        w->is_stdout = 1;
    } else {
        w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (w->fd < 0)
            return -1;
    }
    w->path = strdup(path);
    if (!w->path) {
        if (!w->is_stdout)
            close(w->fd);
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

int cap_pcapng_shb(cap_pcapng *w, const char *comment, const char *hardware,
                   const char *os, const char *app, uint32_t pen, const char *tag,
                   size_t taglen, const void *meta, size_t metalen)
{
    size_t start, nchunks = metalen ? (metalen + CAP_PCAPNG_CHUNK - 1) / CAP_PCAPNG_CHUNK : 0;
    size_t need = 28 + 4 + pn_optsize(comment) + pn_optsize(hardware) +
                  pn_optsize(os) + pn_optsize(app) +
                  nchunks * (4 + 4 + taglen + 8 + 4) + PAD4(metalen);
    uint64_t seclen = UINT64_MAX;   /* -1: not specified */
    if (metalen > UINT32_MAX / 2 || taglen > 64) {
        w->err = EFBIG;
        return -1;
    }
    if (pn_reserve(w, need) != 0)
        return -1;
    start = w->len;
    pn_u32(w, BT_SHB);
    pn_u32(w, 0);
    pn_u32(w, 0x1A2B3C4Du);
    pn_u16(w, 1);
    pn_u16(w, 0);
    memcpy(w->buf + w->len, &seclen, 8);
    w->len += 8;
    pn_optstr(w, 1, comment);
    pn_optstr(w, 2, hardware);
    pn_optstr(w, 3, os);
    pn_optstr(w, 4, app);
    /* Custom binary options (2989, copyable): PEN | tag | u32 total |
     * u32 offset | chunk. An option holds at most 64 KiB, so a large
     * document is split; readers join the chunks in order. */
    for (size_t off = 0; off < metalen; off += CAP_PCAPNG_CHUNK) {
        size_t n = metalen - off < CAP_PCAPNG_CHUNK ? metalen - off : CAP_PCAPNG_CHUNK;
        size_t vlen = 4 + taglen + 8 + n;
        pn_u16(w, 2989);
        pn_u16(w, (uint16_t)vlen);
        pn_u32(w, pen);
        memcpy(w->buf + w->len, tag, taglen);
        w->len += taglen;
        pn_u32(w, (uint32_t)metalen);
        pn_u32(w, (uint32_t)off);
        memcpy(w->buf + w->len, (const uint8_t *)meta + off, n);
        w->len += n;
        memset(w->buf + w->len, 0, PAD4(vlen) - vlen);
        w->len += PAD4(vlen) - vlen;
    }
    pn_u32(w, 0);          /* opt_endofopt */
    pn_end(w, start);
    return 0;
}

int cap_pcapng_idb(cap_pcapng *w, int linktype, uint32_t snaplen,
                   const char *ifname, const char *filter, const char *os)
{
    size_t flen = filter && *filter && strlen(filter) < OPT_MAX ? strlen(filter) : 0;
    size_t start, need = 20 + pn_optsize(ifname) + 8 + (flen ? 4 + PAD4(flen + 1) : 0) +
                         pn_optsize(os) + 4 + 4;
    uint8_t tsresol = 9;
    if (pn_reserve(w, need) != 0)
        return -1;
    start = w->len;
    pn_u32(w, BT_IDB);
    pn_u32(w, 0);
    pn_u16(w, (uint16_t)linktype);
    pn_u16(w, 0);
    pn_u32(w, snaplen);
    pn_optstr(w, 2, ifname);                  /* if_name */
    pn_opt(w, 9, &tsresol, 1);                /* if_tsresol: 10^-9 s */
    if (flen) {                               /* if_filter: 0 = libpcap string */
        pn_u16(w, 11);
        pn_u16(w, (uint16_t)(flen + 1));
        w->buf[w->len++] = 0;
        memcpy(w->buf + w->len, filter, flen);
        w->len += flen;
        memset(w->buf + w->len, 0, PAD4(flen + 1) - (flen + 1));
        w->len += PAD4(flen + 1) - (flen + 1);
    }
    pn_optstr(w, 12, os);                     /* if_os */
    pn_u32(w, 0);
    pn_end(w, start);
    return 0;
}

int cap_pcapng_epb(cap_pcapng *w, uint32_t ifid, uint64_t ts_ns,
                   uint32_t caplen, uint32_t wirelen, const uint8_t *data)
{
    size_t start;
    if (pn_reserve(w, 32 + PAD4((size_t)caplen)) != 0)
        return -1;
    start = w->len;
    pn_u32(w, BT_EPB);
    pn_u32(w, 0);
    pn_u32(w, ifid);
    pn_u32(w, (uint32_t)(ts_ns >> 32));
    pn_u32(w, (uint32_t)ts_ns);
    pn_u32(w, caplen);
    pn_u32(w, wirelen);
    pn_bytes(w, data, caplen);
    pn_end(w, start);
    w->pending_packets++;
    return 0;
}

int cap_pcapng_custom(cap_pcapng *w, uint32_t type, const void *data, size_t len)
{
    size_t start;
    if (len < 4 || len > 65536)   /* a caller's mistake: the file stays usable */
        return -1;
    if (pn_reserve(w, 12 + PAD4(len)) != 0)
        return -1;
    start = w->len;
    pn_u32(w, type);
    pn_u32(w, 0);
    pn_bytes(w, data, len);
    pn_end(w, start);
    return 0;
}

static void pn_opt_u64(cap_pcapng *w, uint16_t code, uint64_t v)
{
    pn_u16(w, code);
    pn_u16(w, 8);
    memcpy(w->buf + w->len, &v, 8);
    w->len += 8;
}

static void pn_opt_ts(cap_pcapng *w, uint16_t code, uint64_t ts)
{
    pn_u16(w, code);
    pn_u16(w, 8);
    pn_u32(w, (uint32_t)(ts >> 32));
    pn_u32(w, (uint32_t)ts);
}

int cap_pcapng_isb(cap_pcapng *w, uint32_t ifid, const cap_pcapng_stats *st)
{
    size_t start;
    if (pn_reserve(w, 24 + 6 * 12 + 4 + 4) != 0)
        return -1;
    start = w->len;
    pn_u32(w, BT_ISB);
    pn_u32(w, 0);
    pn_u32(w, ifid);
    pn_u32(w, (uint32_t)(st->now_ns >> 32));
    pn_u32(w, (uint32_t)st->now_ns);
    pn_opt_ts(w, 2, st->start_ns);        /* isb_starttime */
    pn_opt_ts(w, 3, st->end_ns);          /* isb_endtime */
    pn_opt_u64(w, 4, st->ifrecv);         /* isb_ifrecv */
    pn_opt_u64(w, 5, st->ifdrop);         /* isb_ifdrop */
    pn_opt_u64(w, 7, st->osdrop);         /* isb_osdrop */
    pn_opt_u64(w, 8, st->usrdeliv);       /* isb_usrdeliv */
    pn_u32(w, 0);
    pn_end(w, start);
    return 0;
}

int cap_pcapng_flush(cap_pcapng *w)
{
    size_t off = 0;
    if (w->err)
        return -1;
    while (off < w->len) {
        ssize_t r = write(w->fd, w->buf + off, w->len - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            w->err = r < 0 ? errno : ENOSPC;
            /* Cut the half-written blocks: the file stays valid. */
            if (!w->is_stdout && ftruncate(w->fd, (off_t)w->committed) == 0)
                lseek(w->fd, (off_t)w->committed, SEEK_SET);
            w->len = 0;
            w->pending_packets = 0;
            errno = w->err;
            return -1;
        }
        off += (size_t)r;
    }
    w->committed += w->len;
    w->packets += w->pending_packets;
    w->pending_packets = 0;
    w->len = 0;
    return 0;
}

int cap_pcapng_close(cap_pcapng *w)
{
    int r = cap_pcapng_flush(w);
    if (!w->is_stdout) {
        if (r == 0 && fsync(w->fd) != 0 && errno != EINVAL && errno != EROFS) {
            w->err = errno;
            r = -1;
        }
        if (close(w->fd) != 0 && r == 0) {
            w->err = errno;
            r = -1;
        }
    }
    free(w->buf);
    free(w->path);
    w->buf = NULL;
    w->path = NULL;
    w->fd = -1;
    return r;
}

int cap_pcapng_release(cap_pcapng *w, int *fd)
{
    int r = cap_pcapng_flush(w);
    *fd = w->is_stdout ? -1 : w->fd;
    free(w->buf);
    free(w->path);
    w->buf = NULL;
    w->path = NULL;
    w->fd = -1;
    return r;
}

int cap_pcapng_recover(cap_pcapng *w)
{
    if (w->fd < 0 || w->is_stdout || !w->err)
        return w->err ? -1 : 0;
    w->err = 0;
    w->len = 0;
    w->pending_packets = 0;
    return 0;
}
