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

/* Colour on stdout: only on a terminal and never with NO_COLOR set. */
int cli_use_color(FILE *f);

/* Join argv[i..argc) with spaces (a BPF expression given in pieces, as
 * tcpdump allows). Returns a malloc'd string or NULL when no words. */
char *cli_join_args(int argc, char **argv, int i);

/* Parse a positive integer option value; exits 2 with a message if bad. */
unsigned long cli_parse_count(const char *opt, const char *val);

/* --tunnel-port KIND=PORT (repeatable) and --tunnel-depth N (0 opens no
 * tunnel) into c, which the caller set up with tunnel_conf_default().
 * Exit 2 with a message when the value is bad. */
void cli_tunnel_port(nl_tunnel_conf *c, const char *val);
void cli_tunnel_depth(nl_tunnel_conf *c, const char *val);
/* For hand-written option loops: when argv[*i] is --tunnel-port or
 * --tunnel-depth ("--opt VAL" or "--opt=VAL"), apply it, step *i past its
 * value and return 1; else 0. */
int cli_tunnel_arg(nl_tunnel_conf *c, int argc, char **argv, int *i);
#define CLI_TUNNEL_USAGE \
    "  --tunnel-port KIND=PORT  also open UDP PORT as KIND (vxlan, geneve, gtpu,\n" \
    "                      teredo, ayiya, gre); repeatable\n" \
    "  --tunnel-depth N    open at most N nested encapsulations (default 4, 0: none)\n"

#endif
