/* cmd_flows.c - `natlens flows`: the flow table of one capture as an
 * aligned table, JSON (the contract), CSV or Zeek's conn.log. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "natlens/flow_out.h"
#include "natlens/json.h"
#include "natlens/diagnose.h"
#include "natlens/plural.h"
#include "natlens/record.h"
#include "natlens/record_out.h"
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
               "                     [--localtime] [--tunnel-port KIND=PORT]... [--tunnel-depth N]\n"
               "                     [--likely-server-ports LIST]\n"
               "                     [-n] [-f EXPR] {FILE | -r FILE} [BPF expression] [-- BPF expression]\n"
               "       natlens flows --ndjson OUT [--point NAME] [--max-flows N] FILE [BPF expression]\n"
               "  FILE is a pcap or pcapng file, a record file (conntrack, cloud NAT or flow log,\n"
               "  Zeek conn.log: detected from its content), or - for standard input.\n"
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
               "  -r FILE, -n, -f EXPR    as tcpdump: read FILE, no name lookups (natlens never\n"
               "                      does any), BPF filter; words after FILE or after -- too\n"
               "  --ndjson OUT        flow records with every pairing key, one JSON object a line,\n"
               "                      streamed as flows end (OUT - for standard output); see natlens(1)\n"
               "  --point NAME        capture-point name in the records (default: the recorded role,\n"
               "                      else the file name without its extension)\n"
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
        flow_out_json_tun(&j, NULL, fl[i], t->tunnels);
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

static void human_bytes(uint64_t v, char *buf, size_t len)
{
    if (v < 10000)
        snprintf(buf, len, "%" PRIu64, v);
    else if (v < 10000000)
        snprintf(buf, len, "%.1fk", (double)v / 1e3);
    else if (v < 10000000000ull)
        snprintf(buf, len, "%.1fM", (double)v / 1e6);
    else
        snprintf(buf, len, "%.1fG", (double)v / 1e9);
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
    char tup[200], a[32], b[32], tm[48], p[16], pk[48], by[80], du[32];
    flow_out_tuple(f, tup, sizeof tup, 0);
    snprintf(pk, sizeof pk, "%" PRIu64 "/%" PRIu64, f->pkts[0], f->pkts[1]);
    human_bytes(f->bytes[0], a, sizeof a);
    human_bytes(f->bytes[1], b, sizeof b);
    snprintf(by, sizeof by, "%s/%s", a, b);
    printf("%5u %-5s  %-*s  %s%-6s%s %-12s %13s %15s  %-*s %11s\n", f->id,
           flow_proto_name(f->proto, p, sizeof p), w, tup, color ? state_color(cs) : "",
           cs, color ? "\033[0m" : "", f->history[0] ? f->history : "-", pk, by,
           flows_time_w(tf), timefmt_time(tf, f->first_ns, 6, tm, sizeof tm),
           timefmt_duration(f->last_ns - f->first_ns, du, sizeof du));
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
        {"tunnel-port", required_argument, NULL, 'U'},
        {"tunnel-depth", required_argument, NULL, 'D'},
        {"likely-server-ports", required_argument, NULL, 'K'},
        {"ndjson", required_argument, NULL, 'N'},
        {"point", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int fmt = FMT_TEXT, c, rc = CLI_OK, oom;
    flows_stream stream;
    nl_trace_opts o;
    nl_tunnel_conf tconf;
    static nl_server_ports sports;  /* 16 KiB: not on the stack */
    char perr[160];
    nl_trace *t;
    nl_findings *fs;
    int fail_on = 0, strict = 0, localtime = 0;
    uint16_t seed = 0;
    const char *path = NULL, *filter_f = NULL;
    char *after_dashes, *words, *bpf;
    const char *ndjson = NULL, *point = NULL;

    memset(&o, 0, sizeof o);
    tunnel_conf_default(&tconf);
    o.tunnels = &tconf;
    after_dashes = cli_take_filter(&argc, argv);
    optind = 1;
    /* "+" stops at the first non-option: the BPF expression may hold
     * words like "not" or "-" that are not ours */
    while ((c = getopt_long(argc, argv, "+hr:nf:", lo, NULL)) != -1) {
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
        return CLI_USAGE;
    }
    o.bpf = bpf;
    if (ndjson || point) {
        rc = ndjson ? flows_ndjson_run(path, ndjson, point, &o) : CLI_USAGE;
        if (!ndjson)
            fprintf(stderr, "natlens flows: --point goes with --ndjson\n");
        free(bpf);
        return rc;
    }
    memset(&stream, 0, sizeof stream);
    stream.fmt = fmt;
    stream.color = cli_use_color(stdout);
    stream.localtime = localtime;
    stream.cid_seed = seed;
    if (fmt == FMT_ZEEK || fmt == FMT_ZEEK_JSON)
        zeek_log_init(&stream.z, stdout, fmt == FMT_ZEEK_JSON, seed, path);
    if (o.max_flows) {
        /* bounded memory: ended flows are written out and recycled */
        o.flow_done = flows_stream_one;
        o.flow_done_ctx = &stream;
        o.tunnels_out = &stream.tunnels;
    }
    if (!o.flow_done) {
        /* findings read the handshake's packets: a few per flow are enough
         * (SYN retries, the answer, a reset) and keep memory per flow low */
        o.keep_packets = 1;
        o.keep_limit = 8;
    }
    t = cli_load_trace(path, &o);
    free(bpf);
    if (!t)
        return CLI_USAGE;
    fs = diagnose_new();
    if (fs && !o.flow_done &&
        (record_count(t) ? diagnose_records(fs, t, 0) : diagnose_trace(fs, t, 0)) < 0)
        fprintf(stderr, "natlens flows: warning: findings incomplete (out of memory)\n");
    if (o.flow_done)
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
    if (fail_on && diagnose_count_at_least(fs, NL_SEV_WARNING))
        rc = 1;
    if (strict && cli_partial)
        rc = CLI_PARTIAL;
    diagnose_free(fs);
    trace_free(t);
    return rc;
}
