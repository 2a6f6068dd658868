/* record_int.h - what the record readers share (private to analyzer/).
 *
 * A reader parses its lines into rec_entry values collected in a rec_batch
 * (merging the records of one connection: conntrack events by id, the two
 * directions of a flow log by 5-tuple and interval), then record_emit()
 * turns the batch into flows (one per entry, two legs for a NAT mapping)
 * and their nl_record_info (record.h).
 *
 * Bounds: a line is at most REC_LINE_MAX bytes (longer: a bad line), a
 * JSON value at most REC_JSON_MAX bytes and REC_JSON_DEPTH deep, a batch
 * at most REC_MAX_ENTRIES entries (more: counted as bad lines), interned
 * names at most REC_STR_MAX bytes in all.
 */
#ifndef NATLENS_RECORD_INT_H
#define NATLENS_RECORD_INT_H

#include <stdint.h>
#include <stdio.h>
#include <netinet/in.h>
#include <json-c/json.h>
#include "natlens/record.h"
#include "natlens/trace.h"

#define REC_LINE_MAX     (64 * 1024)
#define REC_JSON_MAX     (64u * 1024 * 1024)
#define REC_JSON_DEPTH   32
#define REC_MAX_ENTRIES  (4u * 1024 * 1024)
#define REC_STR_MAX      (16u * 1024 * 1024)
#define REC_NS           1000000000ull

/* One connection as the records tell it (before it becomes flows). */
typedef struct rec_entry {
    uint8_t  proto;
    uint8_t  has_outer;        /* out_* is a different tuple: two legs */
    uint8_t  icmp_type;
    nl_addr  in_src, in_dst;   /* the flow as the record's side saw it; with has_outer */
    uint16_t in_sport, in_dport; /* the inner leg (as the inner host sent it) */
    nl_addr  out_src, out_dst; /* outer leg: as the destination saw it */
    uint16_t out_sport, out_dport;
    uint64_t first_ns, last_ns;
    uint64_t pkts[2], ip_bytes[2], bytes[2];
    char     history[32];      /* Zeek history letters, "" none */
    char     conn_state[8];    /* Zeek conn_state, "" none */
    nl_record_info info;       /* side, pins, names...; other_leg is set by emit */
    uint64_t key_extra;        /* merge key part chosen by the reader */
    uint8_t  orient;           /* directional records merged: rec_entry_orient() at emit */
} rec_entry;

typedef struct rec_batch {
    rec_entry *v;
    size_t     n, cap;
    uint32_t  *slots;          /* open addressing: entry index + 1, 0 empty */
    size_t     nslots;
    int        full;           /* REC_MAX_ENTRIES reached (said once) */
} rec_batch;

void rec_batch_free(rec_batch *b);
/* A new zeroed entry at the end, or NULL (out of memory / full: then the
 * caller notes a bad line). Pointers into b->v move on the next add. */
rec_entry *rec_batch_add(rec_batch *b);
/* The entry whose merge key equals e's (proto, the unordered pair of
 * in_* endpoints, key_extra), or NULL; record_key_put() indexes entry i.
 * Linear in entries overall (a hash of the key). */
rec_entry *rec_batch_find(rec_batch *b, const rec_entry *e);
int rec_batch_index(rec_batch *b, size_t i);

/* The batch into flows of t (sorted by first_ns, then line), each with its
 * record info; for a record file (t->is_record) sets t->first_ns/last_ns
 * over the entries with times (a capture keeps its packets' span), and
 * frees the batch. 0, or -1 on out of memory (errbuf filled). */
int record_emit(nl_trace *t, rec_batch *b, char *errbuf);

/* The capture stats of t's record set, created when t has none yet; NULL
 * when out of memory. */
nl_record_capture_stats *record_capture_stats_mut(nl_trace *t);

/* Intern s (len bytes, need not be NUL-terminated) in t's record set:
 * equal strings share one copy. NULL for an empty string, when the pool is
 * full or out of memory. Control bytes are kept (escape when printing). */
const char *record_intern(nl_trace *t, const char *s, size_t len);

/* ---- reading ---------------------------------------------------------- */

/* Bounded line reader: lines without the newline (and a CR before it). */
typedef struct rec_lines {
    FILE    *in;
    char    *buf;              /* REC_LINE_MAX + 2 */
    uint64_t lineno;           /* of the line last returned, 1-based */
    int      too_long;         /* the last line was cut at REC_LINE_MAX */
} rec_lines;

int  rec_lines_init(rec_lines *L, FILE *in);
void rec_lines_free(rec_lines *L);
/* 1 with *line (NUL-terminated, in L's buffer, valid until the next call)
 * and *len, 0 at end of file. */
int  rec_lines_next(rec_lines *L, char **line, size_t *len);

/* JSON values one after another: newline-delimited, concatenated, or one
 * document over many lines (json-c's tokener; nothing parsed by hand). */
typedef struct rec_json {
    FILE        *in;
    json_tokener *tok;
    char        *buf;
    size_t       len, off;
    uint64_t     line;         /* line of buf[off] */
    uint64_t     value_line;   /* line where the last value began */
    size_t       value_bytes;
    int          eof;
} rec_json;

int  rec_json_init(rec_json *J, FILE *in);
void rec_json_free(rec_json *J);
/* 1: *out is the next value (caller json_object_put()s it), 0: end of
 * file, -1: a value that does not parse (why filled, >= 128; reading goes
 * on after the next newline). J->value_line names its line. */
int  rec_json_next(rec_json *J, json_object **out, char *why);

/* ---- fields ---------------------------------------------------------- */

/* Decimal unsigned integer of the whole string, <= max. 0 or -1. */
int rec_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *v);
/* "1795323339.706009" seconds (up to 9 decimals) into ns. 0 or -1.
 * Times before 1990 or after 2100 are refused (a wrong field). */
int rec_parse_epoch(const char *s, size_t len, uint64_t *ns);
/* RFC 3339 "2024-05-01T10:02:11.160358Z" (or +hh:mm) into ns. 0 or -1. */
int rec_parse_rfc3339(const char *s, uint64_t *ns);
/* An address of len bytes ("10.0.0.1", "2001:db8::1"). 0 or -1. */
int rec_parse_addr(const char *s, size_t len, nl_addr *a);
/* "tcp"/"udp"/"icmp"/"ipv6-icmp"/"icmpv6" or a number 0..255. 0 or -1. */
int rec_parse_proto(const char *s, size_t len, uint8_t *proto);

/* JSON helpers: member (NULL if absent or not of the type); numbers may be
 * given as strings ("int64 as string" in Cloud Logging). */
json_object *rec_jget(json_object *o, const char *key);
const char *rec_jstr(json_object *o, const char *key);
int rec_jnum(json_object *o, const char *key, uint64_t max, uint64_t *v);

/* Merge one directional record r (in_* as the packets went, counts in
 * [0]) into the batch: a new entry, or the entry of the same connection
 * (same proto, endpoints in either order, key_extra), with r's counts
 * added to the direction r went; times widen, nrecords counts. Returns
 * the entry or NULL (out of memory / full). */
rec_entry *rec_merge_dir(rec_batch *b, const rec_entry *r);
/* Make the entry's originator the client: swap when its only evidence of
 * direction says the first record seen was the answer (a SYN-ACK without
 * SYN, or a low service port talking to a high one). */
void rec_entry_orient(rec_entry *e);

/* One JSON value (an element of a top-level array counts as one): 1 used,
 * 0 not an entry of this format (skipped quietly), -1 bad (*why says). */
typedef int (*rec_json_fn)(nl_trace *t, rec_batch *b, json_object *o, uint64_t line,
                           const char **why, void *ctx);
/* Read every JSON value of `in` with fn; notes bad values; sets t->packets
 * to the entries used. -1 (errbuf) when none was usable. */
int rec_json_load(nl_trace *t, FILE *in, rec_batch *b, rec_json_fn fn, void *ctx,
                  const char *what, char *errbuf);

/* ---- conntrack: one event or table line (reader_conntrack.c) ------------ */

/* One tuple as conntrack gives it (original or reply direction). */
typedef struct rec_ct_tuple {
    int      has_src, has_dst, has_ports;
    nl_addr  src, dst;
    uint16_t sport, dport;
    int      has_type;
    uint8_t  type, code;       /* ICMP */
    int      has_id;
    uint16_t id;               /* ICMP echo id */
    int      has_counts;
    uint64_t pkts, bytes;      /* with nf_conntrack_acct */
} rec_ct_tuple;

/* One conntrack record, from any source: a line of conntrack(8)'s text or
 * XML (reader_conntrack.c) or an event block inside a capture
 * (record_capture.c). */
typedef struct rec_ct_event {
    uint64_t ts_ns;            /* event time, 0 none (a table listing) */
    uint64_t start_ns;         /* the kernel's start of the entry, 0 unknown */
    int      event;            /* 0 listing, 'N' new, 'U' update, 'D' destroy */
    uint8_t  proto;
    char     state[16];        /* TCP state name, "" none */
    rec_ct_tuple t[2];         /* original, reply */
    int      unreplied, assured;
    uint64_t id;               /* 0 none */
    int      has_mark, has_zone;
    uint32_t mark;
    uint16_t zone;
} rec_ct_event;

/* The one step from a conntrack record to an entry of b (the record flows
 * of a connection): the entry with the same id (or original tuple when
 * there is no id) takes r's times, state, flags and counts; a tuple reused
 * after DESTROY starts a new entry. `line` names r (a file line, or the
 * frame of an event block) in the entry's record info. 0, or -1 when b
 * cannot take a new entry (out of memory, full: b->full). */
int rec_ct_add(nl_trace *t, rec_batch *b, const rec_ct_event *r, uint64_t line);

/* Sniff helpers: does head[0..n) contain the string s. */
int rec_head_has(const char *head, size_t n, const char *s);

#endif
