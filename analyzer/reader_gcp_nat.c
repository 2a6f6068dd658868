/* reader_gcp_nat.c - Google Cloud NAT logs (Cloud Logging entries of
 * logName ".../logs/compute.googleapis.com%2Fnat_flows").
 *
 * Documentation: https://cloud.google.com/nat/docs/monitoring ("Logs and
 * metrics": log entry format). One entry is written when a NAT connection
 * is created, or when a packet is dropped because no NAT port was
 * available (egress TCP/UDP only; entries may be omitted under load: an
 * absent entry proves nothing). Fields used, under jsonPayload:
 *   connection {src_ip, src_port, dest_ip, dest_port, protocol,
 *               nat_ip, nat_port}          the mapping itself
 *   allocation_status  "OK" | "DROPPED" (any other non-OK value is kept as
 *                      written and treated as a failure)
 *   gateway_identifiers {gateway_name, router_name, region}
 *   endpoint {vm_name, project_id, zone, region}
 * and the entry's timestamp (RFC 3339). Accepted containers: newline-
 * delimited entries (a Cloud Storage sink), concatenated or pretty-printed
 * entries, one JSON array (gcloud logging read --format=json), or bare
 * jsonPayload objects. Entries of other logs in the same export are skipped
 * quietly.
 *
 * An OK entry is two flows: the inner leg src_ip:src_port -> dest and the
 * outer leg nat_ip:nat_port -> dest, as the destination saw it. A DROPPED
 * entry has no NAT port: one flow, nat_status DROPPED. Times: when the
 * entry was written, at the connection's creation (granularity 1 s: the
 * logging pipeline's own delay is not known). No counts, no TCP state.
 */
#include <string.h>
#include "natlens/reader.h"
#include "record_int.h"

/* connection.* into e's inner tuple; 0 or -1 (why). */
static int gcp_conn_tuple(json_object *c, rec_entry *e, const char **why)
{
    const char *s, *d;
    uint64_t p, sp = 0, dp = 0;
    if (!c)
        return *why = "no connection object", -1;
    s = rec_jstr(c, "src_ip");
    d = rec_jstr(c, "dest_ip");
    if (!s || !d || rec_parse_addr(s, strlen(s), &e->in_src) < 0 ||
        rec_parse_addr(d, strlen(d), &e->in_dst) < 0)
        return *why = "connection.src_ip/dest_ip missing or not an address", -1;
    if (rec_jnum(c, "protocol", 255, &p) < 0)
        return *why = "connection.protocol missing or not 0..255", -1;
    e->proto = (uint8_t)p;
    if (rec_jget(c, "src_port") && rec_jnum(c, "src_port", 65535, &sp) < 0)
        return *why = "connection.src_port out of range", -1;
    if (rec_jget(c, "dest_port") && rec_jnum(c, "dest_port", 65535, &dp) < 0)
        return *why = "connection.dest_port out of range", -1;
    e->in_sport = (uint16_t)sp;
    e->in_dport = (uint16_t)dp;
    e->info.pins = NL_REC_PIN_ADDRS | (rec_jget(c, "src_port") && rec_jget(c, "dest_port") ? NL_REC_PIN_PORTS : 0);
    return 0;
}

static void gcp_nat_status(nl_trace *t, rec_entry *e, const char *st)
{
    if (!st || !strcmp(st, "OK")) {
        e->info.nat_status = st ? NL_REC_NAT_OK : NL_REC_NAT_NONE;
        return;
    }
    e->info.nat_status = !strcmp(st, "DROPPED") ? NL_REC_NAT_DROPPED
                       : !strcmp(st, "OUT_OF_RESOURCES") ? NL_REC_NAT_OUT_OF_RESOURCES : NL_REC_NAT_OTHER;
    e->info.nat_status_text = record_intern(t, st, strlen(st));
}

static int gcp_nat_entry(nl_trace *t, rec_batch *b, json_object *o, uint64_t line,
                         const char **why, void *ctx)
{
    json_object *p = rec_jget(o, "jsonPayload"), *gw, *ep, *c;
    const char *ts, *nat, *s;
    uint64_t np = 0;
    rec_entry e, *x;
    (void)ctx;
    if (!p)
        p = o;
    c = rec_jget(p, "connection");
    if (!c || (!rec_jget(c, "nat_ip") && !rec_jget(p, "allocation_status")))
        return 0;   /* another log's entry (a VPC flow log, an audit log) */
    memset(&e, 0, sizeof e);
    if (gcp_conn_tuple(c, &e, why) < 0)
        return -1;
    e.info.side = NL_REC_SIDE_INNER;
    e.info.line = line;
    e.info.granularity_ms = 1000;
    ts = rec_jstr(o, "timestamp");
    if (ts) {
        if (rec_parse_rfc3339(ts, &e.first_ns) < 0)
            return *why = "timestamp not RFC 3339", -1;
        e.last_ns = e.first_ns;
        e.info.pins |= NL_REC_PIN_TIMES;
    }
    gcp_nat_status(t, &e, rec_jstr(p, "allocation_status"));
    nat = rec_jstr(c, "nat_ip");
    if (nat && *nat && e.info.nat_status < NL_REC_NAT_DROPPED) {   /* a drop maps nothing */
        if (rec_parse_addr(nat, strlen(nat), &e.out_src) < 0)
            return *why = "connection.nat_ip not an address", -1;
        if (rec_jget(c, "nat_port") && rec_jnum(c, "nat_port", 65535, &np) < 0)
            return *why = "connection.nat_port out of range", -1;
        e.has_outer = 1;
        e.out_sport = (uint16_t)np;
        e.out_dst = e.in_dst;
        e.out_dport = e.in_dport;
    }
    if ((gw = rec_jget(p, "gateway_identifiers"))) {
        s = rec_jstr(gw, "gateway_name");
        e.info.gateway = s ? record_intern(t, s, strlen(s)) : NULL;
        s = rec_jstr(gw, "router_name");
        e.info.router = s ? record_intern(t, s, strlen(s)) : NULL;
        s = rec_jstr(gw, "region");
        e.info.region = s ? record_intern(t, s, strlen(s)) : NULL;
    }
    if (!e.info.gateway && (s = rec_jstr(rec_jget(rec_jget(o, "resource"), "labels"), "gateway_name")))
        e.info.gateway = record_intern(t, s, strlen(s));
    if ((ep = rec_jget(p, "endpoint")) && (s = rec_jstr(ep, "vm_name")))
        e.info.vm = record_intern(t, s, strlen(s));
    if (!(x = rec_batch_add(b)))
        return *why = b->full ? "too many entries (4M)" : "out of memory", -1;
    *x = e;
    return 1;
}

static int gcp_nat_load(nl_trace *t, FILE *in, const nl_trace_opts *o, char *errbuf)
{
    rec_batch b;
    (void)o;
    memset(&b, 0, sizeof b);
    return rec_json_load(t, in, &b, gcp_nat_entry, NULL, "Cloud NAT log", errbuf);
}

static int gcp_nat_sniff(const char *head, size_t n)
{
    if (rec_head_has(head, n, "nat_flows") || rec_head_has(head, n, "\"allocation_status\""))
        return 90;
    if (rec_head_has(head, n, "\"nat_ip\"") && rec_head_has(head, n, "\"src_ip\""))
        return 70;
    return 0;
}

const nl_reader reader_gcp_nat = {
    "gcp_nat", "GCP Cloud NAT log", gcp_nat_sniff, gcp_nat_load
};
