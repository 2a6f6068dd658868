/* reader.h - capture points that are not packet captures.
 *
 * Engineers often hold a record of the far end instead of a capture: a NAT
 * router's conntrack table, a cloud NAT or flow log, a Zeek conn.log, or
 * natlens's own NDJSON flow records. A reader turns such a file into the
 * flows of an nl_trace, so correlate, diagnose and every presenter take it
 * like a capture (Suricata's source-* modules and Zeek's input readers do
 * the same: one small interface, the pipeline behind it never knows).
 *
 * trace_load() picks the reader by content: every reader's sniff() sees the
 * file's first bytes (at most NL_READER_HEAD) and the highest score wins; a
 * pcap or pcapng magic always goes to libpcap. `--format NAME` forces one
 * (reader_find()).
 *
 * A reader creates flows with flow_table_put() (no packets: counters, times
 * and pairing keys come from the record) and reports bad lines with
 * trace_note_bad() (file:line and the reason; the line is skipped). It sets
 * t->first_ns / t->last_ns to the span the records cover and t->packets to
 * the number of records read (shown as "entries").
 *
 * Each reader lives in its own file (reader_<name>.c) and is listed once in
 * the table in reader.c.
 */
#ifndef NATLENS_READER_H
#define NATLENS_READER_H

#include <stddef.h>
#include <stdio.h>
#include "natlens/trace.h"

#define NL_READER_HEAD 4096

typedef struct nl_reader {
    const char *name;   /* --format name: "ndjson", "conntrack", ... */
    const char *title;  /* for people: "GCP Cloud NAT log" */
    /* How sure the reader is that a file starting with head[0..n) is in its
     * format: 0 not mine, 1..100 (100: an unambiguous signature). head is
     * not NUL-terminated; n <= NL_READER_HEAD. */
    int (*sniff)(const char *head, size_t n);
    /* Read the whole stream `in` (positioned at the start of the file) into
     * t, whose flow table is empty and made with o. Returns 0, or -1 with
     * errbuf (>= 512) filled when nothing usable was read (exit 2: name
     * the file and the reason). Does not close `in`. */
    int (*load)(nl_trace *t, FILE *in, const nl_trace_opts *o, char *errbuf);
} nl_reader;

/* The reader whose sniff() scores head highest, or NULL when none claims
 * it. */
const nl_reader *reader_sniff(const char *head, size_t n);

/* The reader called `name` (its --format name), or NULL. */
const nl_reader *reader_find(const char *name);

/* Every reader, for help texts: *n receives the count. */
const nl_reader *const *reader_all(size_t *n);

#endif
