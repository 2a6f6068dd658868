/* reader_azure_flow.c - Azure virtual network flow logs (and the older
 * network security group flow logs, same nesting).
 *
 * Documentation: https://learn.microsoft.com/azure/network-watcher/vnet-flow-logs-overview
 * ("Log format") and .../nsg-flow-logs-overview (version 1/2 tuples).
 * A blob is one JSON document {"records":[{time, flowLogVersion, macAddress,
 * flowLogResourceID, targetResourceID, flowRecords:{flows:[{aclID,
 * flowGroups:[{rule, flowTuples:["t,src,dst,sport,dport,proto,dir,state,
 * enc,pkts_s2d,bytes_s2d,pkts_d2s,bytes_d2s", ...]}]}]}}]} (NSG logs:
 * properties.flows[].flows[].flowTuples, tuples "t,src,dst,sport,dport,
 * T|U,I|O,A|D[,B|C|E,pkts,bytes,pkts,bytes]"). Records may also come one
 * per line (an Event Hub or Log Analytics export).
 *
 * VNet tuple: time in ms since the epoch, protocol number, direction I/O
 * (relative to the NIC), state B(egin) C(ontinuing) E(nd) D(enied),
 * encryption, then counts in both directions since the previous tuple. The
 * tuples of one 5-tuple on one NIC (macAddress) merge into one flow, counts
 * summed; state D (or NSG decision D) marks it rejected. The tuple is the
 * NIC's own (private addresses): side inner. No NAT mapping is logged.
 * Times: when the tuple was written (granularity 1 s assumed; C tuples come
 * at the logging interval).
 */
#include <string.h>
#include "natlens/reader.h"
#include "record_int.h"

#define AZ_FIELDS 16

static size_t az_split(char *s, char **f, size_t *fl)
{
    size_t n = 0;
    for (;;) {
        char *c = strchr(s, ',');
        if (n == AZ_FIELDS)
            return n;
        f[n] = s;
        fl[n] = c ? (size_t)(c - s) : strlen(s);
        n++;
        if (!c)
            return n;
        s = c + 1;
    }
}

static int az_count(const char *v, size_t vl, uint64_t *x)
{
    if (vl == 0) {
        *x = 0;
        return 0;
    }
    return rec_parse_u64(v, vl, UINT64_MAX / 4, x);
}

typedef struct az_ctx {
    const char *mac, *rule;
} az_ctx;

static int az_tuple(nl_trace *t, rec_batch *b, const char *tup, uint64_t line, const az_ctx *cx,
                    const char **why)
{
    char buf[512], *f[AZ_FIELDS];
    size_t fl[AZ_FIELDS], n;
    uint64_t x, c[4] = {0, 0, 0, 0};
    rec_entry r, *e;
    int nsg, denied = 0;
    if (strlen(tup) >= sizeof buf)
        return *why = "flow tuple too long", -1;
    snprintf(buf, sizeof buf, "%s", tup);
    n = az_split(buf, f, fl);
    if (n < 8 || n == AZ_FIELDS)
        return *why = "flow tuple field count not 8..13", -1;
    memset(&r, 0, sizeof r);
    if (rec_parse_u64(f[0], fl[0], UINT64_MAX / 2, &x) < 0)
        return *why = "flow tuple time not a number", -1;
    x = x > 100000000000ull ? x * 1000000ull : x * REC_NS;   /* ms (VNet) or s (NSG) */
    if (x < 631152000ull * REC_NS || x > 4102444800ull * REC_NS)
        return *why = "flow tuple time out of range", -1;
    r.first_ns = r.last_ns = x;
    if (rec_parse_addr(f[1], fl[1], &r.in_src) < 0 || rec_parse_addr(f[2], fl[2], &r.in_dst) < 0)
        return *why = "flow tuple address not understood", -1;
    if (rec_parse_u64(f[3], fl[3], 65535, &x) < 0)
        return *why = "flow tuple source port out of range", -1;
    r.in_sport = (uint16_t)x;
    if (rec_parse_u64(f[4], fl[4], 65535, &x) < 0)
        return *why = "flow tuple destination port out of range", -1;
    r.in_dport = (uint16_t)x;
    nsg = fl[5] == 1 && (f[5][0] == 'T' || f[5][0] == 'U');
    if (nsg)
        r.proto = f[5][0] == 'T' ? IPPROTO_TCP : IPPROTO_UDP;
    else if (rec_parse_u64(f[5], fl[5], 255, &x) < 0)
        return *why = "flow tuple protocol not understood", -1;
    else
        r.proto = (uint8_t)x;
    if (fl[6] != 1 || (f[6][0] != 'I' && f[6][0] != 'O'))
        return *why = "flow tuple direction not I or O", -1;
    if (nsg) {
        denied = fl[7] == 1 && f[7][0] == 'D';
        if (n >= 13)
            for (int i = 0; i < 4; i++)
                if (az_count(f[9 + i], fl[9 + i], &c[i]) < 0)
                    return *why = "flow tuple count not a number", -1;
    } else {
        if (fl[7] != 1 || !strchr("BCED", f[7][0]))
            return *why = "flow tuple state not B, C, E or D", -1;
        denied = f[7][0] == 'D';
        if (n >= 13)
            for (int i = 0; i < 4; i++)
                if (az_count(f[9 + i], fl[9 + i], &c[i]) < 0)
                    return *why = "flow tuple count not a number", -1;
    }
    r.info.pins = NL_REC_PIN_ADDRS | NL_REC_PIN_PORTS | NL_REC_PIN_TIMES |
                  (n >= 13 ? NL_REC_PIN_PKTS | NL_REC_PIN_BYTES | NL_REC_PIN_RESP : 0);
    r.info.granularity_ms = 1000;
    r.info.side = NL_REC_SIDE_INNER;
    r.info.action = denied ? NL_REC_ACTION_REJECT : NL_REC_ACTION_ACCEPT;
    r.info.line = line;
    r.info.interface = cx->mac;
    r.info.reporter = cx->rule;
    r.info.state = record_intern(t, f[7], fl[7]);
    r.key_extra = (uint64_t)(uintptr_t)cx->mac;
    e = rec_batch_find(b, &r);
    if (!e) {
        if (!(e = rec_batch_add(b)))
            return *why = b->full ? "too many entries (4M)" : "out of memory", -1;
        *e = r;
        e->info.nrecords = 0;
        if (rec_batch_index(b, (size_t)(e - b->v)) < 0)
            return *why = "out of memory", -1;
    }
    int rev = nl_addr_cmp(&e->in_src, &r.in_src) || e->in_sport != r.in_sport;
    e->pkts[rev] += c[0];
    e->ip_bytes[rev] += c[1];
    e->pkts[!rev] += c[2];
    e->ip_bytes[!rev] += c[3];
    e->info.pins |= r.info.pins;
    if (r.first_ns < e->first_ns)
        e->first_ns = r.first_ns;
    if (r.last_ns > e->last_ns)
        e->last_ns = r.last_ns;
    if (denied) {
        e->info.action = NL_REC_ACTION_REJECT;
        e->info.reject_dirs |= (uint8_t)(1u << rev);
    }
    e->info.state = r.info.state;
    e->info.nrecords++;
    return 0;
}

/* flows[] of one record: VNet flowRecords.flows[].flowGroups[].flowTuples,
 * NSG properties.flows[].flows[].flowTuples. Returns tuples used. */
static uint64_t az_flows(nl_trace *t, rec_batch *b, json_object *flows, int vnet, uint64_t line,
                         az_ctx *cx)
{
    uint64_t used = 0;
    size_t nf = json_object_is_type(flows, json_type_array) ? json_object_array_length(flows) : 0;
    for (size_t i = 0; i < nf; i++) {
        json_object *fl = json_object_array_get_idx(flows, i);
        json_object *groups = rec_jget(fl, vnet ? "flowGroups" : "flows");
        size_t ng = json_object_is_type(groups, json_type_array) ? json_object_array_length(groups) : 0;
        for (size_t g = 0; g < ng; g++) {
            json_object *grp = json_object_array_get_idx(groups, g);
            json_object *tups = rec_jget(grp, "flowTuples");
            const char *rule = rec_jstr(grp, "rule");
            if (!rule)
                rule = rec_jstr(fl, "rule");
            cx->rule = rule ? record_intern(t, rule, strlen(rule)) : NULL;
            size_t nt = json_object_is_type(tups, json_type_array) ? json_object_array_length(tups) : 0;
            for (size_t k = 0; k < nt; k++) {
                json_object *tv = json_object_array_get_idx(tups, k);
                const char *why = "flow tuple not a string";
                if (json_object_is_type(tv, json_type_string) &&
                    az_tuple(t, b, json_object_get_string(tv), line, cx, &why) == 0)
                    used++;
                else
                    trace_note_bad(t, "%s:%llu: %s", t->name, (unsigned long long)line, why);
            }
        }
    }
    return used;
}

static int az_record(nl_trace *t, rec_batch *b, json_object *rec, uint64_t line)
{
    az_ctx cx;
    const char *mac = rec_jstr(rec, "macAddress");
    json_object *fr = rec_jget(rec, "flowRecords"), *pr = rec_jget(rec, "properties");
    memset(&cx, 0, sizeof cx);
    if (!mac)
        mac = rec_jstr(pr, "macAddress");
    cx.mac = mac ? record_intern(t, mac, strlen(mac)) : NULL;
    if (fr)
        return az_flows(t, b, rec_jget(fr, "flows"), 1, line, &cx) > 0;
    if (pr)
        return az_flows(t, b, rec_jget(pr, "flows"), 0, line, &cx) > 0;
    return -1;
}

static int az_value(nl_trace *t, rec_batch *b, json_object *o, uint64_t line, const char **why,
                    void *ctx)
{
    json_object *recs = rec_jget(o, "records");
    int any = 0;
    (void)ctx;
    if (recs && json_object_is_type(recs, json_type_array)) {
        size_t n = json_object_array_length(recs);
        for (size_t i = 0; i < n; i++) {
            int r = az_record(t, b, json_object_array_get_idx(recs, i), line);
            if (r < 0)
                trace_note_bad(t, "%s:%llu: record %zu has neither flowRecords nor properties.flows",
                               t->name, (unsigned long long)line, i + 1);
            any |= r > 0;
        }
        return any ? 1 : 0;
    }
    if (rec_jget(o, "flowRecords") || rec_jget(rec_jget(o, "properties"), "flows")) {
        int r = az_record(t, b, o, line);
        if (r < 0)
            *why = "record without flow tuples";
        return r;
    }
    return 0;
}

static int az_load(nl_trace *t, FILE *in, const nl_trace_opts *o, char *errbuf)
{
    rec_batch b;
    (void)o;
    memset(&b, 0, sizeof b);
    return rec_json_load(t, in, &b, az_value, NULL, "Azure flow log", errbuf);
}

static int az_sniff(const char *head, size_t n)
{
    if (rec_head_has(head, n, "\"flowTuples\"") || rec_head_has(head, n, "\"flowRecords\"") ||
        rec_head_has(head, n, "FlowLogFlowEvent") || rec_head_has(head, n, "NetworkSecurityGroupFlowEvent"))
        return 90;
    if (rec_head_has(head, n, "\"flowLogVersion\"") || rec_head_has(head, n, "\"flowLogGUID\""))
        return 80;
    return 0;
}

const nl_reader reader_azure_flow = {
    "azure_flow", "Azure VNet flow log", az_sniff, az_load
};
