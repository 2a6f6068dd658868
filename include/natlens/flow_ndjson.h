/* flow_ndjson.h - flows as NDJSON records: one JSON object per line.
 *
 * `natlens flows --ndjson` reduces a capture to lines a column store can
 * load (ClickHouse JSONEachRow) and that `natlens correlate` reads back
 * (reader_ndjson.c) into flows identical, field for field, to the ones
 * they were written from. Layout of a file, schema NL_NDJSON_SCHEMA:
 *
 *   {"type":"capture", ...}      first line: identity of the capture
 *   {"type":"flow", ...}         one per flow, in the order flows ended
 *   {"type":"probe", ...}        recognised probes (natlens-capture probe)
 *   {"type":"capture_end", ...}  last line: totals known only at the end
 *
 * (This header stays free of natlens/json.h: json-c, which the reader
 * uses, has a json_bool of its own.)
 *
 * Every line carries "schema", "capture_id" (sha256 of the capture file)
 * and "point" (the capture-point name). Lines are flat (no nested
 * objects; arrays hold numbers or strings) so ClickHouse 18.16 loads
 * them. A numeric field that is 0 and a MAC or address that is all zero
 * bytes may be left out: a missing field reads as 0.
 *
 * The mapping nl_flow <-> keys is the one table in flow_ndjson.c
 * (flow_ndjson_fields()): the writer, the reader and the round-trip test
 * all walk it, so a field added to nl_flow is one line there.
 */
#ifndef NATLENS_FLOW_NDJSON_H
#define NATLENS_FLOW_NDJSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "natlens/flow.h"
#include "natlens/trace.h"

#define NL_NDJSON_SCHEMA 1
#define NL_NDJSON_FORMAT "natlens-flows"
/* The longest line the reader accepts: a capture line carries the host
 * context (at most NL_HOSTMETA_MAX, 16 MiB, escaped); flow lines are a few
 * KiB (24 packet records at most). */
#define NL_NDJSON_MAX_LINE ((size_t)40 << 20)
#define NL_NDJSON_POINT_MAX 64

/* How a table entry is stored in the struct and written in JSON. */
enum nl_ndjson_kind {
    NDJ_U8, NDJ_U16, NDJ_U32, NDJ_U64, NDJ_I32,
    NDJ_ADDR,   /* nl_addr as "192.0.2.1" / "2001:db8::1" */
    NDJ_MAC,    /* 6 bytes as "aa:bb:cc:dd:ee:ff" */
    NDJ_STR,    /* char[len], NUL-terminated, bytes after the NUL zero */
    NDJ_BIT     /* one bit of a byte, written 0/1: stride is the bit's mask */
};

typedef struct nl_ndjson_field {
    const char *name;   /* key; per-direction fields get "orig_"/"resp_" */
    uint8_t  kind;      /* enum nl_ndjson_kind */
    uint8_t  per_dir;   /* bit 0: two values, at off and off + stride;
                         * bit 7: written even when zero */
    uint16_t size;      /* bytes of the member (NDJ_STR: the char array) */
    size_t   off;
    size_t   stride;
} nl_ndjson_field;

/* The flow table (fields of nl_flow), the table of its rare facts (fields
 * of nl_flow_ext, at the top level of the line like the others, written
 * when the flow has an ext) and the packet-record table (fields of
 * nl_pkt_rec, written as one array per field: "pkt_<name>":[...]).
 * Static; *n receives the count. */
const nl_ndjson_field *flow_ndjson_fields(size_t *n);
const nl_ndjson_field *flow_ndjson_ext_fields(size_t *n);
const nl_ndjson_field *flow_ndjson_rec_fields(size_t *n);

/* Is `point` a usable capture-point name (1..NL_NDJSON_POINT_MAX bytes of
 * [A-Za-z0-9._:@+-])? It reaches SQL and terminals: nothing else passes. */
int flow_ndjson_point_ok(const char *point);

typedef struct nl_ndjson_writer {
    FILE    *out;
    char     capture_id[65];
    char     point[NL_NDJSON_POINT_MAX + 1];
    uint64_t flows;      /* flow lines written */
} nl_ndjson_writer;

/* What the capture line says before any packet is read. */
typedef struct nl_ndjson_capture {
    const char *file;          /* the capture's path as given */
    const char *capture_id;    /* 64 hex digits */
    const char *point;         /* flow_ndjson_point_ok() */
    int         linktype;
    const char *linktype_name;
    const char *source_format; /* "pcap", "pcapng" */
    const char *hostmeta;      /* host context JSON or NULL */
} nl_ndjson_capture;

/* Start a file: remember out (borrowed, not closed) and write the capture
 * line. Returns 0, -1 when capture_id or point is not valid. */
int flow_ndjson_begin(nl_ndjson_writer *w, FILE *out, const nl_ndjson_capture *c);
/* One flow line (f is only read during the call). */
void flow_ndjson_flow(nl_ndjson_writer *w, const nl_flow *f);
/* The probe lines and the capture_end line from the finished trace
 * (counts, time span, damage warning, table statistics); flushes. */
void flow_ndjson_end(nl_ndjson_writer *w, nl_trace *t);

#endif
