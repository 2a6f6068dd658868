/* report_html.c - the report as one self-contained HTML page: inline CSS
 * and SVG, no script, no outside resource (not even a namespace URL), laid
 * out to print on paper. Every string from a capture, a file name or host
 * metadata goes through report_html_esc(). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/flow_out.h"
#include "natlens/hostmeta.h"
#include "natlens/frame_ref.h"
#include "report_int.h"

static const char html_css[] =
    "*{box-sizing:border-box}"
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
    "color:#1b1f24;margin:0 auto;max-width:1180px;padding:24px}"
    "h1{font-size:24px;margin:0 0 6px}h2{font-size:18px;border-bottom:2px solid #d0d7de;"
    "padding-bottom:4px;margin:28px 0 10px}h3{font-size:15px;margin:14px 0 6px}"
    ".verdict{font-size:16px;padding:10px 14px;border-radius:6px;border-left:6px solid #2da44e;"
    "background:#eefbf1}.verdict.error{border-color:#cf222e;background:#fff0f0}"
    ".verdict.warning{border-color:#bf8700;background:#fff8e5}"
    "table{border-collapse:collapse;width:100%;margin:6px 0 10px;font-size:13px}"
    "th,td{border:1px solid #d0d7de;padding:3px 6px;text-align:left;vertical-align:top}"
    "th{background:#f3f5f7}td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}"
    "code,pre,.mono{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:12px}"
    ".hash{word-break:break-all;font-size:11px}"
    "pre{background:#f6f8fa;border:1px solid #d0d7de;border-radius:4px;padding:8px;"
    "white-space:pre-wrap;word-break:break-all}"
    ".finding{border:1px solid #d0d7de;border-left:6px solid #bf8700;border-radius:6px;"
    "padding:8px 12px;margin:10px 0}.finding.error{border-left-color:#cf222e}"
    ".finding.info{border-left-color:#0969da}"
    ".badge{display:inline-block;font-size:11px;font-weight:700;padding:1px 6px;border-radius:10px;"
    "color:#fff;background:#bf8700;margin-right:6px}.badge.error{background:#cf222e}"
    ".badge.info{background:#0969da}"
    ".allow{font-size:16px}.allow code{font-size:15px;background:#eef3ff;padding:2px 6px;"
    "border-radius:4px;margin-right:6px}"
    ".muted{color:#57606a}.bad{color:#cf222e}.ok{color:#1a7f37}"
    "figure{margin:10px 0 18px}figcaption{font-size:13px;margin-bottom:4px}"
    "svg{max-width:100%;height:auto;display:block}"
    "svg text{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:10px;fill:#1b1f24}"
    "svg .plbl{font-size:9.5px}svg .lbl{font-weight:700;font-size:11px}svg .tick{fill:#57606a}svg .row{font-size:11px}"
    "svg .bar{fill:#fff;font-size:10px}svg .band0{fill:#fff}svg .band1{fill:#f6f8fa}"
    "svg .axis{stroke:#8c959f}svg .chg{stroke:#cf222e;stroke-width:2}svg .chgl{fill:#cf222e;font-size:9px}"
    "svg .life{stroke:#8c959f;stroke-width:1.5}svg .ep{fill:#57606a;font-size:9.5px}svg .xl{fill:#bc4c00;font-weight:700}"
    "svg line.pkt{stroke:#0969da;stroke-width:1.5}svg .pkth{fill:#0969da}"
    "svg line.rst{stroke:#bf8700;stroke-width:1.5}svg .rsth{fill:#bf8700}"
    "svg line.stray{stroke:#cf222e;stroke-width:1.5;stroke-dasharray:5 3}svg .strayh{fill:#cf222e}"
    "svg text.stray{fill:#cf222e}svg .lost{stroke:#cf222e;stroke-dasharray:2 3}"
    "svg .miss{fill:#cf222e;font-size:9.5px}svg .void{fill:#f6f8fa}"
    "tr.brk td{background:#fff5f5}footer{margin-top:30px;font-size:12px;color:#57606a}"
    "@page{size:A4;margin:12mm}"
    "@media print{body{max-width:none;padding:0;font-size:10pt}h2,h3{break-after:avoid}"
    ".finding,figure,tr{break-inside:avoid}table{font-size:8.5pt}pre{white-space:pre-wrap}"
    ".verdict,.finding,.badge,th,.band1{-webkit-print-color-adjust:exact;print-color-adjust:exact}}";

static void h(rep_ctx *c, const char *s)
{
    report_html_esc(c->out, s);
}

/* Free text from the analysis (addresses redacted), escaped. */
static void ht(rep_ctx *c, const char *s)
{
    char *t = report_text(c, s);
    report_html_esc(c->out, t);
    report_text_free(s, t);
}

static void more_note(rep_ctx *c, size_t shown, size_t total, const char *what)
{
    FILE *f = c->out;
    if (shown < total)
        fprintf(f, "<p class=\"muted\">%zu of %zu %s shown (all with --all).</p>\n", shown, total, what);
}

static void html_head(rep_ctx *c)
{
    FILE *f = c->out;
    const char *cls = "";
    if (c->nfnd) {
        const nl_finding *fd = diagnose_get(c->in->findings, 0);
        cls = fd->severity == NL_SEV_ERROR ? " error" : fd->severity == NL_SEV_WARNING ? " warning" : "";
    }
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<meta name=\"generator\" content=\"natlens " NATLENS_VERSION "\">\n<title>", f);
    ht(c, c->title);
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<header>\n<h1>", html_css);
    ht(c, c->title);
    fprintf(f, "</h1>\n<p class=\"verdict%s\">", cls);
    h(c, c->verdict);   /* already redacted */
    fputs("</p>\n</header>\n", f);
}

static void html_hostmeta(rep_ctx *c, const char *json)
{
    static const char *const keys[] = {"hostname", "role", "session", "kernel", "capture_iface", "filter"};
    char v[512];
    int any = 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (hostmeta_get_str(json, keys[i], v, sizeof v) < 0 || !v[0])
            continue;
        fputs(any ? " \xc2\xb7 " : "", c->out);
        fprintf(c->out, "%s <b>", keys[i]);
        ht(c, report_host_value(c, keys[i], v));
        fputs("</b>", c->out);
        any = 1;
    }
    if (!any)
        fputs("<span class=\"muted\">recorded, without host names</span>", c->out);
}

static void html_summary(rep_ctx *c)
{
    FILE *f = c->out;
    const nl_correlation *co = c->in->corr;
    char a[48], b[48];
    int hm = 0;
    char fmt[512], cnt[96];
    const char *pe = c->has_records ? "packet or entry" : "packet";
    fprintf(f, "<section id=\"captures\">\n<h2>1. Captures</h2>\n<table>\n<thead><tr><th>#</th><th>file</th>"
            "<th>format</th><th>%s</th><th>first %s (UTC)</th><th>last %s (UTC)</th>"
            "<th>span</th><th>size</th><th>sha256</th></tr></thead>\n",
            c->has_records ? "packets or entries" : "packets", pe, pe);
    for (size_t i = 0; i < c->in->ncaps; i++) {
        const nl_report_capture *rc = &c->in->caps[i];
        const nl_trace *t = rc->trace;
        fprintf(f, "<tr><td class=\"n\">%zu</td><td class=\"mono\">", i + 1);
        ht(c, report_cap_name(c, i));
        fputs("</td><td>", f);
        h(c, report_cap_format(c, i, fmt, sizeof fmt));
        fputs("</td><td class=\"n\">", f);
        h(c, report_cap_count(c, i, cnt, sizeof cnt));
        fputs("</td>", f);
        if (t->packets)
            fprintf(f, "<td class=\"mono\">%s</td><td class=\"mono\">%s</td><td class=\"n\">%.3f s</td>",
                    report_datetime(t->first_ns, a, sizeof a), report_datetime(t->last_ns, b, sizeof b),
                    (double)(t->last_ns - t->first_ns) / 1e9);
        else
            fputs("<td>\xe2\x80\x94</td><td>\xe2\x80\x94</td><td></td>", f);
        fprintf(f, "<td class=\"n\">%" PRId64 "</td><td class=\"mono hash\">%s</td></tr>\n",
                t->file_size, rc->sha256[0] ? rc->sha256 : "\xe2\x80\x94");
        if (rc->hostmeta)
            hm = 1;
    }
    fputs("</table>\n", f);
    for (size_t i = 0; i < c->in->ncaps; i++) {
        const nl_trace *t = c->in->caps[i].trace;
        if (t->bad_records) {
            /* the reader's own messages name file:line */
            fprintf(f, "<p class=\"bad\">Skipped %" PRIu64 " bad line%s of ", t->bad_records,
                    t->bad_records == 1 ? "" : "s");
            ht(c, report_cap_name(c, i));
            fputs(" (each skipped, the rest read)", f);
            for (size_t k = 0; k < NL_TRACE_BAD_KEEP && k < t->bad_records && t->bad_first[k]; k++) {
                fputs(k ? "; " : ": <span class=\"mono\">", f);
                ht(c, t->bad_first[k]);
            }
            fputs(t->bad_first[0] ? "</span></p>\n" : "</p>\n", f);
        }
        if (t->warning) {
            fputs("<p class=\"bad\">", f);
            ht(c, report_cap_name(c, i));
            fputs(": ", f);
            ht(c, t->warning);
            fputs("</p>\n", f);
        }
        /* notes (host context replaced, the capture's own drops): one
         * line each, every line names its capture */
        for (const char *l = t->notes; l && *l;) {
            const char *e = strchr(l, '\n');
            char line[1024];
            snprintf(line, sizeof line, "%.*s", e ? (int)(e - l) : (int)strlen(l), l);
            fputs("<p class=\"bad\">", f);
            ht(c, line);
            fputs("</p>\n", f);
            l = e ? e + 1 : NULL;
        }
    }
    if (hm) {
        fputs("<h3>Host context recorded in the captures</h3>\n<ul>\n", f);
        for (size_t i = 0; i < c->in->ncaps; i++) {
            if (!c->in->caps[i].hostmeta)
                continue;
            fputs("<li><span class=\"mono\">", f);
            ht(c, report_cap_name(c, i));
            fputs("</span>: ", f);
            html_hostmeta(c, c->in->caps[i].hostmeta);
            fputs("</li>\n", f);
        }
        fputs("</ul>\n", f);
    }
    if (co && co->ncaps > 1) {
        fputs("<h3>Clock offsets</h3>\n<ul>\n", f);
        for (size_t i = 0; i + 1 < co->ncaps; i++) {
            char sentence[768];
            fputs("<li>", f);
            ht(c, report_pair_sentence(c, &co->offsets[i], sentence, sizeof sentence));
            fputs("</li>\n", f);
        }
        fputs("</ul>\n", f);
    }
    fputs("</section>\n", f);
}

static void html_findings(rep_ctx *c)
{
    FILE *f = c->out;
    char tm[48], tup[256];
    fputs("<section id=\"findings\">\n<h2>2. Findings</h2>\n", f);
    if (!c->nfnd)
        fputs("<p class=\"ok\">None: every connection that started a handshake completed it, "
              "and nothing was lost between the captures.</p>\n", f);
    size_t nshow = report_limit(c, c->nfnd);
    for (size_t i = 0; i < nshow; i++) {
        const nl_finding *fd = diagnose_get(c->in->findings, i);
        const char *sev = diagnose_severity_name(fd->severity);
        fprintf(f, "<article class=\"finding %s\">\n<h3><span class=\"badge %s\">%s</span>%s",
                sev, sev, sev, diagnose_kind_name(fd->kind));
        if (fd->connections > 1)
            fprintf(f, " <span class=\"muted\">(%" PRIu32 " connections)</span>", fd->connections);
        fputs("</h3>\n<p>", f);
        ht(c, fd->summary);
        fputs("</p>\n", f);
        if (fd->nflows) {
            fputs("<p class=\"muted\">flows: ", f);
            for (size_t k = 0; k < fd->nflows && k < 12; k++) {
                fputs(k ? "; " : "", f);
                fputs("<span class=\"mono\">", f);
                ht(c, report_cap_name(c, (size_t)fd->flows[k].capture));
                fputs(" ", f);
                h(c, report_tuple(c, fd->flows[k].flow, tup, sizeof tup));
                fputs("</span>", f);
            }
            if (fd->nflows > 12)
                fprintf(f, "; %zu more", fd->nflows - 12);
            fputs("</p>\n", f);
        }
        if (fd->nevidence) {
            fputs("<table>\n<thead><tr><th>capture</th><th>frame</th><th>time (UTC, that capture's clock)</th>"
                  "<th>what it shows</th></tr></thead>\n", f);
            for (size_t k = 0; k < fd->nevidence; k++) {
                const nl_evidence *e = &fd->evidence[k];
                const char *what;
                char where[320];
                report_ev_where(c, e, where, sizeof where, &what);
                fputs("<tr><td class=\"mono\">", f);
                ht(c, where);
                fputs("</td><td class=\"n\">", f);
                if (e->frame)
                    fprintf(f, "#%" PRIu64, frame_ref_local(e->frame));
                fprintf(f, "</td><td class=\"mono\">%s</td><td>",
                        e->ts_ns ? report_datetime(e->ts_ns, tm, sizeof tm) : "");
                ht(c, what);
                fputs("</td></tr>\n", f);
            }
            fputs("</table>\n", f);
        }
        if (fd->fix) {
            fputs("<p><b>Fix</b></p>\n<pre>", f);
            /* keep the fix's line breaks: escape line by line */
            const char *s = fd->fix;
            char *t = report_text(c, s);
            for (char *p = t; p && *p;) {
                char *nl = strchr(p, '\n');
                if (nl)
                    *nl = '\0';
                report_html_esc(f, p);
                if (!nl)
                    break;
                fputc('\n', f);
                p = nl + 1;
            }
            report_text_free(s, t);
            fputs("</pre>\n", f);
        }
        fputs("</article>\n", f);
    }
    more_note(c, nshow, c->nfnd, "findings");
    fputs("</section>\n", f);
}

static void html_egress(rep_ctx *c)
{
    FILE *f = c->out;
    const nl_correlation *co = c->in->corr;
    char a[96], b[96], d[96], t0[32], t1[32], p[16];
    rep_nat *nat = NULL;
    size_t nnat;

    fputs("<section id=\"egress\">\n<h2>3. NAT and egress</h2>\n", f);
    if (!co) {
        fputs("<p class=\"muted\">One capture: which address the far side sees needs a second capture "
              "taken there.</p>\n</section>\n", f);
        return;
    }
    if (co->negress) {
        char ans[1024], note[1024];
        int at;
        if (report_answer(c, ans, sizeof ans, note, sizeof note, &at)) {
            fputs("<p class=\"allow\">Allow these addresses: <code>", f);
            h(c, ans);
            fputs("</code> <span class=\"muted\">(", f);
            h(c, note);
            fputs("; seen at ", f);
            ht(c, report_cap_name(c, (size_t)at));
            fputs(")</span></p>\n", f);
        } else {
            fputs("<p class=\"muted\">No address to allow: the flows followed past the first capture "
                  "rest on likely pairs only.</p>\n", f);
        }
        fputs("<table>\n<thead><tr><th>inner host</th><th>destination (as addressed)</th><th>seen as</th>"
              "<th>seen at</th><th>flows</th><th>first \xe2\x86\x92 last (capture 1 clock, UTC)</th>", f);
        fputs(c->has_records ? "<th>known by</th></tr></thead>\n" : "</tr></thead>\n", f);
        size_t *ix, nshow = report_egress_top(c, &ix);
        for (size_t q = 0; q < nshow; q++) {
            const nl_egress *e = &co->egress[ix[q]];
            char known[160];
            fputs("<tr><td class=\"mono\">", f);
            h(c, report_addr(c, &e->inner_ip, a, sizeof a));
            fputs("</td><td class=\"mono\">", f);
            h(c, report_ep(c, &e->dest_ip, e->dest_port, e->proto, b, sizeof b));
            fprintf(f, "/%s</td><td class=\"mono\"><b>", flow_proto_name(e->proto, p, sizeof p));
            h(c, report_addr(c, &e->egress_ip, d, sizeof d));
            fputs("</b></td><td class=\"mono\">", f);
            ht(c, report_cap_name(c, (size_t)e->seen_at));
            fprintf(f, "</td><td class=\"n\">%" PRIu32 "</td><td class=\"mono\">%s \xe2\x86\x92 %s</td>",
                    e->flows, flow_out_time(e->first_ns, t0, sizeof t0, 0),
                    flow_out_time(e->last_ns, t1, sizeof t1, 0));
            if (c->has_records) {
                fprintf(f, "<td class=\"%s\">", e->confident ? "ok" : "muted");
                h(c, report_egress_known(c, e, known, sizeof known));
                fputs("</td>", f);
            }
            fputs("</tr>\n", f);
        }
        free(ix);
        fputs("</table>\n", f);
        more_note(c, nshow, co->negress, "egress rows");
        fputs("<h3>Source-IP timeline</h3>\n", f);
        report_svg_timeline(c);
    } else {
        fputs("<p class=\"muted\">No connection was seen both at the first capture and further along "
              "the path: no egress address can be shown.</p>\n", f);
    }
    if (co->negress_switches) {
        fputs("<h3>Source changes</h3>\n<table>\n<thead><tr><th>from</th><th>to</th><th>at (capture 1 "
              "clock, UTC)</th><th>inner hosts</th><th>first inner host</th><th>seen at</th></tr></thead>\n", f);
        size_t nshow = report_limit(c, co->negress_switches);
        for (size_t i = 0; i < nshow; i++) {
            const nl_egress_switch *sw = &co->egress_switches[i];
            fputs("<tr><td class=\"mono\">", f);
            h(c, report_addr(c, &sw->from_ip, a, sizeof a));
            fputs("</td><td class=\"mono\"><b>", f);
            h(c, report_addr(c, &sw->to_ip, d, sizeof d));
            fprintf(f, "</b></td><td class=\"mono\">%s</td><td class=\"n\">%" PRIu32 "</td>"
                    "<td class=\"mono\">", report_datetime(sw->first_ns, t0, sizeof t0), sw->hosts);
            h(c, report_addr(c, &sw->first_inner, b, sizeof b));
            fputs("</td><td class=\"mono\">", f);
            ht(c, report_cap_name(c, (size_t)sw->seen_at));
            fputs("</td></tr>\n", f);
        }
        fputs("</table>\n", f);
        more_note(c, nshow, co->negress_switches, "source switches");
    } else if (co->negress_pools) {
        fputs("<p class=\"muted\">No switch: a pool's addresses take turns, which is not a change.</p>\n", f);
    }
    nnat = report_nat_rows(c, &nat);
    report_nat_sort(nat, nnat);
    if (nnat) {
        fputs("<h3>Translations</h3>\n<table>\n<thead><tr><th>between</th><th>nat</th><th>client side</th>"
              "<th>became</th><th>flows</th><th>ports remapped</th></tr></thead>\n", f);
        for (size_t i = 0; i < report_limit(c, nnat); i++) {
            const rep_nat *r = &nat[i];
            fputs("<tr><td class=\"mono\">", f);
            ht(c, report_cap_name(c, (size_t)r->near_cap));
            fputs(" \xe2\x86\x92 ", f);
            ht(c, report_cap_name(c, (size_t)r->far_cap));
            fprintf(f, "</td><td>%s</td><td class=\"mono\">", correlate_translation_name(r->translation));
            h(c, report_addr(c, &r->src, a, sizeof a));
            fputs(" \xe2\x86\x92 ", f);
            h(c, report_ep(c, &r->dst, r->dport, r->proto, b, sizeof b));
            fputs("</td><td class=\"mono\">", f);
            h(c, report_addr(c, &r->far_src, a, sizeof a));
            fputs(" \xe2\x86\x92 ", f);
            h(c, report_ep(c, &r->far_dst, r->far_dport, r->proto, b, sizeof b));
            fprintf(f, "</td><td class=\"n\">%" PRIu32 "</td><td class=\"n\">%" PRIu32 "</td></tr>\n",
                    r->flows, r->port_remapped);
        }
        fputs("</table>\n", f);
        more_note(c, report_limit(c, nnat), nnat, "translation groups");
    }
    free(nat);
    fputs("</section>\n", f);
}

static void html_ladders(rep_ctx *c)
{
    FILE *f = c->out;
    char tup[256];
    fputs("<section id=\"ladders\">\n<h2>4. Failed handshakes</h2>\n", f);
    if (!c->nlad_total)
        fputs("<p class=\"ok\">None: every handshake that started completed.</p>\n", f);
    else if (c->nlad < c->nlad_total)
        fprintf(f, "<p class=\"muted\">%zu of %zu failed handshakes drawn (all with --all).</p>\n",
                c->nlad, c->nlad_total);
    if (c->nlad && c->in->corr)
        fputs("<p class=\"muted\">Each row is one packet at every capture that holds it (every piece of a "
              "connection that Zeek splits, and answers from another address, included). "
              "\xe2\x9c\x97 not seen here: that capture's records cover the moment and none of them "
              "is the packet; ? not known here: it kept no records then or was not capturing.</p>\n", f);
    for (size_t i = 0; i < c->nlad; i++) {
        const rep_ladder *l = &c->lad[i];
        const nl_flow *fl = NULL;
        for (int k = 0; k < l->ncols && !fl; k++)
            fl = l->flow[k];
        fputs("<figure>\n<figcaption><b class=\"mono\">", f);
        h(c, report_tuple(c, fl, tup, sizeof tup));
        fputs("</b> \xe2\x80\x94 ", f);
        h(c, flow_conn_state(fl));
        fprintf(f, ", %u SYN%s", fl->sig[NL_ORIG].syn_count, fl->sig[NL_ORIG].syn_count == 1 ? "" : "s");
        if (l->part_at >= 0) {
            fputs(", <span class=\"bad\">answered from another address at ", f);
            ht(c, report_cap_name(c, (size_t)l->cap[l->part_at]));
            fputs("</span>", f);
        }
        fputs("</figcaption>\n", f);
        report_svg_ladder(c, l);
        fputs("</figure>\n", f);
    }
    fputs("</section>\n", f);
}

static void html_flows(rep_ctx *c)
{
    FILE *f = c->out;
    const nl_correlation *co = c->in->corr;
    char tup[256], tm[32], p[16];
    fputs("<section id=\"flows\">\n<h2>5. Flows</h2>\n", f);
    if (c->nrows < c->nrows_total)
        fprintf(f, "<p class=\"muted\">The %zu busiest of %zu (all with --all).</p>\n", c->nrows, c->nrows_total);
    if (co) {
        fputs("<table>\n<thead><tr><th>client side (first capture seen)</th><th>far side (last capture seen)</th>"
              "<th>seen at</th><th>nat</th><th>state</th><th>pkts</th><th>matched by</th><th>lost</th>", f);
        fputs(c->has_records ? "<th>what the record says</th></tr></thead>\n" : "</tr></thead>\n", f);
        for (size_t i = 0; i < c->nrows; i++) {
            rep_fcells fc;
            report_frow_cells(c, &c->rows[i], &fc);
            fputs(fc.broken ? "<tr class=\"brk\"><td class=\"mono\">" : "<tr><td class=\"mono\">", f);
            h(c, fc.near);
            fputs("</td><td class=\"mono\">", f);
            h(c, fc.far[0] ? fc.far : "\xe2\x80\x94");
            fputs("</td><td>", f);
            h(c, fc.seen);
            fputs("</td><td>", f);
            h(c, fc.nat);
            fputs("</td><td>", f);
            h(c, fc.state);
            fputs("</td><td class=\"n\">", f);
            h(c, fc.pkts);
            fputs("</td><td>", f);
            h(c, fc.by);
            fputs("</td><td class=\"n\">", f);
            h(c, fc.lost);
            if (c->has_records) {
                fputs("</td><td>", f);
                ht(c, fc.rec);
            }
            fputs("</td></tr>\n", f);
        }
    } else {
        fputs("<table>\n<thead><tr><th>#</th><th>proto</th><th>originator \xe2\x86\x92 responder</th><th>state</th>"
              "<th>history</th><th>pkts o/r</th><th>bytes o/r</th><th>first (UTC)</th><th>duration</th>", f);
        fputs(c->has_records ? "<th>what the record says</th></tr></thead>\n" : "</tr></thead>\n", f);
        for (size_t i = 0; i < c->nrows; i++) {
            const nl_flow *fl = c->rows[i].flow;
            rep_lone lc;
            report_lone_cells(c, fl, &lc);
            fprintf(f, "<tr><td class=\"n\">%u</td><td>%s</td><td class=\"mono\">", fl->id,
                    flow_proto_name(fl->proto, p, sizeof p));
            h(c, report_tuple(c, fl, tup, sizeof tup));
            fputs("</td><td>", f);
            h(c, lc.state);
            fputs("</td><td class=\"mono\">", f);
            /* a packet flow's history as it is (empty stays empty) */
            h(c, report_rec(c, 0, fl) ? lc.history : fl->history);
            fprintf(f, "</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"mono\">%s</td>"
                       "<td class=\"n\">%s</td>", lc.pkts, lc.bytes, flow_out_time(fl->first_ns, tm, sizeof tm, 0),
                    lc.duration);
            if (c->has_records) {
                fputs("<td>", f);
                ht(c, lc.rec);
                fputs("</td>", f);
            }
            fputs("</tr>\n", f);
        }
    }
    fputs("</table>\n</section>\n", f);
}

static void html_made(rep_ctx *c)
{
    FILE *f = c->out;
    fputs("<section id=\"made\">\n<h2>6. How this report was made</h2>\n<pre>", f);
    ht(c, c->o->command_line ? c->o->command_line : "natlens report");
    fputs("</pre>\n<p>natlens " NATLENS_VERSION ": each capture read once with libpcap; flows paired "
          "across captures by TCP initial sequence number, TCP timestamps, payload and packet sizes; "
          "clock offsets estimated from the paired packets (median). Times are UTC. The sha256 sums "
          "above identify the exact files analysed.", f);
    if (c->has_records) {
        fputc(' ', f);
        h(c, REPORT_RECORDS_MADE);
    }
    if (c->rd)
        fputs(REP_REDACT_NOTE, f);
    fputs("</p>\n</section>\n<footer>natlens " NATLENS_VERSION "</footer>\n</body>\n</html>\n", f);
}

int report_html_write(rep_ctx *c)
{
    html_head(c);
    html_summary(c);
    html_findings(c);
    html_egress(c);
    html_ladders(c);
    html_flows(c);
    html_made(c);
    return ferror(c->out) ? -1 : 0;
}
