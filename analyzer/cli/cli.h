/* cli.h - shared pieces of the natlens command (not part of the library):
 * subcommand entry points, loading captures with user-facing errors,
 * progress on stderr, colour decisions. */
#ifndef NATLENS_CLI_H
#define NATLENS_CLI_H

#include <stdint.h>
#include <stdio.h>
#include "natlens/trace.h"

int cmd_flows(int argc, char **argv);
int cmd_correlate(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_tui(int argc, char **argv);
int cmd_fleet(int argc, char **argv);

/* `flows --ndjson OUT`: stream the flow records of `path` to OUT ("-":
 * stdout) with capture-point name `point` (NULL: default). o carries the
 * BPF filter and --max-flows. Returns an exit status (cmd_flows_ndjson.c). */
int flows_ndjson_run(const char *path, const char *out, const char *point,
                     nl_trace_opts *o);

/* Exit statuses of the contract. CLI_PARTIAL: --strict and some input
 * was damaged, cut, partly read, had unreadable record lines or
 * malformed frames (the analysis of the rest still ran). */
enum { CLI_OK = 0, CLI_FINDINGS = 1, CLI_USAGE = 2, CLI_PARTIAL = 3 };

/* Set by cli_load_trace() when an input was read only in part (see
 * CLI_PARTIAL). */
extern int cli_partial;

/* Load one capture; on failure print "natlens: <message>" and return NULL
 * (the caller exits 2). Damage warnings go to stderr. The progress line
 * of cli_load_traces() is drawn on stderr when it is a terminal, the
 * read takes over half a second and -q was not given. */
nl_trace *cli_load_trace(const char *path, const nl_trace_opts *opts);

/* fprintf(stderr, ...) for messages that name files or quote them: every
 * byte that could act on the terminal is shown escaped (text_safe.h);
 * the format's own newlines stay. */
void cli_eprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Refuse "-" given for more than one capture (it can be read only once):
 * prints why and returns -1; 0 when fine. */
int cli_stdin_once(const char *cmd, const char *const *files, int n);

/* The warnings and notes about a loaded trace on stderr (damage, unread
 * record lines, out of memory, malformed frames); sets cli_partial. */
void cli_trace_notes(nl_trace *t);

/* Load n captures at once, two at a time (one per core; each file is one
 * pass on its own), with one progress line for all of them on a terminal.
 * out[i] gets paths[i]'s trace. On failure every message is printed (the
 * file and why), the traces loaded so far are freed, out[] cleared and -1
 * returned (exit 2). Notes about the loaded traces are printed in order. */
int cli_load_traces(const char *const *paths, size_t n, const nl_trace_opts *opts,
                    nl_trace **out);

/* What a long command is doing, on stderr when it is a terminal and -q
 * was not given ("pairing 2 captures"); NULL erases the line. */
void cli_stage(const char *what);

/* Path order of a capture point by its role or file name: client 0,
 * fw/firewall 1, anything else 2, server 3 (correlate DIR, fleet trees). */
int cli_role_rank(const char *name);
/* -q: no progress at all. */
extern int cli_quiet;

/* Colour on stdout: only on a terminal and never with NO_COLOR set. */
int cli_use_color(FILE *f);

/* Join argv[i..argc) with spaces (a BPF expression given in pieces, as
 * tcpdump allows). Returns a malloc'd string or NULL when no words. */
char *cli_join_args(int argc, char **argv, int i);

/* Does `arg` name an input: an existing file (not a directory), or a
 * capture point A+B[+C...] whose every part exists (trace.h)? 1 or 0.
 * cli_all_inputs(): 1 when each of the n words does (flows FILE FILE...:
 * then they are files, not a filter expression, as tcpdump decides). */
int cli_is_input(const char *arg);
int cli_all_inputs(int n, char **words);

/* `correlate DIR` (cli_dir.c): the directory's capture files (paths, in
 * role order) grouped into capture points, one per host: *out gets the
 * points (a path, or paths joined by '+'; malloc'd array of malloc'd
 * strings), in the order of their first file. What was grouped or left
 * out is said on stderr. Returns the number of points, -1 when out of
 * memory. */
int cli_dir_points(char **paths, int n, char ***out);

/* Parse a positive integer option value; exits 2 with a message if bad. */
unsigned long cli_parse_count(const char *opt, const char *val);

/* ---- tcpdump habits and output settings shared by the commands ---- */

/* Words after a "--" argument are a BPF expression (tcpdump style):
 * returns them joined (malloc'd, NULL when there is no "--" or nothing
 * after it) and cuts *argc at the "--" so option parsing never sees them. */
char *cli_take_filter(int *argc, char **argv);

/* One filter from two: "(a) and (b)" when both are given, else the one
 * given (a copy), NULL when neither. Frees neither argument. Returns NULL
 * with *oom set when out of memory. */
char *cli_filter_and(const char *a, const char *b, int *oom);

/* --community-id-seed value: 0..65535, exits 2 with a message if bad. */
uint16_t cli_parse_seed(const char *val);

/* What cli_common_arg() collects. files/filter_f are borrowed from argv. */
typedef struct cli_common {
    const char **files;        /* -r FILE, in order; array owned (free it) */
    int          nfiles;
    const char  *filter_f;     /* -f EXPR */
    uint16_t     cid_seed;     /* --community-id-seed N */
} cli_common;

/* Append a capture path (borrowed) to c->files; exits 2 when out of memory. */
void cli_common_file(cli_common *c, const char *path);

/* Options for commands that parse argv by hand: argv[*i] is -r FILE,
 * -n (accepted, natlens never resolves names), -f EXPR or
 * --community-id-seed N (also the -rFILE, -fEXPR and --opt=N forms).
 * Returns 1 and moves *i past the value when it was one of them, 0 when
 * not; exits 2 with a message on a missing or bad value. files is grown
 * with realloc (exits 2 when out of memory). */
int cli_common_arg(cli_common *c, int argc, char **argv, int *i);

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
/* `natlens correlate --csv` (correlate_csv.c): one row per chain or lone
 * flow, every row. */
void cli_correlate_csv(FILE *out, const struct nl_correlation *c);

#endif
