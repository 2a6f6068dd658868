/* reader_gcp_flow.c - Google Cloud VPC Flow Logs (Cloud Logging entries of
 * logName ".../logs/compute.googleapis.com%2Fvpc_flows").
 *
 * Documentation: https://cloud.google.com/vpc/docs/about-flow-logs-records
 * (record format) and https://cloud.google.com/vpc/docs/about-traffic-flows
 * (who reports what). A record is one direction of a flow over an
 * aggregation interval, sampled, reported by the VM at one end (reporter
 * SRC or DEST; gateways SRC_GATEWAY / DEST_GATEWAY). Fields used, under
 * jsonPayload:
 *   connection {src_ip, src_port, dest_ip, dest_port, protocol}
 *   reporter, bytes_sent, packets_sent (int64 as strings), start_time,
 *   end_time (RFC 3339), src_instance/dest_instance {vm_name},
 *   src_vpc/dest_vpc {vpc_name, subnetwork_name}
 * The request and the reply records of one connection seen by one reporter
 * become one flow (counts per direction; sampled, so lower bounds). The
 * tuple is the VM's own (internal addresses): side inner. Times are the
 * interval's, coarse (granularity: the interval, at least 5 s). No NAT
 * port: a flow log never pins the mapping.
 */
#include <string.h>
#include "natlens/reader.h"
#include "record_int.h"

static uint64_t gcp_str_key(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int gcp_flow_entry(nl_trace *t, rec_batch *b, json_object *o, uint64_t line,
                          const char **why, void *ctx)
{
    json_object *p = rec_jget(o, "jsonPayload"), *c, *inst;
    const char *s, *d, *rep, *st, *en;
    uint64_t v, sp = 0, dp = 0;
    rec_entry r;
    (void)ctx;
    if (!p)
        p = o;
    c = rec_jget(p, "connection");
    rep = rec_jstr(p, "reporter");
    if (!c || (!rep && !rec_jget(p, "bytes_sent")))
        return 0;
    memset(&r, 0, sizeof r);
    s = rec_jstr(c, "src_ip");
    d = rec_jstr(c, "dest_ip");
    if (!s || !d || rec_parse_addr(s, strlen(s), &r.in_src) < 0 || rec_parse_addr(d, strlen(d), &r.in_dst) < 0)
        return *why = "connection.src_ip/dest_ip missing or not an address", -1;
    if (rec_jnum(c, "protocol", 255, &v) < 0)
        return *why = "connection.protocol missing or not 0..255", -1;
    r.proto = (uint8_t)v;
    if ((rec_jget(c, "src_port") && rec_jnum(c, "src_port", 65535, &sp) < 0) ||
        (rec_jget(c, "dest_port") && rec_jnum(c, "dest_port", 65535, &dp) < 0))
        return *why = "connection port out of range", -1;
    r.in_sport = (uint16_t)sp;
    r.in_dport = (uint16_t)dp;
    r.info.pins = NL_REC_PIN_ADDRS | NL_REC_PIN_PORTS;
    if (rec_jnum(p, "packets_sent", UINT64_MAX / 4, &v) == 0) {
        r.pkts[0] = v;
        r.info.pins |= NL_REC_PIN_PKTS;
    }
    if (rec_jnum(p, "bytes_sent", UINT64_MAX / 4, &v) == 0) {
        r.ip_bytes[0] = v;
        r.info.pins |= NL_REC_PIN_BYTES;
    }
    st = rec_jstr(p, "start_time");
    en = rec_jstr(p, "end_time");
    if (st && en) {
        if (rec_parse_rfc3339(st, &r.first_ns) < 0 || rec_parse_rfc3339(en, &r.last_ns) < 0 ||
            r.last_ns < r.first_ns)
            return *why = "start_time/end_time not RFC 3339 or out of order", -1;
        r.info.pins |= NL_REC_PIN_TIMES;
        uint64_t ms = (r.last_ns - r.first_ns) / 1000000;
        r.info.granularity_ms = ms < 5000 ? 5000 : ms > 86400000 ? 86400000 : (uint32_t)ms;
    }
    r.info.side = NL_REC_SIDE_INNER;
    r.info.line = line;
    if (rep)
        r.info.reporter = record_intern(t, rep, strlen(rep));
    /* the reporting VM names the flow: the source's for SRC, else the destination's */
    inst = rec_jget(p, rep && !strncmp(rep, "DEST", 4) ? "dest_instance" : "src_instance");
    if ((s = rec_jstr(inst, "vm_name")))
        r.info.vm = record_intern(t, s, strlen(s));
    inst = rec_jget(p, rep && !strncmp(rep, "DEST", 4) ? "dest_vpc" : "src_vpc");
    if ((s = rec_jstr(inst, "subnetwork_name")) || (s = rec_jstr(inst, "vpc_name")))
        r.info.interface = record_intern(t, s, strlen(s));
    r.key_extra = gcp_str_key(rep);
    if (!rec_merge_dir(b, &r))
        return *why = b->full ? "too many entries (4M)" : "out of memory", -1;
    return 1;
}

static int gcp_flow_load(nl_trace *t, FILE *in, const nl_trace_opts *o, char *errbuf)
{
    rec_batch b;
    (void)o;
    memset(&b, 0, sizeof b);
    int rc = rec_json_load(t, in, &b, gcp_flow_entry, NULL, "VPC flow log", errbuf);
    return rc;
}

static int gcp_flow_sniff(const char *head, size_t n)
{
    if (rec_head_has(head, n, "vpc_flows"))
        return 90;
    if (rec_head_has(head, n, "\"reporter\"") && rec_head_has(head, n, "\"bytes_sent\""))
        return 80;
    return 0;
}

const nl_reader reader_gcp_flow = {
    "gcp_flow", "GCP VPC Flow Logs", gcp_flow_sniff, gcp_flow_load
};
