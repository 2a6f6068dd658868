/* reader_zeek_conn.c - Zeek's conn.log, TSV (with #fields) or JSON lines.
 *
 * Documentation: https://docs.zeek.org/en/master/logs/conn.html (fields,
 * conn_state and history letters) and https://docs.zeek.org/en/master/
 * scripts/base/protocols/conn/main.zeek.html (Conn::Info). Fields used:
 * ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto duration orig_bytes
 * resp_bytes conn_state history orig_pkts orig_ip_bytes resp_pkts
 * resp_ip_bytes community_id (when the community-id package wrote it).
 * TSV: "#separator \x09", "#unset_field -", "#empty_field (empty)" and
 * "#fields ..." set the layout (the last #fields seen wins); JSON: one
 * object per line with the same names.
 *
 * One line is one flow exactly as Zeek tracked it (its own conn_state and
 * history, payload and IP byte counts per direction). Where the sensor sat
 * is not in the log: side unknown. ICMP: Zeek puts type/code in the ports,
 * natlens an echo's id: ICMP flows pin addresses only.
 */
#include <string.h>
#include "natlens/reader.h"
#include "record_int.h"

enum {
    ZF_TS, ZF_UID, ZF_OH, ZF_OP, ZF_RH, ZF_RP, ZF_PROTO, ZF_DUR, ZF_OB, ZF_RB, ZF_STATE,
    ZF_HIST, ZF_OPK, ZF_OIB, ZF_RPK, ZF_RIB, ZF_CID, ZF_N
};
static const char *const zf_names[ZF_N] = {
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "duration",
    "orig_bytes", "resp_bytes", "conn_state", "history", "orig_pkts", "orig_ip_bytes",
    "resp_pkts", "resp_ip_bytes", "community_id"
};
#define ZF_MAX_COLS 128

/* One field's text, "" when unset/empty. */
typedef struct zf_val {
    const char *s;
    size_t len;
} zf_val;

static int zf_set(const zf_val *v)
{
    return v->len && !(v->len == 1 && v->s[0] == '-') && !(v->len == 7 && !memcmp(v->s, "(empty)", 7));
}

static int zf_u64(const zf_val *v, uint64_t *x)
{
    return rec_parse_u64(v->s, v->len, UINT64_MAX / 4, x);
}

/* The flow of one line from its field values; 0 or -1 (why). */
static int zf_entry(nl_trace *t, rec_batch *b, const zf_val *v, uint64_t line, const char **why)
{
    rec_entry r, *e;
    uint64_t x, dur = 0;
    memset(&r, 0, sizeof r);
    int masked = zf_set(&v[ZF_TS]) && strspn(v[ZF_TS].s, "X.") == v[ZF_TS].len;
    /* Zeek's test baselines mask times as XXXXXXXXXX.XXXXXX: kept, time unknown */
    if (!masked && (!zf_set(&v[ZF_TS]) || rec_parse_epoch(v[ZF_TS].s, v[ZF_TS].len, &r.first_ns) < 0))
        return *why = "ts missing or not seconds since the epoch", -1;
    if (rec_parse_addr(v[ZF_OH].s, v[ZF_OH].len, &r.in_src) < 0 ||
        rec_parse_addr(v[ZF_RH].s, v[ZF_RH].len, &r.in_dst) < 0)
        return *why = "id.orig_h/id.resp_h not an address", -1;
    if (rec_parse_proto(v[ZF_PROTO].s, v[ZF_PROTO].len, &r.proto) < 0)
        return *why = "proto not understood", -1;
    r.info.pins = NL_REC_PIN_ADDRS | (masked ? 0 : NL_REC_PIN_TIMES);
    if (r.proto != IPPROTO_ICMP && r.proto != IPPROTO_ICMPV6) {
        if (zf_u64(&v[ZF_OP], &x) < 0 || x > 65535)
            return *why = "id.orig_p out of range", -1;
        r.in_sport = (uint16_t)x;
        if (zf_u64(&v[ZF_RP], &x) < 0 || x > 65535)
            return *why = "id.resp_p out of range", -1;
        r.in_dport = (uint16_t)x;
        r.info.pins |= NL_REC_PIN_PORTS;
    } else if (zf_u64(&v[ZF_OP], &x) == 0 && x < 256) {
        r.icmp_type = (uint8_t)x;
    }
    if (zf_set(&v[ZF_DUR])) {
        const char *d = v[ZF_DUR].s, *dot = memchr(d, '.', v[ZF_DUR].len);
        uint64_t sec, frac = 0;
        size_t il = dot ? (size_t)(dot - d) : v[ZF_DUR].len, fl = dot ? v[ZF_DUR].len - il - 1 : 0;
        if (rec_parse_u64(d, il, 10u * 365 * 86400, &sec) < 0 || fl > 9 ||
            (fl && rec_parse_u64(dot + 1, fl, 999999999, &frac) < 0))
            return *why = "duration not understood", -1;
        for (size_t i = fl; i < 9; i++)
            frac *= 10;
        dur = sec * REC_NS + frac;
    }
    r.last_ns = masked ? 0 : r.first_ns + dur;
    int counts = 0;
    counts += zf_u64(&v[ZF_OPK], &r.pkts[0]) == 0;
    counts += zf_u64(&v[ZF_RPK], &r.pkts[1]) == 0;
    if (counts == 2)
        r.info.pins |= NL_REC_PIN_PKTS | NL_REC_PIN_RESP;
    if (zf_u64(&v[ZF_OIB], &r.ip_bytes[0]) == 0 && zf_u64(&v[ZF_RIB], &r.ip_bytes[1]) == 0)
        r.info.pins |= NL_REC_PIN_BYTES;
    if (zf_u64(&v[ZF_OB], &r.bytes[0]) == 0 && zf_u64(&v[ZF_RB], &r.bytes[1]) == 0)
        r.info.pins |= NL_REC_PIN_PAYLOAD;
    if (zf_set(&v[ZF_STATE]) && v[ZF_STATE].len < sizeof r.conn_state) {
        memcpy(r.conn_state, v[ZF_STATE].s, v[ZF_STATE].len);
        r.info.pins |= NL_REC_PIN_STATE;
        r.info.state = record_intern(t, v[ZF_STATE].s, v[ZF_STATE].len);
    }
    if (zf_set(&v[ZF_HIST])) {
        size_t hl = v[ZF_HIST].len < sizeof r.history - 1 ? v[ZF_HIST].len : sizeof r.history - 1;
        for (size_t i = 0; i < hl; i++) {
            char c = v[ZF_HIST].s[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '^'))
                return *why = "history holds other than Zeek's letters", -1;
            r.history[i] = c;
        }
    }
    if (zf_set(&v[ZF_UID]))
        r.info.reporter = record_intern(t, v[ZF_UID].s, v[ZF_UID].len);
    if (zf_set(&v[ZF_CID]))
        r.info.community_id = record_intern(t, v[ZF_CID].s, v[ZF_CID].len);
    r.info.side = NL_REC_SIDE_UNKNOWN;
    r.info.line = line;
    r.info.nrecords = 1;
    if (!(e = rec_batch_add(b)))
        return *why = b->full ? "too many entries (4M)" : "out of memory", -1;
    *e = r;
    return 0;
}

/* ---- JSON lines ------------------------------------------------------------ */

static int zf_json(nl_trace *t, rec_batch *b, json_object *o, uint64_t line, const char **why,
                   void *ctx)
{
    zf_val v[ZF_N];
    char num[ZF_N][48];
    (void)ctx;
    if (!rec_jget(o, "id.orig_h") || !rec_jget(o, "ts"))
        return 0;
    for (int i = 0; i < ZF_N; i++) {
        json_object *x = rec_jget(o, zf_names[i]);
        v[i].s = "";
        v[i].len = 0;
        if (!x)
            continue;
        if (json_object_is_type(x, json_type_string)) {
            v[i].s = json_object_get_string(x);
            v[i].len = (size_t)json_object_get_string_len(x);
        } else if (json_object_is_type(x, json_type_int)) {
            int64_t n = json_object_get_int64(x);
            if (n < 0)
                return *why = "negative number", -1;
            snprintf(num[i], sizeof num[i], "%lld", (long long)n);
            v[i].s = num[i];
            v[i].len = strlen(num[i]);
        } else if (json_object_is_type(x, json_type_double)) {
            double d = json_object_get_double(x);
            if (!(d >= 0 && d < 4102444800.0))
                return *why = "time out of range", -1;
            snprintf(num[i], sizeof num[i], "%.6f", d);
            v[i].s = num[i];
            v[i].len = strlen(num[i]);
        }
    }
    return zf_entry(t, b, v, line, why) < 0 ? -1 : 1;
}

/* ---- TSV --------------------------------------------------------------- */

typedef struct zf_tsv {
    int  col[ZF_N];
    int  ncols;
    char sep;
} zf_tsv;

static int zf_tsv_fields(zf_tsv *Z, char *s)
{
    int n = 0;
    for (int i = 0; i < ZF_N; i++)
        Z->col[i] = -1;
    s += 7;   /* "#fields" */
    while (*s && n < ZF_MAX_COLS) {
        while (*s == Z->sep)
            s++;
        if (!*s)
            break;
        char *e = s;
        while (*e && *e != Z->sep)
            e++;
        for (int i = 0; i < ZF_N; i++)
            if ((size_t)(e - s) == strlen(zf_names[i]) && !memcmp(s, zf_names[i], (size_t)(e - s)))
                Z->col[i] = n;
        n++;
        s = e;
    }
    Z->ncols = n;
    return Z->col[ZF_TS] >= 0 && Z->col[ZF_OH] >= 0 && Z->col[ZF_RH] >= 0 && Z->col[ZF_PROTO] >= 0;
}

static int zf_tsv_line(nl_trace *t, rec_batch *b, const zf_tsv *Z, char *s, uint64_t line,
                       const char **why)
{
    zf_val cols[ZF_MAX_COLS], v[ZF_N];
    int n = 0;
    for (;;) {
        char *e = strchr(s, Z->sep);
        if (n == ZF_MAX_COLS)
            return *why = "too many columns", -1;
        cols[n].s = s;
        cols[n].len = e ? (size_t)(e - s) : strlen(s);
        n++;
        if (!e)
            break;
        s = e + 1;
    }
    if (n != Z->ncols)
        return *why = "column count differs from #fields", -1;
    for (int i = 0; i < ZF_N; i++) {
        v[i].s = "";
        v[i].len = 0;
        if (Z->col[i] >= 0)
            v[i] = cols[Z->col[i]];
    }
    return zf_entry(t, b, v, line, why);
}

static int zf_load(nl_trace *t, FILE *in, const nl_trace_opts *o, char *errbuf)
{
    rec_batch b;
    int c;
    (void)o;
    memset(&b, 0, sizeof b);
    c = getc(in);
    if (c != EOF)
        ungetc(c, in);
    if (c == '{' || c == '[')
        return rec_json_load(t, in, &b, zf_json, NULL, "Zeek conn.log", errbuf);

    rec_lines L;
    zf_tsv Z;
    char *line;
    size_t len;
    uint64_t used = 0;
    int have = 0;
    memset(&Z, 0, sizeof Z);
    Z.sep = '\t';
    if (rec_lines_init(&L, in) < 0) {
        snprintf(errbuf, 512, "%s: out of memory", t->path);
        return -1;
    }
    while (rec_lines_next(&L, &line, &len)) {
        const char *why = NULL;
        if (L.too_long) {
            trace_note_bad(t, "%s:%llu: line longer than %d bytes", t->name,
                           (unsigned long long)L.lineno, REC_LINE_MAX);
            continue;
        }
        if (line[0] == '#') {
            if (!strncmp(line, "#fields", 7))
                have = zf_tsv_fields(&Z, line);
            else if (!strcmp(line, "#separator \\x09"))
                Z.sep = '\t';
            else if (!strcmp(line, "#separator \\x20") || !strcmp(line, "#separator  "))
                Z.sep = ' ';
            continue;
        }
        if (!line[0])
            continue;
        if (!have) {
            trace_note_bad(t, "%s:%llu: a record before any #fields line", t->name,
                           (unsigned long long)L.lineno);
            continue;
        }
        if (zf_tsv_line(t, &b, &Z, line, L.lineno, &why) < 0)
            trace_note_bad(t, "%s:%llu: %s", t->name, (unsigned long long)L.lineno, why);
        else
            used++;
    }
    rec_lines_free(&L);
    t->packets = used;
    if (!used) {
        snprintf(errbuf, 512, "%s: no conn.log record could be read (%llu bad lines)", t->path,
                 (unsigned long long)t->bad_records);
        rec_batch_free(&b);
        return -1;
    }
    return record_emit(t, &b, errbuf);
}

static int zf_sniff(const char *head, size_t n)
{
    if (rec_head_has(head, n, "#path\tconn") ||
        (rec_head_has(head, n, "#fields\tts\tuid\tid.orig_h")))
        return 95;
    if (rec_head_has(head, n, "\"id.orig_h\"") && rec_head_has(head, n, "\"uid\""))
        return 85;
    return 0;
}

const nl_reader reader_zeek_conn = {
    "zeek_conn", "Zeek conn.log", zf_sniff, zf_load
};
