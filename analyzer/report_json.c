/* report_json.c - the report as JSON: a "summary" object (what the report
 * is about: title, verdict, files with sha256, host context, clock offsets,
 * version, command line), then the analysis in the contract's shapes:
 * "captures" as `flows --json`; with several captures the correlate
 * document's members (clock_offsets, matches, unmatched, egress,
 * ip_changes, chains) from correlate_json(), so report and
 * `correlate --json` cannot drift apart;
 * with one capture "flows"; "findings" as diagnose_json writes them.
 * Strings are escaped by json.h. */
#include <stdlib.h>
#include <string.h>
#include "natlens/flow_out.h"
#include "natlens/hostmeta.h"
#include "natlens/json.h"
#include "natlens/record_out.h"
#include "natlens/trace_out.h"
#include "report_int.h"

static void json_host(rep_ctx *c, nl_json *j, const char *doc)
{
    static const char *const keys[] = {"hostname", "role", "session", "kernel", "capture_iface", "filter"};
    char v[1024];
    if (!doc) {
        json_null(j, "host");
        return;
    }
    json_obj_begin(j, "host");
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (hostmeta_get_str(doc, keys[i], v, sizeof v) == 0) {
            const char *hv = report_host_value(c, keys[i], v);
            char *t = report_text(c, hv);
            json_str(j, keys[i], t);
            report_text_free(hv, t);
        }
    json_obj_end(j);
}

static void json_summary(rep_ctx *c, nl_json *j)
{
    const nl_correlation *co = c->in->corr;
    json_obj_begin(j, "summary");
    json_str(j, "title", c->title);
    json_str(j, "verdict", c->verdict);
    json_str(j, "natlens_version", NATLENS_VERSION);
    json_str(j, "command_line", c->o->command_line);
    json_bool(j, "redacted", c->rd != NULL);
    json_uint(j, "findings", c->nfnd);
    json_uint(j, "failed_handshakes", c->nlad_total);
    json_arr_begin(j, "files");
    for (size_t i = 0; i < c->in->ncaps; i++) {
        const nl_report_capture *rc = &c->in->caps[i];
        const nl_trace *t = rc->trace;
        json_obj_begin(j, NULL);
        json_str(j, "name", report_cap_name(c, i));
        json_str(j, "path", c->rd ? report_cap_name(c, i) : t->path);
        if (rc->sha256[0])
            json_str(j, "sha256", rc->sha256);
        else
            json_null(j, "sha256");
        json_int(j, "size", t->file_size);
        json_str(j, "format", t->is_record ? t->format : t->is_pcapng ? "pcapng" : "pcap");
        json_str(j, "link_type", t->linktype_name);
        if (t->is_record) {
            /* a record file holds entries, not packets */
            json_null(j, "packets");
            json_uint(j, "entries", t->packets);
            json_str(j, "format_title", t->format_title);
            json_uint(j, "bad_lines", t->bad_records);
        } else {
            json_uint(j, "packets", t->packets);
        }
        if (t->packets) {
            json_ts(j, "first_ts", t->first_ns);
            json_ts(j, "last_ts", t->last_ns);
            json_double(j, "span_s", (double)(t->last_ns - t->first_ns) / 1e9, 6);
        } else {
            json_null(j, "first_ts");
            json_null(j, "last_ts");
            json_null(j, "span_s");
        }
        json_host(c, j, rc->hostmeta);
        json_obj_end(j);
    }
    json_arr_end(j);
    json_arr_begin(j, "clock_offsets");
    for (size_t i = 0; co && i + 1 < co->ncaps; i++) {
        const nl_clock_offset *o = &co->offsets[i];
        json_obj_begin(j, NULL);
        json_str(j, "from", report_cap_name(c, (size_t)o->from));
        json_str(j, "to", report_cap_name(c, (size_t)o->to));
        if (o->known)
            json_double(j, "offset_s", o->offset_s, 9);
        else
            json_null(j, "offset_s");
        json_uint(j, "samples", o->samples);
        json_obj_end(j);
    }
    json_arr_end(j);
    json_obj_end(j);
}

/* "record_points": per capture that holds records, what it is and every
 * record flow's facts as `flows --json` writes them (record_out.h; "flow"
 * is the flow's "id" in the flow objects above). */
static void json_record_points(rep_ctx *c, nl_json *j)
{
    json_arr_begin(j, "record_points");
    for (size_t i = 0; i < c->in->ncaps; i++) {
        const nl_trace *t = c->in->caps[i].trace;
        if (!report_cap_has_records(c, i))
            continue;
        json_obj_begin(j, NULL);
        json_uint(j, "capture", i);
        json_str(j, "name", report_cap_name(c, i));
        json_str(j, "format", t->is_record ? t->format : "conntrack");
        json_str(j, "format_title", t->is_record ? t->format_title : "conntrack events in a capture");
        json_bool(j, "record_file", t->is_record);
        if (t->is_record)
            json_uint(j, "entries", t->packets);
        else
            json_null(j, "entries");
        json_uint(j, "bad_lines", t->bad_records);
        json_arr_begin(j, "bad_first");
        for (size_t k = 0; k < NL_TRACE_BAD_KEEP && k < t->bad_records && t->bad_first[k]; k++)
            json_str(j, NULL, t->bad_first[k]);
        json_arr_end(j);
        record_out_json(j, "records", t);
        json_obj_end(j);
    }
    json_arr_end(j);
}

int report_json_write(rep_ctx *c)
{
    nl_json j;
    json_init(&j, c->out, 1);
    j.community_id_seed = c->o->community_id_seed;
    json_obj_begin(&j, NULL);
    json_schema(&j);
    json_summary(c, &j);
    /* correlate.h's writer: the very members `correlate --json` prints */
    if (c->in->corr)
        correlate_json(&j, c->in->corr);
    else {
        json_arr_begin(&j, "captures");
        for (size_t i = 0; i < c->in->ncaps; i++)
            trace_out_json_capture(&j, NULL, c->in->caps[i].trace);
        json_arr_end(&j);
    }
    if (!c->in->corr) {
        size_t n;
        nl_flow **fl = trace_flows(c->in->caps[0].trace, &n);
        json_arr_begin(&j, "flows");
        for (size_t i = 0; i < n; i++)
            flow_out_json_in(&j, NULL, fl[i], c->in->caps[0].trace);
        json_arr_end(&j);
    }
    if (c->has_records)
        json_record_points(c, &j);
    if (c->in->findings)
        diagnose_json(&j, "findings", c->in->findings);
    else {
        json_arr_begin(&j, "findings");
        json_arr_end(&j);
    }
    json_obj_end(&j);
    json_finish(&j);
    return ferror(c->out) ? -1 : 0;
}
