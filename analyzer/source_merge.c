/* source_merge.c - one capture point from several files: a k-way merge of
 * the files' packet streams by timestamp, as mergecap does (equal times:
 * the file given last goes first, as mergecap's is_earlier() decides, so
 * a point reads exactly as its mergecap'd file would).
 *
 * Each file stays an nl_source of its own (libpcap, or wiretap), read once,
 * in order; nothing is copied but the one packet each file has ready
 * (its nl_packet; the bytes stay in that file's reader buffer, which is
 * valid until that file is read again, and a file is read again only on
 * the call after its packet was handed out). Memory: one packet header per
 * file, k <= NL_POINT_MAX_FILES, so the smallest of k heads is a linear
 * scan of at most 16: cheaper than a heap at this size.
 *
 * A packet says which file it came from: its frame number carries the
 * file (frame_ref.h) and, when the file names no interface of its own,
 * its ifindex is the file's interface id (NL_POINT_IFX_BASE + file).
 * A file that is damaged stops; the others are read to their end, and
 * the point ends with the damage warning (naming that file). A pcapng file
 * libpcap cannot read past an interface of another link type is taken
 * over by wiretap at the frame where libpcap stopped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/frame_ref.h"
#include "source_merge.h"

typedef struct merge_custom {
    nl_source_custom_fn fn;
    void *ctx;
    unsigned file;
} merge_custom;

typedef struct merge_file {
    nl_source *src;
    char *path;
    nl_packet pkt;             /* its next packet, when state == 1 */
    const uint8_t *bytes;
    int state;                 /* 1 packet ready, 0 ended, -1 damaged, 2 not read yet */
    merge_custom cb;
} merge_file;

struct nl_merge {
    merge_file f[NL_POINT_MAX_FILES];
    size_t n;
    int last;                  /* the file whose packet was handed out last */
    int verify;
    char *bpf;
    char warning[1024];
    int damaged;
    uint64_t damage_off;
};

nl_merge *source_merge_new(nl_source **members, const char *const *paths, size_t n,
                           const char *bpf, char *errbuf)
{
    nl_merge *m = n <= NL_POINT_MAX_FILES ? calloc(1, sizeof *m) : NULL;
    if (!m) {
        snprintf(errbuf, 512, n > NL_POINT_MAX_FILES ? "a capture point holds at most %d files"
                                                     : "out of memory", NL_POINT_MAX_FILES);
        for (size_t i = 0; i < n; i++)
            source_close(members[i]);
        return NULL;
    }
    m->n = n;
    m->last = -1;
    for (size_t i = 0; i < n; i++) {
        m->f[i].src = members[i];
        m->f[i].state = 2;
        m->f[i].path = strdup(paths[i]);
    }
    m->bpf = bpf && *bpf ? strdup(bpf) : NULL;
    for (size_t i = 0; i < n; i++)
        if (!m->f[i].path || (bpf && *bpf && !m->bpf)) {
            snprintf(errbuf, 512, "out of memory");
            source_merge_free(m);
            return NULL;
        }
    return m;
}

static void merge_custom_block(void *ctx, uint32_t type, const uint8_t *data, size_t n, int swap,
                               uint64_t off, uint64_t frame)
{
    merge_custom *c = ctx;
    c->fn(c->ctx, type, data, n, swap, off, frame_ref_make(c->file, frame));
}

void source_merge_on_custom(nl_merge *m, nl_source_custom_fn fn, void *ctx)
{
    for (size_t i = 0; i < m->n; i++) {
        m->f[i].cb.fn = fn;
        m->f[i].cb.ctx = ctx;
        m->f[i].cb.file = (unsigned)i;
        if (fn)
            source_on_custom_block(m->f[i].src, merge_custom_block, &m->f[i].cb);
    }
}

/* libpcap stopped at an interface of another link type: wiretap reads the
 * same file from its start; the frames already handed out (up to local
 * frame `done`) are skipped by number (both count every record). Returns
 * wiretap's source_next() status, or -2 when wiretap cannot open it. */
static int merge_take_over(nl_merge *m, merge_file *mf, uint64_t done)
{
    char err[512];
    nl_source *w = source_open_wiretap(mf->path, m->bpf, err);
    int rc;
    if (!w)
        return -2;
    source_set_verify_checksums(w, m->verify);
    while ((rc = source_next(w, &mf->pkt, &mf->bytes)) == 1 && mf->pkt.frame <= done)
        ;
    source_close(mf->src);
    mf->src = w;
    return rc;
}

/* Read file i's next packet into its slot. */
static void merge_advance(nl_merge *m, size_t i)
{
    merge_file *mf = &m->f[i];
    uint64_t done = mf->state == 1 ? frame_ref_local(mf->pkt.frame) : 0;
    int rc = source_next(mf->src, &mf->pkt, &mf->bytes);
    if (rc < 0 && source_mixed_stop(mf->src)) {
        int t = merge_take_over(m, mf, done);
        if (t != -2)
            rc = t;
    }
    if (rc < 0 && !m->damaged) {
        const char *w = source_warning(mf->src);
        m->damaged = 1;
        m->damage_off = source_damage_offset(mf->src);
        snprintf(m->warning, sizeof m->warning, "%s",
                 w ? w : "a file of the capture point stopped early");
    }
    mf->state = rc == 1 ? 1 : rc < 0 ? -1 : 0;
    if (rc != 1)
        return;
    mf->pkt.frame = frame_ref_make((unsigned)i, mf->pkt.frame);
    if (!(mf->pkt.flags & NL_PKT_HAS_IFINDEX)) {
        mf->pkt.ifindex = NL_POINT_IFX_BASE + (int32_t)i;
        mf->pkt.flags |= NL_PKT_HAS_IFINDEX;
    }
}

int source_merge_next(nl_merge *m, nl_packet *pkt, const uint8_t **bytes)
{
    int best = -1;
    if (m->last >= 0)
        merge_advance(m, (size_t)m->last);   /* its bytes were the caller's until now */
    m->last = -1;
    for (size_t i = 0; i < m->n; i++) {
        if (m->f[i].state == 2)
            merge_advance(m, i);
        if (m->f[i].state == 1 &&
            (best < 0 || m->f[i].pkt.ts_ns <= m->f[best].pkt.ts_ns))
            best = (int)i;
    }
    if (best < 0)
        return m->damaged ? -1 : 0;
    *pkt = m->f[best].pkt;
    *bytes = m->f[best].bytes;
    m->last = best;
    return 1;
}

void source_merge_set_verify(nl_merge *m, int on)
{
    m->verify = on;
    for (size_t i = 0; i < m->n; i++)
        source_set_verify_checksums(m->f[i].src, on);
}

const nl_source *source_merge_first(const nl_merge *m) { return m->f[0].src; }
const char *source_merge_warning(const nl_merge *m) { return m->damaged ? m->warning : NULL; }
uint64_t source_merge_damage_offset(const nl_merge *m) { return m->damage_off; }

int64_t source_merge_offset(const nl_merge *m)
{
    int64_t sum = 0;
    for (size_t i = 0; i < m->n; i++) {
        int64_t o = source_offset(m->f[i].src);
        sum += o > 0 ? o : 0;
    }
    return sum;
}

int64_t source_merge_size(const nl_merge *m)
{
    int64_t sum = 0;
    for (size_t i = 0; i < m->n; i++) {
        int64_t s = source_size(m->f[i].src);
        if (s < 0)
            return -1;
        sum += s;
    }
    return sum;
}

void source_merge_free(nl_merge *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        source_close(m->f[i].src);
        free(m->f[i].path);
    }
    free(m->bpf);
    free(m);
}
