/* source.h - read a capture file with libpcap (pcap and pcapng), BPF filter.
 *
 * Files are opened with nanosecond precision. "-" reads standard input;
 * compressed files, FIFOs and standard input come through source_stream
 * (one open, content peeked and replayed). A pcapng file whose interfaces
 * have several link types (libpcap 1.10 stops at the first one that
 * differs: source_mixed_stop()) can be read whole with
 * source_open_wiretap() (Wireshark's library; regular files only).
 * Damage handling: when libpcap reports an error mid-file (a cut record, a
 * lying block length) reading stops, and source_warning() names the byte
 * offset where the damage starts; everything read before is valid.
 */
#ifndef NATLENS_SOURCE_H
#define NATLENS_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include "natlens/decode.h"
#include "natlens/frame_ref.h"

typedef struct nl_source nl_source;
struct nl_stream;

/* Link types one wiretap source filters with a BPF expression. */
#define NL_SOURCE_MAX_DLT 16

/* Open `path` (a file or "-"), compile and apply `bpf` (may be NULL or "").
 * On failure returns NULL and writes a message naming the file and the
 * reason into errbuf (>= 512 bytes). */
nl_source *source_open(const char *path, const char *bpf, char *errbuf);

/* The same from an opened stream (borrowed: it must outlive the source;
 * the source takes its FILE). `path` names the file in messages. */
nl_source *source_open_stream(struct nl_stream *st, const char *path, const char *bpf,
                              char *errbuf);

/* Several files of one host as one capture point named `point` (e.g.
 * "server-eth0.pcap+server-eth1.pcap"), merged by time as mergecap does
 * (source_merge.c): streams[i] (opened by the caller, borrowed: they must
 * outlive the source) is read as paths[i]; 1 <= n <= NL_POINT_MAX_FILES
 * (frame_ref.h). Frame numbers and interfaces of the packets say which
 * file each came from (frame_ref.h). A damaged file stops alone: the
 * others are read to their end, and source_next() then returns -1 with
 * that file's warning. NULL with errbuf naming the file that cannot be
 * read. */
nl_source *source_open_merged(struct nl_stream **streams, const char *const *paths, size_t n,
                              const char *point, const char *bpf, char *errbuf);

/* Read the regular file `path` with Wireshark's wiretap library: every
 * record of a pcapng file whatever its interface's link type; frame
 * numbers count every record, as Wireshark's do; pkt->ifindex is the
 * pcapng interface id when the frame itself names none. */
nl_source *source_open_wiretap(const char *path, const char *bpf, char *errbuf);

/* 1 when libpcap stopped at an interface whose link type or snap length
 * differs from the first one's (not damage: read it with wiretap). */
int source_mixed_stop(const nl_source *s);

/* pcapng Custom Blocks (natlens-capture's conntrack events: ctev.h) that
 * libpcap reads past: `data` is the block body after its type and length
 * (the PEN first, in the section's byte order; swap: 1 when that is not
 * ours), n bytes, or NULL when the block was too large to read (> 64 KiB);
 * `off` its byte offset, `frame` its frame number as Wireshark numbers
 * (custom blocks are frames there, so they are here: packet frame numbers
 * count them too). data lives until fn returns. */
typedef void (*nl_source_custom_fn)(void *ctx, uint32_t type, const uint8_t *data, size_t n,
                                    int swap, uint64_t off, uint64_t frame);
/* Hand custom blocks to fn while source_next() reads (regular pcapng files
 * only: the blocks are read by offset between the packets; nothing for
 * pcap files, pipes or standard input). Call before the first
 * source_next(). */
void source_on_custom_block(nl_source *s, nl_source_custom_fn fn, void *ctx);

/* Read and decode the next frame. Returns 1 with *pkt filled (ts, frame,
 * file_off set) and *bytes pointing at the frame (valid until the next
 * call), 0 at the end of the file, -1 when reading stopped at damage (see
 * source_warning). Frames that carry no IP still return 1, with
 * NL_PKT_NOT_IP set. */
int source_next(nl_source *s, nl_packet *pkt, const uint8_t **bytes);

int source_linktype(const nl_source *s);          /* first interface's DLT */
const char *source_linktype_name(const nl_source *s);
int source_is_pcapng(const nl_source *s);
const char *source_path(const nl_source *s);
/* Warning text about damage, or NULL when the file read cleanly. */
const char *source_warning(const nl_source *s);
uint64_t source_damage_offset(const nl_source *s);
/* Bytes of the file read so far (compressed bytes when compressed), for
 * progress against source_size(). */
int64_t source_offset(const nl_source *s);
/* File size in bytes, or -1 when unknown (stdin, pipes). */
int64_t source_size(const nl_source *s);
void source_set_verify_checksums(nl_source *s, int on);
void source_close(nl_source *s);

#endif
