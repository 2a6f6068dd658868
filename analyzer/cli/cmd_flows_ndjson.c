/* cmd_flows_ndjson.c - `natlens flows --ndjson OUT FILE`: a capture reduced
 * to flow records (flow_ndjson.h), streamed as flows end.
 *
 * The capture line comes first, so what it says must be known before the
 * first packet: the capture id (the file's sha256, one sequential read
 * ahead of the flow pass; a pipe cannot be read twice, so standard input
 * is refused), the link type (libpcap opens the file once to say it) and
 * the host context. Flows are written by the flow table's end callback, so
 * memory is bounded by live flows (and by --max-flows when given); they
 * keep NL_FLOW_KEEP_PKTS packet records each, as correlate does.
 * A record file (conntrack, another NDJSON, ...) has no packets to
 * stream: it is read whole and written in the same layout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/flow_ndjson.h"
#include "natlens/hostmeta.h"
#include "natlens/report.h"
#include "natlens/source.h"
#include "cli.h"

/* The default capture-point name: the role natlens-capture recorded, else
 * the file name without its extension; characters a point name may not
 * hold become '_'. */
static void ndjson_default_point(const char *path, const char *meta, char *out, size_t len)
{
    char role[NL_NDJSON_POINT_MAX + 1] = "";
    const char *b = strrchr(path, '/');
    char *dot;
    if (meta && hostmeta_get_str(meta, "role", role, sizeof role) == 0 && role[0])
        snprintf(out, len, "%s", role);
    else
        snprintf(out, len, "%s", b && b[1] ? b + 1 : path);
    if ((dot = strrchr(out, '.')) && dot != out)
        *dot = '\0';
    for (char *p = out; *p; p++) {
        char one[2] = { *p, '\0' };
        if (!flow_ndjson_point_ok(one))
            *p = '_';
    }
    if (!out[0])
        snprintf(out, len, "capture");
}

static void ndjson_flow_cb(void *ctx, const nl_flow *f)
{
    flow_ndjson_flow(ctx, f);
}

static FILE *ndjson_open_out(const char *out)
{
    FILE *f = strcmp(out, "-") ? fopen(out, "w") : stdout;
    if (!f)
        cli_eprintf("natlens flows: %s: cannot write\n", out);
    return f;
}

static int ndjson_close_out(FILE *f, const char *out)
{
    int bad = ferror(f);
    if (f != stdout)
        bad |= fclose(f) != 0;
    else
        bad |= fflush(f) != 0;
    if (bad) {
        cli_eprintf("natlens flows: %s: write error\n", out);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* A record file: read whole (nothing streams), written the same way. */
static int ndjson_from_records(const char *path, const char *out, nl_ndjson_capture *c,
                               nl_trace_opts *o)
{
    nl_ndjson_writer w;
    nl_trace *t;
    size_t n;
    nl_flow **fl;
    FILE *f;
    o->keep_packets = 1;
    t = cli_load_trace(path, o);
    if (!t)
        return CLI_USAGE;
    c->linktype = t->linktype;
    c->linktype_name = t->linktype_name;
    c->source_format = t->format;
    if (!c->hostmeta)
        c->hostmeta = t->hostmeta;
    if (!(f = ndjson_open_out(out))) {
        trace_free(t);
        return CLI_USAGE;
    }
    flow_ndjson_begin(&w, f, c);
    fl = trace_flows(t, &n);
    for (size_t i = 0; i < n; i++)
        flow_ndjson_flow(&w, fl[i]);
    flow_ndjson_end(&w, t);
    trace_free(t);
    return ndjson_close_out(f, out);
}

int flows_ndjson_run(const char *path, const char *out, const char *point, nl_trace_opts *o)
{
    char hex[65], err[512], pt[NL_NDJSON_POINT_MAX + 1], ltn[64] = "";
    nl_ndjson_capture c;
    nl_ndjson_writer w;
    nl_source *src;
    nl_trace *t;
    char *meta;
    FILE *f;
    int rc;

    if (!strcmp(path, "-")) {
        fprintf(stderr, "natlens flows: --ndjson needs a capture file, not standard input "
                        "(the capture id is the file's sha256)\n");
        return CLI_USAGE;
    }
    if (point && !flow_ndjson_point_ok(point)) {
        fprintf(stderr, "natlens flows: --point: 1 to %d characters of A-Z a-z 0-9 . _ : @ + -\n",
                NL_NDJSON_POINT_MAX);
        return CLI_USAGE;
    }
    if (report_sha256_file(path, hex, err) < 0) {
        cli_eprintf("natlens: %s\n", err);
        return CLI_USAGE;
    }
    meta = hostmeta_read(path, err);
    ndjson_default_point(path, meta, pt, sizeof pt);
    memset(&c, 0, sizeof c);
    c.file = path;
    c.capture_id = hex;
    c.point = point ? point : pt;
    c.hostmeta = meta;
    if (!(src = source_open(path, NULL, err))) {
        rc = ndjson_from_records(path, out, &c, o);
        free(meta);
        return rc;
    }
    c.linktype = source_linktype(src);
    snprintf(ltn, sizeof ltn, "%s", source_linktype_name(src));
    c.linktype_name = ltn;
    c.source_format = source_is_pcapng(src) ? "pcapng" : "pcap";
    source_close(src);

    if (!(f = ndjson_open_out(out))) {
        free(meta);
        return CLI_USAGE;
    }
    flow_ndjson_begin(&w, f, &c);
    o->keep_packets = 1;
    o->keep_limit = 0;              /* all NL_FLOW_KEEP_PKTS, as correlate keeps */
    o->flow_done = ndjson_flow_cb;
    o->flow_done_ctx = &w;
    t = cli_load_trace(path, o);
    free(meta);
    if (!t) {
        if (f != stdout)
            fclose(f);
        return CLI_USAGE;
    }
    {
        size_t n;
        nl_flow **fl = trace_flows(t, &n);   /* still live at the end, by id */
        for (size_t i = 0; i < n; i++)
            flow_ndjson_flow(&w, fl[i]);
    }
    flow_ndjson_end(&w, t);
    trace_free(t);
    return ndjson_close_out(f, out);
}
