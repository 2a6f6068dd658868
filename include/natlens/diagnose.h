/* diagnose.h - findings: what went wrong, with the packets that prove it
 * and the fix.
 *
 * A finding names one problem (kind + severity + one-sentence summary), the
 * flows it concerns (each with the capture it was seen in), evidence lines
 * (capture, frame number, timestamp in that capture's own clock, what the
 * packet shows) and, when the captures say enough, a fix (shell lines).
 * Connections that broke the same way towards the same service are grouped
 * into one finding (e.g. "3 handshakes to 203.0.113.5:80 broke ...").
 *
 * Two entry points fill one nl_findings container:
 *   diagnose_trace()       what one capture alone can show (natlens flows);
 *   diagnose_correlation() what two or more captures show together; it runs
 *                          diagnose_trace() on each capture too and keeps
 *                          one finding per broken connection (the most
 *                          specific kind wins: asymmetric_return >
 *                          never_arrived > icmp_unreachable > rejected >
 *                          handshake_broken).
 * Good flows produce nothing: a completed handshake, a capture that started
 * mid-flow (no SYN seen), a lone SYN in the last 3 s of the capture (not
 * given time to fail), a client that aborts its own handshake once (a SYN
 * scan), an asymmetry that completed handshakes of the same capture show
 * too (a mirror port), are not findings.
 *
 * Packet-level rules (retry times, SYN-ACK acknowledgement numbers, the
 * interface or next-hop MAC of each packet) need kept packet records: load
 * traces with nl_trace_opts.keep_packets = 1. Without records the rules
 * fall back to the per-flow summary (first MAC / ifindex per direction, SYN
 * counts) and say less.
 *
 * Lifetimes: an nl_findings BORROWS the flows (and through them the traces
 * or correlation) it was filled from: free the findings first, or keep the
 * traces alive as long as the findings. Strings (summary, evidence text,
 * fix, capture names, host metadata) are owned by the container and freed
 * by diagnose_free(). Nothing in diagnose_*() prints except diagnose_text()
 * to the FILE it is given. Not thread-safe per container.
 */
#ifndef NATLENS_DIAGNOSE_H
#define NATLENS_DIAGNOSE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "natlens/flow.h"
#include "natlens/trace.h"
#include "natlens/correlate.h"
#include "natlens/json.h"

/* nl_finding.kind. Names (diagnose_kind_name) are the contract's strings. */
typedef enum nl_finding_kind {
    NL_FK_ASYMMETRIC_RETURN = 0, /* the reply took another path than the request */
    NL_FK_NEVER_ARRIVED,         /* a flow seen near never reached the far capture */
    NL_FK_ICMP_UNREACHABLE,      /* an ICMP error quoting the flow's packet answered it */
    NL_FK_REJECTED,              /* the SYN was answered by RST */
    NL_FK_HANDSHAKE_BROKEN,      /* SYN retried without answer, or the answer got lost */
    NL_FK_SOURCE_CHANGED,        /* the egress address a destination sees changed */
    NL_FK_SEQ_REWRITTEN,         /* a middlebox rewrote the TCP sequence numbers */
    NL_FK_NAT_PORT_EXHAUSTED,    /* records: Cloud NAT had no port for the VM (DROPPED) */
    NL_FK_REJECTED_BY_RULE,      /* records: a flow log says a rule rejected the flow */
    NL_FK_NAT_NO_REPLY,          /* records: conntrack never saw an answer ([UNREPLIED]) */
    NL_FK_EGRESS_POOL,           /* new flows leave by any of several addresses (a pool) */
    NL_FK_NO_COMMON_TRAFFIC,     /* two adjacent captures share no connection */
    NL_FK_NO_TIME_OVERLAP,       /* two adjacent captures do not overlap in time */
    NL_FK_SAME_CAPTURE,          /* the same capture given twice */
    NL_FK_PARTIAL_CAPTURE,       /* a capture damaged, cut, much shorter, or overlapping
                                    only partly: its verdict is partial */
    NL_FK_COUNT
} nl_finding_kind;

/* nl_finding.severity: higher is worse; findings are sorted by it. */
typedef enum nl_severity {
    NL_SEV_INFO = 0, NL_SEV_WARNING = 1, NL_SEV_ERROR = 2
} nl_severity;

/* One flow a finding concerns. flow is borrowed (see Lifetimes). */
typedef struct nl_finding_flow {
    int            capture;      /* capture index (0 for `flows`) */
    const nl_flow *flow;
} nl_finding_flow;

/* One line of proof: a packet (frame > 0) or a fact (frame == 0, ts_ns may
 * be 0). ts_ns is in the clock of `capture`. */
typedef struct nl_evidence {
    int      capture;
    uint64_t frame;              /* 1-based frame number, 0 if not a packet */
    uint64_t ts_ns;
    char    *what;               /* owned; printable ASCII/UTF-8, no packet bytes */
    uint32_t conn;               /* which of the finding's connections (0-based) */
} nl_evidence;

typedef struct nl_finding {
    nl_finding_kind kind;
    nl_severity     severity;
    char           *summary;     /* owned; one sentence, no trailing newline */
    nl_finding_flow *flows;      /* owned array; the flows themselves borrowed */
    size_t          nflows;
    nl_evidence    *evidence;    /* owned array, in time order per connection */
    size_t          nevidence;
    char           *fix;         /* owned; lines separated by '\n', or NULL */
    uint32_t        connections; /* broken connections grouped here (>= 1) */
    uint64_t        first_ns;    /* earliest evidence (for ordering), capture 0's clock */
} nl_finding;

typedef struct nl_findings nl_findings;

/* A new empty container; NULL on out of memory. */
nl_findings *diagnose_new(void);
/* Frees everything the container owns (not the flows). NULL is fine. */
void diagnose_free(nl_findings *fs);

/* Findings one capture shows on its own, added to `out` with flows tagged
 * `cap_index` (use 0 for a lone capture; in a correlation, the capture's
 * index in path order). The trace's name is remembered for output, and its
 * host metadata is read from t->path when the file carries some (pcapng
 * written by natlens-capture) to name interfaces and gateways in fixes.
 * Returns the number of findings added, -1 on out of memory. */
int diagnose_trace(nl_findings *out, nl_trace *t, int cap_index);

/* Findings of two or more correlated captures: runs the single-capture
 * rules on every capture of c (c->caps[i].trace may be NULL: then only the
 * flows are used), then the cross-capture rules (answers that never came
 * back or came back from another address, flows that never arrived,
 * source-IP changes, rewritten sequence numbers), and merges them so a
 * broken connection is named once, by its most specific kind.
 * Returns the number of findings in `out` afterwards, -1 on out of memory. */
int diagnose_correlation(nl_findings *out, const nl_correlation *c);

/* Findings a record trace (or a capture carrying records, record.h) shows
 * on its own: the single-capture rules of diagnose_trace() plus the record
 * rules (nat_port_exhausted, rejected_by_rule, nat_no_reply; see
 * diagnose_records.c). Same contract as diagnose_trace(). */
int diagnose_records(nl_findings *out, nl_trace *t, int cap_index);

/* Use `json` (host metadata document, see hostmeta.h; copied) for capture
 * cap_index instead of reading it from the file. Call before diagnosing.
 * 0 on success, -1 on out of memory. */
int diagnose_set_hostmeta(nl_findings *fs, int cap_index, const char *json);

/* Findings sorted most severe first, then by time. The pointer is valid
 * until the container changes or is freed. */
size_t diagnose_count(const nl_findings *fs);
const nl_finding *diagnose_get(const nl_findings *fs, size_t i);
/* How many findings have severity >= sev (for --fail-on-findings: pass
 * NL_SEV_WARNING). */
size_t diagnose_count_at_least(const nl_findings *fs, nl_severity sev);

/* Broken connections not analysed because the container holds its maximum
 * (200000 cases: a port scan); 0 normally. */
uint64_t diagnose_dropped(const nl_findings *fs);

/* The most severe finding naming flow f of capture cap, or NULL (the TUI
 * marks rows with it). */
const nl_finding *diagnose_find_flow(const nl_findings *fs, int cap,
                                     const nl_flow *f);

/* Display name of capture cap as recorded by diagnose_*() ("capture N"
 * when it has none, "capture ?" for an index the container never saw).
 * The string is the container's (or a constant): valid until
 * diagnose_free(), and any number of threads may ask. */
const char *diagnose_capture_name(const nl_findings *fs, int cap);

/* "asymmetric_return", "never_arrived", "icmp_unreachable", "rejected",
 * "handshake_broken", "source_changed", "seq_rewritten". */
const char *diagnose_kind_name(nl_finding_kind k);
/* "error", "warning", "info". */
const char *diagnose_severity_name(nl_severity s);

/* The contract's array: key (e.g. "findings") : [{"kind","severity",
 * "summary","connections","flows":[flow objects as flow_out_json],
 * "flow_captures":[capture index per flow],"evidence":[{"capture" (name),
 * "capture_index","frame" (null if none),"ts","what"}],"fix" (string with
 * '\n' between lines, or null)}]. Call inside an open object. */
void diagnose_json(nl_json *j, const char *key, const nl_findings *fs);

/* UX.md's FINDINGS section: a "FINDINGS" heading, then per finding the
 * severity and kind, the summary (wrapped), evidence lines (capture name,
 * frame #, UTC time, what) of its first connection - at most 4 per capture,
 * then "... N more" - and the fix lines. Prints "FINDINGS\n  none\n" when
 * empty. color != 0 adds ANSI colours to the severity. On a terminal the
 * prose wraps at its width (COLUMNS, else the window's); off a terminal
 * nothing wraps. Command lines of a fix (indented two spaces) never wrap,
 * so they paste whole. */
void diagnose_text(FILE *out, const nl_findings *fs, int color);

/* ---- private to analyzer/diagnose*.c -------------------------------------
 * Rules add one "case" per broken connection (or per fact); finalising
 * merges cases that name the same connection (through correlation chains,
 * diagnose_merge.c), then groups them into findings (diagnose_group.c).
 * Not part of the API: defined only when NATLENS_DIAGNOSE_INTERNAL is, by
 * the diagnose*.c files themselves. */
#ifdef NATLENS_DIAGNOSE_INTERNAL

#define DG_MAX_FLOWS 12
#define DG_MAX_EV    24

#define DG_NS          1000000000ull   /* one second in ns */
#define DG_PROTO_ICMP  1
#define DG_PROTO_TCP   6
#define DG_PROTO_UDP   17
#define DG_PROTO_ICMP6 58

typedef struct dg_case {
    nl_finding_kind kind;
    nl_severity     sev;
    int             rank;        /* rule preference among same-kind cases (higher wins) */
    int             claims;      /* takes part in per-connection dedup */
    nl_finding_flow flows[DG_MAX_FLOWS];
    size_t          nflows;
    nl_evidence     ev[DG_MAX_EV];   /* what: owned */
    size_t          nev;
    char            group[240];  /* cases with equal kind+group form one finding */
    char            subject1[320];   /* "The handshake 10.0.0.1:4242 -> 192.0.2.1:80" */
    char            subjectn[200];   /* "handshakes to 192.0.2.1:80" (plural, no count) */
    char            predicate[480];  /* "broke: ..." (no final period) */
    char            why[400];    /* the path detail another rule can lend ("the server
                                    took the SYN in on ... and answered by ..."); */
    int             why_own;     /* 1: already part of this case's predicate */
    char           *fix;         /* owned, or NULL */
    int             fix_rank;    /* higher: better grounded (host metadata, names) */
    uint64_t        first_ns;
    int             merged_into; /* finalise: index of the kept case, -1 kept */
} dg_case;

typedef struct dg_ctx {          /* what a rule needs about one capture */
    nl_findings *fs;
    int          cap;
    nl_flow    **flows;
    size_t       nflows;
    uint64_t     first_ns, last_ns;   /* capture span */
    const char  *name;
    const char  *hostmeta;       /* JSON or NULL */
} dg_ctx;

/* The container. Owned by diagnose.c; diagnose_merge.c and
 * diagnose_group.c read and write cases, v, n and oom. */
struct nl_findings {
    dg_case    *cases;
    size_t      ncases, capcases;
    nl_finding *v;
    size_t      n;
    char      **names;          /* per capture index */
    char      **meta;           /* host metadata per capture, or NULL */
    uint8_t    *meta_set;       /* 1: looked up (or given) already */
    char      (*auto_names)[16]; /* "capture N" per capture index, for those
                                   without a name (diagnose_capture_name) */
    size_t      ncaps;
    int         oom;
    uint64_t    dropped;        /* cases past DG_MAX_CASES, not analysed */
    uint64_t   *drops;          /* per capture: packets its own statistics say it
                                   dropped (0: none or unknown) */
    uint64_t   *received;       /* per capture: packets the interface received, 0 unknown */
    dg_case     scratch;        /* absorbs a rule's writes past DG_MAX_CASES
                                   or after out of memory: per container, so
                                   containers on two threads never share it */
};

/* diagnose.c */
/* Kind order for merging and sorting: the most specific explanation first. */
int diagnose_kind_priority(nl_finding_kind k);
dg_case *diagnose_case_new(nl_findings *fs, nl_finding_kind kind, nl_severity sev);
void diagnose_case_flow(dg_case *k, int cap, const nl_flow *f);
/* The first case of this kind and group key, or NULL. */
dg_case *diagnose_case_find(nl_findings *fs, nl_finding_kind kind, const char *group);
void diagnose_case_ev(dg_case *k, int cap, uint64_t frame, uint64_t ts_ns,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Adds evidence whose text `what` is already malloc'd: the case takes it
 * (or frees it: a frame already in the case, or the case is full).
 * 1 added, 0 not. */
int diagnose_case_ev_take(dg_case *k, int cap, uint64_t frame, uint64_t ts, char *what);
void diagnose_case_fix(dg_case *k, int rank, char *fix_owned);
const char *diagnose_hostmeta_of(const nl_findings *fs, int cap);
int diagnose_set_name(nl_findings *fs, int cap, const char *name);
int diagnose_oom(const nl_findings *fs);
/* diagnose_drops.c: a capture's own drop counters (from its trace), and the
 * sentence findings that rest on a missing packet get when the capture
 * involved dropped packets (called by finalize). */
int diagnose_drops_set(nl_findings *fs, int cap, uint64_t dropped, uint64_t received);
void diagnose_drops_note(nl_findings *fs);

/* diagnose_merge.c: one case per connection. fs must hold at least one
 * case. Returns the indices of the kept cases (malloc'd, *nkept of them;
 * the others are absorbed and marked merged_into), NULL on out of memory
 * (fs->oom set). */
size_t *diagnose_merge_run(nl_findings *fs, const nl_correlation *c, size_t *nkept);

/* diagnose_group.c: the kept cases (reordered in place) into fs->v, sorted;
 * c non-NULL: asymmetries grouped per service as the client addressed it.
 * fs->v must be empty. 0, or -1 on out of memory (fs->oom set). */
int diagnose_group_run(nl_findings *fs, const nl_correlation *c, size_t *kept, size_t nkept);

#define DG_MAX_RETRY 16
/* The handshake of one TCP flow as its kept records (or, without records,
 * its summary) show it. */
typedef struct dg_hs {
    int has_recs;
    int syn_seen;                  /* a pure SYN from the originator */
    int synack_seen;               /* a SYN-ACK from the responder */
    int completed;                 /* the originator acknowledged after its SYN */
    const nl_pkt_rec *syn, *synack, *synack_last, *rst_resp, *rst_orig, *ack_orig;
    unsigned nsyn, nsynack;
    uint64_t syn_ts[DG_MAX_RETRY];
    uint64_t syn_frame[DG_MAX_RETRY];
    unsigned nsyn_ts;
    uint64_t syn_first_ns;
    uint32_t isn;
    /* interfaces (ifindex; -1 none) and pkttype-split sets, bit per index < 64 */
    uint64_t syn_if, synack_if, syn_in_if, syn_out_if, synack_in_if, synack_out_if;
    int      syn_if_n, synack_if_n;
} dg_hs;

/* How a case names the flow it is about (see diagnose_single_case()). */
typedef struct dg_names {
    char t[200];                   /* the 5-tuple, as flow_out_tuple() writes it */
    char ep[80];                   /* the responder, "192.0.2.1:80" */
    char ip[64];                   /* the responder's address */
} dg_names;

/* diagnose_single.c: single-capture rules into cases; the handshake view
 * of one flow (shared with diagnose_pair.c) and what the single-capture
 * rules share. */
void diagnose_single_run(const dg_ctx *cx);
void diagnose_single_hs(const nl_flow *f, dg_hs *h);
/* A new case about flow f of capture cx->cap with its rank: subject1 "The
 * <noun> <tuple>", subjectn "<plural> to <responder>"; *nm gets the names
 * for the predicate, group and evidence. */
dg_case *diagnose_single_case(const dg_ctx *cx, const nl_flow *f, nl_finding_kind kind,
                              nl_severity sev, int rank, const char *noun, const char *plural,
                              dg_names *nm);
/* Evidence: the flow's first SYN; the SYN retry times (if retried). */
void diagnose_single_ev_syn(dg_case *k, const dg_ctx *cx, const nl_flow *f, const dg_hs *h);
void diagnose_single_ev_retries(dg_case *k, const dg_ctx *cx, const dg_hs *h);
/* A flow that is only an answer: a SYN-ACK, no SYN from the originator. */
int diagnose_single_lone_synack(const nl_flow *f, const dg_hs *h);

/* How a SYN and its SYN-ACK differ in the way they passed this point. */
typedef struct dg_path {
    char    how;               /* 'i' in/out interface, 'r' router interfaces,
                                  's' interface sets, 'm' next hops (MAC),
                                  'b' next hops seen from the client side */
    int     in_if, out_if;
    uint8_t in_mac[6], out_mac[6];
} dg_path;

/* Signatures of asymmetries that completed handshakes show too (a mirror
 * port, a synthetic file, a bridge): what working connections do is how
 * this capture point looks, not a fault. */
#define DG_MAX_NORMAL 32
typedef struct dg_normal {
    dg_path p[DG_MAX_NORMAL];
    size_t  n;
} dg_normal;

/* diagnose_path.c: the SYN and its SYN-ACK took different ways through
 * this capture point. Learn from every TCP flow first (only completed
 * handshakes count), then the rule adds an asymmetric_return case for a
 * broken one and returns 1, or 0. */
void diagnose_path_learn(dg_normal *nm, const dg_hs *h);
int diagnose_path_rule(const dg_ctx *cx, const nl_flow *f, const dg_hs *h, const dg_normal *nm);

/* diagnose_stray.c: a SYN answered by a SYN-ACK from another address;
 * sets claimed[i] for each flow cx->flows[i] it explains. */
void diagnose_stray_run(const dg_ctx *cx, uint8_t *claimed);

/* diagnose_records.c: the record rules of trace t (capture index cap) into
 * cases; diagnose_records() runs them and finalises. */
void diagnose_records_run(nl_findings *fs, int cap, const nl_trace *t);

/* diagnose_scope.c: what the captures cover (the same capture twice, no
 * common traffic, partial overlap, damage) into cases. */
void diagnose_scope_run(nl_findings *fs, const nl_correlation *c);

/* diagnose_egress.c: one egress_pool case per capture point with a pool,
 * one source_changed case per switch. */
void diagnose_egress_run(nl_findings *fs, const nl_correlation *c);

/* diagnose_pair.c: cross-capture rules into cases. */
void diagnose_pair_run(nl_findings *fs, const nl_correlation *c);

/* diagnose_fix.c: fix text (malloc'd) and small text helpers. */
char *diagnose_fix_source_routing(const char *hostmeta, const char *server_ip,
                                  const char *in_dev, int in_ifindex,
                                  const char *in_mac, const char *via_hint);
char *diagnose_fix_bypass(const char *server_ip, const char *public_ep,
                          const char *proto, uint16_t port);
char *diagnose_fix_no_answer(const char *dst_ep, const char *proto, int answered,
                             const char *capname);
char *diagnose_fix_rejected(const char *dst_ip, uint16_t port, const char *proto);
char *diagnose_fix_icmp(uint8_t v6, uint8_t type, uint8_t code, const char *from,
                        const char *dst_ip, uint16_t port, const char *proto);
char *diagnose_fix_lost_between(const char *a, const char *b, const char *what_ep,
                                const char *proto, uint16_t port);
char *diagnose_fix_source_changed(const char *dest, const char *from_ip,
                                  const char *to_ip, const char *inner);
char *diagnose_fix_seq(void);
/* "192.0.2.1:80" / "[2001:db8::1]:80" into buf (>= 64). */
char *diagnose_ep(const nl_addr *a, uint16_t port, char *buf, size_t len);
/* "02:4e:4c:00:00:10" into buf (>= 18); all-zero MAC -> 0. */
int diagnose_mac(const uint8_t m[6], char *buf, size_t len);
/* ICMP type/code in words ("port unreachable"). */
const char *diagnose_icmp_words(int v6, uint8_t type, uint8_t code);

#endif /* NATLENS_DIAGNOSE_INTERNAL */

#endif
