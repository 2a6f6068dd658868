/* flow_out.c - one flow as JSON, CSV or text, the same everywhere. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "natlens/flow_out.h"
#include "natlens/record.h"
#include "natlens/trace.h"
#include "natlens/tunnel_out.h"

#define NS_PER_S ((uint64_t)1000000000)

/* "aa:bb:cc:dd:ee:ff" (buf >= 18), by hand: two per printed flow. */
static void mac_str(const uint8_t m[6], char *buf, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (len < 18) {
        if (len)
            buf[0] = '\0';
        return;
    }
    for (int i = 0; i < 6; i++) {
        buf[3 * i] = hex[m[i] >> 4];
        buf[3 * i + 1] = hex[m[i] & 15];
        buf[3 * i + 2] = i < 5 ? ':' : '\0';
    }
}

void flow_out_json(nl_json *j, const char *key, const nl_flow *f)
{
    flow_out_json_tun(j, key, f, NULL);
}

static void flow_json(nl_json *j, const char *key, const nl_flow *f,
                      const nl_tunnel_table *tt, const nl_record_info *ri);

void flow_out_json_tun(nl_json *j, const char *key, const nl_flow *f,
                       const nl_tunnel_table *tt)
{
    flow_json(j, key, f, tt, NULL);
}

void flow_out_json_in(nl_json *j, const char *key, const nl_flow *f, const struct nl_trace *t)
{
    flow_json(j, key, f, t ? t->tunnels : NULL, t ? record_info_of(t, f) : NULL);
}

/* A count a record may not pin: null then. */
static void pinned_uint(nl_json *j, const char *key, uint64_t v, int pinned)
{
    if (pinned)
        json_uint(j, key, v);
    else
        json_null(j, key);
}

static void flow_json(nl_json *j, const char *key, const nl_flow *f,
                      const nl_tunnel_table *tt, const nl_record_info *ri)
{
    char buf[64];
    unsigned pins = ri ? ri->pins : ~0u;
    int resp = !ri || (pins & NL_REC_PIN_RESP);
    json_obj_begin(j, key);
    json_str(j, "proto", flow_proto_name(f->proto, buf, sizeof buf));
    json_addr(j, "orig_ip", &f->orig_ip);
    json_uint(j, "orig_port", f->orig_port);
    json_addr(j, "resp_ip", &f->resp_ip);
    json_uint(j, "resp_port", f->resp_port);
    if (pins & NL_REC_PIN_STATE) {
        json_str(j, "conn_state", flow_conn_state(f));
        json_str(j, "history", f->history);
    } else {
        json_null(j, "conn_state");
        json_null(j, "history");
    }
    pinned_uint(j, "orig_pkts", f->pkts[NL_ORIG], pins & NL_REC_PIN_PKTS);
    pinned_uint(j, "resp_pkts", f->pkts[NL_RESP], (pins & NL_REC_PIN_PKTS) && resp);
    pinned_uint(j, "orig_bytes", f->bytes[NL_ORIG], pins & NL_REC_PIN_PAYLOAD);
    pinned_uint(j, "resp_bytes", f->bytes[NL_RESP], (pins & NL_REC_PIN_PAYLOAD) && resp);
    pinned_uint(j, "orig_ip_bytes", f->ip_bytes[NL_ORIG], pins & NL_REC_PIN_BYTES);
    pinned_uint(j, "resp_ip_bytes", f->ip_bytes[NL_RESP], (pins & NL_REC_PIN_BYTES) && resp);
    /* frames and sequence gaps are packet facts: no record has them */
    pinned_uint(j, "orig_frame_bytes", f->frame_bytes[NL_ORIG], !ri);
    pinned_uint(j, "resp_frame_bytes", f->frame_bytes[NL_RESP], !ri);
    pinned_uint(j, "missed_bytes", f->missed_bytes, !ri);
    json_ts(j, "first_ts", f->first_ns);
    json_ts(j, "last_ts", f->last_ns);
    json_str(j, "community_id", flow_community_id_seed(f, j->community_id_seed, buf, sizeof buf));
    json_uint(j, "id", f->id);
    pinned_uint(j, "first_frame", f->first_frame, !ri);
    if (ri)
        json_bool(j, "record", 1);      /* its facts: the capture's "records" */
    if (f->proto == 6 && f->sig[NL_ORIG].has_syn)
        json_uint(j, "orig_isn", f->sig[NL_ORIG].syn_isn);
    if (f->proto == 6 && f->sig[NL_RESP].has_syn)
        json_uint(j, "resp_isn", f->sig[NL_RESP].syn_isn);
    for (int d = 0; d < 2; d++) {
        if (f->sig[d].has_mac) {
            mac_str(f->mac[d], buf, sizeof buf);
            json_str(j, d ? "resp_mac" : "orig_mac", buf);
        }
        if (f->ifindex[d] >= 0)
            json_int(j, d ? "resp_ifindex" : "orig_ifindex", f->ifindex[d]);
    }
    if (flow_icmp_errors(f)) {
        json_obj_begin(j, "icmp_error");
        json_uint(j, "count", flow_icmp_errors(f));
        json_uint(j, "type", flow_icmp_err_type(f));
        json_uint(j, "code", flow_icmp_err_code(f));
        json_addr(j, "from", flow_icmp_err_from(f));
        json_obj_end(j);
    }
    if (f->evicted)
        json_bool(j, "evicted", 1);
    if (tt)
        tunnel_out_json(j, tt, f);
    json_obj_end(j);
}

void flow_out_csv_header(FILE *out)
{
    fputs("proto,orig_ip,orig_port,resp_ip,resp_port,conn_state,history,orig_pkts,resp_pkts,"
          "orig_bytes,resp_bytes,orig_ip_bytes,resp_ip_bytes,first_ts,last_ts,community_id\n", out);
}

void flow_out_csv_row(FILE *out, const nl_flow *f, uint16_t cid_seed)
{
    char a[64], b[64], p[16], cid[64];
    /* no field can hold a comma or quote: addresses, numbers, letters */
    fprintf(out, "%s,%s,%u,%s,%u,%s,%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
                 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ".%09" PRIu64 ",%" PRIu64 ".%09" PRIu64 ",%s\n",
            flow_proto_name(f->proto, p, sizeof p), nl_addr_str(&f->orig_ip, a, sizeof a),
            f->orig_port, nl_addr_str(&f->resp_ip, b, sizeof b), f->resp_port,
            flow_conn_state(f), f->history, f->pkts[0], f->pkts[1], f->bytes[0], f->bytes[1],
            f->ip_bytes[0], f->ip_bytes[1], f->first_ns / NS_PER_S,
            f->first_ns % NS_PER_S, f->last_ns / NS_PER_S, f->last_ns % NS_PER_S,
            flow_community_id_seed(f, cid_seed, cid, sizeof cid));
}

/* Append s (n bytes) at *o if it fits before end (one byte kept for NUL). */
static void out_put(char **o, const char *end, const char *s, size_t n)
{
    if (n >= (size_t)(end - *o))
        n = *o < end ? (size_t)(end - *o) - 1 : 0;
    memcpy(*o, s, n);
    *o += n;
}

static void out_u32(char **o, const char *end, uint32_t v)
{
    char d[10];
    size_t i = sizeof d;
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    out_put(o, end, d + i, sizeof d - i);
}

/* "a.b.c.d:port" or "[v6]:port", formatted by hand: this runs for every
 * printed flow, snprintf made it the most expensive part of `flows`. */
static void endpoint_put(char **o, const char *end, const nl_addr *a, uint16_t port)
{
    char s[64];
    int v4 = nl_addr_is_v4(a);
    nl_addr_str(a, s, sizeof s);
    if (!v4)
        out_put(o, end, "[", 1);
    out_put(o, end, s, strlen(s));
    out_put(o, end, v4 ? ":" : "]:", v4 ? 1 : 2);
    out_u32(o, end, port);
}

char *flow_out_tuple(const nl_flow *f, char *buf, size_t len, int utf8)
{
    char *o = buf;
    const char *end = buf + len;
    if (len == 0)
        return buf;
    endpoint_put(&o, end, &f->orig_ip, f->orig_port);
    out_put(&o, end, utf8 ? " \xe2\x86\x92 " : " -> ", utf8 ? 5 : 4);
    endpoint_put(&o, end, &f->resp_ip, f->resp_port);
    *o = '\0';
    return buf;
}

char *flow_out_time(uint64_t ts_ns, char *buf, size_t len, int local)
{
    time_t s = (time_t)(ts_ns / NS_PER_S);
    unsigned us = (unsigned)((ts_ns % NS_PER_S) / 1000);
    struct tm tm;
    if (!local && len >= 16) {
        /* UTC is the time of day in POSIX seconds: no gmtime_r (it takes
         * the time zone lock) and no snprintf for every printed flow */
        unsigned sod = (unsigned)(ts_ns / NS_PER_S % 86400), v[4];
        v[0] = sod / 3600;
        v[1] = sod / 60 % 60;
        v[2] = sod % 60;
        v[3] = us;
        for (int i = 0, o = 0; i < 4; i++) {
            int w = i < 3 ? 2 : 6;
            for (int k = w - 1; k >= 0; k--, v[i] /= 10)
                buf[o + k] = (char)('0' + v[i] % 10);
            o += w;
            buf[o++] = i < 2 ? ':' : i == 2 ? '.' : '\0';
        }
        return buf;
    }
    if (local)
        localtime_r(&s, &tm);
    else
        gmtime_r(&s, &tm);
    snprintf(buf, len, "%02d:%02d:%02d.%06u", tm.tm_hour, tm.tm_min, tm.tm_sec, us);
    return buf;
}
