/* redact_text.c - finding what --redact replaces in text, and the FILE
 * filter the commands write through.
 *
 * One left-to-right pass; at each position that starts a token:
 *   a learned string (raw or as an escaper writes it), longest first, at
 *   word boundaries; a MAC (six hex pairs with ':' or '-'); a Community ID
 *   ("1:" + 27 base64 + "="); an IPv4 dotted quad (optionally ":port") or
 *   an IPv6 literal, IPv4-mapped forms included. Terminal colour sequences
 *   are copied whole and count as a boundary, so coloured text is redacted
 *   like plain text. Anything else (times, versions, digests) does not
 *   parse as a token and is copied unchanged.
 * Cost: linear in the text; the learned strings are indexed by first byte,
 * and only positions at a word boundary are tried. */
#include <stdlib.h>
#include <string.h>
#include "natlens/json.h"
#include "redact_int.h"

#define RD_LINE_MAX 65536       /* a line longer than this is passed on in parts */

typedef struct rd_scan {
    int  prev;                  /* byte before the current position, -1 none */
    long debt;                  /* NL_REDACT_COLUMNS: columns lost (+) or gained (-) */
    int  flags;
} rd_scan;

static int is_word(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_hex(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_b64(int c)
{
    return (is_word(c) && c != '_') || c == '+' || c == '/';
}

static unsigned hex_val(int c)
{
    return c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
}

/* A learned string's edge joins the text around it when both are name
 * characters: "db7" is not found inside "prod-db7" or "db70". */
static int name_char(int c)
{
    return is_word(c) || c == '-';
}

/* Screen columns of UTF-8 text (continuation bytes take none). */
static long cols(const char *s, size_t n)
{
    long c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xc0) != 0x80;
    return c;
}

/* ---- the learned strings' index ------------------------------------------ */

static void esc_json(FILE *f, const char *s)
{
    char *b = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&b, &n);
    nl_json j;
    if (!m)
        return;
    json_init(&j, m, 0);
    json_str(&j, NULL, s);
    json_finish(&j);                    /* the writer buffers: hand it over */
    if (fclose(m) == 0 && n >= 3)
        fwrite(b + 1, 1, n - 3, f);     /* without the quotes and newline */
    free(b);
}

static void esc_term(FILE *f, const char *s)
{
    size_t n = strlen(s);
    char *b = malloc(4 * n + 1);
    if (!b)
        return;
    fputs(json_escape_text((const uint8_t *)s, n, b, 4 * n + 1), f);
    free(b);
}

static int var_push(nl_redact *rd, size_t *cap, char *s, size_t len, const char *name)
{
    if (rd->nvars == *cap) {
        size_t nc = *cap ? *cap * 2 : 32;
        rd_var *nv = realloc(rd->vars, nc * sizeof *nv);
        if (!nv) {
            free(s);
            return -1;
        }
        rd->vars = nv;
        *cap = nc;
    }
    rd->vars[rd->nvars++] = (rd_var){s, len, name};
    if (len > rd->maxvar)
        rd->maxvar = len;
    return 0;
}

static int var_cmp(const void *x, const void *y)
{
    const rd_var *a = x, *b = y;
    unsigned char ca = (unsigned char)a->s[0], cb = (unsigned char)b->s[0];
    if (ca != cb)
        return ca < cb ? -1 : 1;
    if (a->len != b->len)
        return a->len > b->len ? -1 : 1;   /* longest first */
    return memcmp(a->s, b->s, a->len);
}

/* One form of every learned string per escaper, and the raw one. */
static int vars_collect(nl_redact *rd, size_t *cap)
{
    void (*esc[RD_MAX_ESC + 2])(FILE *, const char *);
    size_t nesc = 0;
    esc[nesc++] = esc_json;
    esc[nesc++] = esc_term;
    for (size_t i = 0; i < rd->nesc; i++)
        esc[nesc++] = rd->esc[i];
    for (size_t i = 0; i < rd->nlits; i++) {
        const rd_lit *l = &rd->lits[i];
        char *raw;
        if (!l->scan)
            continue;
        if (!(raw = strdup(l->s)) || var_push(rd, cap, raw, l->len, l->name) < 0)
            return -1;
        for (size_t e = 0; e < nesc; e++) {
            char *b = NULL;
            size_t n = 0;
            FILE *m = open_memstream(&b, &n);
            if (!m)
                return -1;
            esc[e](m, l->s);
            if (fclose(m) != 0) {
                free(b);
                return -1;
            }
            if (!n) {
                free(b);
                continue;
            }
            if (var_push(rd, cap, b, n, l->name) < 0)
                return -1;
        }
    }
    return 0;
}

/* Every form of every learned string the text may hold, indexed by its
 * bytes, with the lengths to try per first byte. */
static int vars_build(nl_redact *rd)
{
    size_t cap = 0, k = 0, nl = 0;
    if (!rd->vars_dirty)
        return 0;
    for (size_t i = 0; i < rd->nvars; i++)
        free(rd->vars[i].s);
    free(rd->vars);
    free(rd->vx);
    free(rd->vlens);
    rd->vars = NULL;
    rd->vx = NULL;
    rd->vlens = NULL;
    rd->nvars = rd->maxvar = rd->vcap = 0;
    if (vars_collect(rd, &cap) < 0)
        return -1;
    if (rd->nvars)
        qsort(rd->vars, rd->nvars, sizeof *rd->vars, var_cmp);
    for (size_t i = 0; i < rd->nvars; i++) {     /* one entry per form */
        if (k && !var_cmp(&rd->vars[k - 1], &rd->vars[i])) {
            free(rd->vars[i].s);
            continue;
        }
        rd->vars[k++] = rd->vars[i];
    }
    rd->nvars = k;
    if (rd_index_fit(&rd->vx, &rd->vcap, rd->nvars ? rd->nvars : 1) < 0 ||
        !(rd->vlens = malloc((rd->nvars + 1) * sizeof *rd->vlens)))
        return -1;
    for (size_t i = 0; i < rd->nvars; i++)
        rd_index_put(rd->vx, rd->vcap, rd_hash(rd->vars[i].s, rd->vars[i].len), i);
    for (size_t b = 0, v = 0; b < 256; b++) {
        rd->vlstart[b] = nl;
        for (; v < rd->nvars && (unsigned char)rd->vars[v].s[0] == b; v++)
            if (nl == rd->vlstart[b] || rd->vlens[nl - 1] != rd->vars[v].len)
                rd->vlens[nl++] = rd->vars[v].len;
    }
    rd->vlstart[256] = nl;
    rd->vars_dirty = 0;
    return 0;
}

/* The learned string at s[i] (the longest whose edges are word
 * boundaries), or NULL: one index lookup per distinct length. */
static const rd_var *var_at(const nl_redact *rd, const char *s, size_t n, size_t i, int prev)
{
    unsigned char c = (unsigned char)s[i];
    if (name_char(c) && prev >= 0 && name_char(prev))
        return NULL;            /* inside a name: nothing learned starts here */
    for (size_t k = rd->vlstart[c]; k < rd->vlstart[c + 1]; k++) {
        size_t len = rd->vlens[k], p;
        if (len > n - i)
            continue;
        for (p = (size_t)rd_hash(s + i, len) & (rd->vcap - 1); rd->vx[p]; p = (p + 1) & (rd->vcap - 1)) {
            const rd_var *x = &rd->vars[rd->vx[p] - 1];
            if (x->len != len || memcmp(s + i, x->s, len))
                continue;
            if (name_char((unsigned char)x->s[len - 1]) && i + len < n &&
                name_char((unsigned char)s[i + len]))
                break;
            return x;
        }
    }
    return NULL;
}

/* ---- tokens ------------------------------------------------------------------ */

/* Length of a MAC at s[i], its bytes into m; 0 if none. */
static size_t mac_at(const char *s, size_t n, size_t i, uint8_t m[6])
{
    char sep;
    if (n - i < 17)
        return 0;
    sep = s[i + 2];
    if (sep != ':' && sep != '-')
        return 0;
    for (int k = 0; k < 6; k++) {
        const char *p = s + i + 3 * k;
        if (!is_hex((unsigned char)p[0]) || !is_hex((unsigned char)p[1]) || (k < 5 && p[2] != sep))
            return 0;
        m[k] = (uint8_t)(hex_val((unsigned char)p[0]) << 4 | hex_val((unsigned char)p[1]));
    }
    if (i + 17 < n && (is_word((unsigned char)s[i + 17]) || s[i + 17] == ':' || s[i + 17] == '-'))
        return 0;
    return 17;
}

/* Length of a Community ID v1 at s[i] ("1:" + 28 base64 with one '='). */
static size_t cid_at(const char *s, size_t n, size_t i)
{
    if (n - i < 30 || s[i] != '1' || s[i + 1] != ':' || s[i + 29] != '=')
        return 0;
    for (size_t k = i + 2; k < i + 29; k++)
        if (!is_b64((unsigned char)s[k]))
            return 0;
    if (i + 30 < n && (is_b64((unsigned char)s[i + 30]) || s[i + 30] == '='))
        return 0;
    return 30;
}

/* Length of an address literal at s[i], parsed into *a; 0 if none. IPv4
 * may be followed by ":port"; a sentence may end right after one. */
static size_t addr_at(const char *s, size_t n, size_t i, nl_addr *a)
{
    size_t j = i, colons = 0, dots = 0;
    char tmp[64];

    while (j < n && ((s[j] >= '0' && s[j] <= '9') || s[j] == '.') && j - i < 20)
        j++;
    while (j > i && s[j - 1] == '.')
        j--;
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
    return nl_addr_parse(a, tmp) == 0 ? j - i : 0;   /* ::ffff:a.b.c.d is the IPv4 address */
}

/* The token at s[i]: its length and placeholder, or 0. */
static size_t token_at(nl_redact *rd, const char *s, size_t n, size_t i, int prev, const char **name)
{
    unsigned char c = (unsigned char)s[i];
    const rd_var *v = var_at(rd, s, n, i, prev);
    int tok = prev < 0 || !(is_word(prev) || prev == '.' || prev == ':' || prev == '-');
    uint8_t m[6];
    nl_addr a;
    size_t len;

    if (v) {
        *name = v->name;
        return v->len;
    }
    if (!tok || !(is_hex(c) || c == ':'))
        return 0;
    if ((len = mac_at(s, n, i, m)) != 0) {
        *name = rd_mac_name(rd, m);
        return *name ? len : 0;
    }
    if ((len = cid_at(s, n, i)) != 0) {
        *name = "redacted";
        return len;
    }
    if ((len = addr_at(s, n, i, &a)) != 0) {
        *name = redact_addr_name(rd, &a);
        return *name ? len : 0;
    }
    return 0;
}

/* Pass s[0..n) on to out, positions before `stop` scanned (a token that
 * starts there may end later). Returns the bytes consumed (>= stop). */
static size_t scan(nl_redact *rd, rd_scan *st, const char *s, size_t n, size_t stop, FILE *out)
{
    size_t i = 0, run = 0;
    while (i < stop) {
        unsigned char c = (unsigned char)s[i];
        const char *name = NULL;
        size_t len;
        if (c == '\n') {
            st->debt = 0;
        } else if (c == 0x1b && i + 1 < n && s[i + 1] == '[') {
            size_t j = i + 2;   /* CSI: parameters, then a final byte */
            while (j < n && j - i < 32 && (unsigned char)s[j] >= 0x20 && (unsigned char)s[j] < 0x40)
                j++;
            if (j < n && (unsigned char)s[j] >= 0x40 && (unsigned char)s[j] <= 0x7e) {
                i = j + 1;
                st->prev = ' ';
                continue;
            }
        } else if (c == ' ' && (st->flags & NL_REDACT_COLUMNS) && st->debt) {
            size_t r = 0;
            while (i + r < n && s[i + r] == ' ')
                r++;
            if (r >= 2) {
                long want = (long)r + st->debt;
                if (want < 1)
                    want = 1;   /* the widest cell had the least room: one space still parts them */
                st->debt -= want - (long)r;
                fwrite(s + run, 1, i - run, out);
                for (long k = 0; k < want; k++)
                    putc(' ', out);
                i += r;
                run = i;
                st->prev = ' ';
                continue;
            }
        } else if ((len = token_at(rd, s, n, i, st->prev, &name)) != 0) {
            size_t nl = strlen(name);
            fwrite(s + run, 1, i - run, out);
            fputs(name, out);
            st->debt += cols(s + i, len) - cols(name, nl);
            st->prev = (unsigned char)name[nl - 1];
            i += len;
            run = i;
            continue;
        }
        st->prev = c;
        i++;
    }
    fwrite(s + run, 1, i - run, out);
    return i;
}

int redact_write(nl_redact *rd, const char *s, size_t n, FILE *out, int flags)
{
    rd_scan st = {-1, 0, flags};
    if (vars_build(rd) < 0 || rd_seal(rd) < 0)
        return -1;
    scan(rd, &st, s, n, n, out);
    return ferror(out) ? -1 : 0;
}

char *redact_strdup(nl_redact *rd, const char *s)
{
    char *b = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&b, &n);
    if (!m)
        return NULL;
    if (redact_write(rd, s, strlen(s), m, 0) < 0) {
        fclose(m);
        free(b);
        return NULL;
    }
    if (fclose(m) != 0) {
        free(b);
        return NULL;
    }
    return b;
}

/* ---- the FILE filter -------------------------------------------------------- */

typedef struct rd_sink {
    nl_redact *rd;
    FILE      *out;
    rd_scan    st;
    char      *buf;
    size_t     n, cap;
} rd_sink;

/* Pass on every complete line; of an overlong line all but what a token
 * starting there could still need. -1 when out of memory (nothing is
 * passed on unredacted). */
static int sink_drain(rd_sink *k, int final)
{
    size_t stop = 0, used;
    if (final) {
        stop = k->n;
    } else {
        for (size_t i = k->n; i > 0; i--)
            if (k->buf[i - 1] == '\n') {
                stop = i;
                break;
            }
        if (!stop && k->n > RD_LINE_MAX + k->rd->maxvar + 64)
            stop = k->n - k->rd->maxvar - 64;
    }
    if (!stop)
        return 0;
    if (vars_build(k->rd) < 0 || rd_seal(k->rd) < 0)
        return -1;
    used = scan(k->rd, &k->st, k->buf, k->n, stop, k->out);
    memmove(k->buf, k->buf + used, k->n - used);
    k->n -= used;
    return 0;
}

static ssize_t sink_write(void *cookie, const char *p, size_t len)
{
    rd_sink *k = cookie;
    if (k->n + len > k->cap) {
        size_t nc = (k->n + len) * 2;
        char *nb = realloc(k->buf, nc);
        if (!nb)
            return -1;
        k->buf = nb;
        k->cap = nc;
    }
    memcpy(k->buf + k->n, p, len);
    k->n += len;
    if (sink_drain(k, 0) < 0 || ferror(k->out))
        return -1;
    return (ssize_t)len;
}

static int sink_close(void *cookie)
{
    rd_sink *k = cookie;
    int rc = sink_drain(k, 1);
    if (fflush(k->out) != 0 || ferror(k->out))
        rc = -1;
    free(k->buf);
    free(k);
    return rc;
}

FILE *redact_fopen(nl_redact *rd, FILE *out, int flags)
{
    cookie_io_functions_t io = {NULL, sink_write, NULL, sink_close};
    rd_sink *k;
    FILE *f;
    if (vars_build(rd) < 0 || !(k = calloc(1, sizeof *k)))
        return NULL;
    k->rd = rd;
    k->out = out;
    k->st = (rd_scan){-1, 0, flags};
    f = fopencookie(k, "w", io);
    if (!f)
        free(k);
    return f;
}
