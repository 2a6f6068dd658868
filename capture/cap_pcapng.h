/* cap_pcapng.h - a small pcapng writer (libpcap 1.10 has none).
 *
 * Blocks are built whole in a memory buffer and written with write(2) on
 * cap_pcapng_flush(). The writer remembers the file offset where the last
 * successful flush ended (always a block boundary); when a write fails (disk
 * full, I/O error) the file is truncated back to that offset, so the file on
 * disk is always a valid pcapng holding every block flushed before the
 * failure. After a failure every call returns -1 and `err` holds errno.
 * Reading is never done here: natlens reads captures with libpcap.
 */
#ifndef NATLENS_CAP_PCAPNG_H
#define NATLENS_CAP_PCAPNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct cap_pcapng {
    int      fd;
    int      is_stdout;
    char    *path;            /* owned */
    uint8_t *buf;             /* pending whole blocks */
    size_t   len, cap;
    uint64_t committed;       /* bytes on disk, ends on a block boundary */
    uint64_t packets;         /* EPBs committed */
    uint64_t pending_packets; /* EPBs in buf */
    int      err;             /* errno of the failure, 0 if none */
} cap_pcapng;

/* Create/truncate `path` ("-" = standard output). 0 or -1 (errno set). */
int cap_pcapng_open(cap_pcapng *w, const char *path);

/* Section Header Block. Strings may be NULL; a string longer than 65535
 * bytes is left out. `meta` (metalen bytes, may be NULL/0) is stored in
 * custom binary options (code 2989) carrying `pen` and `tag`, split into
 * chunks of at most 65000 bytes: see hostmeta.h for the layout. */
int cap_pcapng_shb(cap_pcapng *w, const char *comment, const char *hardware,
                   const char *os, const char *app, uint32_t pen, const char *tag,
                   size_t taglen, const void *meta, size_t metalen);
/* Interface Description Block with if_name, if_tsresol = 9 (ns) and the
 * filter string (if_filter) when not NULL. */
int cap_pcapng_idb(cap_pcapng *w, int linktype, uint32_t snaplen,
                   const char *ifname, const char *filter, const char *os);
/* Enhanced Packet Block for interface 0-based `ifid`. */
int cap_pcapng_epb(cap_pcapng *w, uint32_t ifid, uint64_t ts_ns,
                   uint32_t caplen, uint32_t wirelen, const uint8_t *data);
/* Custom Block of `type` (0x00000BAD copiable, 0x40000BAD not) whose body
 * is `data` (len bytes, starting with the PEN in host byte order; padded
 * to 32 bits here). Not counted as a packet. 0 or -1 (see above). */
int cap_pcapng_custom(cap_pcapng *w, uint32_t type, const void *data, size_t len);
/* Interface Statistics Block. */
typedef struct cap_pcapng_stats {
    uint64_t now_ns, start_ns, end_ns;
    uint64_t ifrecv, ifdrop, osdrop, usrdeliv;
} cap_pcapng_stats;
int cap_pcapng_isb(cap_pcapng *w, uint32_t ifid, const cap_pcapng_stats *st);

/* Write pending blocks. 0 or -1 (see header comment). */
int cap_pcapng_flush(cap_pcapng *w);
/* Flush, fsync when a regular file, close, free. Returns 0 or -1 with
 * w->err set; the file is valid in both cases. */
int cap_pcapng_close(cap_pcapng *w);
/* Flush and free like cap_pcapng_close(), but hand the descriptor to the
 * caller (*fd; -1 for standard output) instead of fsync + close: a
 * rotation must not wait for the disk. Returns the flush's 0 or -1. */
int cap_pcapng_release(cap_pcapng *w, int *fd);
/* After a failed flush (the file was cut back to its last whole block):
 * accept blocks again, so a small last block (the statistics) can still
 * be tried when the failure was a full disk. 0, or -1 when the file
 * itself is unusable (never opened, standard output). */
int cap_pcapng_recover(cap_pcapng *w);

#endif
