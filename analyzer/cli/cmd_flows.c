/* cmd_flows.c - `natlens flows`: the flow table of one capture as an
 * aligned table, JSON (the contract), CSV or Zeek's conn.log. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "natlens/flow_out.h"
#include "natlens/json.h"
#include "natlens/diagnose.h"
#include "natlens/plural.h"
#include "natlens/record.h"
#include "natlens/record_out.h"
#include "natlens/redact.h"
#include "natlens/hostmeta.h"
#include "natlens/timefmt.h"
#include "natlens/trace_out.h"
#include "natlens/tunnel_out.h"
#include "natlens/zeek_log.h"
#include "cli.h"

enum { FMT_TEXT, FMT_JSON, FMT_CSV, FMT_ZEEK, FMT_ZEEK_JSON };

static void flows_usage(FILE *f)
{
    fprintf(f, "usage: natlens flows [--json|--csv|--zeek|--zeek-json] [--verify-checksums] [--max-flows N]\n"
               "                     [--fail-on-findings] [--strict] [--format NAME] [--community-id-seed N]\n"
               "                     [--localtime] [--redact] [--tunnel-port KIND=PORT]... [--tunnel-depth N]\n"
               "                     [--likely-server-ports LIST] [-q]\n"
               "                     [-n] [-f EXPR] {FILE[+FILE...] | -r FILE} [FILE...] [BPF expression]\n"
               "                     [-- BPF expression]\n"
               "       natlens flows --ndjson OUT [--point NAME] [--max-flows N] FILE [BPF expression]\n"
               "  FILE is a pcap or pcapng file, a record file (conntrack, cloud NAT or flow log,\n"
               "  Zeek conn.log: detected from its content), or - for standard input.\n"
               "  A+B reads several files of one host (one per interface) merged by time as\n"
               "  one capture point. Words after FILE are a filter unless every one is an\n"
               "  existing file: then each is read too, one table each (text output); a\n"
               "  filter word that is also a file name goes after -- (as tcpdump).\n"
               "  --json              one JSON document (natlens(1), OUTPUT)\n"
               "  --csv               a header row and one row per flow\n"
               "  --zeek              Zeek's conn.log (TSV with #fields/#types; zeek-cut reads it)\n"
               "  --zeek-json         Zeek's conn.log as Zeek's JSON logs, one object per line\n"
               "  --format NAME       read FILE with this record reader (conntrack, gcp_nat,\n"
               "                      gcp_flow, aws_flow, azure_flow, zeek_conn)\n"
               "  --verify-checksums  ignore packets with bad checksums, as Zeek does by default\n"
               "  --max-flows N       cap live flows; least recently used are evicted (counted);\n"
               "                      flows are written as they end, summary last, no findings\n"
               "  --fail-on-findings  exit 1 when a warning or error was found\n"
               "  --strict            exit 3 when the input was damaged, cut or read only in part\n"
               "  --community-id-seed N  Community ID seed, 0..65535 (default 0)\n"
               "  --localtime         text times in local time (TZ) instead of UTC\n"
               "  --redact            for sharing (text, JSON, CSV): inner addresses, MACs, host\n"
               "                      and file names become placeholders; see natlens(1)\n"
               "  -r FILE, -n, -f EXPR    as tcpdump: read FILE, no name lookups (natlens never\n"
               "                      does any), BPF filter; words after FILE or after -- too\n"
               "  --ndjson OUT        flow records with every pairing key, one JSON object a line,\n"
               "                      streamed as flows end (OUT - for standard output); see natlens(1)\n"
               "  --point NAME        capture-point name in the records (default: the recorded role,\n"
               "                      else the file name without its extension)\n"
               "  -q, --quiet         no progress line on stderr (drawn only on a terminal)\n"
               "  --likely-server-ports LIST  Zeek's likely_server_ports for naming the originator\n"
               "                      when a connection starts without a SYN: 'none', 'default', or\n"
               "                      80/tcp,53/udp,... ('+' first: added to the default)\n"
               CLI_TUNNEL_USAGE);
}

/* Streaming output (--max-flows): flows are written as they end, so the
 * document starts with "flows" and the capture summary follows. */
#define FLOWS_STREAM_W 47

static void flows_text_summary(nl_trace *t, const nl_timefmt *tf);
static void flows_text_header(int w, const nl_timefmt *tf);
static void flows_text_row(const nl_flow *f, int w, int color, const nl_timefmt *tf);

typedef struct flows_stream {
    const nl_tunnel_table *tunnels;  /* the trace's, set by trace_load */
    int      fmt;
    int      color;
    int      localtime;
    uint16_t cid_seed;
    nl_json  j;
    nl_zeek_log z;          /* FMT_ZEEK, FMT_ZEEK_JSON */
    nl_timefmt tf;          /* text: set by the first flow */
    int      started;
} flows_stream;

static void flows_stream_begin(flows_stream *s, uint64_t first_ns)
{
    if (s->started)
        return;
    s->started = 1;
    if (s->fmt == FMT_JSON) {
        json_init(&s->j, stdout, 1);
        s->j.community_id_seed = s->cid_seed;
        json_obj_begin(&s->j, NULL);
        json_schema(&s->j);
        json_arr_begin(&s->j, "flows");
    } else if (s->fmt == FMT_CSV) {
        flow_out_csv_header(stdout);
    } else if (s->fmt == FMT_TEXT) {
        /* the span is not known ahead: always show the date */
        timefmt_init(&s->tf, s->localtime, first_ns, first_ns, (int64_t)time(NULL));
        s->tf.date = 1;
        /* widths cannot be measured ahead: fit IPv4 tuples */
        flows_text_header(FLOWS_STREAM_W, &s->tf);
    }
}

static void flows_stream_one(void *ctx, const nl_flow *f)
{
    flows_stream *s = ctx;
    flows_stream_begin(s, f->first_ns);
    if (s->fmt == FMT_JSON)
        flow_out_json_tun(&s->j, NULL, f, s->tunnels);
    else if (s->fmt == FMT_CSV)
        flow_out_csv_row(stdout, f, s->cid_seed);
    else if (s->fmt == FMT_ZEEK || s->fmt == FMT_ZEEK_JSON) {
        s->z.tunnels = s->tunnels;
        zeek_log_flow(&s->z, f);
    } else
        flows_text_row(f, FLOWS_STREAM_W, s->color, &s->tf);
}

static void flows_stream_end(flows_stream *s, nl_trace *t)
{
    size_t n;
    nl_flow **fl = trace_flows(t, &n);
    for (size_t i = 0; i < n; i++)
        flows_stream_one(s, fl[i]);
    flows_stream_begin(s, t->first_ns);
    if (s->fmt == FMT_TEXT) {
        nl_timefmt tf;
        timefmt_init(&tf, s->localtime, t->first_ns, t->last_ns, (int64_t)time(NULL));
        putchar('\n');
        flows_text_summary(t, &tf);
        trace_out_text_probes(stdout, &t, 1);
    }
    if (s->fmt == FMT_ZEEK || s->fmt == FMT_ZEEK_JSON)
        zeek_log_close(&s->z);
    if (s->fmt != FMT_JSON)
        return;
    json_arr_end(&s->j);
    json_arr_begin(&s->j, "captures");
    trace_out_json_capture(&s->j, NULL, t);
    json_arr_end(&s->j);
    json_arr_begin(&s->j, "findings");
    json_arr_end(&s->j);
    trace_out_json_probes(&s->j, "probes", &t, 1);
    json_obj_end(&s->j);
    json_finish(&s->j);
}

static void flows_json(nl_trace *t, const nl_findings *fs, uint16_t cid_seed)
{
    nl_json j;
    size_t n;
    nl_flow **fl = trace_flows(t, &n);
    json_init(&j, stdout, 1);
    j.community_id_seed = cid_seed;
    json_obj_begin(&j, NULL);
    json_schema(&j);
    json_arr_begin(&j, "captures");
    trace_out_json_capture(&j, NULL, t);
    json_arr_end(&j);
    json_arr_begin(&j, "flows");
    for (size_t i = 0; i < n; i++)
        flow_out_json_in(&j, NULL, fl[i], t);
    json_arr_end(&j);
    diagnose_json(&j, "findings", fs);
    trace_out_json_probes(&j, "probes", &t, 1);
    if (record_count(t))
        record_out_json(&j, "records", t);
    json_obj_end(&j);
    json_finish(&j);
}

static void flows_csv(nl_trace *t, uint16_t cid_seed)
{
    size_t n;
    nl_flow **fl = trace_flows(t, &n);
    flow_out_csv_header(stdout);
    for (size_t i = 0; i < n; i++)
        flow_out_csv_row(stdout, fl[i], cid_seed);
}

static void flows_zeek(nl_trace *t, nl_zeek_log *z)
{
    size_t n;
    nl_flow **fl = trace_flows(t, &n);
    z->tunnels = t->tunnels;
    for (size_t i = 0; i < n; i++)
        zeek_log_flow(z, fl[i]);
    zeek_log_close(z);
}

static const char *state_color(const char *st)
{
    if (!strcmp(st, "SF") || !strcmp(st, "S1"))
        return "\033[32m";
    if (!strcmp(st, "S0") || !strcmp(st, "REJ") || !strncmp(st, "RST", 3) ||
        !strcmp(st, "SH") || !strcmp(st, "SHR"))
        return "\033[31m";
    return "\033[33m";
}

/* ---- one row, built by hand: printf made the row cost ~10k
 * instructions, more than reading the flow's packets. Each piece below
 * prints what the printf conversion named next to it printed. ---- */

typedef struct flows_line {
    char   b[512];             /* a row: tuple <= 200, the rest < 120 */
    size_t n;
} flows_line;

static void line_put(flows_line *l, const char *s, size_t n)
{
    if (n > sizeof l->b - 1 - l->n)
        n = sizeof l->b - 1 - l->n;
    memcpy(l->b + l->n, s, n);
    l->n += n;
}

static void line_pad(flows_line *l, size_t n)
{
    while (n-- > 0 && l->n < sizeof l->b - 1)
        l->b[l->n++] = ' ';
}

/* %-*s (left = 1) or %*s */
static void line_str(flows_line *l, const char *s, int w, int left)
{
    size_t n = strlen(s), pad = w > 0 && (size_t)w > n ? (size_t)w - n : 0;
    if (!left)
        line_pad(l, pad);
    line_put(l, s, n);
    if (left)
        line_pad(l, pad);
}

/* %PRIu64 into buf (>= 21), returns the length */
static size_t u64_str(uint64_t v, char *buf)
{
    char d[20];
    size_t i = sizeof d, n;
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    n = sizeof d - i;
    memcpy(buf, d + i, n);
    buf[n] = '\0';
    return n;
}

/* v / div with `dec` decimals, rounded as printf rounds the double v / div:
 * by hand when the decimal remainder is not a tie and v is exact as a
 * double (then both round the same way), else by snprintf. */
static void fixed_str(uint64_t v, uint64_t div, int dec, char *buf, size_t len)
{
    uint64_t unit = div, q, r, ip, fp, pow = 1;
    for (int i = 0; i < dec; i++) {
        unit /= 10;
        pow *= 10;
    }
    q = v / unit;
    r = v % unit;
    if (unit == 0 || v >= (1ull << 53) || (unit % 2 == 0 && r == unit / 2)) {
        snprintf(buf, len, "%.*f", dec, (double)v / (double)div);
        return;
    }
    if (r > unit / 2)
        q++;
    ip = q / pow;
    fp = q % pow;
    {
        size_t n = u64_str(ip, buf);
        if (dec > 0) {
            buf[n++] = '.';
            for (int i = dec - 1; i >= 0; i--, fp /= 10)
                buf[n + (size_t)i] = (char)('0' + fp % 10);
            n += (size_t)dec;
        }
        buf[n] = '\0';
    }
}

static void human_bytes(uint64_t v, char *buf, size_t len)
{
    static const struct { uint64_t below, div; char unit; } steps[] = {
        {10000000ull, 1000ull, 'k'}, {10000000000ull, 1000000ull, 'M'},
        {UINT64_MAX, 1000000000ull, 'G'}
    };
    if (v < 10000) {
        u64_str(v, buf);
        return;
    }
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        if (v < steps[i].below || i + 1 == sizeof steps / sizeof steps[0]) {
            size_t n;
            fixed_str(v, steps[i].div, 1, buf, len - 1);
            n = strlen(buf);
            buf[n] = steps[i].unit;
            buf[n + 1] = '\0';
            return;
        }
    }
}

static void flows_text_summary(nl_trace *t, const nl_timefmt *tf)
{
    nl_flow_table_stats st;
    char np[40], nf[40];
    flow_table_stats(t->flows, &st);
    char span[128];
    plural_count(t->packets, "packet", "packets", np, sizeof np);
    /* a capture's conntrack events are record flows: counted apart (below) */
    plural_count(st.flows_total - (t->is_record ? 0 : (uint64_t)record_count(t)), "flow", "flows",
                 nf, sizeof nf);
    if (t->is_record) {
        char rs[200];
        printf("%s: %s", t->name, record_out_summary(t, rs, sizeof rs));
        if (t->last_ns)
            printf(", %s", timefmt_span(tf, t->first_ns, t->last_ns, " \xe2\x86\x92 ", span, sizeof span));
        printf("\n");
        if (t->bad_records)
            printf("  %llu %s skipped (see the warnings)\n", (unsigned long long)t->bad_records,
                   plural_word(t->bad_records, "line", "lines"));
    } else if (t->packets) {
        char cs[200];
        printf("%s: %s, %s, %s, %s, %s\n", t->name, t->is_pcapng ? "pcapng" : "pcap",
               t->linktype_name, np, nf,
               timefmt_span(tf, t->first_ns, t->last_ns, " \xe2\x86\x92 ", span, sizeof span));
        if (record_out_capture_summary(t, cs, sizeof cs)[0])
            printf("  %s\n", cs);
    } else {
        printf("%s: %s, %s, no packets\n", t->name, t->is_pcapng ? "pcapng" : "pcap", t->linktype_name);
    }
    if (st.evicted)
        printf("  %" PRIu64 " %s evicted by --max-flows (%s end at eviction)\n", st.evicted,
               plural_word(st.evicted, "flow", "flows"),
               plural_word(st.evicted, "its counts", "their counts"));
    tunnel_out_text_stats(stdout, t->tunnels);
}

/* Width of the FIRST column: the time with 6 decimals, the date if shown. */
static int flows_time_w(const nl_timefmt *tf)
{
    return tf->date ? 26 : 15;
}

static void flows_text_header(int w, const nl_timefmt *tf)
{
    char first[32];
    snprintf(first, sizeof first, "FIRST (%s)", tf->zone);
    printf("\n%5s %-4s  %-*s  %-6s %-12s %13s %15s  %-*s %11s\n", "#", "PROTO", w,
           "ORIG -> RESP", "STATE", "HISTORY", "PKTS o/r", "BYTES o/r", flows_time_w(tf), first,
           "DURATION");
}

static void flows_text_row(const nl_flow *f, int w, int color, const nl_timefmt *tf)
{
    const char *cs = flow_conn_state(f);
    char tup[200], a[48], b[48], tm[48], p[16], pk[48], by[100], id[24], du[32];
    flows_line l;
    size_t n;
    l.n = 0;
    flow_out_tuple(f, tup, sizeof tup, 0);
    n = u64_str(f->pkts[0], pk);
    pk[n] = '/';
    u64_str(f->pkts[1], pk + n + 1);
    human_bytes(f->bytes[0], a, sizeof a);
    human_bytes(f->bytes[1], b, sizeof b);
    n = strlen(a);
    memcpy(by, a, n);
    by[n] = '/';
    memcpy(by + n + 1, b, strlen(b) + 1);
    u64_str(f->id, id);
    /* "%5u %-5s  %-*s  %s%-6s%s %-12s %13s %15s  %-*s %11s\n" */
    line_str(&l, id, 5, 0);
    line_put(&l, " ", 1);
    line_str(&l, flow_proto_name(f->proto, p, sizeof p), 5, 1);
    line_put(&l, "  ", 2);
    line_str(&l, tup, w, 1);
    line_put(&l, "  ", 2);
    if (color)
        line_str(&l, state_color(cs), 0, 1);
    line_str(&l, cs, 6, 1);
    if (color)
        line_put(&l, "\033[0m", 4);
    line_put(&l, " ", 1);
    line_str(&l, f->history[0] ? f->history : "-", 12, 1);
    line_put(&l, " ", 1);
    line_str(&l, pk, 13, 0);
    line_put(&l, " ", 1);
    line_str(&l, by, 15, 0);
    line_put(&l, "  ", 2);
    line_str(&l, timefmt_time(tf, f->first_ns, 6, tm, sizeof tm), flows_time_w(tf), 1);
    line_put(&l, " ", 1);
    line_str(&l, timefmt_duration(f->last_ns - f->first_ns, du, sizeof du), 11, 0);
    line_put(&l, "\n", 1);
    fwrite(l.b, 1, l.n, stdout);
}

static void flows_text(nl_trace *t, int localtime)
{
    size_t n, w = 20;
    nl_flow **fl = trace_flows(t, &n);
    int color = cli_use_color(stdout);
    char tup[200];
    nl_timefmt tf;

    timefmt_init(&tf, localtime, t->first_ns, t->last_ns, (int64_t)time(NULL));
    flows_text_summary(t, &tf);
    for (size_t i = 0; i < n; i++) {
        size_t l;
        if (!t->is_record && record_info_of(t, fl[i]))
            continue;   /* a capture's conntrack events: under NAT MAPPINGS */
        l = strlen(flow_out_tuple(fl[i], tup, sizeof tup, 0));
        if (l > w)
            w = l;
    }
    if (w > 90)
        w = 90;
    flows_text_header((int)w, &tf);
    for (size_t i = 0; i < n; i++)
        if (t->is_record || !record_info_of(t, fl[i]))
            flows_text_row(fl[i], (int)w, color, &tf);
    trace_out_text_probes(stdout, &t, 1);
    record_out_text(stdout, t, 1);
}

/* One FILE (or one capture point A+B) read and written in fmt. Returns
 * the exit status for it (CLI_USAGE when it cannot be read). rd: redact
 * filter already on stdout, or NULL; index: the file's number for it. */
static int flows_run_one(const char *path, nl_trace_opts *o, int fmt, int localtime,
                         uint16_t seed, nl_redact *rd, int index, int fail_on, int strict)
{
    flows_stream stream;
    nl_trace *t;
    nl_findings *fs;
    int rc = CLI_OK;
    nl_trace_opts oo = *o;

    memset(&stream, 0, sizeof stream);
    stream.fmt = fmt;
    stream.color = cli_use_color(stdout);
    stream.localtime = localtime;
    stream.cid_seed = seed;
    if (fmt == FMT_ZEEK || fmt == FMT_ZEEK_JSON)
        zeek_log_init(&stream.z, stdout, fmt == FMT_ZEEK_JSON, seed, path);
    if (oo.max_flows) {
        /* bounded memory: ended flows are written out and recycled (as
         * the file is read: no progress line between them on a terminal) */
        if (isatty(1))
            cli_quiet = 1;
        oo.flow_done = flows_stream_one;
        oo.flow_done_ctx = &stream;
        oo.tunnels_out = &stream.tunnels;
    }
    if (!oo.flow_done) {
        /* findings read the handshake's packets: a few per flow are enough
         * (SYN retries, the answer, a reset) and keep memory per flow low;
         * only flows the findings need keep them once they end */
        oo.keep_packets = 1;
        oo.keep_limit = 8;
        oo.keep_policy = NL_KEEP_NEEDED;
    }
    t = cli_load_trace(path, &oo);
    if (rd && t && redact_learn_trace(rd, t, index, 0) < 0)
        fprintf(stderr, "natlens flows: warning: out of memory while redacting\n");
    if (!t)
        return CLI_USAGE;
    fs = diagnose_new();
    if (!oo.flow_done)
        cli_stage("looking for problems");
    if (fs && !oo.flow_done &&
        (record_count(t) ? diagnose_records(fs, t, 0) : diagnose_trace(fs, t, 0)) < 0) {
        cli_stage(NULL);
        cli_eprintf("natlens flows: warning: findings incomplete (out of memory)\n");
    }
    /* output to a terminal overwrites the line anyway: say it only when
     * the flows go to a file or a pipe */
    cli_stage(!oo.flow_done && !isatty(1) ? "writing the flows" : NULL);
    if (oo.flow_done)
        flows_stream_end(&stream, t);
    else if (fmt == FMT_JSON)
        flows_json(t, fs, seed);
    else if (fmt == FMT_CSV)
        flows_csv(t, seed);
    else if (fmt == FMT_ZEEK || fmt == FMT_ZEEK_JSON)
        flows_zeek(t, &stream.z);
    else {
        flows_text(t, localtime);
        putchar('\n');
        diagnose_text(stdout, fs, cli_use_color(stdout));
    }
    fflush(stdout);
    cli_stage(NULL);
    if (fail_on && diagnose_count_at_least(fs, NL_SEV_WARNING))
        rc = 1;
    if (strict && cli_partial)
        rc = CLI_PARTIAL;
    diagnose_free(fs);
    trace_free(t);
    return rc;
}

int cmd_flows(int argc, char **argv)
{
    static const struct option lo[] = {
        {"json", no_argument, NULL, 'j'},
        {"csv", no_argument, NULL, 'c'},
        {"zeek", no_argument, NULL, 'z'},
        {"zeek-json", no_argument, NULL, 'Z'},
        {"verify-checksums", no_argument, NULL, 'V'},
        {"max-flows", required_argument, NULL, 'm'},
        {"fail-on-findings", no_argument, NULL, 'F'},
        {"strict", no_argument, NULL, 'T'},
        {"community-id-seed", required_argument, NULL, 'S'},
        {"localtime", no_argument, NULL, 'L'},
        {"format", required_argument, NULL, 'I'},
        {"redact", no_argument, NULL, 'R'},
        {"tunnel-port", required_argument, NULL, 'U'},
        {"tunnel-depth", required_argument, NULL, 'D'},
        {"likely-server-ports", required_argument, NULL, 'K'},
        {"ndjson", required_argument, NULL, 'N'},
        {"point", required_argument, NULL, 'P'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int fmt = FMT_TEXT, c, rc = CLI_OK, oom;
    nl_trace_opts o;
    nl_tunnel_conf tconf;
    static nl_server_ports sports;  /* 16 KiB: not on the stack */
    char perr[160];
    int fail_on = 0, strict = 0, localtime = 0, redact = 0;
    nl_redact *rd = NULL;
    FILE *real_stdout = stdout;
    uint16_t seed = 0;
    const char *path = NULL, *filter_f = NULL;
    const char **files = NULL;
    int nfiles = 0;
    char *after_dashes, *words, *bpf;
    const char *ndjson = NULL, *point = NULL;

    memset(&o, 0, sizeof o);
    tunnel_conf_default(&tconf);
    o.tunnels = &tconf;
    after_dashes = cli_take_filter(&argc, argv);
    optind = 1;
    /* "+" stops at the first non-option: the BPF expression may hold
     * words like "not" or "-" that are not ours */
    while ((c = getopt_long(argc, argv, "+hqr:nf:", lo, NULL)) != -1) {
        switch (c) {
        case 'j': fmt = FMT_JSON; break;
        case 'c': fmt = FMT_CSV; break;
        case 'z': fmt = FMT_ZEEK; break;
        case 'Z': fmt = FMT_ZEEK_JSON; break;
        case 'V': o.verify_checksums = 1; break;
        case 'm': o.max_flows = (uint32_t)cli_parse_count("--max-flows", optarg); break;
        case 'F': fail_on = 1; break;
        case 'T': strict = 1; break;
        case 'S': seed = cli_parse_seed(optarg); break;
        case 'L': localtime = 1; break;
        case 'R': redact = 1; break;
        case 'I': o.format = optarg; break;
        case 'U': cli_tunnel_port(&tconf, optarg); break;
        case 'D': cli_tunnel_depth(&tconf, optarg); break;
        case 'K':
            if (server_ports_parse(&sports, optarg, perr, sizeof perr) < 0) {
                fprintf(stderr, "natlens flows: %s\n", perr);
                free(after_dashes);
                return CLI_USAGE;
            }
            o.server_ports = &sports;
            break;
        case 'r': path = optarg; break;
        case 'n': break;            /* tcpdump's "no name lookups": natlens does none */
        case 'q': cli_quiet = 1; break;
        case 'f': filter_f = optarg; break;
        case 'N': ndjson = optarg; break;
        case 'P': point = optarg; break;
        case 'h': flows_usage(stdout); free(after_dashes); return CLI_OK;
        default: flows_usage(stderr); free(after_dashes); return CLI_USAGE;
        }
    }
    if (!path && optind < argc)
        path = argv[optind++];
    if (!path) {
        flows_usage(stderr);
        free(after_dashes);
        return CLI_USAGE;
    }
    /* FILE FILE...: when every word after FILE names an input (a file, or
     * A+B), they are files, not a filter; tcpdump's rule for the rare
     * filter word that is also a file name: put the filter after -- */
    if (!(files = calloc((size_t)argc + 1, sizeof *files))) {
        free(after_dashes);
        return CLI_USAGE;
    }
    files[nfiles++] = path;
    if (optind < argc && cli_all_inputs(argc - optind, argv + optind)) {
        if (fmt != FMT_TEXT || ndjson || o.max_flows) {
            fprintf(stderr, "natlens flows: several FILEs are read for text output only; give "
                            "one FILE, or A+B to read them merged as one capture point\n");
            free(files);
            free(after_dashes);
            return CLI_USAGE;
        }
        while (optind < argc)
            files[nfiles++] = argv[optind++];
    }
    /* the filter: -f, the words after FILE (tcpdump style) and after -- */
    words = cli_join_args(argc, argv, optind);
    {
        char *ff = cli_filter_and(filter_f, words, &oom);
        bpf = oom ? NULL : cli_filter_and(ff, after_dashes, &oom);
        free(ff);
    }
    free(words);
    free(after_dashes);
    if (oom) {
        fprintf(stderr, "natlens: out of memory\n");
        free(files);
        return CLI_USAGE;
    }
    if (redact && (fmt == FMT_ZEEK || fmt == FMT_ZEEK_JSON || ndjson)) {
        /* a conn.log's id.orig_h is typed addr, NDJSON records are read back
         * by correlate and ClickHouse to pair them: a placeholder breaks
         * every program that reads them (Zeek, RITA, Elastic, natlens) */
        fprintf(stderr, "natlens flows: --redact is for text, --json and --csv output; %s needs "
                        "real addresses\n", ndjson ? "--ndjson" : "a Zeek log");
        free(bpf);
        free(files);
        return CLI_USAGE;
    }
    if (redact) {
        /* stdout becomes a filter that redacts every line it is given, so
         * each format below, streaming ones too, is covered; names learned
         * after the load (the usual case) are numbered in sorted order */
        char herr[512];
        /* streamed flows go out while the file is read: learn what the
         * file name and host context give first */
        char *meta = o.max_flows ? hostmeta_read(path, herr) : NULL;
        rd = redact_new();
        if (!rd || (o.max_flows && redact_learn_file(rd, 0, path, 0) < 0) ||
            redact_learn_hostmeta(rd, meta) < 0 ||
            !(stdout = redact_fopen(rd, real_stdout, fmt == FMT_TEXT ? NL_REDACT_COLUMNS : 0))) {
            stdout = real_stdout;
            free(meta);
            redact_free(rd);
            free(bpf);
            fprintf(stderr, "natlens: out of memory\n");
            free(files);
            return CLI_USAGE;
        }
        free(meta);
    }
    o.bpf = bpf;
    /* records streamed to a terminal as the file is read: no progress
     * line between them */
    if (ndjson && !strcmp(ndjson, "-") && isatty(1))
        cli_quiet = 1;
    if (ndjson || point) {
        rc = ndjson ? flows_ndjson_run(path, ndjson, point, &o) : CLI_USAGE;
        if (!ndjson)
            fprintf(stderr, "natlens flows: --point goes with --ndjson\n");
        free(bpf);
        free(files);
        return rc;
    }
    /* several FILEs: one table each, in order (text output) */
    for (int k = 0; k < nfiles && rc != CLI_USAGE; k++) {
        int r1;
        if (k)
            putchar('\n');
        r1 = flows_run_one(files[k], &o, fmt, localtime, seed, rd, k, fail_on, strict);
        if (r1 == CLI_USAGE || r1 > rc)
            rc = r1;
    }
    free(bpf);
    free(files);
    if (rd) {
        if (fclose(stdout) != 0)
            rc = CLI_USAGE;
        stdout = real_stdout;
        redact_free(rd);
    }
    return rc;
}
