/* source_stream.h - open an input once and read its content as a stream:
 * plain or compressed, a regular file, a FIFO or standard input.
 *
 * Every input is opened exactly once. Its first bytes are peeked to tell
 * what it is (the record readers and libpcap are chosen by content, never
 * by name), and then replayed, so nothing is read twice and a FIFO or a
 * pipe is never reopened. Compression is recognised by content, as
 * Wireshark does: gzip (zlib), zstd (libzstd), xz (liblzma) and the lz4
 * frame format (liblz4) are decompressed on the fly; other compressors
 * (bzip2, 7z, zip, ...) are named in the error. A plain regular file keeps
 * the fast path: the FILE handed out is the file itself, no copy through
 * this layer.
 *
 * Bounds: one 64 KiB input buffer, decoders with their library's memory
 * limits (xz: NL_STREAM_XZ_MEMLIMIT), the head at most NL_STREAM_HEAD
 * bytes. Damage inside compressed data ends the content there, with a
 * warning naming the compressed and the content offset.
 */
#ifndef NATLENS_SOURCE_STREAM_H
#define NATLENS_SOURCE_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NL_STREAM_HEAD        4096
#define NL_STREAM_XZ_MEMLIMIT (256ull << 20)

typedef struct nl_stream nl_stream;

/* Open `path` ("-": standard input, not closed at the end) and peek at its
 * content. Returns NULL with errbuf (>= 512) naming the file and the
 * reason: cannot open, a directory, compressed with an unsupported method,
 * damaged before the first content byte. */
nl_stream *source_stream_open(const char *path, char *errbuf);

/* The first min(NL_STREAM_HEAD, content length) bytes of the content
 * (decompressed), valid until source_stream_close(). */
const uint8_t *source_stream_head(const nl_stream *s, size_t *n);

/* "gzip", "zstd", "xz", "lz4", or NULL for plain content. */
const char *source_stream_compression(const nl_stream *s);

/* 1 when the path is a regular file (it may be read again by offset with
 * source_stream_fd()), 0 for standard input, FIFOs, devices. */
int source_stream_is_regular(const nl_stream *s);

/* 1 when the FILE from source_stream_file() is the plain regular file
 * itself (fast path: no observer, positions are file offsets). */
int source_stream_is_direct(const nl_stream *s);

/* Descriptor of a regular file for pread() (owned by the stream), -1 for
 * anything else. */
int source_stream_fd(const nl_stream *s);

/* Size of a regular file in bytes (compressed size when compressed), -1
 * otherwise. */
int64_t source_stream_size(const nl_stream *s);

/* Bytes consumed from the file so far (compressed bytes when compressed):
 * progress against source_stream_size(). */
int64_t source_stream_raw_offset(const nl_stream *s);

/* Called with every content byte as it is handed to the reader, in order,
 * from the first byte (so it sees what libpcap sees). Never called on the
 * direct fast path: read a regular file by offset instead. Set before the
 * first read. */
void source_stream_observe(nl_stream *s, void (*fn)(void *ctx, const uint8_t *p, size_t n),
                           void *ctx);

/* The content as a stdio stream, positioned at its first byte (the head
 * is replayed). The caller owns the FILE (fclose() it, or pcap_close()
 * when libpcap took it) and must close it before source_stream_close().
 * ftell() works on it (content offsets). Call once; NULL when out of
 * memory. */
FILE *source_stream_file(nl_stream *s);

/* Damage or a cut inside compressed data, or a read error: a sentence
 * naming the file and the offsets, or NULL. */
const char *source_stream_warning(const nl_stream *s);

/* 1 when the input is standard input ("-"). */
int source_stream_is_stdin(const nl_stream *s);

/* SHA-256 of the input's bytes (compressed bytes when compressed), for an
 * input that cannot be hashed again by path (standard input, a FIFO): a
 * regular file is hashed by offset; otherwise the rest of the input is
 * read first (every byte read was hashed as it came). Call after reading
 * is done. Writes 64 hex digits + NUL; returns 0, or -1 on a read error
 * or when called twice on a stream. */
int source_stream_sha256(nl_stream *s, char hex[65]);

void source_stream_close(nl_stream *s);

#endif
