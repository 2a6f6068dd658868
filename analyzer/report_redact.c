/* report_redact.c - --redact: inner addresses become stable pseudonyms.
 *
 * Which addresses: private and local ranges (RFC 1918, RFC 6598 CGNAT,
 * link-local, loopback, IPv6 ULA and link-local) wherever they appear, and
 * with two or more captures the client side's own addresses (originators
 * at capture 0, the egress table's inner hosts) even when public.
 * Names: the addresses known from the analysis are sorted and numbered
 * before anything is written ("inner-1", "inner-2", ...), so an address has
 * the same name in every section and in every format of the same input.
 * Addresses met only in free text (host metadata, finding texts) get the
 * next numbers in order of appearance.
 *
 * The stream pass finds IPv4 dotted quads and IPv6 literals at word
 * boundaries; anything else (times, MACs, versions, hex digests) does not
 * parse as an address and is copied unchanged. */
#include <stdlib.h>
#include <string.h>
#include "report_int.h"

typedef struct rep_alias {
    nl_addr a;
    char    name[24];
} rep_alias;

struct rep_redact {
    rep_alias *v;        /* [0, nsorted) sorted by address; then appended */
    size_t     n, nsorted, cap;
};

int report_addr_is_inner(const nl_addr *a)
{
    const uint8_t *b = a->b;
    if (nl_addr_is_v4(a)) {
        const uint8_t *p = b + 12;
        return p[0] == 10 || p[0] == 127 || (p[0] == 172 && (p[1] & 0xf0) == 16) ||
               (p[0] == 192 && p[1] == 168) || (p[0] == 169 && p[1] == 254) ||
               (p[0] == 100 && (p[1] & 0xc0) == 64);
    }
    if ((b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80))
        return 1;
    for (int i = 0; i < 15; i++)
        if (b[i])
            return 0;
    return b[15] == 1;   /* ::1 */
}

static int rep_push(rep_redact *r, const nl_addr *a)
{
    if (r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 64;
        rep_alias *nv = realloc(r->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        r->v = nv;
        r->cap = nc;
    }
    memset(&r->v[r->n], 0, sizeof r->v[r->n]);
    r->v[r->n].a = *a;
    r->n++;
    return 0;
}

static int alias_cmp(const void *x, const void *y)
{
    return nl_addr_cmp(&((const rep_alias *)x)->a, &((const rep_alias *)y)->a);
}

static int rep_flows(rep_redact *r, nl_flow *const *fl, size_t n, int client_side)
{
    for (size_t i = 0; i < n; i++) {
        if ((client_side || report_addr_is_inner(&fl[i]->orig_ip)) && rep_push(r, &fl[i]->orig_ip) < 0)
            return -1;
        if (report_addr_is_inner(&fl[i]->resp_ip) && rep_push(r, &fl[i]->resp_ip) < 0)
            return -1;
    }
    return 0;
}

rep_redact *report_redact_new(const nl_report_input *in)
{
    rep_redact *r = calloc(1, sizeof *r);
    size_t k = 0;
    if (!r)
        return NULL;
    for (size_t i = 0; i < in->ncaps; i++) {
        size_t n;
        nl_flow **fl = trace_flows(in->caps[i].trace, &n);
        if (rep_flows(r, fl, n, in->ncaps > 1 && i == 0) < 0)
            goto fail;
    }
    if (in->corr)
        for (size_t i = 0; i < in->corr->negress; i++)
            if (rep_push(r, &in->corr->egress[i].inner_ip) < 0)
                goto fail;
    if (r->n)
        qsort(r->v, r->n, sizeof *r->v, alias_cmp);
    for (size_t i = 0; i < r->n; i++) {
        if (k && !nl_addr_cmp(&r->v[k - 1].a, &r->v[i].a))
            continue;
        r->v[k] = r->v[i];
        snprintf(r->v[k].name, sizeof r->v[k].name, "inner-%zu", k + 1);
        k++;
    }
    r->n = r->nsorted = k;
    return r;
fail:
    report_redact_free(r);
    return NULL;
}

void report_redact_free(rep_redact *r)
{
    if (!r)
        return;
    free(r->v);
    free(r);
}

static const rep_alias *rep_find(const rep_redact *r, const nl_addr *a)
{
    size_t lo = 0, hi = r->nsorted;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = nl_addr_cmp(&r->v[mid].a, a);
        if (!c)
            return &r->v[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = r->nsorted; i < r->n; i++)
        if (!nl_addr_cmp(&r->v[i].a, a))
            return &r->v[i];
    return NULL;
}

const char *report_redact_name(rep_redact *r, const nl_addr *a)
{
    const rep_alias *al;
    if (!r)
        return NULL;
    al = rep_find(r, a);
    if (al)
        return al->name;
    if (!report_addr_is_inner(a) || rep_push(r, a) < 0)
        return NULL;
    snprintf(r->v[r->n - 1].name, sizeof r->v[r->n - 1].name, "inner-%zu", r->n);
    return r->v[r->n - 1].name;
}

static int is_word(int ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           ch == '_';
}

static int is_hex(int ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* Length of an address literal starting at s[i] (a word boundary), 0 if
 * none; the parsed address into *a. IPv4 may be followed by ":port". */
static size_t rep_literal(const char *s, size_t n, size_t i, nl_addr *a)
{
    size_t j = i, colons = 0, dots = 0;
    char tmp[64];

    while (j < n && ((s[j] >= '0' && s[j] <= '9') || s[j] == '.') && j - i < 20)
        j++;
    while (j > i && s[j - 1] == '.')
        j--;                    /* a sentence may end right after an address */
    for (size_t k = i; k < j; k++)
        dots += s[k] == '.';
    if (dots == 3 && !(j < n && (is_word((unsigned char)s[j]) || s[j] == '-'))) {
        memcpy(tmp, s + i, j - i);
        tmp[j - i] = '\0';
        if (nl_addr_parse(a, tmp) == 0 && nl_addr_is_v4(a))
            return j - i;
    }

    j = i;
    while (j < n && (is_hex((unsigned char)s[j]) || s[j] == ':' || s[j] == '.') && j - i < 60) {
        colons += s[j] == ':';
        j++;
    }
    while (j > i && s[j - 1] == '.')
        j--;
    if (j - i >= 2 && s[j - 1] == ':' && s[j - 2] != ':') {
        j--;                    /* "addr:" at the end of a phrase */
        colons--;
    }
    if (colons < 2 || (j < n && (is_word((unsigned char)s[j]) || s[j] == '-')))
        return 0;
    memcpy(tmp, s + i, j - i);
    tmp[j - i] = '\0';
    if (nl_addr_parse(a, tmp) < 0 || nl_addr_is_v4(a))
        return 0;               /* "::ffff:1.2.3.4" style: left as written */
    return j - i;
}

void report_redact_stream(rep_redact *r, const char *s, size_t n, FILE *out)
{
    size_t i = 0, run = 0;
    while (i < n) {
        unsigned char ch = (unsigned char)s[i];
        int boundary = i == 0 || !(is_word((unsigned char)s[i - 1]) || s[i - 1] == '.' ||
                                   s[i - 1] == ':' || s[i - 1] == '-');
        if (boundary && (is_hex(ch) || ch == ':')) {
            nl_addr a;
            size_t len = rep_literal(s, n, i, &a);
            const char *name = len ? report_redact_name(r, &a) : NULL;
            if (name) {
                fwrite(s + run, 1, i - run, out);
                fputs(name, out);
                i += len;
                run = i;
                continue;
            }
        }
        i++;
    }
    fwrite(s + run, 1, n - run, out);
}
