/* reader_aws_flow.c - Amazon VPC Flow Logs.
 *
 * Documentation: https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html
 * (default format, custom formats, available fields v2-v8) and
 * .../flow-logs-records-examples.html (NAT gateway, reject examples).
 * A record is one direction of a flow on one network interface over an
 * aggregation interval (1 or 10 minutes; 1 minute or less on Nitro),
 * fields separated by spaces, "-" for none. Formats:
 *   default (version 2, no header): version account-id interface-id srcaddr
 *     dstaddr srcport dstport protocol packets bytes start end action log-status
 *   custom: any field order, named by a header line (as written to S3;
 *     "${srcaddr}" and underscores accepted too).
 * Fields used: srcaddr dstaddr srcport dstport protocol packets bytes start
 * end action log-status interface-id instance-id tcp-flags pkt-srcaddr
 * pkt-dstaddr flow-direction. Records with log-status NODATA/SKIPDATA carry
 * no flow and are skipped (counted as entries).
 *
 * srcaddr/dstaddr are the interface's view; pkt-srcaddr/pkt-dstaddr the
 * packet's own endpoints. Where they differ the interface forwarded the
 * traffic (a NAT gateway's interface: dstaddr = the NAT's address,
 * pkt-dstaddr = the real destination): the record is two legs, the inner
 * one pkt-srcaddr:srcport -> pkt-dstaddr:dstport and the outer one from
 * the NAT's address to the destination with the NAT port NOT pinned (a flow
 * log never says which port the NAT chose: it stays 0, pins say so). The
 * two directions of a connection on one interface merge into one flow
 * (packets/bytes per direction, tcp-flags OR-ed per direction: SYN 2,
 * SYN-ACK 18, FIN 1, RST 4). action REJECT marks the flow rejected.
 */
#include <string.h>
#include "natlens/reader.h"
#include "record_int.h"

enum {
    AF_VERSION, AF_IFACE, AF_SRC, AF_DST, AF_SPORT, AF_DPORT, AF_PROTO, AF_PKTS, AF_BYTES,
    AF_START, AF_END, AF_ACTION, AF_STATUS, AF_INSTANCE, AF_FLAGS, AF_PKTSRC, AF_PKTDST,
    AF_DIRECTION, AF_N
};
static const char *const af_names[AF_N] = {
    "version", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets",
    "bytes", "start", "end", "action", "log-status", "instance-id", "tcp-flags", "pkt-srcaddr",
    "pkt-dstaddr", "flow-direction"
};
#define AF_MAX_FIELDS 64

typedef struct af_fmt {
    int col[AF_N];      /* column of each known field, -1 absent */
    int ncols;
} af_fmt;

static size_t af_split(char *s, char **f, size_t *fl)
{
    size_t n = 0;
    while (*s && n < AF_MAX_FIELDS) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s)
            break;
        f[n] = s;
        while (*s && *s != ' ' && *s != '\t')
            s++;
        fl[n] = (size_t)(s - f[n]);
        n++;
    }
    return n;
}

static void af_default(af_fmt *F)
{
    static const int v2[] = {AF_VERSION, -1, AF_IFACE, AF_SRC, AF_DST, AF_SPORT, AF_DPORT, AF_PROTO,
                             AF_PKTS, AF_BYTES, AF_START, AF_END, AF_ACTION, AF_STATUS};
    for (int i = 0; i < AF_N; i++)
        F->col[i] = -1;
    for (int i = 0; i < 14; i++)
        if (v2[i] >= 0)
            F->col[v2[i]] = i;
    F->ncols = 14;
}

/* A header line: every word a field name (letters, digits, '-', '_',
 * "${...}"), srcaddr among them. 1 and F filled, or 0. */
static int af_header(char **f, size_t *fl, size_t n, af_fmt *F)
{
    int has_src = 0;
    for (int i = 0; i < AF_N; i++)
        F->col[i] = -1;
    for (size_t i = 0; i < n; i++) {
        char w[40];
        size_t k = 0;
        for (size_t j = 0; j < fl[i] && k + 1 < sizeof w; j++) {
            char c = f[i][j];
            if (c == '$' || c == '{' || c == '}')
                continue;
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
                return 0;
            w[k++] = c == '_' ? '-' : c;
        }
        w[k] = '\0';
        for (int a = 0; a < AF_N; a++)
            if (!strcmp(w, af_names[a]))
                F->col[a] = (int)i;
        has_src |= !strcmp(w, "srcaddr");
    }
    F->ncols = (int)n;
    return has_src;
}

static int af_field(const af_fmt *F, char **f, size_t *fl, int which, const char **v, size_t *vl)
{
    int c = F->col[which];
    if (c < 0 || (size_t)c >= AF_MAX_FIELDS || !f[c] || (fl[c] == 1 && f[c][0] == '-'))
        return 0;
    *v = f[c];
    *vl = fl[c];
    return 1;
}

static int af_record(nl_trace *t, rec_batch *b, const af_fmt *F, char **f, size_t *fl, size_t n,
                     uint64_t line, const char **why)
{
    const char *v;
    size_t vl;
    uint64_t x, s0, s1;
    rec_entry r;
    nl_addr src, dst, psrc, pdst;
    if ((int)n != F->ncols)
        return *why = "field count differs from the format", -1;
    if (af_field(F, f, fl, AF_STATUS, &v, &vl) && !(vl == 2 && !memcmp(v, "OK", 2)))
        return 0;   /* NODATA / SKIPDATA: no flow in this interval */
    memset(&r, 0, sizeof r);
    if (!af_field(F, f, fl, AF_SRC, &v, &vl) || rec_parse_addr(v, vl, &src) < 0 ||
        !af_field(F, f, fl, AF_DST, &v, &vl) || rec_parse_addr(v, vl, &dst) < 0)
        return *why = "srcaddr/dstaddr missing or not an address", -1;
    psrc = src;
    pdst = dst;
    if (af_field(F, f, fl, AF_PKTSRC, &v, &vl) && rec_parse_addr(v, vl, &psrc) < 0)
        return *why = "pkt-srcaddr not an address", -1;
    if (af_field(F, f, fl, AF_PKTDST, &v, &vl) && rec_parse_addr(v, vl, &pdst) < 0)
        return *why = "pkt-dstaddr not an address", -1;
    if (!af_field(F, f, fl, AF_PROTO, &v, &vl) || rec_parse_u64(v, vl, 255, &x) < 0)
        return *why = "protocol missing or not 0..255", -1;
    r.proto = (uint8_t)x;
    r.info.pins = NL_REC_PIN_ADDRS;
    if (af_field(F, f, fl, AF_SPORT, &v, &vl) && af_field(F, f, fl, AF_DPORT, &v, &vl)) {
        af_field(F, f, fl, AF_SPORT, &v, &vl);
        if (rec_parse_u64(v, vl, 65535, &x) < 0)
            return *why = "srcport out of range", -1;
        r.in_sport = (uint16_t)x;
        af_field(F, f, fl, AF_DPORT, &v, &vl);
        if (rec_parse_u64(v, vl, 65535, &x) < 0)
            return *why = "dstport out of range", -1;
        r.in_dport = (uint16_t)x;
        r.info.pins |= NL_REC_PIN_PORTS;
    }
    r.in_src = psrc;
    r.in_dst = pdst;
    if (nl_addr_cmp(&psrc, &src) || nl_addr_cmp(&pdst, &dst)) {
        /* forwarded by this interface: its own address is the NAT side */
        r.has_outer = 1;
        r.out_src = nl_addr_cmp(&pdst, &dst) ? dst : src;
        r.out_dst = nl_addr_cmp(&pdst, &dst) ? pdst : dst;
        r.out_dport = nl_addr_cmp(&pdst, &dst) ? r.in_dport : 0;
        r.out_sport = 0;   /* the NAT port is not in a flow log */
    }
    if (af_field(F, f, fl, AF_PKTS, &v, &vl)) {
        if (rec_parse_u64(v, vl, UINT64_MAX / 4, &r.pkts[0]) < 0)
            return *why = "packets out of range", -1;
        r.info.pins |= NL_REC_PIN_PKTS;
    }
    if (af_field(F, f, fl, AF_BYTES, &v, &vl)) {
        if (rec_parse_u64(v, vl, UINT64_MAX / 4, &r.ip_bytes[0]) < 0)
            return *why = "bytes out of range", -1;
        r.info.pins |= NL_REC_PIN_BYTES;
    }
    if (af_field(F, f, fl, AF_START, &v, &vl) && rec_parse_epoch(v, vl, &r.first_ns) == 0 &&
        af_field(F, f, fl, AF_END, &v, &vl) && rec_parse_epoch(v, vl, &r.last_ns) == 0) {
        if (r.last_ns < r.first_ns)
            return *why = "end before start", -1;
        r.info.pins |= NL_REC_PIN_TIMES;
        s0 = r.first_ns / REC_NS;
        s1 = r.last_ns / REC_NS;
        r.info.granularity_ms = (uint32_t)((s1 - s0 < 60 ? 60 : s1 - s0 > 86400 ? 86400 : s1 - s0) * 1000);
    } else if (F->col[AF_START] >= 0) {
        return *why = "start/end not seconds since the epoch", -1;
    }
    if (af_field(F, f, fl, AF_FLAGS, &v, &vl)) {
        if (rec_parse_u64(v, vl, 255, &x) < 0)
            return *why = "tcp-flags not 0..255", -1;
        r.info.tcp_flags[0] = (uint8_t)x;
        r.info.pins |= NL_REC_PIN_FLAGS;
    }
    if (af_field(F, f, fl, AF_ACTION, &v, &vl))
        r.info.action = vl == 6 && !memcmp(v, "REJECT", 6) ? NL_REC_ACTION_REJECT
                      : vl == 6 && !memcmp(v, "ACCEPT", 6) ? NL_REC_ACTION_ACCEPT : NL_REC_ACTION_NONE;
    if (af_field(F, f, fl, AF_IFACE, &v, &vl))
        r.info.interface = record_intern(t, v, vl);
    if (af_field(F, f, fl, AF_INSTANCE, &v, &vl))
        r.info.vm = record_intern(t, v, vl);
    if (af_field(F, f, fl, AF_DIRECTION, &v, &vl))
        r.info.reporter = record_intern(t, v, vl);
    r.info.side = r.has_outer ? NL_REC_SIDE_INNER : NL_REC_SIDE_UNKNOWN;
    r.info.line = line;
    /* one interface's two directions meet; another interface is another point */
    r.key_extra = (uint64_t)(uintptr_t)r.info.interface;
    if (!rec_merge_dir(b, &r))
        return *why = b->full ? "too many entries (4M)" : "out of memory", -1;
    return 1;
}

static int af_load(nl_trace *t, FILE *in, const nl_trace_opts *o, char *errbuf)
{
    rec_lines L;
    rec_batch b;
    af_fmt F;
    char *line, *f[AF_MAX_FIELDS];
    size_t len, fl[AF_MAX_FIELDS], n;
    uint64_t used = 0;
    int have_fmt = 0;
    (void)o;
    memset(&b, 0, sizeof b);
    if (rec_lines_init(&L, in) < 0) {
        snprintf(errbuf, 512, "%s: out of memory", t->path);
        return -1;
    }
    af_default(&F);
    while (rec_lines_next(&L, &line, &len)) {
        const char *why = NULL;
        if (L.too_long) {
            trace_note_bad(t, "%s:%llu: line longer than %d bytes", t->name,
                           (unsigned long long)L.lineno, REC_LINE_MAX);
            continue;
        }
        memset(f, 0, sizeof f);
        n = af_split(line, f, fl);
        if (n == 0 || f[0][0] == '#')
            continue;
        if (n == AF_MAX_FIELDS) {
            trace_note_bad(t, "%s:%llu: more than %d fields", t->name, (unsigned long long)L.lineno,
                           AF_MAX_FIELDS - 1);
            continue;
        }
        if (!(f[0][0] >= '0' && f[0][0] <= '9') && f[0][0] != '-') {
            af_fmt H;
            if (af_header(f, fl, n, &H)) {   /* a header; S3 repeats it per file */
                F = H;
                have_fmt = 1;
                continue;
            }
        }
        int rc = af_record(t, &b, &F, f, fl, n, L.lineno, &why);
        if (rc < 0)
            trace_note_bad(t, "%s:%llu: %s%s", t->name, (unsigned long long)L.lineno, why,
                           have_fmt ? "" : " (default version 2 format)");
        else
            used++;
    }
    rec_lines_free(&L);
    t->packets = used;
    if (!used) {
        snprintf(errbuf, 512, "%s: no VPC flow log record could be read (%llu bad lines)", t->path,
                 (unsigned long long)t->bad_records);
        rec_batch_free(&b);
        return -1;
    }
    return record_emit(t, &b, errbuf);
}

static int af_sniff(const char *head, size_t n)
{
    if (rec_head_has(head, n, "srcaddr") && rec_head_has(head, n, "dstaddr"))
        return 90;
    /* default format: "2 123456789010 eni-..." */
    if (n > 4 && head[0] == '2' && head[1] == ' ' && rec_head_has(head, n, " eni-") &&
        (rec_head_has(head, n, " OK") || rec_head_has(head, n, " NODATA") || rec_head_has(head, n, " SKIPDATA")))
        return 85;
    return 0;
}

const nl_reader reader_aws_flow = {
    "aws_flow", "AWS VPC Flow Logs", af_sniff, af_load
};
