/* report.h - one self-contained incident report (HTML, Markdown or JSON).
 *
 * The report presents the analysis the commands already made: traces loaded
 * with keep_packets = 1, their correlation (correlate.h) and the findings
 * (diagnose.h). Nothing is recomputed here; the report only orders, draws
 * and escapes. Content, in this order: title and one-line verdict; the
 * captures (sha256, size, span, link type, host context, clock offsets);
 * findings, most severe first, with evidence and fix; the egress table and
 * the source-IP timeline; ladders of failed handshakes (every capture side
 * by side); the flow table; how the report was made.
 *
 * Safety: every string that came from a packet, a file name or a capture's
 * host metadata is escaped for the output format (HTML entities, Markdown
 * punctuation, JSON escapes). HTML output is one file: inline CSS and SVG,
 * no script, no outside resource, no URL at all.
 *
 * Determinism: the output depends only on the inputs and the options (no
 * wall-clock time), so reports can be compared byte for byte.
 *
 * Nothing here prints to a terminal; output goes to the FILE given.
 */
#ifndef NATLENS_REPORT_H
#define NATLENS_REPORT_H

#include <stddef.h>
#include <stdio.h>
#include "natlens/correlate.h"
#include "natlens/diagnose.h"
#include "natlens/trace.h"

enum { NL_REPORT_HTML = 0, NL_REPORT_MD = 1, NL_REPORT_JSON = 2 };

/* One capture as the report shows it. Borrowed by report_write(). */
typedef struct nl_report_capture {
    nl_trace   *trace;          /* loaded with keep_packets = 1 */
    const char *hostmeta;       /* the trace's (sanitized) host context or NULL */
    char        sha256[65];     /* lower-case hex, "" if unknown */
} nl_report_capture;

/* The analysis result to present. All borrowed: must outlive the call. */
typedef struct nl_report_input {
    const nl_report_capture *caps;  /* path order, client side first */
    size_t                   ncaps; /* >= 1 */
    const nl_correlation    *corr;  /* NULL when ncaps == 1 */
    const nl_findings       *findings; /* diagnose_*() result; NULL: none */
} nl_report_input;

typedef struct nl_report_opts {
    int         format;         /* NL_REPORT_* */
    const char *title;          /* NULL: "natlens report: <first file>..." */
    int         redact;         /* inner addresses -> "inner-N" pseudonyms */
    size_t      max_rows;       /* rows of each long table (flows, egress,
                                   translations, source changes) and findings
                                   drawn in HTML/Markdown; 0 = all. JSON
                                   always holds everything. */
    size_t      max_ladders;    /* ladders drawn; 0 = all */
    const char *command_line;   /* shown under "how it was made"; may be NULL */
    uint16_t    community_id_seed; /* of the flows' community_id (JSON) */
} nl_report_opts;

/* Defaults: HTML, 50 rows per table, 20 ladders, no redaction. */
void report_opts_default(nl_report_opts *o);

/* Format from a name: "html"/"htm", "md"/"markdown", "json", or a file
 * name ending in one of them (".html", ...). -1 if none fits. */
int report_format_from_name(const char *s);

/* SHA-256 of the file at `path` as 64 lower-case hex digits + NUL into
 * hex. Returns 0, or -1 with errbuf (>= 256) naming the reason. */
int report_sha256_file(const char *path, char hex[65], char *errbuf);

/* Write the whole report to `out`. Returns 0, or -1 with errbuf (>= 256)
 * filled (out of memory, write error). */
int report_write(FILE *out, const nl_report_input *in,
                 const nl_report_opts *o, char *errbuf);

#endif
