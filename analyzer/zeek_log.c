/* zeek_log.c - flows as Zeek's conn.log (see zeek_log.h).
 *
 * Formatting follows Zeek's own writers:
 *   TSV (logging/writers/ascii, threading/formatters/Ascii): "#separator
 *   \x09" then "#key<TAB>value" meta lines, "#open"/"#close" as
 *   %Y-%m-%d-%H-%M-%S in local time of the wall clock; time and interval
 *   with 6 decimals; bool T/F; unset "-"; empty string "(empty)".
 *   JSON (threading/formatters/JSON, LogAscii::use_json=T): one object per
 *   line, no spaces, unset fields left out, time and interval as doubles
 *   (shortest form that reads back), ports and counts as integers.
 * Field rules follow base/protocols/conn/main.zeek: duration, orig_bytes
 * and resp_bytes only when the duration is above zero; history unset when
 * empty; service unset (natlens does not identify protocols).
 * Times are microseconds as Zeek reads them (libpcap's default precision)
 * and computed as Zeek computes them (seconds + microseconds / 1e6 in a
 * double), so the JSON doubles are the ones Zeek would print.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <nettle/sha1.h>
#include "natlens/json.h"
#include "natlens/zeek_log.h"

static const char *const zeek_fields[] = {
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service",
    "duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp",
    "missed_bytes", "history", "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes",
    "tunnel_parents", "community_id",
};
static const char *const zeek_types[] = {
    "time", "string", "addr", "port", "addr", "port", "enum", "string",
    "interval", "count", "count", "string", "bool", "bool",
    "count", "string", "count", "count", "count", "count",
    "set[string]", "string",
};
#define ZEEK_NFIELDS (sizeof zeek_fields / sizeof zeek_fields[0])

/* Site::private_address_space of Zeek (base/utils/site.zeek): IANA's
 * special-purpose blocks and their 6to4 forms. */
static const char *const zeek_local_cidrs[NL_ZEEK_LOCAL_NETS] = {
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4", "255.255.255.255/32",
    "2002::/24", "2002:a00::/24", "2002:6440::/26", "2002:7f00::/24", "2002:a9fe::/32",
    "2002:ac10::/28", "2002:c000::/40", "2002:c000:200::/40", "2002:c0a8::/32",
    "2002:c612::/31", "2002:c633:6400::/40", "2002:cb00:7100::/40", "2002:f000::/20",
    "2002:ffff:ffff::/48",
    "::/128", "::1/128", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:2::/48",
    "2001:db8::/32", "fc00::/7", "fe80::/10",
};

void zeek_log_init(nl_zeek_log *z, FILE *out, int json, uint16_t cid_seed,
                   const char *capture_name)
{
    struct sha1_ctx ctx;
    uint8_t d[SHA1_DIGEST_SIZE];
    memset(z, 0, sizeof *z);
    z->out = out;
    z->json = json;
    z->cid_seed = cid_seed;
    sha1_init(&ctx);
    if (capture_name) {
        /* the file's name, not where it lies: a copy elsewhere keeps its uids */
        const char *base = strrchr(capture_name, '/');
        base = base && base[1] ? base + 1 : capture_name;
        sha1_update(&ctx, strlen(base), (const uint8_t *)base);
    }
    sha1_digest(&ctx, sizeof d, d);
    memcpy(z->uid_salt, d, sizeof z->uid_salt);
    for (size_t i = 0; i < NL_ZEEK_LOCAL_NETS; i++) {
        char a[48];
        const char *slash = strchr(zeek_local_cidrs[i], '/');
        size_t n = (size_t)(slash - zeek_local_cidrs[i]);
        nl_addr ad;
        int bits = atoi(slash + 1);
        memcpy(a, zeek_local_cidrs[i], n);
        a[n] = '\0';
        nl_addr_parse(&ad, a);           /* constant table: always parses */
        memcpy(z->local[i].b, ad.b, 16);
        z->local[i].bits = (uint8_t)(nl_addr_is_v4(&ad) ? 96 + bits : bits);
    }
}

int zeek_log_is_local(const nl_zeek_log *z, const nl_addr *a)
{
    for (size_t i = 0; i < NL_ZEEK_LOCAL_NETS; i++) {
        unsigned bits = z->local[i].bits, full = bits / 8, rest = bits % 8;
        if (memcmp(a->b, z->local[i].b, full))
            continue;
        if (rest && ((a->b[full] ^ z->local[i].b[full]) & (uint8_t)(0xff << (8 - rest))))
            continue;
        return 1;
    }
    return 0;
}

char *zeek_log_uid(const nl_zeek_log *z, const nl_flow *f, char *buf, size_t len)
{
    static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    struct sha1_ctx ctx;
    uint8_t d[SHA1_DIGEST_SIZE], key[8 + 1 + 32 + 4 + 16];
    size_t n = 0;
    memcpy(key + n, z->uid_salt, 8); n += 8;
    key[n++] = f->proto;
    memcpy(key + n, f->orig_ip.b, 16); n += 16;
    memcpy(key + n, f->resp_ip.b, 16); n += 16;
    key[n++] = (uint8_t)(f->orig_port >> 8); key[n++] = (uint8_t)f->orig_port;
    key[n++] = (uint8_t)(f->resp_port >> 8); key[n++] = (uint8_t)f->resp_port;
    for (int i = 0; i < 8; i++) {
        key[n++] = (uint8_t)(f->first_ns >> (8 * i));
        key[n++] = (uint8_t)(f->first_frame >> (8 * i));
    }
    sha1_init(&ctx);
    sha1_update(&ctx, n, key);
    sha1_digest(&ctx, sizeof d, d);
    if (len < 19) {
        if (len)
            buf[0] = '\0';
        return buf;
    }
    buf[0] = 'C';
    for (int i = 0; i < 17; i++)
        buf[1 + i] = b62[d[i] % 62];
    buf[18] = '\0';
    return buf;
}

/* Zeek's ICMP "ports": the type of the originator's first message and its
 * counterpart type (echo request/reply, router and neighbour solicitation/
 * advertisement, ...) or, without one, the code (ICMPv4.cc, ICMPv6.cc).
 * natlens keys echo flows by the echo id instead: undo that here. */
static void zeek_log_icmp_ports(const nl_flow *f, unsigned *op, unsigned *rp)
{
    static const uint8_t v4[][2] = {{8, 0}, {0, 8}, {13, 14}, {14, 13}, {15, 16}, {16, 15},
                                    {17, 18}, {18, 17}, {10, 9}, {9, 10}};
    static const uint8_t v6[][2] = {{128, 129}, {129, 128}, {133, 134}, {134, 133},
                                    {135, 136}, {136, 135}, {130, 131}, {131, 130},
                                    {144, 145}, {145, 144}, {139, 140}, {140, 139}};
    int is6 = f->proto == IPPROTO_ICMPV6;
    int echo = is6 ? (f->icmp_type == 128 || f->icmp_type == 129)
                   : (f->icmp_type == 8 || f->icmp_type == 0);
    uint8_t t = echo ? f->icmp_type : (uint8_t)f->orig_port;
    size_t n = is6 ? sizeof v6 / sizeof v6[0] : sizeof v4 / sizeof v4[0];
    *op = t;
    *rp = echo ? 0 : f->resp_port;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = is6 ? v6[i] : v4[i];
        if (p[0] == t) {
            *rp = p[1];
            break;
        }
    }
}

/* tunnel_parents: the uids of the connections that carried this one
 * (Zeek's set[string]): the carrying UDP flow's uid as its own row has
 * it, or a uid for an IP tunnel made the same way from its addresses and
 * first packet. At most NL_TUN_PARENTS members (Zeek: the first tunnel
 * and five changes). Writes them joined by "," into buf and returns 1, or
 * returns 0 (unset: the flow never came in a tunnel). */
static int zeek_log_tunnel_parents(const nl_zeek_log *z, const nl_flow *f, char *buf, size_t len)
{
    const nl_tunnel_link *l = tunnel_table_link(z->tunnels, f);
    size_t used = 0;
    if (!l || !l->nparents || !len)
        return 0;
    buf[0] = '\0';
    for (int i = 0; i < l->nparents; i++) {
        nl_flow key;
        char uid[20];
        int n;
        if (tunnel_table_parent_key(z->tunnels, l->parents[i], &key) < 0)
            continue;
        zeek_log_uid(z, &key, uid, sizeof uid);
        n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", uid);
        if (n < 0 || (size_t)n >= len - used)
            break;
        used += (size_t)n;
    }
    return used > 0;
}

/* "%Y-%m-%d-%H-%M-%S" of now in local time, as Zeek's #open and #close;
 * SOURCE_DATE_EPOCH (reproducible builds) replaces the wall clock. */
static void zeek_log_stamp(char *buf, size_t len)
{
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    time_t now = time(NULL);
    struct tm tm;
    if (sde && *sde) {
        char *end;
        long long v = strtoll(sde, &end, 10);
        if (!*end && v >= 0)
            now = (time_t)v;
    }
    localtime_r(&now, &tm);
    strftime(buf, len, "%Y-%m-%d-%H-%M-%S", &tm);
}

static void zeek_log_header(nl_zeek_log *z)
{
    char stamp[64];
    if (z->header_done)
        return;
    z->header_done = 1;
    if (z->json)
        return;
    zeek_log_stamp(stamp, sizeof stamp);
    fprintf(z->out, "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n"
                    "#unset_field\t-\n#path\tconn\n#open\t%s\n#fields", stamp);
    for (size_t i = 0; i < ZEEK_NFIELDS; i++)
        fprintf(z->out, "\t%s", zeek_fields[i]);
    fputs("\n#types", z->out);
    for (size_t i = 0; i < ZEEK_NFIELDS; i++)
        fprintf(z->out, "\t%s", zeek_types[i]);
    fputc('\n', z->out);
}

void zeek_log_close(nl_zeek_log *z)
{
    char stamp[64];
    zeek_log_header(z);
    if (!z->json) {
        zeek_log_stamp(stamp, sizeof stamp);
        fprintf(z->out, "#close\t%s\n", stamp);
    }
    fflush(z->out);
}

/* One row's values, computed once for both forms. */
typedef struct zeek_row {
    char uid[20], oh[64], rh[64], cid[64], parents[256];
    const char *proto, *state, *history;
    unsigned op, rp;
    uint64_t ts_s, ts_us, dur_us;
    double ts, dur;
    int has_dur, has_parents, lo, lr;
} zeek_row;

static void zeek_log_row(const nl_zeek_log *z, const nl_flow *f, zeek_row *r)
{
    uint64_t t0 = (f->first_ns + 500) / 1000, t1 = (f->last_ns + 500) / 1000;
    memset(r, 0, sizeof *r);
    zeek_log_uid(z, f, r->uid, sizeof r->uid);
    nl_addr_str(&f->orig_ip, r->oh, sizeof r->oh);
    nl_addr_str(&f->resp_ip, r->rh, sizeof r->rh);
    flow_community_id_seed(f, z->cid_seed, r->cid, sizeof r->cid);
    r->proto = f->proto == IPPROTO_TCP ? "tcp" : f->proto == IPPROTO_UDP ? "udp" : "icmp";
    r->state = flow_conn_state(f);
    r->history = f->history[0] ? f->history : NULL;
    r->op = f->orig_port;
    r->rp = f->resp_port;
    if (f->proto == IPPROTO_ICMP || f->proto == IPPROTO_ICMPV6)
        zeek_log_icmp_ports(f, &r->op, &r->rp);
    r->ts_s = t0 / 1000000;
    r->ts_us = t0 % 1000000;
    /* Zeek: double t = tv_sec + tv_usec / 1e6; duration = last - start */
    r->ts = (double)r->ts_s + (double)r->ts_us / 1e6;
    r->dur = ((double)(t1 / 1000000) + (double)(t1 % 1000000) / 1e6) - r->ts;
    r->dur_us = t1 > t0 ? t1 - t0 : 0;
    r->has_dur = r->dur > 0;
    r->lo = zeek_log_is_local(z, &f->orig_ip);
    r->lr = zeek_log_is_local(z, &f->resp_ip);
    r->has_parents = zeek_log_tunnel_parents(z, f, r->parents, sizeof r->parents);
}

static void zeek_log_tsv(nl_zeek_log *z, const nl_flow *f, const zeek_row *r)
{
    FILE *o = z->out;
    fprintf(o, "%" PRIu64 ".%06" PRIu64 "\t%s\t%s\t%u\t%s\t%u\t%s\t-\t", r->ts_s, r->ts_us,
            r->uid, r->oh, r->op, r->rh, r->rp, r->proto);
    if (r->has_dur)
        fprintf(o, "%" PRIu64 ".%06" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t", r->dur_us / 1000000,
                r->dur_us % 1000000, f->bytes[NL_ORIG], f->bytes[NL_RESP]);
    else
        fputs("-\t-\t-\t", o);
    fprintf(o, "%s\t%c\t%c\t%" PRIu64 "\t%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64
               "\t%s\t%s\n",
            r->state, r->lo ? 'T' : 'F', r->lr ? 'T' : 'F', f->missed_bytes,
            r->history ? r->history : "-", f->pkts[NL_ORIG], f->ip_bytes[NL_ORIG],
            f->pkts[NL_RESP], f->ip_bytes[NL_RESP], r->has_parents ? r->parents : "-", r->cid);
}

static void zeek_log_json(nl_zeek_log *z, const nl_flow *f, const zeek_row *r)
{
    nl_json j;
    json_init(&j, z->out, 0);
    json_obj_begin(&j, NULL);
    json_double_shortest(&j, "ts", r->ts);
    json_str(&j, "uid", r->uid);
    json_str(&j, "id.orig_h", r->oh);
    json_uint(&j, "id.orig_p", r->op);
    json_str(&j, "id.resp_h", r->rh);
    json_uint(&j, "id.resp_p", r->rp);
    json_str(&j, "proto", r->proto);
    if (r->has_dur) {
        json_double_shortest(&j, "duration", r->dur);
        json_uint(&j, "orig_bytes", f->bytes[NL_ORIG]);
        json_uint(&j, "resp_bytes", f->bytes[NL_RESP]);
    }
    json_str(&j, "conn_state", r->state);
    json_bool(&j, "local_orig", r->lo);
    json_bool(&j, "local_resp", r->lr);
    json_uint(&j, "missed_bytes", f->missed_bytes);
    if (r->history)
        json_str(&j, "history", r->history);
    json_uint(&j, "orig_pkts", f->pkts[NL_ORIG]);
    json_uint(&j, "orig_ip_bytes", f->ip_bytes[NL_ORIG]);
    json_uint(&j, "resp_pkts", f->pkts[NL_RESP]);
    json_uint(&j, "resp_ip_bytes", f->ip_bytes[NL_RESP]);
    if (r->has_parents) {
        /* set members are uids: no comma inside one */
        const char *p = r->parents;
        json_arr_begin(&j, "tunnel_parents");
        while (*p) {
            size_t n = strcspn(p, ",");
            json_strn(&j, NULL, p, n);
            p += n + (p[n] == ',');
        }
        json_arr_end(&j);
    }
    json_str(&j, "community_id", r->cid);
    json_obj_end(&j);
    fputc('\n', z->out);
}

void zeek_log_flow(nl_zeek_log *z, const nl_flow *f)
{
    zeek_row r;
    if (f->proto != IPPROTO_TCP && f->proto != IPPROTO_UDP && f->proto != IPPROTO_ICMP &&
        f->proto != IPPROTO_ICMPV6)
        return;
    zeek_log_header(z);
    zeek_log_row(z, f, &r);
    if (z->json)
        zeek_log_json(z, f, &r);
    else
        zeek_log_tsv(z, f, &r);
}
