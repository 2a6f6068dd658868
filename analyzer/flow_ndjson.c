/* flow_ndjson.c - the NDJSON flow record: one table maps nl_flow to keys
 * (see flow_ndjson.h), and the writer walks it.
 *
 * Why a table: the reader (reader_ndjson.c) and the round-trip test walk
 * the same entries, so the three cannot disagree, and when nl_flow changes
 * shape only the lines below change.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "natlens/flow_ndjson.h"
#include "natlens/json.h"

#define ALWAYS 0x80u  /* per_dir bit: written even when zero */

#define FSZ(m) ((uint16_t)sizeof(((nl_flow *)0)->m))
#define F1(name, kind, m) { name, kind, 0, FSZ(m), offsetof(nl_flow, m), 0 }
#define FA(name, kind, m) { name, kind, ALWAYS, FSZ(m), offsetof(nl_flow, m), 0 }
#define F2(name, kind, m0, m1) \
    { name, kind, 1, FSZ(m0), offsetof(nl_flow, m0), offsetof(nl_flow, m1) - offsetof(nl_flow, m0) }
#define FSIG(name, kind, m) F2(name, kind, sig[0].m, sig[1].m)
#define FEP(name, kind, m) F2("tcp_" name, kind, ep[0].m, ep[1].m)
#define FBIT(name, mask) { name, NDJ_BIT, 0, 1, offsetof(nl_flow, flags), mask }

/* nl_flow, field by field. Not here: the packet-record pointer and count
 * (written as the pkt_* arrays), the rare facts behind ext (ndj_ext) and
 * the tunnel index (an index into the trace's own table). */
static const nl_ndjson_field ndj_flow[] = {
    FA("id", NDJ_U32, id),
    FA("proto", NDJ_U8, proto),
    FBIT("ended", NL_FLOW_ENDED),
    FBIT("evicted", NL_FLOW_EVICTED),
    FBIT("flipped", NL_FLOW_FLIPPED),
    F1("icmp_type", NDJ_U8, icmp_type),
    FA("orig_ip", NDJ_ADDR, orig_ip),
    FA("orig_port", NDJ_U16, orig_port),
    FA("resp_ip", NDJ_ADDR, resp_ip),
    FA("resp_port", NDJ_U16, resp_port),
    FA("first_ns", NDJ_U64, first_ns),
    FA("last_ns", NDJ_U64, last_ns),
    F1("first_frame", NDJ_U64, first_frame),
    F2("pkts", NDJ_U64, pkts[0], pkts[1]),
    F2("bytes", NDJ_U64, bytes[0], bytes[1]),
    F2("ip_bytes", NDJ_U64, ip_bytes[0], ip_bytes[1]),
    F2("frame_bytes", NDJ_U64, frame_bytes[0], frame_bytes[1]),
    F2("ifindex", NDJ_I32, ifindex[0], ifindex[1]),
    F2("mac", NDJ_MAC, mac[0], mac[1]),
    FSIG("has_mac", NDJ_U8, has_mac),
    FSIG("ttl", NDJ_U8, ttl),
    /* pairing keys: what survives a NAT */
    FSIG("has_syn", NDJ_U8, has_syn),
    FSIG("syn_isn", NDJ_U32, syn_isn),
    FSIG("syn_count", NDJ_U8, syn_count),
    FSIG("syn_mss", NDJ_U16, syn_mss),
    FSIG("has_tsval", NDJ_U8, has_tsval),
    FSIG("first_tsval", NDJ_U32, first_tsval),
    FSIG("first_ipid", NDJ_U16, first_ipid),
    FSIG("data_hash0", NDJ_U32, data_hash[0]),
    FSIG("data_len0", NDJ_U16, data_len[0]),
    FSIG("data_hash1", NDJ_U32, data_hash[1]),
    FSIG("data_len1", NDJ_U16, data_len[1]),
    FSIG("ndata", NDJ_U8, ndata),
    FSIG("dir_first_ns", NDJ_U64, first_ns),
    /* TCP endpoints: the state (Zeek's TCP_Endpoint lives only while a
     * flow is live) */
    FEP("state", NDJ_U8, state),
    /* history */
    { "history", NDJ_STR, 0, FSZ(history), offsetof(nl_flow, history), 0 },
    F1("hist_len", NDJ_U8, hist_len),
    F1("missed_bytes", NDJ_U64, missed_bytes),
};

#define XSZ(m) ((uint16_t)sizeof(((nl_flow_ext *)0)->m))
#define X(name, kind, m) { name, kind, 0, XSZ(m), offsetof(nl_flow_ext, m), 0 }

/* nl_flow_ext, field by field (keys as when they were nl_flow's). */
static const nl_ndjson_field ndj_ext[] = {
    X("icmp_errors", NDJ_U32, icmp_errors),
    X("icmp_err_type", NDJ_U8, icmp_err_type),
    X("icmp_err_code", NDJ_U8, icmp_err_code),
    X("icmp_err_from", NDJ_ADDR, icmp_err_from),
    X("tcp_orig_ack_seq", NDJ_U32, orig_ack_seq),
};

#define RSZ(m) ((uint16_t)sizeof(((nl_pkt_rec *)0)->m))
#define R(name, kind, m) { name, kind, 0, RSZ(m), offsetof(nl_pkt_rec, m), 0 }

/* nl_pkt_rec, field by field: each becomes "pkt_<name>":[one per record]. */
static const nl_ndjson_field ndj_rec[] = {
    R("ts_ns", NDJ_U64, ts_ns),
    R("frame", NDJ_U64, frame),
    R("seq", NDJ_U32, seq),
    R("ack", NDJ_U32, ack),
    R("tsval", NDJ_U32, tsval),
    R("payload_hash", NDJ_U32, payload_hash),
    R("payload_len", NDJ_U16, payload_len),
    R("ip_len", NDJ_U16, ip_len),
    R("ip_id", NDJ_U16, ip_id),
    R("win", NDJ_U16, win),
    R("mss", NDJ_U16, mss),
    R("tcp_flags", NDJ_U8, tcp_flags),
    R("dir", NDJ_U8, dir),
    R("ttl", NDJ_U8, ttl),
    R("pkttype", NDJ_U8, pkttype),
    R("ifindex", NDJ_I32, ifindex),
    R("src_mac", NDJ_MAC, src_mac),
    R("dst_mac", NDJ_MAC, dst_mac),
    { "text", NDJ_STR, 0, RSZ(text), offsetof(nl_pkt_rec, text), 0 },
};

const nl_ndjson_field *flow_ndjson_fields(size_t *n)
{
    *n = sizeof ndj_flow / sizeof ndj_flow[0];
    return ndj_flow;
}

const nl_ndjson_field *flow_ndjson_ext_fields(size_t *n)
{
    *n = sizeof ndj_ext / sizeof ndj_ext[0];
    return ndj_ext;
}

const nl_ndjson_field *flow_ndjson_rec_fields(size_t *n)
{
    *n = sizeof ndj_rec / sizeof ndj_rec[0];
    return ndj_rec;
}

int flow_ndjson_point_ok(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n > NL_NDJSON_POINT_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("._:@+-", c)))
            return 0;
    }
    return 1;
}

static int hex64_ok(const char *s)
{
    if (!s || strlen(s) != 64)
        return 0;
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* ---- one value ---- */

static uint64_t ndj_get_u(const void *p, uint16_t size)
{
    uint8_t a;
    uint16_t b;
    uint32_t c;
    uint64_t d;
    switch (size) {
    case 1: memcpy(&a, p, 1); return a;
    case 2: memcpy(&b, p, 2); return b;
    case 4: memcpy(&c, p, 4); return c;
    default: memcpy(&d, p, 8); return d;
    }
}

static int ndj_is_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

static void ndj_mac_str(const uint8_t *m, char *buf, size_t len)
{
    snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* Write one value at p; key NULL inside an array. */
static void ndj_put(nl_json *j, const char *key, const nl_ndjson_field *fd, const void *p)
{
    char buf[64];
    switch (fd->kind) {
    case NDJ_I32: {
        int32_t v;
        memcpy(&v, p, sizeof v);
        json_int(j, key, v);
        break;
    }
    case NDJ_ADDR: {
        nl_addr a;
        memcpy(&a, p, sizeof a);
        json_addr(j, key, &a);
        break;
    }
    case NDJ_MAC:
        ndj_mac_str(p, buf, sizeof buf);
        json_str(j, key, buf);
        break;
    case NDJ_STR:
        json_strn(j, key, p, strnlen(p, fd->size));
        break;
    case NDJ_BIT:
        json_uint(j, key, (*(const uint8_t *)p & fd->stride) != 0);
        break;
    default:
        json_uint(j, key, ndj_get_u(p, fd->size));
        break;
    }
}

/* The members of table fd[0..n) of the struct at base. */
static void ndj_table(nl_json *j, const nl_ndjson_field *tab, size_t n, const void *base)
{
    char key[64];
    for (size_t i = 0; i < n; i++) {
        const nl_ndjson_field *fd = &tab[i];
        int per_dir = fd->per_dir & 1, always = fd->per_dir & ALWAYS;
        for (int d = 0; d < (per_dir ? 2 : 1); d++) {
            const char *p = (const char *)base + fd->off + (size_t)d * fd->stride;
            size_t vsz = fd->kind == NDJ_STR ? 1 : fd->size;  /* a string is empty when byte 0 is */
            if (!always && (fd->kind == NDJ_BIT ? !(*(const uint8_t *)p & fd->stride)
                                                : ndj_is_zero(p, vsz)))
                continue;
            snprintf(key, sizeof key, "%s%s", per_dir ? (d ? "resp_" : "orig_") : "", fd->name);
            ndj_put(j, key, fd, p);
        }
    }
}

static void ndj_members(nl_json *j, const nl_flow *f)
{
    char key[64];
    size_t nrf;
    const nl_ndjson_field *rf = flow_ndjson_rec_fields(&nrf);
    ndj_table(j, ndj_flow, sizeof ndj_flow / sizeof ndj_flow[0], f);
    if (f->ext)
        ndj_table(j, ndj_ext, sizeof ndj_ext / sizeof ndj_ext[0], f->ext);
    if (!f->recs || f->nrecs == 0)
        return;
    for (size_t i = 0; i < nrf; i++) {
        snprintf(key, sizeof key, "pkt_%s", rf[i].name);
        json_arr_begin(j, key);
        for (uint16_t r = 0; r < f->nrecs; r++)
            ndj_put(j, NULL, &rf[i], (const char *)&f->recs[r] + rf[i].off);
        json_arr_end(j);
    }
}

/* ---- lines ---- */

static void ndj_line_begin(nl_ndjson_writer *w, nl_json *j, const char *type)
{
    json_init(j, w->out, 0);
    json_obj_begin(j, NULL);
    json_str(j, "type", type);
    json_uint(j, "schema", NL_NDJSON_SCHEMA);
    json_str(j, "capture_id", w->capture_id);
    json_str(j, "point", w->point);
}

static void ndj_line_end(nl_ndjson_writer *w, nl_json *j)
{
    json_obj_end(j);
    /* not json_finish(): it flushes, once a line would be a write(2) per flow */
    putc_unlocked('\n', w->out);
}

int flow_ndjson_begin(nl_ndjson_writer *w, FILE *out, const nl_ndjson_capture *c)
{
    nl_json j;
    memset(w, 0, sizeof *w);
    if (!hex64_ok(c->capture_id) || !flow_ndjson_point_ok(c->point))
        return -1;
    w->out = out;
    memcpy(w->capture_id, c->capture_id, 65);
    snprintf(w->point, sizeof w->point, "%s", c->point);
    ndj_line_begin(w, &j, "capture");
    json_str(&j, "format", NL_NDJSON_FORMAT);
    json_str(&j, "file", c->file);
    json_int(&j, "linktype", c->linktype);
    json_str(&j, "link_type", c->linktype_name);
    json_str(&j, "source_format", c->source_format);
    if (c->hostmeta)
        json_str(&j, "host_context", c->hostmeta);
    json_str(&j, "natlens", NATLENS_VERSION);
    ndj_line_end(w, &j);
    return 0;
}

void flow_ndjson_flow(nl_ndjson_writer *w, const nl_flow *f)
{
    nl_json j;
    char buf[64];
    ndj_line_begin(w, &j, "flow");
    /* derived, for people and SQL; the reader recomputes them */
    json_str(&j, "community_id", flow_community_id(f, buf, sizeof buf));
    json_str(&j, "conn_state", flow_conn_state(f));
    ndj_members(&j, f);
    ndj_line_end(w, &j);
    w->flows++;
}

static void ndj_probe(nl_ndjson_writer *w, const nl_probe_info *p)
{
    nl_json j;
    ndj_line_begin(w, &j, "probe");
    json_addr(&j, "inner_ip", &p->inner_ip);
    json_str(&j, "via", p->via);
    json_str(&j, "session", p->session);
    json_uint(&j, "proto", p->proto);
    json_uint(&j, "dst_port", p->dst_port);
    json_uint(&j, "seq", p->seq);
    json_uint(&j, "ts_ns", p->ts_ns);
    json_addr(&j, "seen_as_ip", &p->seen_as_ip);
    json_uint(&j, "seen_as_port", p->seen_as_port);
    json_addr(&j, "seen_dst_ip", &p->seen_dst_ip);
    json_uint(&j, "seen_dst_port", p->seen_dst_port);
    json_uint(&j, "seen_ts_ns", p->seen_ts_ns);
    ndj_line_end(w, &j);
}

void flow_ndjson_end(nl_ndjson_writer *w, nl_trace *t)
{
    nl_json j;
    nl_flow_table_stats st;
    flow_table_stats(t->flows, &st);
    for (size_t i = 0; i < t->nprobes; i++)
        ndj_probe(w, &t->probes[i]);
    ndj_line_begin(w, &j, "capture_end");
    json_uint(&j, "packets", t->packets);
    json_uint(&j, "ip_packets", t->ip_packets);
    json_uint(&j, "bytes", t->wire_bytes);
    json_uint(&j, "first_ns", t->first_ns);
    json_uint(&j, "last_ns", t->last_ns);
    json_uint(&j, "malformed", t->malformed);
    json_uint(&j, "truncated", t->truncated);
    json_uint(&j, "flows", st.flows_total);
    json_uint(&j, "flow_lines", w->flows);
    json_uint(&j, "evicted", st.evicted);
    json_uint(&j, "no_memory", st.no_memory);
    json_uint(&j, "probes", t->nprobes);
    if (t->warning) {
        json_str(&j, "warning", t->warning);
        json_uint(&j, "damage_offset", t->damage_offset);
    }
    ndj_line_end(w, &j);
    fflush(w->out);
}
