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

/* Exit statuses of the contract. */
enum { CLI_OK = 0, CLI_FINDINGS = 1, CLI_USAGE = 2 };

/* Load one capture; on failure print "natlens: <message>" and return NULL
 * (the caller exits 2). Damage warnings go to stderr. A progress bar is
 * drawn on stderr when it is a terminal and the file is large. */
nl_trace *cli_load_trace(const char *path, const nl_trace_opts *opts);

/* fprintf(stderr, ...) for messages that name files or quote them: every
 * byte that could act on the terminal is shown escaped (text_safe.h);
 * the format's own newlines stay. */
void cli_eprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Refuse "-" given for more than one capture (it can be read only once):
 * prints why and returns -1; 0 when fine. */
int cli_stdin_once(const char *cmd, const char *const *files, int n);

/* Colour on stdout: only on a terminal and never with NO_COLOR set. */
int cli_use_color(FILE *f);

/* Join argv[i..argc) with spaces (a BPF expression given in pieces, as
 * tcpdump allows). Returns a malloc'd string or NULL when no words. */
char *cli_join_args(int argc, char **argv, int i);

/* Parse a positive integer option value; exits 2 with a message if bad. */
unsigned long cli_parse_count(const char *opt, const char *val);

#endif
