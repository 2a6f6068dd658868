/* hostmeta.c - read natlens-capture's host context back from a pcapng
 * file, check what may reach a printed command, and answer small
 * questions about it (format: hostmeta.h).
 *
 * The pcapng blocks come from source_blocks.c (a stream watched while
 * libpcap reads it, or a regular file by offset); this file only picks the
 * document out of the Section Header Block's options (or a Custom Block).
 * JSON is parsed with json-c, depth bounded (NL_HOSTMETA_DEPTH) so hostile
 * nesting cannot exhaust the stack.
 *
 * Trust: the document is text from a file. hostmeta_sanitize() is the one
 * place that decides which interface names and addresses may appear in a
 * shell line natlens prints (fix lines): anything else is replaced by a
 * visible <placeholder> before any other module sees the document. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "natlens/decode.h"
#include "natlens/hostmeta.h"
#include "natlens/source_blocks.h"
#include "natlens/text_safe.h"
#include "pcapng_bytes.h"

#define HM_ERRLEN        512
#define PCAPNG_SHB       0x0A0D0D0Au
#define PCAPNG_BOM       0x1A2B3C4Du
#define PCAPNG_CB_COPY   0x00000BADu
#define PCAPNG_CB_NOCOPY 0x40000BADu

/* ---------------------------------------------------------------- pcapng */

/* p[0..n) as a document: no NUL inside, valid JSON. */
static char *hm_doc(const uint8_t *p, size_t n)
{
    char *s;
    if (n == 0 || n > NL_HOSTMETA_MAX || memchr(p, '\0', n) || !hostmeta_json_valid((const char *)p, n))
        return NULL;
    if ((s = malloc(n + 1))) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

/* SHB options (block at b, blen bytes, all inside the buffer): our custom
 * binary options (2989: PEN | tag | u32 total | u32 offset | chunk, joined
 * in order), else an opt_comment holding the document. */
static char *hm_from_shb(const uint8_t *b, uint32_t blen, int swap)
{
    uint32_t off = 24, end = blen - 4, total = 0, got = 0;
    const uint8_t *comment = NULL;
    uint32_t comment_len = 0;
    char *doc = NULL, *r = NULL;
    int bad = 0;

    while (off + 4 <= end) {
        uint16_t code = pcapng_u16(b + off, swap), olen = pcapng_u16(b + off + 2, swap);
        const uint8_t *v = b + off + 4;
        if (code == 0 || off + 4 + (uint32_t)olen > end)
            break;
        if (code == 1 && olen > 24 && !comment && v[0] == '{' && memmem(v, 24, "natlens_hostmeta", 16)) {
            comment = v;
            comment_len = olen;
        }
        if (code == 2989 && olen >= 20 && !bad && pcapng_u32(v, swap) == NL_HOSTMETA_PEN &&
            memcmp(v + 4, NL_HOSTMETA_TAG, NL_HOSTMETA_TAG_LEN) == 0) {
            uint32_t t = pcapng_u32(v + 12, swap), at = pcapng_u32(v + 16, swap), len = olen - 20u;
            if (!doc) {
                if (t == 0 || t > NL_HOSTMETA_MAX || !(doc = malloc((size_t)t)))
                    bad = 1;
                total = t;
            }
            if (!bad && (t != total || at != got || len > total - got))
                bad = 1;
            if (!bad) {
                memcpy(doc + got, v + 20, len);
                got += len;
            }
        }
        off += 4 + (((uint32_t)olen + 3) & ~3u);
    }
    if (doc && !bad && got == total)
        r = hm_doc((const uint8_t *)doc, total);
    free(doc);
    if (!r && comment) {
        if (comment[comment_len - 1] == '\0')   /* options may end in a NUL */
            comment_len--;
        r = hm_doc(comment, comment_len);
    }
    return r;
}

char *hostmeta_from_blocks(const uint8_t *lead, size_t n)
{
    size_t off = 0;
    int swap;
    if (!lead || n < 28 || pcapng_u32(lead, 0) != PCAPNG_SHB)
        return NULL;
    if (pcapng_u32(lead + 8, 0) == PCAPNG_BOM)
        swap = 0;
    else if (pcapng_u32(lead + 8, 1) == PCAPNG_BOM)
        swap = 1;
    else
        return NULL;
    /* source_blocks_lead() checked every length; checked again here so
     * this stands on its own (the fuzzer feeds it directly) */
    while (off + 12 <= n) {
        uint32_t type = pcapng_u32(lead + off, swap), blen = pcapng_u32(lead + off + 4, swap);
        char *s = NULL;
        if (blen < 12 || (blen & 3) || blen > n - off)
            break;
        if (type == PCAPNG_SHB && off > 0)
            break;
        if (type == PCAPNG_SHB && blen > 28)
            s = hm_from_shb(lead + off, blen, swap);
        else if ((type == PCAPNG_CB_COPY || type == PCAPNG_CB_NOCOPY) && blen >= 28 &&
                 pcapng_u32(lead + off + 8, swap) == NL_HOSTMETA_PEN &&
                 memcmp(lead + off + 12, NL_HOSTMETA_TAG, NL_HOSTMETA_TAG_LEN) == 0) {
            uint32_t jlen = pcapng_u32(lead + off + 20, swap);
            /* header 8 + PEN 4 + tag 8 + len 4, trailer 4 */
            if (jlen <= blen - 28)
                s = hm_doc(lead + off + 24, jlen);
        }
        if (s)
            return s;
        off += blen;
    }
    return NULL;
}

char *hostmeta_read(const char *path, char *errbuf)
{
    char dummy[HM_ERRLEN];
    struct stat st;
    nl_blocks *b;
    const uint8_t *lead;
    uint64_t dmg;
    size_t n;
    char *doc;
    int fd;

    if (!errbuf)
        errbuf = dummy;
    errbuf[0] = '\0';
    /* O_NONBLOCK: a FIFO without a writer must not hang the open */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        snprintf(errbuf, HM_ERRLEN, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(errbuf, HM_ERRLEN, "%s: not a regular file", path);
        close(fd);
        return NULL;
    }
    if (!(b = source_blocks_new())) {
        snprintf(errbuf, HM_ERRLEN, "%s: out of memory", path);
        close(fd);
        return NULL;
    }
    source_blocks_read_fd(b, fd, (uint64_t)st.st_size);
    close(fd);
    lead = source_blocks_lead(b, &n);
    doc = hostmeta_from_blocks(lead, n);
    if (!doc && source_blocks_damage(b, &dmg))
        snprintf(errbuf, HM_ERRLEN, "%s: damaged pcapng block at offset %llu", path,
                 (unsigned long long)dmg);
    source_blocks_free(b);
    return doc;
}

/* ------------------------------------------------------------------ JSON */

/* Lexical checks json-c does not make even when strict: no raw control
 * byte inside a string, no single-quoted string. */
static int hm_lexically_strict(const char *s, size_t n)
{
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (in_str) {
            if (c < 0x20)
                return 0;
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '\'' || (c < 0x20 && c != ' ' && c != '\t' && c != '\n' && c != '\r')) {
            return 0;
        }
    }
    return 1;
}

/* Parse s[0..n) (strict, UTF-8 checked, depth bounded). NULL if invalid. */
static json_object *hm_parse(const char *s, size_t n)
{
    json_tokener *tok;
    json_object *o;
    enum json_tokener_error e;
    if (!s || n == 0 || n >= INT_MAX || !hm_lexically_strict(s, n))
        return NULL;
    if (!(tok = json_tokener_new_ex(NL_HOSTMETA_DEPTH)))
        return NULL;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    o = json_tokener_parse_ex(tok, s, (int)n);
    e = json_tokener_get_error(tok);
    if (e == json_tokener_continue && !o)
        o = json_tokener_parse_ex(tok, "", 1);   /* end of input: a bare number */
    e = json_tokener_get_error(tok);
    if (e != json_tokener_success || !o || json_tokener_get_parse_end(tok) < n) {
        /* what follows a complete value may only be whitespace */
        size_t end = json_tokener_get_parse_end(tok);
        int ok = e == json_tokener_success && o;
        for (size_t i = end; ok && i < n; i++)
            ok = s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '\0';
        if (!ok) {
            json_object_put(o);
            o = NULL;
        }
    }
    json_tokener_free(tok);
    return o;
}

int hostmeta_json_valid(const char *s, size_t n)
{
    json_object *o = hm_parse(s, n);
    json_object_put(o);
    return o != NULL;
}

static json_object *hm_load(const char *json)
{
    json_object *o = json ? hm_parse(json, strlen(json)) : NULL;
    if (o && !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        o = NULL;
    }
    return o;
}

static json_object *hm_get(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!o || !json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

static const char *hm_str(json_object *o, const char *key)
{
    json_object *v = hm_get(o, key);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static json_object *hm_arr(json_object *o, const char *key)
{
    json_object *v = hm_get(o, key);
    return v && json_object_is_type(v, json_type_array) ? v : NULL;
}

static long hm_num(json_object *o, const char *key, long dflt)
{
    json_object *v = hm_get(o, key);
    return v && json_object_is_type(v, json_type_int) ? (long)json_object_get_int64(v) : dflt;
}

/* Copy a string for display into out: control bytes become '?'. */
static int hm_copy(const char *v, char *out, size_t len)
{
    size_t o = 0;
    if (!v || len == 0)
        return -1;
    for (; *v && o + 1 < len; v++)
        out[o++] = ((unsigned char)*v < 0x20 || *v == 0x7f) ? '?' : *v;
    out[o] = '\0';
    return 0;
}

int hostmeta_get_str(const char *json, const char *key, char *out, size_t len)
{
    json_object *o = hm_load(json);
    int r = hm_copy(hm_str(o, key), out, len);
    json_object_put(o);
    return r;
}

int hostmeta_ifname(const char *json, int ifindex, char *name, size_t len)
{
    static const char *const lists[][3] = {{"ifaces", "index", "name"},
                                           {"addr", "ifindex", "ifname"}};
    json_object *o = hm_load(json);
    int r = -1;
    for (int l = 0; o && l < 2 && r < 0; l++) {
        json_object *a = hm_arr(o, lists[l][0]);
        size_t n = a ? json_object_array_length(a) : 0;
        for (size_t i = 0; i < n && r < 0; i++) {
            json_object *e = json_object_array_get_idx(a, i);
            if (hm_num(e, lists[l][1], -1) == ifindex)
                r = hm_copy(hm_str(e, lists[l][2]), name, len);
        }
    }
    json_object_put(o);
    return r;
}

/* --------------------------------------------------------- trusted values */

int hostmeta_ifname_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    /* Linux dev_valid_name(): 1..15 bytes, not "." or "..", no '/', ':'
     * or white space; and, as it is pasted into a shell line, nothing but
     * the characters interface names are made of in practice */
    if (n == 0 || n > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
        return 0;
    for (; *s; s++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-@+=", *s))
            return 0;
    return 1;
}

int hostmeta_addr_ok(const char *s)
{
    nl_addr a;
    return s && strlen(s) < 64 && nl_addr_parse(&a, s) == 0;
}

/* Keys whose string values go into printed commands, and their checks. */
typedef struct hm_key_rule {
    const char *key;
    const char *parent;        /* the array holding the object, or NULL: any */
    int (*ok)(const char *);
    const char *placeholder;
} hm_key_rule;

static const hm_key_rule hm_rules[] = {
    {"name", "ifaces", hostmeta_ifname_ok, "<interface>"},
    {"ifname", NULL, hostmeta_ifname_ok, "<interface>"},
    {"dev", NULL, hostmeta_ifname_ok, "<interface>"},
    {"iif", NULL, hostmeta_ifname_ok, "<interface>"},
    {"oif", NULL, hostmeta_ifname_ok, "<interface>"},
    {"capture_iface", NULL, hostmeta_ifname_ok, "<interface>"},
    {"gateway", NULL, hostmeta_addr_ok, "<gateway>"},
    {"prefsrc", NULL, hostmeta_addr_ok, "<address>"},
    {"host", NULL, hostmeta_addr_ok, "<gateway>"},
};

/* What was replaced, counted per kind. The values themselves are not
 * quoted anywhere: they are what must not be shown. */
typedef struct hm_san {
    unsigned n[3];             /* interface names, gateways, addresses */
} hm_san;

static void hm_san_note(hm_san *s, const hm_key_rule *r)
{
    s->n[r->placeholder[1] == 'i' ? 0 : r->placeholder[1] == 'g' ? 1 : 2]++;
}

static void hm_san_walk(json_object *o, const char *parent, hm_san *s);

static void hm_san_obj(json_object *o, const char *parent, hm_san *s)
{
    json_object_object_foreach(o, key, val) {
        for (size_t i = 0; i < sizeof hm_rules / sizeof hm_rules[0]; i++) {
            const hm_key_rule *r = &hm_rules[i];
            const char *v;
            if (strcmp(key, r->key) || (r->parent && (!parent || strcmp(parent, r->parent))))
                continue;
            if (!json_object_is_type(val, json_type_string))
                continue;
            v = json_object_get_string(val);
            if (r->ok(v) || (!strcmp(key, "capture_iface") && !strcmp(v, "any")))
                break;
            hm_san_note(s, r);
            json_object_set_string(val, r->placeholder);
            break;
        }
        hm_san_walk(val, key, s);
    }
}

/* Depth is bounded by the parser's limit. */
static void hm_san_walk(json_object *o, const char *parent, hm_san *s)
{
    if (json_object_is_type(o, json_type_object)) {
        hm_san_obj(o, parent, s);
    } else if (json_object_is_type(o, json_type_array)) {
        size_t n = json_object_array_length(o);
        for (size_t i = 0; i < n; i++)
            hm_san_walk(json_object_array_get_idx(o, i), parent, s);
    }
}

char *hostmeta_sanitize(const char *json, char *warn, size_t wlen)
{
    static const char *const what[3][2] = {{"interface name", "interface names"},
                                           {"gateway", "gateways"},
                                           {"address", "addresses"}};
    json_object *o;
    hm_san s;
    char *r;
    size_t used = 0;
    memset(&s, 0, sizeof s);
    if (warn && wlen)
        warn[0] = '\0';
    if (!(o = hm_load(json)))
        return NULL;
    hm_san_walk(o, NULL, &s);
    for (int k = 0; k < 3 && warn && wlen; k++)
        if (s.n[k] && used < wlen)
            used += (size_t)snprintf(warn + used, wlen - used, "%s%u %s", used ? ", " : "",
                                     s.n[k], what[k][s.n[k] > 1]);
    if (!s.n[0] && !s.n[1] && !s.n[2])
        r = strdup(json);
    else
        r = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                     JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return r;
}

/* ------------------------------------------------------------ route lookup */

/* Parse "default", "a.b.c.d", "a.b.c.d/n", v6 likewise, for family v6. */
static int hm_prefix(const char *s, int v6, uint8_t net[16], int *plen)
{
    char buf[64];
    char *slash;
    int max = v6 ? 128 : 32;
    memset(net, 0, 16);
    if (strcmp(s, "default") == 0) {
        *plen = 0;
        return 0;
    }
    snprintf(buf, sizeof buf, "%s", s);
    slash = strchr(buf, '/');
    *plen = max;
    if (slash) {
        char *endp;
        long v;
        *slash = '\0';
        v = strtol(slash + 1, &endp, 10);
        if (*endp || v < 0 || v > max)
            return -1;
        *plen = (int)v;
    }
    return inet_pton(v6 ? AF_INET6 : AF_INET, buf, net) == 1 ? 0 : -1;
}

static int hm_match(const uint8_t *a, const uint8_t *net, int plen)
{
    int full = plen / 8, rest = plen % 8;
    if (memcmp(a, net, (size_t)full) != 0)
        return 0;
    if (rest) {
        uint8_t m = (uint8_t)(0xff << (8 - rest));
        if ((a[full] & m) != (net[full] & m))
            return 0;
    }
    return 1;
}

/* Best route for dst in table `tab` (longest prefix, lowest metric). */
static json_object *hm_table_best(json_object *routes, const char *tab, const uint8_t *dst, int v6)
{
    json_object *best = NULL;
    int best_len = -1;
    long best_metric = 0;
    size_t n = json_object_array_length(routes);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(routes, i);
        const char *t = hm_str(e, "table"), *d = hm_str(e, "dst");
        uint8_t net[16];
        int plen;
        long metric;
        if (!json_object_is_type(e, json_type_object) || strcmp(t ? t : "main", tab) != 0 ||
            !d || hm_prefix(d, v6, net, &plen) != 0 || !hm_match(dst, net, plen))
            continue;
        metric = hm_num(e, "metric", 0);
        if (plen > best_len || (plen == best_len && metric < best_metric)) {
            best = e;
            best_len = plen;
            best_metric = metric;
        }
    }
    return best;
}

/* A rule usable without knowing source, iif, mark...: only "src":"all". */
static int hm_rule_plain(json_object *r)
{
    json_object_object_foreach(r, key, val) {
        if (!strcmp(key, "priority") || !strcmp(key, "table") || !strcmp(key, "flags") ||
            !strcmp(key, "protocol"))
            continue;
        if (!strcmp(key, "src") && json_object_is_type(val, json_type_string) &&
            !strcmp(json_object_get_string(val), "all"))
            continue;
        return 0;
    }
    return 1;
}

/* The table rule step `i` sends to (rules in recorded order; without
 * rules, the kernel's default local, main, default). NULL: skip/end. */
static const char *hm_rule_table(json_object *rules, size_t i, int *end)
{
    static const char *const dflt_tabs[] = {"local", "main", "default"};
    json_object *r;
    *end = 0;
    if (!rules) {
        *end = i >= 3;
        return *end ? NULL : dflt_tabs[i];
    }
    if (i >= json_object_array_length(rules)) {
        *end = 1;
        return NULL;
    }
    r = json_object_array_get_idx(rules, i);
    if (!json_object_is_type(r, json_type_object) || !hm_rule_plain(r))
        return NULL;
    return hm_str(r, "table");
}

int hostmeta_route_lookup(const char *json, const char *dst_ip,
                          char *dev, size_t devlen, char *gw, size_t gwlen)
{
    uint8_t dst[16];
    int v6, r = -1, end = 0;
    json_object *o, *routes, *rules;

    if (!dst_ip || !dev || devlen == 0)
        return -1;
    if (inet_pton(AF_INET, dst_ip, dst) == 1)
        v6 = 0;
    else if (inet_pton(AF_INET6, dst_ip, dst) == 1)
        v6 = 1;
    else
        return -1;
    if (!(o = hm_load(json)))
        return -1;
    routes = hm_arr(o, v6 ? "route6" : "route");
    rules = hm_arr(o, v6 ? "rule6" : "rule");
    for (size_t step = 0; routes && step < 1024 && !end; step++) {
        const char *tab = hm_rule_table(rules, step, &end), *type;
        json_object *best, *hop, *nh;
        if (!tab || !(best = hm_table_best(routes, tab, dst, v6)))
            continue;
        type = hm_str(best, "type");
        if (type && !strcmp(type, "throw"))
            continue;
        if (type && (!strcmp(type, "blackhole") || !strcmp(type, "unreachable") ||
                     !strcmp(type, "prohibit")))
            break;
        hop = best;
        nh = hm_arr(best, "nexthops");
        if (!hm_get(best, "dev") && nh && json_object_array_length(nh) > 0)
            hop = json_object_array_get_idx(nh, 0);   /* multipath: the first next hop */
        if (hm_copy(hm_str(hop, "dev"), dev, devlen) != 0)
            break;
        if (gw && gwlen && hm_copy(hm_str(hop, "gateway"), gw, gwlen) != 0)
            gw[0] = '\0';
        r = 0;
        break;
    }
    json_object_put(o);
    return r;
}

int hostmeta_route_dev(const char *json, const char *dst_ip, char *dev,
                       size_t len)
{
    return hostmeta_route_lookup(json, dst_ip, dev, len, NULL, 0);
}
