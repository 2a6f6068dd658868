/* source_stream.c - one open per input, content peeked and replayed,
 * compressed inputs decompressed on the fly (see source_stream.h).
 *
 * The content reaches its reader (libpcap, a record reader) through a stdio
 * stream made with fopencookie(): libpcap reads a FILE* with
 * pcap_fopen_offline(), so a decompressing stream needs no temporary file
 * and no second open. Only a plain regular file skips this layer.
 *
 * Decoders: zlib (gzip, concatenated members), libzstd (every frame),
 * liblzma (xz, concatenated streams, memory limit), liblz4 (frame format,
 * every frame). A decoder error or a cut inside compressed data ends the
 * content and leaves one warning; what was decoded before stays valid.
 */
#include <errno.h>
#include <fcntl.h>
#include <lz4frame.h>
#include <lzma.h>
#include <nettle/sha2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include "natlens/source_stream.h"

#define ST_INBUF (64u * 1024)
#define ST_IOBUF (1u << 20)   /* stdio buffer of a direct (plain file) input */
#define ST_ERRLEN 512

enum { ST_PLAIN, ST_GZIP, ST_ZSTD, ST_XZ, ST_LZ4 };

struct nl_stream {
    char    *path;
    int      fd;
    int      owns_fd;
    int      regular;
    int      is_stdin;
    int64_t  size;
    int      codec;
    /* raw input not yet consumed: in[in_pos, in_len) */
    uint8_t *in;
    size_t   in_len, in_pos;
    int      in_eof;
    uint64_t raw_off;          /* raw bytes read from fd */
    /* decoders */
    z_stream       z;
    ZSTD_DStream  *zs;
    lzma_stream    xz;
    LZ4F_dctx     *lz;
    int      dec_init;
    int      dec_end;          /* the compressed data ended cleanly */
    int      dec_open;         /* inside a member/frame: EOF here is a cut */
    int      done;             /* no more content */
    /* head: the first content bytes, replayed */
    uint8_t  head[NL_STREAM_HEAD];
    size_t   head_len, head_pos;
    int      head_replay;      /* head bytes are served before the rest */
    uint64_t content_off;      /* content bytes handed out */
    void   (*observe)(void *, const uint8_t *, size_t);
    void    *observe_ctx;
    int      hashing;
    struct sha256_ctx sha;
    char    *iobuf;            /* the direct FILE's buffer: outlives it
                                * (source_close closes the FILE first) */
    FILE    *file;             /* the cookie stream while open */
    int      file_taken;
    char     warning[ST_ERRLEN];
};

static const char *const st_codec_names[] = {NULL, "gzip", "zstd", "xz", "lz4"};

/* ------------------------------------------------------------ raw input */

/* Top up the input buffer; returns bytes added, 0 at EOF, -1 on error. */
static ssize_t st_fill(nl_stream *s)
{
    ssize_t r;
    if (s->in_eof)
        return 0;
    if (s->in_pos > 0 && s->in_pos == s->in_len)
        s->in_pos = s->in_len = 0;
    if (s->in_pos > 0 && s->in_len > s->in_pos && s->in_len == ST_INBUF) {
        memmove(s->in, s->in + s->in_pos, s->in_len - s->in_pos);
        s->in_len -= s->in_pos;
        s->in_pos = 0;
    }
    if (s->in_len == ST_INBUF)
        return 0;
    do
        r = read(s->fd, s->in + s->in_len, ST_INBUF - s->in_len);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        if (!s->warning[0])
            snprintf(s->warning, sizeof s->warning, "%s: read error after %llu bytes: %s",
                     s->path, (unsigned long long)s->raw_off, strerror(errno));
        s->in_eof = 1;
        return -1;
    }
    if (r == 0) {
        s->in_eof = 1;
        return 0;
    }
    if (s->hashing)
        sha256_update(&s->sha, (size_t)r, s->in + s->in_len);
    s->in_len += (size_t)r;
    s->raw_off += (uint64_t)r;
    return r;
}

/* ------------------------------------------------------------ codecs */

static const char *st_codec_sniff(const uint8_t *m, size_t n, int *codec)
{
    static const struct {
        const char *magic;
        size_t len;
        int codec;
        const char *name;
    } sigs[] = {
        {"\x1f\x8b", 2, ST_GZIP, NULL},
        {"\x28\xb5\x2f\xfd", 4, ST_ZSTD, NULL},
        {"\xfd" "7zXZ\0", 6, ST_XZ, NULL},
        {"\x04\x22\x4d\x18", 4, ST_LZ4, NULL},
        {"\x02\x21\x4c\x18", 4, -1, "lz4 (legacy format)"},
        {"BZh", 3, -1, "bzip2"},
        {"7z\xbc\xaf\x27\x1c", 6, -1, "7z"},
        {"PK\x03\x04", 4, -1, "zip"},
        {"\x1f\x9d", 2, -1, "compress (.Z)"},
        {"LZIP", 4, -1, "lzip"},
        {"\x89LZO\0", 5, -1, "lzop"},
        {"Rar!\x1a\x07", 6, -1, "rar"},
    };
    *codec = ST_PLAIN;
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        if (n < sigs[i].len || memcmp(m, sigs[i].magic, sigs[i].len) != 0)
            continue;
        if (sigs[i].codec < 0)
            return sigs[i].name;
        *codec = sigs[i].codec;
        return NULL;
    }
    return NULL;
}

static int st_dec_init(nl_stream *s, char *errbuf)
{
    switch (s->codec) {
    case ST_GZIP:
        memset(&s->z, 0, sizeof s->z);
        if (inflateInit2(&s->z, 15 + 16) != Z_OK)
            goto oom;
        break;
    case ST_ZSTD:
        if (!(s->zs = ZSTD_createDStream()) || ZSTD_isError(ZSTD_initDStream(s->zs)))
            goto oom;
        break;
    case ST_XZ: {
        lzma_stream init = LZMA_STREAM_INIT;
        s->xz = init;
        if (lzma_stream_decoder(&s->xz, NL_STREAM_XZ_MEMLIMIT, LZMA_CONCATENATED) != LZMA_OK)
            goto oom;
        break;
    }
    case ST_LZ4:
        if (LZ4F_isError(LZ4F_createDecompressionContext(&s->lz, LZ4F_VERSION)))
            goto oom;
        break;
    default:
        return 0;
    }
    s->dec_init = 1;
    return 0;
oom:
    snprintf(errbuf, ST_ERRLEN, "%s: out of memory for the %s decoder", s->path,
             st_codec_names[s->codec]);
    return -1;
}

static void st_dec_free(nl_stream *s)
{
    if (!s->dec_init)
        return;
    switch (s->codec) {
    case ST_GZIP: inflateEnd(&s->z); break;
    case ST_ZSTD: ZSTD_freeDStream(s->zs); break;
    case ST_XZ: lzma_end(&s->xz); break;
    case ST_LZ4: LZ4F_freeDecompressionContext(s->lz); break;
    default: break;
    }
    s->dec_init = 0;
}

/* The compressed data is damaged: end the content with a warning. */
static void st_damaged(nl_stream *s, const char *what)
{
    if (!s->warning[0])
        snprintf(s->warning, sizeof s->warning,
                 "%s: %s data damaged near compressed byte offset %llu (content byte %llu): "
                 "%s; analysed what was read before it",
                 s->path, st_codec_names[s->codec],
                 (unsigned long long)(s->raw_off - (s->in_len - s->in_pos)),
                 (unsigned long long)s->content_off, what);
    s->done = 1;
}

static void st_cut(nl_stream *s)
{
    if (!s->warning[0])
        snprintf(s->warning, sizeof s->warning,
                 "%s: cut inside %s data (the file ends at compressed byte %llu, content byte "
                 "%llu); analysed what was read before it",
                 s->path, st_codec_names[s->codec], (unsigned long long)s->raw_off,
                 (unsigned long long)s->content_off);
    s->done = 1;
}

/* One decoder step from in[] into out[0..cap). Returns bytes produced;
 * sets s->dec_end / s->dec_open / s->done. */
static size_t st_dec_step(nl_stream *s, uint8_t *out, size_t cap)
{
    const uint8_t *ip = s->in + s->in_pos;
    size_t avail = s->in_len - s->in_pos, used = 0, made = 0;

    switch (s->codec) {
    case ST_GZIP: {
        int r;
        if (s->dec_end) {
            /* another gzip member follows (concatenated files), or the
             * data is over: what follows a member that is not one is
             * ignored, as gzip -d does */
            if (avail < 2 && !s->in_eof)
                return 0;      /* read more, then decide */
            if (avail < 2 || ip[0] != 0x1f || ip[1] != 0x8b) {
                s->done = 1;
                return 0;
            }
            inflateReset(&s->z);
            s->dec_end = 0;
        }
        s->z.next_in = (Bytef *)(uintptr_t)ip;
        s->z.avail_in = (uInt)avail;
        s->z.next_out = out;
        s->z.avail_out = (uInt)cap;
        r = inflate(&s->z, Z_NO_FLUSH);
        used = avail - s->z.avail_in;
        made = cap - s->z.avail_out;
        s->dec_open = 1;
        if (r == Z_STREAM_END) {
            s->dec_end = 1;
            s->dec_open = 0;
        } else if (r == Z_DATA_ERROR || r == Z_NEED_DICT || r == Z_MEM_ERROR ||
                   r == Z_STREAM_ERROR) {
            s->in_pos += used;
            st_damaged(s, s->z.msg ? s->z.msg : "inflate error");
            return made;
        }
        break;
    }
    case ST_ZSTD: {
        ZSTD_inBuffer zi = {ip, avail, 0};
        ZSTD_outBuffer zo = {out, cap, 0};
        size_t r = ZSTD_decompressStream(s->zs, &zo, &zi);
        used = zi.pos;
        made = zo.pos;
        if (ZSTD_isError(r)) {
            s->in_pos += used;
            st_damaged(s, ZSTD_getErrorName(r));
            return made;
        }
        /* 0: a frame is complete and flushed */
        s->dec_open = r != 0;
        break;
    }
    case ST_XZ: {
        lzma_ret r;
        s->xz.next_in = ip;
        s->xz.avail_in = avail;
        s->xz.next_out = out;
        s->xz.avail_out = cap;
        r = lzma_code(&s->xz, s->in_eof ? LZMA_FINISH : LZMA_RUN);
        used = avail - s->xz.avail_in;
        made = cap - s->xz.avail_out;
        s->dec_open = 1;
        if (r == LZMA_STREAM_END) {
            s->dec_open = 0;
            s->in_pos += used;
            s->done = 1;
            return made;
        }
        if (r == LZMA_MEMLIMIT_ERROR) {
            s->in_pos += used;
            st_damaged(s, "needs more memory than the 256 MiB natlens allows an xz decoder");
            return made;
        }
        if (r == LZMA_BUF_ERROR && s->in_eof) {
            s->in_pos += used;
            st_cut(s);
            return made;
        }
        if (r != LZMA_OK && r != LZMA_BUF_ERROR) {
            s->in_pos += used;
            st_damaged(s, r == LZMA_DATA_ERROR ? "corrupt data" :
                          r == LZMA_FORMAT_ERROR ? "not xz data" :
                          r == LZMA_OPTIONS_ERROR ? "unsupported options" : "decoder error");
            return made;
        }
        break;
    }
    case ST_LZ4: {
        size_t dst = cap, src = avail;
        size_t r = LZ4F_decompress(s->lz, out, &dst, ip, &src, NULL);
        used = src;
        made = dst;
        if (LZ4F_isError(r)) {
            s->in_pos += used;
            st_damaged(s, LZ4F_getErrorName(r));
            return made;
        }
        /* 0: the frame ended; the context takes the next frame as is */
        s->dec_open = r != 0;
        break;
    }
    default:
        break;
    }
    s->in_pos += used;
    return made;
}

/* Decompressed content into out[0..cap): > 0 bytes, or 0 at the end.
 * Every turn of the loop either produces output, consumes input, reads
 * more input or ends the content: it cannot spin. */
static size_t st_dec_read(nl_stream *s, uint8_t *out, size_t cap)
{
    while (!s->done) {
        size_t before, made;
        if (s->in_pos == s->in_len && !s->in_eof) {
            if (st_fill(s) < 0)
                break;
            continue;
        }
        if (s->in_pos == s->in_len) {
            /* no input left: the decoder may still flush output; then the
             * data ended cleanly if it was between members or frames */
            int was_open = s->dec_open;
            made = st_dec_step(s, out, cap);
            if (made)
                return made;
            if (!s->done) {
                if (was_open || (s->codec == ST_XZ))
                    st_cut(s);
                s->done = 1;
            }
            break;
        }
        before = s->in_pos;
        made = st_dec_step(s, out, cap);
        if (made)
            return made;
        if (s->done || s->in_pos != before)
            continue;
        /* no progress: the decoder needs more input than the buffer has */
        if (!s->in_eof) {
            if (st_fill(s) > 0)
                continue;
            if (!s->in_eof) {
                st_damaged(s, "the decoder made no progress");
                break;
            }
            continue;
        }
        if (s->dec_open)
            st_cut(s);
        s->done = 1;
    }
    return 0;
}

/* ------------------------------------------------------------ content */

/* Content bytes into buf: the head first, then the rest. */
static ssize_t st_content_read(nl_stream *s, uint8_t *buf, size_t n)
{
    size_t got = 0;
    if (n == 0)
        return 0;
    if (s->head_replay && s->head_pos < s->head_len) {
        got = s->head_len - s->head_pos < n ? s->head_len - s->head_pos : n;
        memcpy(buf, s->head + s->head_pos, got);
        s->head_pos += got;
    } else if (s->codec != ST_PLAIN) {
        got = st_dec_read(s, buf, n);
    } else if (s->in_pos < s->in_len) {
        got = s->in_len - s->in_pos < n ? s->in_len - s->in_pos : n;
        memcpy(buf, s->in + s->in_pos, got);
        s->in_pos += got;
    } else if (!s->in_eof) {
        ssize_t r;
        do
            r = read(s->fd, buf, n);
        while (r < 0 && errno == EINTR);
        if (r < 0) {
            snprintf(s->warning, sizeof s->warning, "%s: read error after %llu bytes: %s",
                     s->path, (unsigned long long)s->raw_off, strerror(errno));
            s->in_eof = 1;
            return -1;
        }
        if (r == 0)
            s->in_eof = 1;
        if (r > 0 && s->hashing)
            sha256_update(&s->sha, (size_t)r, buf);
        s->raw_off += (uint64_t)r;
        got = (size_t)r;
    }
    if (got && s->observe)
        s->observe(s->observe_ctx, buf, got);
    s->content_off += got;
    return (ssize_t)got;
}

static ssize_t st_cookie_read(void *c, char *buf, size_t n)
{
    return st_content_read(c, (uint8_t *)buf, n);
}

/* Only ftell() is served: the position in the content. */
static int st_cookie_seek(void *c, off64_t *off, int whence)
{
    nl_stream *s = c;
    if (whence == SEEK_CUR && *off == 0) {
        *off = (off64_t)s->content_off;
        return 0;
    }
    errno = ESPIPE;
    return -1;
}

static int st_cookie_close(void *c)
{
    nl_stream *s = c;
    s->file = NULL;
    return 0;
}

/* Fill the head with the first content bytes (at most NL_STREAM_HEAD). */
static void st_peek_head(nl_stream *s)
{
    while (s->head_len < NL_STREAM_HEAD) {
        ssize_t r = st_content_read(s, s->head + s->head_len, NL_STREAM_HEAD - s->head_len);
        if (r <= 0)
            break;
        s->head_len += (size_t)r;
    }
    s->head_replay = 1;
    s->content_off = 0;
}

/* ------------------------------------------------------------ public */

nl_stream *source_stream_open(const char *path, char *errbuf)
{
    struct stat st;
    nl_stream *s = calloc(1, sizeof *s);
    const char *other;
    int is_stdin = strcmp(path, "-") == 0;

    if (!s || !(s->path = strdup(path)) || !(s->in = malloc(ST_INBUF))) {
        snprintf(errbuf, ST_ERRLEN, "%s: out of memory", path);
        goto fail;
    }
    s->size = -1;
    if (is_stdin) {
        s->fd = STDIN_FILENO;
        s->is_stdin = 1;
    } else {
        /* A FIFO is opened as it is meant to be: the open waits for its
         * writer (a non-blocking open would read an immediate EOF when the
         * writer is not there yet). Anything else is opened without
         * blocking (a device, a FIFO that appeared since the stat) and
         * read blocking. */
        struct stat pst;
        int fifo = stat(path, &pst) == 0 && S_ISFIFO(pst.st_mode);
        s->fd = open(path, O_RDONLY | O_CLOEXEC | (fifo ? 0 : O_NONBLOCK));
        if (s->fd < 0) {
            snprintf(errbuf, ST_ERRLEN, "%s: %s", path, strerror(errno));
            goto fail;
        }
        s->owns_fd = 1;
        if (!fifo)
            fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) & ~O_NONBLOCK);
    }
    if (fstat(s->fd, &st) != 0) {
        snprintf(errbuf, ST_ERRLEN, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(errbuf, ST_ERRLEN, "%s: is a directory, not a capture file", path);
        goto fail;
    }
    s->regular = S_ISREG(st.st_mode);
    if (s->regular) {
        s->size = (int64_t)st.st_size;
    } else {
        s->hashing = 1;
        sha256_init(&s->sha);
    }
    /* the magic: a regular file by offset (nothing consumed), anything
     * else by reading into the input buffer (replayed from there) */
    if (s->regular) {
        ssize_t r = pread(s->fd, s->in, 8, 0);
        other = st_codec_sniff(s->in, r > 0 ? (size_t)r : 0, &s->codec);
    } else {
        while (s->in_len < 8 && st_fill(s) > 0)
            ;
        other = st_codec_sniff(s->in, s->in_len, &s->codec);
    }
    if (other) {
        snprintf(errbuf, ST_ERRLEN, "%s: compressed with %s, which natlens does not read "
                 "(it reads gzip, zstd, xz and lz4): decompress it first", path, other);
        goto fail;
    }
    if (s->regular && s->codec == ST_PLAIN) {
        ssize_t r = pread(s->fd, s->head, NL_STREAM_HEAD, 0);
        s->head_len = r > 0 ? (size_t)r : 0;
        return s;
    }
    if (st_dec_init(s, errbuf) < 0)
        goto fail;
    st_peek_head(s);
    if (s->head_len == 0 && s->codec != ST_PLAIN && s->warning[0]) {
        snprintf(errbuf, ST_ERRLEN, "%s", s->warning);
        goto fail;
    }
    return s;
fail:
    source_stream_close(s);
    return NULL;
}

const uint8_t *source_stream_head(const nl_stream *s, size_t *n)
{
    *n = s->head_len;
    return s->head;
}

const char *source_stream_compression(const nl_stream *s) { return st_codec_names[s->codec]; }
int source_stream_is_regular(const nl_stream *s) { return s->regular; }
int source_stream_is_stdin(const nl_stream *s) { return s->is_stdin; }
int source_stream_is_direct(const nl_stream *s) { return s->regular && s->codec == ST_PLAIN; }
int source_stream_fd(const nl_stream *s) { return s->regular ? s->fd : -1; }
int64_t source_stream_size(const nl_stream *s) { return s->size; }
const char *source_stream_warning(const nl_stream *s) { return s->warning[0] ? s->warning : NULL; }

int64_t source_stream_raw_offset(const nl_stream *s)
{
    /* the direct FILE reads through a dup() of fd: one shared offset */
    if (source_stream_is_direct(s))
        return (int64_t)lseek(s->fd, 0, SEEK_CUR);
    return (int64_t)s->raw_off;
}

void source_stream_observe(nl_stream *s, void (*fn)(void *, const uint8_t *, size_t), void *ctx)
{
    s->observe = fn;
    s->observe_ctx = ctx;
    /* the head was read before anyone watched: it is replayed through
     * st_content_read(), so the observer still sees every byte */
}

FILE *source_stream_file(nl_stream *s)
{
    static const cookie_io_functions_t io = {
        .read = st_cookie_read, .write = NULL, .seek = st_cookie_seek, .close = st_cookie_close,
    };
    FILE *f;
    if (s->file_taken)
        return NULL;
    s->file_taken = 1;
    if (source_stream_is_direct(s)) {
        int fd = dup(s->fd);
        if (fd < 0)
            return NULL;
        if (!(f = fdopen(fd, "rb"))) {
            close(fd);
            return NULL;
        }
        /* libpcap freads every record: with stdio's 4 KB buffer that is a
         * read(2) per 4 KB, with 1 MB 256 times fewer (glibc ignores
         * setvbuf's size unless given the buffer) */
        if ((s->iobuf = malloc(ST_IOBUF)) && setvbuf(f, s->iobuf, _IOFBF, ST_IOBUF) != 0) {
            free(s->iobuf);
            s->iobuf = NULL;
        }
        return f;
    }
    s->file = fopencookie(s, "rb", io);
    if (s->file)
        setvbuf(s->file, NULL, _IOFBF, ST_INBUF);
    return s->file;
}

int source_stream_sha256(nl_stream *s, char hex[65])
{
    uint8_t dig[SHA256_DIGEST_SIZE];
    hex[0] = '\0';
    if (s->regular) {
        /* by offset: the file position (maybe standard input's) stays */
        uint64_t off = 0;
        sha256_init(&s->sha);
        for (;;) {
            ssize_t r = pread(s->fd, s->in, ST_INBUF, (off_t)off);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                return -1;
            if (r == 0)
                break;
            sha256_update(&s->sha, (size_t)r, s->in);
            off += (uint64_t)r;
        }
    } else {
        if (!s->hashing)
            return -1;
        /* hash what nobody read: the rest of the input */
        for (;;) {
            s->in_pos = s->in_len = 0;
            if (st_fill(s) <= 0)
                break;
        }
        s->hashing = 0;
    }
    sha256_digest(&s->sha, sizeof dig, dig);
    for (size_t i = 0; i < sizeof dig; i++)
        snprintf(hex + 2 * i, 3, "%02x", dig[i]);
    return 0;
}

void source_stream_close(nl_stream *s)
{
    if (!s)
        return;
    st_dec_free(s);
    if (s->owns_fd && s->fd >= 0)
        close(s->fd);
    free(s->in);
    free(s->iobuf);
    free(s->path);
    free(s);
}
