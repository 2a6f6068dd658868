/* trace.h - one capture file read end to end into a flow table.
 *
 * trace_load() is the single pass over a file that every command shares:
 * source -> decode -> flow table. The nl_trace owns its flow table and
 * strings; free with trace_free(). Nothing here prints.
 */
#ifndef NATLENS_TRACE_H
#define NATLENS_TRACE_H

#include <stdint.h>
#include <stddef.h>
#include "natlens/flow_table.h"
#include "natlens/probe.h"
#include "natlens/tunnel.h"

typedef struct nl_trace_opts {
    const char *bpf;            /* filter expression or NULL */
    int keep_packets;           /* keep per-flow packet records */
    uint8_t keep_limit;         /* records per flow, 0 = NL_FLOW_KEEP_PKTS */
    nl_keep_policy keep_policy; /* which ended flows keep them (flow_table.h);
                                 * with max_flows, ALL means SUMMARY: ended
                                 * flows keep their summary only */
    int verify_checksums;       /* Zeek's default; natlens default is off (-C) */
    uint32_t max_flows;         /* live flows, 0 = unlimited; the least recently
                                 * used is evicted (ended) at the cap */
    /* progress callback, called every ~64k packets; may be NULL */
    void (*progress)(void *ctx, int64_t done_bytes, int64_t total_bytes,
                     uint64_t packets);
    void *progress_ctx;
    /* Streaming: flows that end while reading are handed to flow_done and
     * then recycled, so memory is bounded by live flows (use with
     * max_flows). trace_flows() then returns only the flows still live. */
    void (*flow_done)(void *ctx, const nl_flow *f);
    void *flow_done_ctx;
    /* Read the file with this record reader (reader.h, its --format name)
     * instead of detecting the format from the content; NULL: detect. */
    const char *format;
    /* Which UDP ports open which tunnel, how deep (tunnel.h); NULL: the
     * defaults (tunnel_conf_default). Copied by trace_load. */
    const nl_tunnel_conf *tunnels;
    /* When not NULL, set to the trace's tunnel table before the first
     * packet is read, so flow_done can describe tunnelled flows. */
    const nl_tunnel_table **tunnels_out;
    /* Zeek's likely_server_ports (server_ports.h); NULL: Zeek's default.
     * Copied; the UDP ports of `tunnels` are added, as Zeek's
     * register_for_ports does. */
    const nl_server_ports *server_ports;
    /* Also hash a regular file (sha256 below) once it is read, while its
     * pages are in the cache and in the loading thread (report: two
     * files are hashed at once, not one after the other). */
    int sha256;
} nl_trace_opts;

/* How many bad record lines a trace remembers word for word. */
#define NL_TRACE_BAD_KEEP 5

typedef struct nl_trace {
    char    *path;              /* as given (raw bytes: escape before showing) */
    char    *name;              /* basename, escaped for display (text_safe.h) */
    int      linktype;
    char     linktype_name[32];
    int      is_pcapng;
    int64_t  file_size;         /* -1 if unknown */
    uint64_t packets;           /* frames read (after the BPF filter) */
    uint64_t ip_packets;
    uint64_t wire_bytes;
    uint64_t malformed;         /* frames with NL_PKT_MALFORMED */
    uint64_t truncated;         /* frames with NL_PKT_TRUNCATED */
    uint64_t first_ns, last_ns;
    char    *warning;           /* damage warning (reading stopped before the
                                   end: damage, a cut, compressed data ending
                                   early, an interface libpcap cannot read),
                                   NULL if clean */
    char    *notes;             /* other warnings for every presenter, one a
                                   line: host-context values replaced by
                                   placeholders, the capture's own drops;
                                   NULL if none; owned, escaped for display */
    uint64_t damage_offset;
    nl_flow_table *flows;
    /* tunnels met in the capture and the flows' links to them (f->tunnel);
     * owned by the trace */
    nl_tunnel_table *tunnels;
    /* the likely server ports its flow table uses, owned */
    nl_server_ports *server_ports;
    /* marked egress probes (natlens-capture probe) recognised in the file,
     * in capture order; owned by the trace */
    nl_probe_info *probes;
    size_t   nprobes;
    /* host context stored by natlens-capture (JSON text), NULL if none;
     * owned by the trace; already through hostmeta_sanitize(): every value
     * that may reach a printed command is checked or a <placeholder> */
    char    *hostmeta;
    /* the capture's own counters (pcapng Interface Statistics Blocks, as
     * natlens-capture and dumpcap write them): has_capture_stats = 0 when
     * the file has none */
    int      has_capture_stats;
    uint64_t capture_drops;     /* dropped by interface + OS */
    uint64_t capture_received;  /* received by the interface, 0 if unknown */
    /* SHA-256 of an input that cannot be hashed again by its name
     * (standard input, a FIFO), or of any input with opts.sha256; ""
     * otherwise (or on a read error): hash a file by its path */
    char     sha256[65];
    /* What the file is: "pcap", "pcapng", or the record reader's name
     * ("conntrack", "ndjson", ...) and its title for people. Static
     * strings. A record file has is_record = 1: its flows come from
     * records (no packets, no packet records); `packets` counts entries. */
    const char *format;
    const char *format_title;
    int      is_record;
    /* Record lines that could not be read (skipped), and the first
     * NL_TRACE_BAD_KEEP messages ("file:line: reason"), owned. */
    uint64_t bad_records;
    char    *bad_first[NL_TRACE_BAD_KEEP];
    /* Record facts of the record flows (record.h: record_info_of()), NULL
     * when the trace holds none; owned, freed by trace_free(). */
    struct nl_record_set *records;
    /* Files read as this capture point: 1, or n for "A+B[+C...]" (several
     * files of one host merged by time, source_open_merged(); `path` is
     * the '+'-joined paths as given, `name` the joined basenames, frame
     * numbers carry their file: frame_ref.h). */
    unsigned nfiles;
} nl_trace;

/* Read `path` with `opts` (NULL for defaults) into a new trace.
 * `path` may name one capture point of several files, "A+B[+C...]" (at
 * most NL_POINT_MAX_FILES pcap/pcapng files, each opened once like any
 * input: compressed, FIFO): read merged by time, as mergecap does. That
 * happens only when no file is named `path` itself: a file whose name
 * holds '+' opens as the one file it is. A missing part is an error
 * naming it.
 * Returns NULL with errbuf (>= 512) filled when the file cannot be opened
 * or is not a capture (exit status 2 material). A damaged file returns a
 * trace with `warning` set. */
nl_trace *trace_load(const char *path, const nl_trace_opts *opts, char *errbuf);
void trace_free(nl_trace *t);

/* A record reader met a line it cannot use: count it, and keep the message
 * (printf-style, it should start with "file:line: ") when it is among the
 * first NL_TRACE_BAD_KEEP. Never prints. */
void trace_note_bad(nl_trace *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Flows in order of first packet (owned by the trace's table). */
nl_flow **trace_flows(nl_trace *t, size_t *n);

#endif
