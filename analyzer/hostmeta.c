/* hostmeta.c - read natlens-capture's host metadata back from a pcapng file
 * and answer small questions about it (format: hostmeta.h).
 *
 * Packets are never read here (libpcap does that); this walks pcapng block
 * headers only, with every length checked against the file size, to find
 * one Custom Block. The JSON reader is a jsmn-style tokenizer: one pass,
 * tokens in a caller-sized array, each token knowing where its subtree ends,
 * depth bounded so hostile input cannot exhaust the stack. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "natlens/hostmeta.h"

#define HM_ERRLEN        512
#define HM_MAX_BLOCKS    4096
#define HM_MAX_DEPTH     64
#define PCAPNG_SHB       0x0A0D0D0Au
#define PCAPNG_BOM       0x1A2B3C4Du
#define PCAPNG_CB_COPY   0x00000BADu
#define PCAPNG_CB_NOCOPY 0x40000BADu

/* ---------------------------------------------------------------- pcapng */

static uint32_t hm_u32(const uint8_t *p, int swap)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return swap ? __builtin_bswap32(v) : v;
}

static uint16_t hm_u16(const uint8_t *p, int swap)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return swap ? __builtin_bswap16(v) : v;
}

static int hm_pread(int fd, void *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* Read `n` bytes at `off` into a new NUL-terminated string, or NULL. */
static char *hm_read_string(int fd, uint64_t off, uint32_t n)
{
    char *s;
    if (n == 0 || n > NL_HOSTMETA_MAX)
        return NULL;
    s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    if (hm_pread(fd, s, n, off) != 0) {
        free(s);
        return NULL;
    }
    s[n] = '\0';
    /* A NUL inside would silently cut the document: refuse it. */
    if (strlen(s) != n || !hostmeta_json_valid(s, n)) {
        free(s);
        return NULL;
    }
    return s;
}

/* SHB options: our custom binary options (2989: PEN | tag | u32 total |
 * u32 offset | chunk, joined in order), else an opt_comment holding the
 * document. Every option length is checked against the block end. */
static char *hm_from_shb(int fd, uint64_t blk, uint32_t blen, int swap)
{
    uint64_t off = blk + 24, end = blk + blen - 4;
    uint64_t comment_off = 0;
    uint32_t comment_len = 0, total = 0, got = 0;
    char *doc = NULL;
    int n = 0, bad = 0;

    while (off + 4 <= end && n++ < 4096) {
        uint8_t oh[4], ch[20];
        uint16_t code, olen;
        if (hm_pread(fd, oh, 4, off) != 0)
            break;
        code = hm_u16(oh, swap);
        olen = hm_u16(oh + 2, swap);
        if (code == 0 || off + 4 + olen > end)
            break;
        if (code == 1 && olen > 24 && !comment_off) {
            char head[24];
            if (hm_pread(fd, head, 24, off + 4) == 0 && head[0] == '{' &&
                memmem(head, 24, "natlens_hostmeta", 16)) {
                comment_off = off + 4;
                comment_len = olen;
            }
        }
        if (code == 2989 && olen >= 20 && !bad &&
            hm_pread(fd, ch, 20, off + 4) == 0 &&
            hm_u32(ch, swap) == NL_HOSTMETA_PEN &&
            memcmp(ch + 4, NL_HOSTMETA_TAG, NL_HOSTMETA_TAG_LEN) == 0) {
            uint32_t t = hm_u32(ch + 12, swap), at = hm_u32(ch + 16, swap);
            uint32_t len = olen - 20u;
            if (!doc) {
                if (t == 0 || t > NL_HOSTMETA_MAX || !(doc = malloc((size_t)t + 1)))
                    bad = 1;
                total = t;
            }
            if (!bad && (t != total || at != got || len > total - got ||
                         hm_pread(fd, doc + got, len, off + 24) != 0))
                bad = 1;
            if (!bad)
                got += len;
        }
        off += 4 + (((uint64_t)olen + 3) & ~3ull);
    }
    if (doc && !bad && got == total) {
        doc[total] = '\0';
        if (strlen(doc) == total && hostmeta_json_valid(doc, total))
            return doc;
    }
    free(doc);
    if (comment_off) {
        char last;
        /* Options may carry a trailing NUL; drop it. */
        if (hm_pread(fd, &last, 1, comment_off + comment_len - 1) == 0 && last == '\0')
            comment_len--;
        return hm_read_string(fd, comment_off, comment_len);
    }
    return NULL;
}

char *hostmeta_read(const char *path, char *errbuf)
{
    char dummy[HM_ERRLEN];
    struct stat st;
    uint8_t h[12];
    uint64_t off = 0, size;
    int fd, swap, blocks = 0;
    char *found = NULL;

    if (!errbuf)
        errbuf = dummy;
    errbuf[0] = '\0';
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(errbuf, HM_ERRLEN, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(errbuf, HM_ERRLEN, "%s: not a regular file", path);
        close(fd);
        return NULL;
    }
    size = (uint64_t)st.st_size;
    if (size < 28 || hm_pread(fd, h, 12, 0) != 0) {
        close(fd);   /* too short for a pcapng SHB: no metadata */
        return NULL;
    }
    if (hm_u32(h, 0) != PCAPNG_SHB) {
        close(fd);   /* classic pcap or something else: no metadata */
        return NULL;
    }
    if (hm_u32(h + 8, 0) == PCAPNG_BOM)
        swap = 0;
    else if (hm_u32(h + 8, 1) == PCAPNG_BOM)
        swap = 1;
    else {
        snprintf(errbuf, HM_ERRLEN, "%s: bad pcapng byte-order magic", path);
        close(fd);
        return NULL;
    }

    while (off + 12 <= size && blocks++ < HM_MAX_BLOCKS) {
        uint32_t type, blen;
        if (hm_pread(fd, h, 12, off) != 0)
            break;
        type = hm_u32(h, swap);
        blen = hm_u32(h + 4, swap);
        if (blen < 12 || (blen & 3) || blen > size - off) {
            snprintf(errbuf, HM_ERRLEN,
                     "%s: damaged pcapng block at offset %llu (length %u)",
                     path, (unsigned long long)off, blen);
            break;
        }
        if (type == PCAPNG_SHB && off > 0)
            break;   /* only the first section's metadata */
        if (type == PCAPNG_SHB && !found && blen > 28) {
            found = hm_from_shb(fd, off, blen, swap);
            if (found)
                break;   /* the SHB holds it: no need to look further */
        }
        if ((type == PCAPNG_CB_COPY || type == PCAPNG_CB_NOCOPY) && blen >= 28) {
            uint8_t c[16];
            if (hm_pread(fd, c, 16, off + 8) == 0 &&
                hm_u32(c, swap) == NL_HOSTMETA_PEN &&
                memcmp(c + 4, NL_HOSTMETA_TAG, NL_HOSTMETA_TAG_LEN) == 0) {
                uint32_t jlen = hm_u32(c + 12, swap);
                /* header 8 + PEN 4 + tag 8 + len 4, trailer 4 */
                if (jlen <= blen - 28) {
                    char *s = hm_read_string(fd, off + 24, jlen);
                    if (s) {
                        free(found);
                        close(fd);
                        errbuf[0] = '\0';
                        return s;
                    }
                }
            }
        }
        off += blen;
    }
    close(fd);
    if (found)
        errbuf[0] = '\0';
    return found;
}

/* ------------------------------------------------------------ JSON reader */

enum { JT_OBJ = 1, JT_ARR, JT_STR, JT_PRIM };

typedef struct jtok {
    uint8_t  type;
    uint32_t start, end;   /* byte span; strings exclude the quotes */
    uint32_t next;         /* index of the token after this subtree */
} jtok;

typedef struct jdoc {
    const char *s;
    size_t n, pos;
    jtok *t;
    uint32_t nt, cap;
    int err;
} jdoc;

static void jd_ws(jdoc *d)
{
    while (d->pos < d->n && (d->s[d->pos] == ' ' || d->s[d->pos] == '\t' ||
                             d->s[d->pos] == '\n' || d->s[d->pos] == '\r'))
        d->pos++;
}

static int jd_new(jdoc *d, uint8_t type, uint32_t start)
{
    if (d->nt >= d->cap) {
        uint32_t nc = d->cap ? d->cap * 2 : 256;
        jtok *nt;
        if (nc > (1u << 24))
            return -1;
        nt = realloc(d->t, nc * sizeof *nt);
        if (!nt)
            return -1;
        d->t = nt;
        d->cap = nc;
    }
    d->t[d->nt].type = type;
    d->t[d->nt].start = start;
    d->t[d->nt].end = start;
    d->t[d->nt].next = 0;
    return (int)d->nt++;
}

static int jd_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
}

static int jd_string(jdoc *d)
{
    int i;
    d->pos++;   /* opening quote */
    i = jd_new(d, JT_STR, (uint32_t)d->pos);
    if (i < 0)
        return -1;
    while (d->pos < d->n) {
        unsigned char c = (unsigned char)d->s[d->pos];
        if (c == '"') {
            d->t[i].end = (uint32_t)d->pos;
            d->t[i].next = d->nt;
            d->pos++;
            return i;
        }
        if (c < 0x20)
            return -1;
        if (c == '\\') {
            if (d->pos + 1 >= d->n)
                return -1;
            c = (unsigned char)d->s[d->pos + 1];
            if (c == 'u') {
                if (d->pos + 5 >= d->n)
                    return -1;
                for (int k = 2; k < 6; k++)
                    if (!jd_hex(d->s[d->pos + k]))
                        return -1;
                d->pos += 6;
                continue;
            }
            if (!strchr("\"\\/bfnrt", c))
                return -1;
            d->pos += 2;
            continue;
        }
        d->pos++;
    }
    return -1;
}

static int jd_value(jdoc *d, int depth);

static int jd_container(jdoc *d, int depth, int obj)
{
    char close_c = obj ? '}' : ']';
    int i = jd_new(d, obj ? JT_OBJ : JT_ARR, (uint32_t)d->pos);
    if (i < 0)
        return -1;
    d->pos++;
    jd_ws(d);
    if (d->pos < d->n && d->s[d->pos] == close_c) {
        d->pos++;
        d->t[i].end = (uint32_t)d->pos;
        d->t[i].next = d->nt;
        return i;
    }
    for (;;) {
        jd_ws(d);
        if (obj) {
            if (d->pos >= d->n || d->s[d->pos] != '"' || jd_string(d) < 0)
                return -1;
            jd_ws(d);
            if (d->pos >= d->n || d->s[d->pos] != ':')
                return -1;
            d->pos++;
        }
        if (jd_value(d, depth + 1) < 0)
            return -1;
        jd_ws(d);
        if (d->pos >= d->n)
            return -1;
        if (d->s[d->pos] == ',') {
            d->pos++;
            continue;
        }
        if (d->s[d->pos] != close_c)
            return -1;
        d->pos++;
        d->t[i].end = (uint32_t)d->pos;
        d->t[i].next = d->nt;
        return i;
    }
}

static int jd_prim(jdoc *d)
{
    static const char *const lit[] = {"true", "false", "null"};
    size_t start = d->pos;
    int i;
    for (size_t k = 0; k < 3; k++) {
        size_t l = strlen(lit[k]);
        if (d->n - d->pos >= l && memcmp(d->s + d->pos, lit[k], l) == 0) {
            d->pos += l;
            goto done;
        }
    }
    while (d->pos < d->n && strchr("+-.eE0123456789", d->s[d->pos]) &&
           d->s[d->pos] != '\0')
        d->pos++;
    if (d->pos == start)
        return -1;
done:
    i = jd_new(d, JT_PRIM, (uint32_t)start);
    if (i < 0)
        return -1;
    d->t[i].end = (uint32_t)d->pos;
    d->t[i].next = d->nt;
    return i;
}

static int jd_value(jdoc *d, int depth)
{
    if (depth > HM_MAX_DEPTH)
        return -1;
    jd_ws(d);
    if (d->pos >= d->n)
        return -1;
    switch (d->s[d->pos]) {
    case '{': return jd_container(d, depth, 1);
    case '[': return jd_container(d, depth, 0);
    case '"': return jd_string(d);
    default:  return jd_prim(d);
    }
}

/* Parse s[0..n) into d (tokens malloc'd; jd_free). 0 on success. */
static int jd_parse(jdoc *d, const char *s, size_t n)
{
    memset(d, 0, sizeof *d);
    d->s = s;
    d->n = n;
    if (n >= UINT32_MAX || jd_value(d, 0) < 0)
        return -1;
    jd_ws(d);
    return d->pos == d->n ? 0 : -1;
}

static void jd_free(jdoc *d)
{
    free(d->t);
    d->t = NULL;
}

int hostmeta_json_valid(const char *s, size_t n)
{
    jdoc d = {0};
    int ok = s && jd_parse(&d, s, n) == 0;
    jd_free(&d);
    return ok;
}

/* Does string token i equal key (no escapes in our keys)? */
static int jd_str_eq(const jdoc *d, uint32_t i, const char *key)
{
    size_t l = strlen(key);
    return d->t[i].type == JT_STR && d->t[i].end - d->t[i].start == l &&
           memcmp(d->s + d->t[i].start, key, l) == 0;
}

/* Value token of `key` in object token obj, or -1. */
static int jd_get(const jdoc *d, int obj, const char *key)
{
    uint32_t i;
    if (obj < 0 || d->t[obj].type != JT_OBJ)
        return -1;
    i = (uint32_t)obj + 1;
    while (i < d->t[obj].next) {
        uint32_t v = i + 1;
        if (v >= d->nt)
            return -1;
        if (jd_str_eq(d, i, key))
            return (int)v;
        i = d->t[v].next;
    }
    return -1;
}

/* Copy string token i unescaped (\uXXXX -> '?') into out. 0 or -1. */
static int jd_copy(const jdoc *d, int i, char *out, size_t len)
{
    size_t o = 0;
    if (i < 0 || d->t[i].type != JT_STR || len == 0)
        return -1;
    for (uint32_t p = d->t[i].start; p < d->t[i].end && o + 1 < len; p++) {
        char c = d->s[p];
        if (c == '\\' && p + 1 < d->t[i].end) {
            c = d->s[++p];
            if (c == 'u') {
                p += 4;
                c = '?';
            } else if (c == 'n' || c == 't' || c == 'r' || c == 'b' || c == 'f') {
                c = ' ';
            }
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

static long jd_num(const jdoc *d, int i, long dflt)
{
    char buf[32];
    size_t l;
    if (i < 0 || d->t[i].type != JT_PRIM)
        return dflt;
    l = d->t[i].end - d->t[i].start;
    if (l == 0 || l >= sizeof buf)
        return dflt;
    memcpy(buf, d->s + d->t[i].start, l);
    buf[l] = '\0';
    return strtol(buf, NULL, 10);
}

static int hm_load(jdoc *d, const char *json)
{
    if (!json || jd_parse(d, json, strlen(json)) != 0 || d->t[0].type != JT_OBJ) {
        jd_free(d);
        return -1;
    }
    return 0;
}

int hostmeta_get_str(const char *json, const char *key, char *out, size_t len)
{
    jdoc d;
    int r;
    if (hm_load(&d, json) != 0)
        return -1;
    r = jd_copy(&d, jd_get(&d, 0, key), out, len);
    jd_free(&d);
    return r;
}

int hostmeta_ifname(const char *json, int ifindex, char *name, size_t len)
{
    static const char *const lists[][3] = {{"ifaces", "index", "name"},
                                           {"addr", "ifindex", "ifname"}};
    jdoc d;
    int r = -1;
    if (hm_load(&d, json) != 0)
        return -1;
    for (int l = 0; l < 2 && r < 0; l++) {
        int a = jd_get(&d, 0, lists[l][0]);
        if (a < 0 || d.t[a].type != JT_ARR)
            continue;
        for (uint32_t e = (uint32_t)a + 1; e < d.t[a].next; e = d.t[e].next)
            if (jd_num(&d, jd_get(&d, (int)e, lists[l][1]), -1) == ifindex &&
                jd_copy(&d, jd_get(&d, (int)e, lists[l][2]), name, len) == 0) {
                r = 0;
                break;
            }
    }
    jd_free(&d);
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

/* Best route for dst in table `tab`. Returns token index, -1 none. */
static int hm_table_best(const jdoc *d, int routes, const char *tab,
                         const uint8_t *dst, int v6)
{
    int best = -1, best_len = -1;
    long best_metric = 0;
    for (uint32_t e = (uint32_t)routes + 1; e < d->t[routes].next;
         e = d->t[e].next) {
        char t[64], dstr[64];
        uint8_t net[16];
        int plen;
        long metric;
        if (d->t[e].type != JT_OBJ)
            continue;
        if (jd_copy(d, jd_get(d, (int)e, "table"), t, sizeof t) != 0)
            strcpy(t, "main");
        if (strcmp(t, tab) != 0)
            continue;
        if (jd_copy(d, jd_get(d, (int)e, "dst"), dstr, sizeof dstr) != 0 ||
            hm_prefix(dstr, v6, net, &plen) != 0 || !hm_match(dst, net, plen))
            continue;
        metric = jd_num(d, jd_get(d, (int)e, "metric"), 0);
        if (plen > best_len || (plen == best_len && metric < best_metric)) {
            best = (int)e;
            best_len = plen;
            best_metric = metric;
        }
    }
    return best;
}

/* A rule usable without knowing source, iif, mark...: only "src":"all". */
static int hm_rule_plain(const jdoc *d, int r)
{
    for (uint32_t i = (uint32_t)r + 1; i < d->t[r].next; i = d->t[i + 1].next) {
        if (jd_str_eq(d, i, "priority") || jd_str_eq(d, i, "table") ||
            jd_str_eq(d, i, "flags") || jd_str_eq(d, i, "protocol"))
            continue;
        if (jd_str_eq(d, i, "src")) {
            char v[16];
            if (jd_copy(d, (int)i + 1, v, sizeof v) == 0 && strcmp(v, "all") == 0)
                continue;
        }
        return 0;
    }
    return 1;
}

int hostmeta_route_lookup(const char *json, const char *dst_ip,
                          char *dev, size_t devlen, char *gw, size_t gwlen)
{
    static const char *const dflt_tabs[] = {"local", "main", "default"};
    uint8_t dst[16];
    int v6, routes, rules, r = -1;
    jdoc d;

    if (!dst_ip || !dev || devlen == 0)
        return -1;
    if (inet_pton(AF_INET, dst_ip, dst) == 1)
        v6 = 0;
    else if (inet_pton(AF_INET6, dst_ip, dst) == 1)
        v6 = 1;
    else
        return -1;
    if (hm_load(&d, json) != 0)
        return -1;
    routes = jd_get(&d, 0, v6 ? "route6" : "route");
    rules = jd_get(&d, 0, v6 ? "rule6" : "rule");
    if (routes < 0 || d.t[routes].type != JT_ARR)
        goto out;

    /* Walk the tables in rule order; without rules, the kernel defaults. */
    for (uint32_t step = 0, e = rules >= 0 && d.t[rules].type == JT_ARR ?
                                 (uint32_t)rules + 1 : 0;
         step < 1024; step++) {
        char tab[64];
        int best;
        char type[32];
        if (rules >= 0 && d.t[rules].type == JT_ARR) {
            if (e >= d.t[rules].next)
                break;
            uint32_t cur = e;
            e = d.t[e].next;
            if (d.t[cur].type != JT_OBJ || !hm_rule_plain(&d, (int)cur) ||
                jd_copy(&d, jd_get(&d, (int)cur, "table"), tab, sizeof tab) != 0)
                continue;
        } else {
            if (step >= 3)
                break;
            strcpy(tab, dflt_tabs[step]);
        }
        best = hm_table_best(&d, routes, tab, dst, v6);
        if (best < 0)
            continue;
        if (jd_copy(&d, jd_get(&d, best, "type"), type, sizeof type) != 0)
            strcpy(type, "unicast");
        if (strcmp(type, "throw") == 0)
            continue;
        if (strcmp(type, "blackhole") == 0 || strcmp(type, "unreachable") == 0 ||
            strcmp(type, "prohibit") == 0)
            break;
        {
            int hop = best, nh = jd_get(&d, best, "nexthops");
            if (jd_get(&d, best, "dev") < 0 && nh >= 0 &&
                d.t[nh].type == JT_ARR && d.t[nh].next > (uint32_t)nh + 1)
                hop = nh + 1;   /* multipath: the first next hop */
            if (jd_copy(&d, jd_get(&d, hop, "dev"), dev, devlen) != 0)
                break;
            if (gw && gwlen && jd_copy(&d, jd_get(&d, hop, "gateway"), gw, gwlen) != 0)
                gw[0] = '\0';
            r = 0;
        }
        break;
    }
out:
    jd_free(&d);
    return r;
}

int hostmeta_route_dev(const char *json, const char *dst_ip, char *dev,
                       size_t len)
{
    return hostmeta_route_lookup(json, dst_ip, dev, len, NULL, 0);
}
