/* report_int.h - private to analyzer/report*.c: the context one report is
 * written from, and the pieces the three formats share (ordering, ladders,
 * redaction, escaping). Everything here borrows the nl_report_input; the
 * context owns only what report_ctx_init() allocates (freed by
 * report_ctx_free()). */
#ifndef NATLENS_REPORT_INT_H
#define NATLENS_REPORT_INT_H

#include <stdint.h>
#include <stdio.h>
#include "natlens/report.h"

#define REP_MAX_COLS 8          /* captures drawn side by side in a ladder */
#define REP_LADDER_ROWS 48      /* rows drawn per ladder (kept packets bound it anyway) */

/* Address -> pseudonym map for --redact. */
typedef struct rep_redact rep_redact;

/* One row of a ladder: the same packet at every capture it was seen at. */
typedef struct rep_lrow {
    uint64_t t_ns;              /* capture 0 clock, earliest sighting */
    uint8_t  dir;               /* NL_ORIG: client -> server, in column 0's roles */
    uint8_t  stray;             /* idx refers to the column's stray flow */
    int16_t  idx[REP_MAX_COLS]; /* record index in that column's flow, -1 none */
} rep_lrow;

/* A failed handshake followed through the captures (columns). */
typedef struct rep_ladder {
    int            ncols;
    int            cap[REP_MAX_COLS];   /* capture index of each column */
    const nl_flow *flow[REP_MAX_COLS];  /* NULL: not seen at that capture */
    uint8_t        flip[REP_MAX_COLS];  /* roles swapped relative to column 0 */
    uint32_t       base[REP_MAX_COLS][2]; /* first seq per direction (relative seq) */
    /* A reply to the client's endpoint from another address (an answer that
     * bypassed the NAT): its packets are drawn in the same column. */
    const nl_flow *stray[REP_MAX_COLS];
    uint8_t        sflip[REP_MAX_COLS];  /* stray's roles vs the column's flow */
    uint32_t       sbase[REP_MAX_COLS][2];
    rep_lrow      *rows;
    size_t         nrows;
    uint64_t       t0_ns;               /* first row's time */
    const nl_chain *chain;              /* NULL with one capture or when */
    const nl_unmatched *unm;            /* the flow was seen at one only */
} rep_ladder;

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
    int  broken;                /* vanished or seen at one capture only */
} rep_fcells;

typedef struct rep_ctx {
    FILE                  *out;
    const nl_report_input *in;
    const nl_report_opts  *o;
    rep_redact            *rd;       /* NULL unless --redact */
    char                   title[512];
    char                   verdict[1024];
    rep_ladder            *lad;
    size_t                 nlad, nlad_total;
    rep_frow              *rows;
    size_t                 nrows, nrows_total;
    size_t                 nfnd;     /* diagnose_get(findings, i): most severe first */
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
/* Name of capture i (basename of its file). */
const char *report_cap_name(const rep_ctx *c, size_t i);
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

/* report_redact.c */
rep_redact *report_redact_new(const nl_report_input *in);
void report_redact_free(rep_redact *r);
/* Pseudonym of a, or NULL when a is not redacted. */
const char *report_redact_name(rep_redact *r, const nl_addr *a);
/* Copy s[0..n) to out, every redacted address replaced by its pseudonym
 * (unknown inner addresses get new names in order of appearance). */
void report_redact_stream(rep_redact *r, const char *s, size_t n, FILE *out);
/* Is the address in a private / inner range (RFC 1918, CGNAT, link-local,
 * loopback, ULA)? */
int report_addr_is_inner(const nl_addr *a);

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
 * Relative sequence numbers against base[2]. buf >= 128. */
char *report_pkt_label(const nl_pkt_rec *r, const uint32_t base[2], char *buf, size_t len);
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
