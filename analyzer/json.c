/* json.c - streaming JSON writer (see json.h). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/json.h"
#include "natlens/text_safe.h"

#define NS_PER_S ((uint64_t)1000000000)

void json_init(nl_json *j, FILE *f, int pretty)
{
    memset(j, 0, sizeof *j);
    j->f = f;
    j->pretty = pretty;
}

/* Documents reach hundreds of MB on big captures: write through the
 * unlocked stdio calls and in runs, never a locked call per byte. */
#define JPUTC(c, f) putc_unlocked((c), (f))
#define JWRITE(p, n, f) fwrite_unlocked((p), 1, (n), (f))

static void json_indent(nl_json *j)
{
    static const char sp[] = "\n                                                                ";
    size_t n;
    if (!j->pretty)
        return;
    n = 1 + 2 * (size_t)(j->depth > 0 ? j->depth : 0);
    if (n > sizeof sp - 1)
        n = sizeof sp - 1;
    JWRITE(sp, n, j->f);
}

static void json_put_u64(FILE *f, uint64_t v)
{
    char b[24];
    size_t i = sizeof b;
    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    JWRITE(b + i, sizeof b - i, f);
}

static void json_put_string(FILE *f, const char *s, size_t n)
{
    const uint8_t *p = (const uint8_t *)s;
    JPUTC('"', f);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        size_t run = i;
        /* plain printable ASCII goes out in one write */
        while (run < n && p[run] >= 0x20 && p[run] < 0x7f && p[run] != '"' && p[run] != '\\')
            run++;
        if (run > i) {
            JWRITE(p + i, run - i, f);
            i = run - 1;
            continue;
        }
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc(c, f);
        } else if (c == '\n') {
            fputs("\\n", f);
        } else if (c == '\t') {
            fputs("\\t", f);
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(f, "\\u%04x", c);
        } else if (c < 0x80) {
            fputc(c, f);
        } else {
            /* pass well-formed UTF-8 through, escape stray bytes; C1
             * controls (U+0080..U+009F) act on terminals and bidi
             * overrides reorder what is around them (text_safe.h):
             * escape them, losslessly */
            uint32_t cp;
            size_t len = text_utf8_decode(p + i, n - i, &cp);
            if (len && text_cp_unsafe(cp)) {
                fprintf(f, "\\u%04x", (unsigned)cp);
                i += len - 1;
            } else if (len) {
                fwrite(p + i, 1, len, f);
                i += len - 1;
            } else {
                fprintf(f, "\\u%04x", c);
            }
        }
    }
    JPUTC('"', f);
}

/* Comma, indentation and key before a value. */
static void json_pre(nl_json *j, const char *key)
{
    if (j->depth > 0 && j->depth <= NL_JSON_MAX_DEPTH) {
        if (j->count[j->depth - 1])
            JPUTC(',', j->f);
        if (j->count[j->depth - 1] < 255)
            j->count[j->depth - 1]++;
    }
    if (j->depth > 0)
        json_indent(j);
    if (key) {
        json_put_string(j->f, key, strlen(key));
        JWRITE(": ", j->pretty ? 2 : 1, j->f);
    }
}

static void json_open(nl_json *j, const char *key, char c)
{
    json_pre(j, key);
    JPUTC(c, j->f);
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
    JPUTC(c, j->f);
}

void json_obj_begin(nl_json *j, const char *key) { json_open(j, key, '{'); }
void json_obj_end(nl_json *j) { json_close(j, '}'); }
void json_arr_begin(nl_json *j, const char *key) { json_open(j, key, '['); }
void json_arr_end(nl_json *j) { json_close(j, ']'); }

void json_strn(nl_json *j, const char *key, const char *s, size_t n)
{
    json_pre(j, key);
    json_put_string(j->f, s, n);
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
        JPUTC('-', j->f);
        json_put_u64(j->f, (uint64_t)0 - (uint64_t)v);
    } else {
        json_put_u64(j->f, (uint64_t)v);
    }
}

void json_uint(nl_json *j, const char *key, uint64_t v)
{
    json_pre(j, key);
    json_put_u64(j->f, v);
}

void json_double(nl_json *j, const char *key, double v, int decimals)
{
    json_pre(j, key);
    if (isnan(v) || isinf(v))
        fputs("null", j->f);
    else
        fprintf(j->f, "%.*f", decimals, v);
}

void json_double_shortest(nl_json *j, const char *key, double v)
{
    char buf[400];
    json_pre(j, key);
    if (isnan(v) || isinf(v)) {
        fputs("null", j->f);
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
    fputs(buf, j->f);
    if (!strchr(buf, '.'))
        fputs(".0", j->f);
}

void json_bool(nl_json *j, const char *key, int v)
{
    json_pre(j, key);
    fputs(v ? "true" : "false", j->f);
}

void json_null(nl_json *j, const char *key)
{
    json_pre(j, key);
    fputs("null", j->f);
}

void json_ts(nl_json *j, const char *key, uint64_t ts_ns)
{
    char frac[10], twin[128];
    uint64_t r = ts_ns % NS_PER_S;
    size_t kl;
    json_pre(j, key);
    json_put_u64(j->f, ts_ns / NS_PER_S);
    frac[0] = '.';
    for (int i = 9; i >= 1; i--, r /= 10)
        frac[i] = (char)('0' + r % 10);
    JWRITE(frac, 10, j->f);
    if (!key)
        return;
    kl = strlen(key);
    if (kl >= 3 && strcmp(key + kl - 3, "_ts") == 0)
        snprintf(twin, sizeof twin, "%.*s_ns", (int)(kl - 3), key);
    else
        snprintf(twin, sizeof twin, "%s_ns", key);
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
    fputc('\n', j->f);
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
