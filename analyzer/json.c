/* json.c - streaming JSON writer (see json.h). */
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/json.h"
#include "natlens/text_safe.h"

#define NS_PER_S ((uint64_t)1000000000)

void json_init(nl_json *j, FILE *f, int pretty)
{
    memset(j, 0, offsetof(nl_json, buf));
    j->f = f;
    j->pretty = pretty;
}

/* Documents reach hundreds of MB on big captures and are made of small
 * pieces (a key, a number): they collect in j->buf and go to the FILE
 * 8 KB at a time, never a stdio call per piece. */
static void json_flush(nl_json *j)
{
    if (j->n) {
        fwrite(j->buf, 1, j->n, j->f);
        j->n = 0;
    }
}

static void json_write(nl_json *j, const void *p, size_t n)
{
    if (n > sizeof j->buf - j->n) {
        json_flush(j);
        if (n > sizeof j->buf) {
            fwrite(p, 1, n, j->f);
            return;
        }
    }
    memcpy(j->buf + j->n, p, n);
    j->n += n;
}

static void json_putc(nl_json *j, char c)
{
    if (j->n == sizeof j->buf)
        json_flush(j);
    j->buf[j->n++] = c;
}

static void json_indent(nl_json *j)
{
    static const char sp[] = "\n                                                                ";
    size_t n;
    if (!j->pretty)
        return;
    n = 1 + 2 * (size_t)(j->depth > 0 ? j->depth : 0);
    if (n > sizeof sp - 1)
        n = sizeof sp - 1;
    json_write(j, sp, n);
}

static void json_put_u64(nl_json *j, uint64_t v)
{
    char b[24];
    size_t i = sizeof b;
    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    json_write(j, b + i, sizeof b - i);
}

/* \u00XX for byte c */
static void json_put_u00(nl_json *j, uint8_t c)
{
    static const char hex[] = "0123456789abcdef";
    char b[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
    json_write(j, b, sizeof b);
}

/* \uXXXX for a code point text_safe.h calls unsafe (C1 controls, bidi
 * formatting: all in the Basic Multilingual Plane) */
static void json_put_u_cp(nl_json *j, uint32_t cp)
{
    static const char hex[] = "0123456789abcdef";
    char b[6] = {'\\', 'u', hex[(cp >> 12) & 15], hex[(cp >> 8) & 15], hex[(cp >> 4) & 15],
                 hex[cp & 15]};
    json_write(j, b, sizeof b);
}

/* 1 for bytes that are not plain printable ASCII or need a backslash
 * (control bytes, '"', '\\', DEL and everything from 0x80). */
#define J16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
static const uint8_t json_special[256] = {
    J16(1), J16(1),
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   /* 0x20: '"' */
    J16(0), J16(0),
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,   /* 0x50: '\\' */
    J16(0),
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,   /* 0x70: DEL */
    J16(1), J16(1), J16(1), J16(1), J16(1), J16(1), J16(1), J16(1)
};

static void json_put_string(nl_json *j, const char *s, size_t n)
{
    const uint8_t *p = (const uint8_t *)s;
    json_putc(j, '"');
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        size_t run = i;
        /* plain printable ASCII goes out in one write */
        while (run < n && !json_special[p[run]])
            run++;
        if (run > i) {
            json_write(j, p + i, run - i);
            i = run - 1;
            continue;
        }
        if (c == '"' || c == '\\') {
            json_putc(j, '\\');
            json_putc(j, (char)c);
        } else if (c == '\n') {
            json_write(j, "\\n", 2);
        } else if (c == '\t') {
            json_write(j, "\\t", 2);
        } else if (c < 0x20 || c == 0x7f) {
            json_put_u00(j, c);
        } else if (c < 0x80) {
            json_putc(j, (char)c);
        } else {
            /* pass well-formed UTF-8 through, escape stray bytes; C1
             * controls (U+0080..U+009F) act on terminals and bidi
             * overrides reorder what is around them (text_safe.h):
             * escape them, losslessly */
            uint32_t cp;
            size_t len = text_utf8_decode(p + i, n - i, &cp);
            if (len && text_cp_unsafe(cp)) {
                json_put_u_cp(j, cp);
                i += len - 1;
            } else if (len) {
                json_write(j, p + i, len);
                i += len - 1;
            } else {
                json_put_u00(j, c);
            }
        }
    }
    json_putc(j, '"');
}

/* Comma, indentation and key before a value. */
static void json_pre(nl_json *j, const char *key)
{
    if (j->depth > 0 && j->depth <= NL_JSON_MAX_DEPTH) {
        if (j->count[j->depth - 1])
            json_putc(j, ',');
        if (j->count[j->depth - 1] < 255)
            j->count[j->depth - 1]++;
    }
    if (j->depth > 0)
        json_indent(j);
    if (key) {
        json_put_string(j, key, strlen(key));
        json_write(j, ": ", j->pretty ? 2 : 1);
    }
}

static void json_open(nl_json *j, const char *key, char c)
{
    json_pre(j, key);
    json_putc(j, c);
    if (j->depth < NL_JSON_MAX_DEPTH)
        j->count[j->depth] = 0;
    j->depth++;
}

static void json_close(nl_json *j, char c)
{
    int had = j->depth > 0 && j->depth <= NL_JSON_MAX_DEPTH && j->count[j->depth - 1];
    j->depth--;
    if (had)
        json_indent(j);
    json_putc(j, c);
    if (j->depth <= 0)
        json_flush(j);       /* the document is complete: it is the FILE's */
}

void json_obj_begin(nl_json *j, const char *key) { json_open(j, key, '{'); }
void json_obj_end(nl_json *j) { json_close(j, '}'); }
void json_arr_begin(nl_json *j, const char *key) { json_open(j, key, '['); }
void json_arr_end(nl_json *j) { json_close(j, ']'); }

void json_strn(nl_json *j, const char *key, const char *s, size_t n)
{
    json_pre(j, key);
    json_put_string(j, s, n);
}

void json_str(nl_json *j, const char *key, const char *s)
{
    if (!s) {
        json_null(j, key);
        return;
    }
    json_strn(j, key, s, strlen(s));
}

void json_int(nl_json *j, const char *key, int64_t v)
{
    json_pre(j, key);
    if (v < 0) {
        json_putc(j, '-');
        json_put_u64(j, (uint64_t)0 - (uint64_t)v);
    } else {
        json_put_u64(j, (uint64_t)v);
    }
}

void json_uint(nl_json *j, const char *key, uint64_t v)
{
    json_pre(j, key);
    json_put_u64(j, v);
}

void json_double(nl_json *j, const char *key, double v, int decimals)
{
    json_pre(j, key);
    if (isnan(v) || isinf(v)) {
        json_write(j, "null", 4);
    } else {
        char b[400];
        int n = snprintf(b, sizeof b, "%.*f", decimals, v);
        if (n > 0)
            json_write(j, b, (size_t)n < sizeof b ? (size_t)n : sizeof b - 1);
    }
}

void json_double_shortest(nl_json *j, const char *key, double v)
{
    char buf[400];
    json_pre(j, key);
    if (isnan(v) || isinf(v)) {
        json_write(j, "null", 4);
        return;
    }
    /* fewest decimals that read back as v; %f never takes an exponent.
     * Above 1e17 a double is an integer and "%.0f" is exact; below, the
     * integer part has at most 17 digits and 340 decimals reach the
     * smallest subnormal: the buffer always holds the text. */
    for (int prec = 0; prec <= 340; prec++) {
        snprintf(buf, sizeof buf, "%.*f", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    json_write(j, buf, strlen(buf));
    if (!strchr(buf, '.'))
        json_write(j, ".0", 2);
}

void json_bool(nl_json *j, const char *key, int v)
{
    json_pre(j, key);
    json_write(j, v ? "true" : "false", v ? 4 : 5);
}

void json_null(nl_json *j, const char *key)
{
    json_pre(j, key);
    json_write(j, "null", 4);
}

void json_ts(nl_json *j, const char *key, uint64_t ts_ns)
{
    char frac[10], twin[128];
    uint64_t r = ts_ns % NS_PER_S;
    size_t kl;
    json_pre(j, key);
    json_put_u64(j, ts_ns / NS_PER_S);
    frac[0] = '.';
    for (int i = 9; i >= 1; i--, r /= 10)
        frac[i] = (char)('0' + r % 10);
    json_write(j, frac, 10);
    if (!key)
        return;
    kl = strlen(key);
    if (kl >= 4 && kl < sizeof twin && strcmp(key + kl - 3, "_ts") == 0) {
        /* "X_ts" -> "X_ns" without snprintf: two per printed flow */
        memcpy(twin, key, kl - 2);
        memcpy(twin + kl - 2, "ns", 3);
    } else if (kl >= 3 && strcmp(key + kl - 3, "_ts") == 0) {
        snprintf(twin, sizeof twin, "%.*s_ns", (int)(kl - 3), key);
    } else {
        snprintf(twin, sizeof twin, "%s_ns", key);
    }
    json_uint(j, twin, ts_ns);
}

void json_schema(nl_json *j)
{
    json_uint(j, "schema", NL_JSON_SCHEMA);
}

void json_addr(nl_json *j, const char *key, const nl_addr *a)
{
    char buf[64];
    json_str(j, key, nl_addr_str(a, buf, sizeof buf));
}

void json_finish(nl_json *j)
{
    json_putc(j, '\n');
    json_flush(j);
    fflush(j->f);
}

char *json_escape_text(const uint8_t *s, size_t n, char *out, size_t out_len)
{
    size_t o = 0;
    if (out_len == 0)
        return out;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            if (o + 1 >= out_len)
                break;
            out[o++] = (char)c;
        } else {
            if (o + 4 >= out_len)
                break;
            snprintf(out + o, out_len - o, "\\x%02x", c);
            o += 4;
        }
    }
    out[o] = '\0';
    return out;
}
