/* cmd_report.c - `natlens report`: one file a firewall team or a cloud
 * provider can read without natlens (HTML, Markdown or JSON).
 *
 *   natlens report -o FILE.{html,md,json} [--format html|md|json]
 *                  [--title T] [--redact] [--all] [--top N]
 *                  [--fail-on-findings] CAPTURE...
 *
 * Captures are given client side first, as for `correlate`. The analysis is
 * the commands' own: trace_load (keep_packets), correlate_traces,
 * diagnose_*; the library's report_write() only presents it. The file is
 * written next to its final name and renamed into place, so a failed run
 * never leaves half a report.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "natlens/correlate.h"
#include "natlens/diagnose.h"
#include "natlens/hostmeta.h"
#include "natlens/redact.h"
#include "natlens/report.h"
#include "cli.h"

static void report_usage(FILE *f)
{
    fprintf(f, "usage: natlens report -o FILE.{html,md,json} [--format html|md|json] [--title T]\n"
               "                      [--redact] [--all] [--top N] [--max-flows N] [--fail-on-findings]\n"
               "                      [--strict] [--input-format NAME] [--community-id-seed N]\n"
               "                      [--tunnel-port KIND=PORT]... [--tunnel-depth N] [-n] [-f EXPR]\n"
               "                      [-r CAPTURE]... CAPTURE... [-q] [-- BPF expression]\n"
               "  Captures in path order, client side first. A CAPTURE given as A+B is several\n"
               "  files of one host (one per interface) read as one capture point, merged by time.\n"
               "  -o, --output FILE  the report; its extension gives the format unless --format\n"
               "                is given; -o - writes to standard output\n"
               "  --title T     title of the report (default: the capture names)\n"
               "  --redact      for sharing: inner addresses, MACs, host and file names become\n"
               "                stable placeholders (inner-1, mac-1, host-1, capture-1.pcap...);\n"
               "                egress (translated) and public addresses stay; see natlens(1)\n"
               "  --all         every flow and every failed handshake (default: top 50 flows, 20 ladders)\n"
               "  --top N       flows in the flow table\n"
               "  --max-flows N cap live flows per capture (least recently used are evicted);\n"
               "                flows that ended keep their summary (packet records only\n"
               "                where needed): bounded memory\n"
               "  --fail-on-findings  exit 1 when the report holds a finding\n"
               "  --strict            exit 3 when an input was damaged, cut or read only in part\n"
               "  --input-format NAME read record files (not captures) with this record reader\n"
               "  --community-id-seed N  Community ID seed of the flows in JSON, 0..65535\n"
               "  -r CAPTURE    a capture (as tcpdump; may repeat), before the others\n"
               "  -f EXPR       BPF filter for every capture; so are the words after --\n"
               "  -n            accepted (natlens never resolves names)\n"
               "  -q, --quiet   no progress line on stderr (drawn only on a terminal)\n"
               CLI_TUNNEL_USAGE);
}

/* Append one word to the rendered command line, shell-quoted when needed. */
static void report_cmd_word(char **buf, size_t *len, size_t *cap, const char *w)
{
    int plain = *w != '\0';
    size_t need;
    for (const char *p = w; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%", *p))
            plain = 0;
    need = *len + strlen(w) * 4 + 4;
    if (need > *cap) {
        char *nb = realloc(*buf, need * 2);
        if (!nb)
            return;
        *buf = nb;
        *cap = need * 2;
    }
    if (*len)
        (*buf)[(*len)++] = ' ';
    if (plain) {
        memcpy(*buf + *len, w, strlen(w));
        *len += strlen(w);
    } else {
        (*buf)[(*len)++] = '\'';
        for (const char *p = w; *p; p++) {
            if (*p == '\'') {
                memcpy(*buf + *len, "'\\''", 4);
                *len += 4;
            } else {
                (*buf)[(*len)++] = *p;
            }
        }
        (*buf)[(*len)++] = '\'';
    }
    (*buf)[*len] = '\0';
}

/* The output file's name as the command line shows it: the base name
 * (where it was written is nobody's business and would make the report
 * differ between two runs on the same input); with --redact only
 * "report" and the extension (the name may say whose incident it is). */
static const char *report_cmd_out(const char *w, int redact, char *buf, size_t len)
{
    const char *s = strrchr(w, '/'), *dot;
    w = s && s[1] ? s + 1 : w;
    if (!redact || !strcmp(w, "-"))
        return w;
    dot = strrchr(w, '.');
    snprintf(buf, len, "report%s", dot && strlen(dot) < 10 ? dot : "");
    return buf;
}

/* The command line as the report shows it; with --redact (rd) the input
 * files by their placeholders, as the report names them. */
static char *report_cmdline(int argc, char **argv, nl_redact *rd)
{
    char *buf = NULL, ob[32];
    size_t len = 0, cap = 0;
    report_cmd_word(&buf, &len, &cap, "natlens");
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i], *p = rd ? redact_str(rd, w) : NULL;
        if (i > 0 && (!strcmp(argv[i - 1], "-o") || !strcmp(argv[i - 1], "--output"))) {
            w = report_cmd_out(w, rd != NULL, ob, sizeof ob);
        } else if (!strncmp(w, "--output=", 9) || (!strncmp(w, "-o", 2) && w[2])) {
            report_cmd_word(&buf, &len, &cap, "-o");
            w = report_cmd_out(w + (w[1] == 'o' ? 2 : 9), rd != NULL, ob, sizeof ob);
        } else if (p) {
            w = p;
        }
        report_cmd_word(&buf, &len, &cap, w);
    }
    return buf;
}

int cmd_report(int argc, char **argv)
{
    static const struct option lo[] = {
        {"output", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'F'},
        {"title", required_argument, NULL, 'T'},
        {"redact", no_argument, NULL, 'R'},
        {"all", no_argument, NULL, 'A'},
        {"top", required_argument, NULL, 'N'},
        {"max-flows", required_argument, NULL, 'm'},
        {"fail-on-findings", no_argument, NULL, 'X'},
        {"strict", no_argument, NULL, 'Y'},
        {"input-format", required_argument, NULL, 'I'},
        {"community-id-seed", required_argument, NULL, 'S'},
        {"tunnel-port", required_argument, NULL, 'P'},
        {"tunnel-depth", required_argument, NULL, 'D'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    nl_report_opts ro;
    nl_tunnel_conf tconf;
    const char *outpath = NULL, *fmtname = NULL, *rec_format = NULL;
    int c, fail_on = 0, strict = 0, rc = CLI_USAGE, ncaps = 0, argc_all = argc;
    unsigned long max_flows = 0;
    nl_report_capture *caps = NULL;
    nl_trace **tr = NULL;
    nl_correlation *corr = NULL;
    nl_findings *fs = NULL;
    char *cmdline = NULL, *tmppath = NULL;
    char err[512];
    FILE *out = NULL;
    cli_common cc = {NULL, 0, NULL, 0};
    char *after_dashes, *bpf = NULL;
    const char **paths = NULL;
    int oom;

    report_opts_default(&ro);
    tunnel_conf_default(&tconf);
    after_dashes = cli_take_filter(&argc, argv);
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:hqr:nf:", lo, NULL)) != -1) {
        switch (c) {
        /* tcpdump habits, as correlate and tui take them */
        case 'r': cli_common_file(&cc, optarg); break;
        case 'n': break;
        case 'q': cli_quiet = 1; break;
        case 'f': cc.filter_f = optarg; break;
        case 'S': ro.community_id_seed = cli_parse_seed(optarg); break;
        case 'o': outpath = optarg; break;
        case 'F': fmtname = optarg; break;
        case 'T': ro.title = optarg; break;
        case 'R': ro.redact = 1; break;
        case 'A': ro.max_rows = 0; ro.max_ladders = 0; break;
        case 'N': ro.max_rows = cli_parse_count("--top", optarg); break;
        case 'm': max_flows = cli_parse_count("--max-flows", optarg); break;
        case 'X': fail_on = 1; break;
        case 'Y': strict = 1; break;
        case 'I': rec_format = optarg; break;
        case 'P': cli_tunnel_port(&tconf, optarg); break;
        case 'D': cli_tunnel_depth(&tconf, optarg); break;
        case 'h': report_usage(stdout); rc = CLI_OK; goto out;
        default: report_usage(stderr); goto out;
        }
    }
    if (!outpath || (optind >= argc && !cc.nfiles)) {
        cli_eprintf("natlens report: %s\n", !outpath ? "-o FILE is required" : "no capture given");
        report_usage(stderr);
        goto out;
    }
    bpf = cli_filter_and(cc.filter_f, after_dashes, &oom);
    ncaps = cc.nfiles + (argc - optind);
    paths = calloc((size_t)ncaps, sizeof *paths);
    if (oom || !paths)
        goto oom;
    for (int i = 0; i < ncaps; i++)
        paths[i] = i < cc.nfiles ? cc.files[i] : argv[optind + i - cc.nfiles];
    ro.format = report_format_from_name(fmtname ? fmtname : outpath);
    if (ro.format < 0) {
        if (fmtname)
            cli_eprintf("natlens report: unknown format '%s' (html, md or json)\n", fmtname);
        else
            cli_eprintf("natlens report: cannot tell the format from '%s': name it .html, .md or "
                            ".json, or give --format\n", outpath);
        goto out;
    }
    if (cli_stdin_once("report", paths, ncaps) < 0)
        goto out;
    caps = calloc((size_t)ncaps, sizeof *caps);
    tr = calloc((size_t)ncaps, sizeof *tr);
    fs = diagnose_new();
    if (!caps || !tr || !fs) {
        cli_eprintf("natlens report: out of memory\n");
        goto out;
    }
    {
        nl_trace_opts o;
        memset(&o, 0, sizeof o);
        /* records only where the findings need them and a bounded sample
         * (flow_table.h): the ladders are of failed handshakes, whose
         * records stay, and the library marks what was not kept "? not
         * known here" - memory is bounded by flows, not packets */
        o.keep_packets = 1;
        o.keep_policy = NL_KEEP_NEEDED;
        o.max_flows = max_flows > UINT32_MAX ? UINT32_MAX : (uint32_t)max_flows;
        o.bpf = bpf;
        o.format = rec_format;   /* --format is the report's own: --input-format here */
        o.tunnels = &tconf;
        o.sha256 = 1;            /* hashed by the loading threads, at once */
        /* all at once, one per core, as correlate reads them */
        if (cli_load_traces(paths, (size_t)ncaps, &o, tr) < 0)
            goto out;
    }
    for (int i = 0; i < ncaps; i++) {
        const char *path = paths[i];
        caps[i].trace = tr[i];
        /* the host context came with the capture (read once, checked);
         * standard input and FIFOs were hashed as they were read */
        caps[i].hostmeta = tr[i]->hostmeta;
        if (tr[i]->sha256[0])
            memcpy(caps[i].sha256, tr[i]->sha256, sizeof caps[i].sha256);
        else if (tr[i]->nfiles == 1 && report_sha256_file(path, caps[i].sha256, err) < 0)
            cli_eprintf("natlens report: warning: %s (no sha256 in the report)\n", err);
    }
    if (ncaps > 1) {
        cli_stage("pairing the captures' connections");
        corr = correlate_traces(tr, (size_t)ncaps, NULL, err);
        cli_stage(NULL);
        if (!corr) {
            cli_eprintf("natlens report: %s\n", err);
            goto out;
        }
        cli_stage("looking for problems");
        if (diagnose_correlation(fs, corr) < 0)
            goto oom;
    } else {
        cli_stage("looking for problems");
        if (diagnose_trace(fs, tr[0], 0) < 0)
            goto oom;
    }
    cli_stage(NULL);
    if (ro.redact) {
        nl_redact *rd = redact_new();
        for (int i = 0; rd && i < ncaps; i++)
            if (redact_learn_file(rd, (size_t)i, paths[i], tr[i]->is_record) < 0) {
                redact_free(rd);
                rd = NULL;
            }
        if (!rd)
            goto oom;
        cmdline = report_cmdline(argc_all, argv, rd);   /* with the words after -- */
        redact_free(rd);
    } else {
        cmdline = report_cmdline(argc_all, argv, NULL);
    }
    ro.command_line = cmdline;

    if (!strcmp(outpath, "-")) {
        out = stdout;
    } else {
        size_t n = strlen(outpath) + 16;
        tmppath = malloc(n);
        if (!tmppath)
            goto oom;
        snprintf(tmppath, n, "%s.tmp%ld", outpath, (long)getpid());
        out = fopen(tmppath, "w");
        if (!out) {
            cli_eprintf("natlens report: %s: %s\n", outpath, strerror(errno));
            goto out;
        }
    }
    {
        nl_report_input in = {caps, (size_t)ncaps, corr, fs};
        /* -o - to a terminal overwrites the line anyway */
        cli_stage(out != stdout || !isatty(1) ? "writing the report" : NULL);
        int wr = report_write(out, &in, &ro, err);
        cli_stage(NULL);
        if (out != stdout && fclose(out) != 0 && wr == 0) {
            snprintf(err, sizeof err, "%s", strerror(errno));
            wr = -1;
        }
        out = NULL;
        if (wr < 0) {
            cli_eprintf("natlens report: %s: %s\n", outpath, err);
            if (tmppath)
                unlink(tmppath);
            goto out;
        }
        if (tmppath && rename(tmppath, outpath) != 0) {
            cli_eprintf("natlens report: %s: %s\n", outpath, strerror(errno));
            unlink(tmppath);
            goto out;
        }
    }
    rc = fail_on && diagnose_count_at_least(fs, NL_SEV_WARNING) > 0 ? CLI_FINDINGS : CLI_OK;
    if (strict && cli_partial)
        rc = CLI_PARTIAL;
    goto out;
oom:
    cli_stage(NULL);
    cli_eprintf("natlens report: out of memory\n");
out:
    diagnose_free(fs);
    if (corr)
        correlate_free(corr);
    for (int i = 0; tr && i < ncaps; i++)
        if (tr[i])
            trace_free(tr[i]);
    free(tr);
    free(caps);
    free(cmdline);
    free(tmppath);
    free(paths);
    free(cc.files);
    free(bpf);
    free(after_dashes);
    return rc;
}
