/* cli.h - shared pieces of the natlens command (not part of the library):
 * subcommand entry points, loading captures with user-facing errors,
 * progress on stderr, colour decisions. */
#ifndef NATLENS_CLI_H
#define NATLENS_CLI_H

#include <stdio.h>
#include "natlens/trace.h"

int cmd_flows(int argc, char **argv);
int cmd_correlate(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_tui(int argc, char **argv);

/* Exit statuses of the contract. CLI_PARTIAL: --strict and some input
 * was damaged, cut, partly read, had unreadable record lines or
 * malformed frames (the analysis of the rest still ran). */
enum { CLI_OK = 0, CLI_FINDINGS = 1, CLI_USAGE = 2, CLI_PARTIAL = 3 };

/* Set by cli_load_trace() when an input was read only in part (see
 * CLI_PARTIAL). */
extern int cli_partial;

/* Load one capture; on failure print "natlens: <message>" and return NULL
 * (the caller exits 2). Damage warnings go to stderr. A progress bar is
 * drawn on stderr when it is a terminal and the file is large. */
nl_trace *cli_load_trace(const char *path, const nl_trace_opts *opts);

/* Colour on stdout: only on a terminal and never with NO_COLOR set. */
int cli_use_color(FILE *f);

/* Join argv[i..argc) with spaces (a BPF expression given in pieces, as
 * tcpdump allows). Returns a malloc'd string or NULL when no words. */
char *cli_join_args(int argc, char **argv, int i);

/* Parse a positive integer option value; exits 2 with a message if bad. */
unsigned long cli_parse_count(const char *opt, const char *val);

/* `natlens correlate` as text (correlate_text.c). Detail tables show at
 * most top_egress / top_flows rows unless all != 0. */
struct nl_correlation;
struct nl_findings;
typedef struct cli_correlate_view {
    FILE *out;
    int   color;
    int   utf8;
    int   all;
    size_t top_egress, top_flows;
    const struct nl_correlation *c;
    const struct nl_findings *fs;   /* NULL: none could be made */
} cli_correlate_view;

void cli_correlate_text(const cli_correlate_view *v);

#endif
