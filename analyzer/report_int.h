/* report_int.h - private to analyzer/report*.c: the context one report is
 * written from, and the pieces the three formats share (ordering, ladders,
 * redaction, escaping). Everything here borrows the nl_report_input; the
 * context owns only what report_ctx_init() allocates (freed by
 * report_ctx_free()). */
#ifndef NATLENS_REPORT_INT_H
#define NATLENS_REPORT_INT_H

#include <stdint.h>
#include <stdio.h>
#include "natlens/redact.h"
#include "natlens/ladder.h"
#include "natlens/record.h"
#include "natlens/report.h"

#define REP_MAX_COLS 8          /* captures drawn side by side in a ladder */
#define REP_LADDER_ROWS 48
/* "How it was made" of a redacted report (HTML and Markdown). */
#define REP_REDACT_NOTE " Redacted (--redact): inner addresses, MAC addresses, host names, " \
    "kernel, session labels, interface and cloud resource names and file names are replaced " \
    "by stable placeholders (inner-N, mac-N, host-N, capture-N...); Community IDs and payload " \
    "bytes are left out; public and translated (egress) addresses are kept."      /* rows drawn per ladder (kept packets bound it anyway) */

/* rep_lrow.miss: a packet absent from the capture it was heading to */
enum { REP_MISS_NONE = 0, REP_MISS_NOT_SEEN, REP_MISS_UNKNOWN };

/* One row of a ladder: the same packet at every capture it was seen at. */
typedef struct rep_lrow {
    uint64_t t_ns;              /* capture 0 clock, earliest sighting */
    uint8_t  dir;               /* NL_ORIG: client -> server, in column 0's roles */
    uint8_t  miss[REP_MAX_COLS];/* REP_MISS_*: the next capture the packet was
                                   heading to, and what its records say */
    int32_t  idx[REP_MAX_COLS]; /* index in the column's records (col[k]), -1 none */
} rep_lrow;

/* A failed handshake followed through the captures (columns). The rungs
 * are the library's (ladder.h): one ladder per pair of adjacent columns,
 * chained where a column's records are both ladders' side. */
typedef struct rep_ladder {
    int            ncols;
    int            cap[REP_MAX_COLS];   /* capture index of each column */
    const nl_flow *flow[REP_MAX_COLS];  /* the connection's first piece there,
                                           NULL: not seen at that capture */
    uint8_t        flip[REP_MAX_COLS];  /* roles swapped relative to column 0 */
    nl_ladder     *hop;                 /* owned, ncols: hop[k] column k -> k + 1
                                           (the last is unused) */
    nl_ladder     *own;                 /* owned, ncols: column k alone, when no
                                           hop's side is it */
    const nl_ladder *src[REP_MAX_COLS]; /* the ladder holding column k's records */
    uint8_t        sside[REP_MAX_COLS]; /* ... and its side */
    int            part_at;             /* first column where an answer came
                                           from another address, -1 none */
    rep_lrow      *rows;
    size_t         nrows;
    uint64_t       t0_ns;               /* first row's time */
    const nl_chain *chain;              /* NULL with one capture or when */
    const nl_unmatched *unm;            /* the flow was seen at one only */
} rep_ladder;

/* What one cell of a ladder row shows (report_ladder_cell). */
typedef struct rep_lcell {
    const nl_pkt_rec *rec;      /* NULL: no packet in this column */
    int  miss;                  /* REP_MISS_* (rec NULL): "not seen here", or
                                   nothing known (records not kept there,
                                   the capture not running then) */
    char label[200];            /* "SYN seq=0", relative numbers */
    char who[96];               /* a part's other endpoint: the address an
                                   answer bypassed the NAT with ("" none) */
    int  from;                  /* who sent it (1) or received it (0) */
} rep_lcell;

/* One line of the flow table: a chain (several captures) or a flow. */
typedef struct rep_frow {
    const nl_chain     *chain;  /* a connection seen at several captures, or */
    const nl_unmatched *unm;    /* one seen at one capture only, or neither
                                   (a lone capture's flow) */
    const nl_flow      *flow;   /* first present flow */
    uint64_t            pkts;   /* ranking key */
} rep_frow;

/* One group of translated flows between two adjacent captures. */
typedef struct rep_nat {
    int      near_cap, far_cap;
    uint8_t  translation;       /* NL_XLATE_* */
    uint8_t  proto;
    nl_addr  src, dst;          /* at near: client side, server side */
    uint16_t dport;
    nl_addr  far_src, far_dst;  /* the same at far */
    uint16_t far_dport;
    uint32_t flows, port_remapped;
    size_t   order;             /* first match of the group (stable order) */
} rep_nat;

/* The cells of one multi-capture flow-table row, as text (not escaped). */
typedef struct rep_fcells {
    char near[256], far[256];   /* tuples: first and last capture seen ("" none) */
    char seen[96];              /* "1-2 of 2", "1 of 2 (never_arrived)" */
    char nat[24], state[32], pkts[48], by[96], lost[24];
    char rec[640];              /* what a record flow of the row says ("" none) */
    int  broken;                /* vanished or seen at one capture only */
} rep_fcells;

typedef struct rep_ctx {
    FILE                  *out;
    const nl_report_input *in;
    const nl_report_opts  *o;
    nl_redact             *rd;       /* NULL unless --redact (redact.h) */
    char                   title[512];
    char                   verdict[1024];
    rep_ladder            *lad;
    size_t                 nlad, nlad_total;
    rep_frow              *rows;
    size_t                 nrows, nrows_total;
    size_t                 nfnd;     /* diagnose_get(findings, i): most severe first */
    int                    has_records; /* some capture point holds records */
} rep_ctx;

/* report.c */
int  report_ctx_init(rep_ctx *c, FILE *out, const nl_report_input *in,
                     const nl_report_opts *o);
void report_ctx_free(rep_ctx *c);
/* "2026-11-22 04:52:10.123456" (UTC) into buf (>= 40). */
char *report_datetime(uint64_t ts_ns, char *buf, size_t len);
/* An address as the report shows it (pseudonym with --redact). buf >= 64. */
const char *report_addr(const rep_ctx *c, const nl_addr *a, char *buf, size_t len);
/* "ip:port" / "[v6]:port" (port 0 and ICMP: no port). buf >= 80. */
const char *report_ep(const rep_ctx *c, const nl_addr *a, uint16_t port,
                      uint8_t proto, char *buf, size_t len);
/* "a:p → b:q" of a flow. buf >= 200. */
const char *report_tuple(const rep_ctx *c, const nl_flow *f, char *buf, size_t len);
/* Rows of a long table to show: n, or max_rows when smaller. */
size_t report_limit(const rep_ctx *c, size_t n);
/* Fill the cells of a flow-table row of a correlation. */
void report_frow_cells(const rep_ctx *c, const rep_frow *r, rep_fcells *out);
/* Name of capture i (basename of its file; its placeholder with --redact). */
const char *report_cap_name(const rep_ctx *c, size_t i);
/* A host context value (key "hostname", "kernel", ...) as the report shows
 * it: with --redact a learned name's placeholder, else v itself (free text
 * still goes through report_text). */
const char *report_host_value(const rep_ctx *c, const char *key, const char *v);
/* Free text (finding summaries, host names) with addresses redacted;
 * returns s itself or a malloc'd copy the caller frees via report_text_free. */
char *report_text(const rep_ctx *c, const char *s);
void report_text_free(const char *orig, char *t);

/* report_nat.c: grouped translations; *out malloc'd (caller frees). */
size_t report_nat_rows(const rep_ctx *c, rep_nat **out);
/* Most flows first, stable. */
void report_nat_sort(rep_nat *v, size_t n);
/* Indexes of the egress rows to show (all, or the max_rows busiest), in
 * the table's order; *out malloc'd. Returns how many. */
size_t report_egress_top(const rep_ctx *c, size_t **out);
/* The distinct egress addresses, sorted; *out malloc'd (caller frees). */
/* [*lo, *hi) of co->ip_changes: the changes of one inner host and
 * destination (binary search: no row scans every change). */
void report_changes_range(const nl_correlation *co, const nl_addr *inner, const nl_addr *dest,
                          size_t *lo, size_t *hi);

/* What two adjacent captures share, in words: the clock offset and the
 * overlap of their spans, or that they are the same capture or share no
 * traffic. buf >= 512. */
char *report_pair_sentence(const rep_ctx *c, const nl_clock_offset *o, char *buf, size_t len);

/* The answer the destinations saw (correlate_answer of the farthest point
 * with a confident address): the addresses to allow, through the report's
 * redaction, and what kind of answer it is. 0 when there is none. */
int report_answer(rep_ctx *c, char *addrs, size_t alen, char *note, size_t nlen, int *at);
size_t report_egress_addrs(const rep_ctx *c, nl_addr **out);
/* Time axis of the egress timelines (text and SVG): first to last egress
 * observation, at least one second wide. */
void report_timeline_span(const nl_correlation *co, uint64_t *t0, uint64_t *t1);

/* report_records.c: a capture point of records, as text (not escaped).
 * Does capture i hold records (a record file, or conntrack events)? */
int report_cap_has_records(const rep_ctx *c, size_t i);
/* The record facts of flow f at capture cap; NULL for a packet flow. */
const nl_record_info *report_rec(const rep_ctx *c, int cap, const nl_flow *f);
/* Captures table: "GCP Cloud NAT log (gcp_nat)" or "pcap, EN10MB[; conntrack
 * events ...]"; "60" or "18 entries, 2 bad lines skipped". buf >= 256. */
char *report_cap_format(const rep_ctx *c, size_t i, char *buf, size_t len);
char *report_cap_count(const rep_ctx *c, size_t i, char *buf, size_t len);
/* "addresses, ports, the NAT mapping, times (to 1 s)"; "(exact)", ... */
char *report_rec_pins(const nl_record_info *ri, char *buf, size_t len);
const char *report_rec_granularity(const nl_record_info *ri);
/* "nat-log.json:7" (a record file's line) or "router.pcapng frame 12". */
char *report_rec_where(const rep_ctx *c, int cap, const nl_record_info *ri, char *buf, size_t len);
/* Everything record flow f (at capture cap) says, one line: where,
 * format, gateway / VM / interface, action, NAT status, conntrack flags,
 * counts only where pinned, what it pins. "" for a packet flow. buf >= 512. */
char *report_rec_says(const rep_ctx *c, int cap, const nl_flow *f, char *buf, size_t len);
/* "How it was made" for a report with records: how they were read and
 * paired, and what a record can say. */
#define REPORT_RECORDS_MADE "Record files (conntrack, cloud NAT and flow logs, Zeek conn.log) and " \
    "conntrack events inside a capture were read by natlens's record readers: a capture's flow pairs " \
    "with a record of its exact tuple inside the record's time window, \"recorded\" when the record " \
    "holds the NAT's mapping, \"likely\" when it holds a tuple and a time only. A record shows what it " \
    "pins (its line or frame, names, action, NAT status, conntrack flags, counts where it has them): " \
    "no TCP state, packet count or packet ladder is drawn for it."

/* The cells of a lone capture's flow-table row: a packet flow's own, a
 * record flow's only where the record pins them ("—" elsewhere). */
typedef struct rep_lone {
    char state[32], history[40], pkts[48], bytes[48], duration[64];
    char rec[640];              /* what the record says, "" for a packet flow */
} rep_lone;
void report_lone_cells(const rep_ctx *c, const nl_flow *f, rep_lone *o);
/* The other leg of record flow f (a NAT mapping's outer leg for the
 * inner one and back), or NULL. */
const nl_flow *report_rec_other_leg(const rep_ctx *c, int cap, const nl_flow *f);
/* An unmatched record leg the table leaves out: its other leg is in a
 * chain, or is the inner leg and listed itself (one row per record). */
int report_rec_leg_shown(const rep_ctx *c, const nl_unmatched *u);
/* The first record flow of a flow-table row and its capture, or NULL. */
const nl_flow *report_frow_record(const rep_ctx *c, const rep_frow *r, int *cap);
/* Where a piece of evidence is: the capture's name, or "file:line" for a
 * record file's line (*what then skips the "line N:" it starts with). */
void report_ev_where(const rep_ctx *c, const nl_evidence *e, char *where, size_t wlen,
                     const char **what);
/* How an egress row's flows are known: "recorded by the NAT", "likely
 * (...)", "paired on packets", or the split. buf >= 128. */
char *report_egress_known(const rep_ctx *c, const nl_egress *e, char *buf, size_t len);

/* report_esc.c */
void report_html_esc(FILE *f, const char *s);
/* A Markdown table cell: | ` * _ [ ] < > & \ escaped, newlines as spaces. */
void report_md_esc(FILE *f, const char *s);
/* Text inside a fenced block: no backticks, no control bytes. */
void report_fence_esc(FILE *f, const char *s);

/* report_ladder.c */
int  report_ladders_build(rep_ctx *c);
void report_ladders_free(rep_ctx *c);
/* Label of one kept packet: "SYN seq=0", "PSH,ACK seq=1 ack=1 len=75 \"GET /\"".
 * Relative sequence numbers against base[2]; the payload's first bytes
 * only when text is non-zero (--redact drops them: payload can carry
 * names, paths, credentials). buf >= 128. */
char *report_pkt_label(const nl_pkt_rec *r, const uint32_t base[2], int text, char *buf, size_t len);
/* Cell k of a ladder row. */
void report_ladder_cell(const rep_ctx *c, const rep_ladder *l, const rep_lrow *row, int k,
                        rep_lcell *out);
/* Is this flow a failed TCP handshake (the originator's SYN never led to an
 * established connection)? */
int report_flow_failed(const nl_flow *f);

/* report_html.c, report_svg.c, report_md.c, report_json.c */
int  report_html_write(rep_ctx *c);
void report_svg_timeline(rep_ctx *c);
void report_svg_ladder(rep_ctx *c, const rep_ladder *l);
int  report_md_write(rep_ctx *c);
void report_ladder_text(rep_ctx *c, const rep_ladder *l, FILE *f);
int  report_json_write(rep_ctx *c);

#endif
