/* record_read.c - bounded reading for the record readers: lines, JSON
 * values through json-c's tokener, numbers, times, addresses
 * (record_int.h). Nothing here trusts the file: every length is capped,
 * every number range-checked.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "record_int.h"

#define REC_JSON_CHUNK 65536

/* ---- lines --------------------------------------------------------------- */

int rec_lines_init(rec_lines *L, FILE *in)
{
    memset(L, 0, sizeof *L);
    L->in = in;
    L->buf = malloc(REC_LINE_MAX + 2);
    return L->buf ? 0 : -1;
}

void rec_lines_free(rec_lines *L)
{
    free(L->buf);
    L->buf = NULL;
}

int rec_lines_next(rec_lines *L, char **line, size_t *len)
{
    size_t n = 0;
    int c;
    L->too_long = 0;
    /* getc_unlocked: one stream per reader, nothing shares it */
    while ((c = getc_unlocked(L->in)) != EOF && c != '\n') {
        if (n < REC_LINE_MAX)
            L->buf[n++] = (char)c;
        else
            L->too_long = 1;
    }
    if (c == EOF && n == 0 && !L->too_long)
        return 0;
    L->lineno++;
    if (n && L->buf[n - 1] == '\r')
        n--;
    L->buf[n] = '\0';
    *line = L->buf;
    *len = n;
    return 1;
}

/* ---- JSON values ---------------------------------------------------------- */

int rec_json_init(rec_json *J, FILE *in)
{
    memset(J, 0, sizeof *J);
    J->in = in;
    J->line = 1;
    J->buf = malloc(REC_JSON_CHUNK);
    J->tok = json_tokener_new_ex(REC_JSON_DEPTH);
    if (!J->buf || !J->tok) {
        rec_json_free(J);
        return -1;
    }
    return 0;
}

void rec_json_free(rec_json *J)
{
    free(J->buf);
    if (J->tok)
        json_tokener_free(J->tok);
    J->buf = NULL;
    J->tok = NULL;
}

static int rec_json_fill(rec_json *J)
{
    if (J->off < J->len)
        return 1;
    if (J->eof)
        return 0;
    J->off = 0;
    J->len = fread(J->buf, 1, REC_JSON_CHUNK, J->in);
    if (J->len == 0) {
        J->eof = 1;
        return 0;
    }
    return 1;
}

static void rec_json_count_lines(rec_json *J, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        J->line += J->buf[i] == '\n';
}

/* After a bad value: drop input up to and including the next newline. */
static void rec_json_resync(rec_json *J)
{
    json_tokener_reset(J->tok);
    while (rec_json_fill(J)) {
        char *nl = memchr(J->buf + J->off, '\n', J->len - J->off);
        if (nl) {
            J->off = (size_t)(nl - J->buf) + 1;
            J->line++;
            return;
        }
        J->off = J->len;
    }
}

int rec_json_next(rec_json *J, json_object **out, char *why)
{
    int started = 0;
    *out = NULL;
    J->value_bytes = 0;
    for (;;) {
        if (!rec_json_fill(J)) {
            if (!started)
                return 0;
            json_tokener_reset(J->tok);
            snprintf(why, 128, "JSON value cut off at the end of the file");
            return -1;
        }
        if (!started) {   /* skip blanks between values, counting lines */
            while (J->off < J->len && isspace((unsigned char)J->buf[J->off])) {
                J->line += J->buf[J->off] == '\n';
                J->off++;
            }
            if (J->off == J->len)
                continue;
            started = 1;
            J->value_line = J->line;
        }
        size_t avail = J->len - J->off;
        json_object *o = json_tokener_parse_ex(J->tok, J->buf + J->off, (int)avail);
        enum json_tokener_error err = json_tokener_get_error(J->tok);
        size_t used = json_tokener_get_parse_end(J->tok);
        if (used > avail)
            used = avail;
        rec_json_count_lines(J, J->off, J->off + used);
        J->value_bytes += used;
        if (o || err == json_tokener_success) {
            J->off += used;
            json_tokener_reset(J->tok);
            *out = o ? o : json_object_new_null();   /* a JSON null is a value too */
            return 1;
        }
        if (err == json_tokener_continue && J->value_bytes <= REC_JSON_MAX) {
            J->off += used;
            continue;
        }
        snprintf(why, 128, "%s", err == json_tokener_continue ? "JSON value larger than 64 MiB"
                                                                : json_tokener_error_desc(err));
        J->off += used;
        rec_json_resync(J);
        return -1;
    }
}

json_object *rec_jget(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!o || !json_object_is_type(o, json_type_object))
        return NULL;
    return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

const char *rec_jstr(json_object *o, const char *key)
{
    json_object *v = rec_jget(o, key);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

int rec_jnum(json_object *o, const char *key, uint64_t max, uint64_t *v)
{
    json_object *x = rec_jget(o, key);
    if (!x)
        return -1;
    if (json_object_is_type(x, json_type_int)) {
        int64_t i = json_object_get_int64(x);
        if (i < 0 || (uint64_t)i > max)
            return -1;
        *v = (uint64_t)i;
        return 0;
    }
    if (json_object_is_type(x, json_type_string)) {
        const char *s = json_object_get_string(x);
        return rec_parse_u64(s, strlen(s), max, v);
    }
    return -1;
}

/* ---- fields --------------------------------------------------------------- */

int rec_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *v)
{
    uint64_t x = 0;
    if (len == 0 || len > 20)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        if (x > (UINT64_MAX - 9) / 10)
            return -1;
        x = x * 10 + (uint64_t)(s[i] - '0');
    }
    if (x > max)
        return -1;
    *v = x;
    return 0;
}

#define REC_T_MIN 631152000ull    /* 1990-01-01 */
#define REC_T_MAX 4102444800ull   /* 2100-01-01 */

int rec_parse_epoch(const char *s, size_t len, uint64_t *ns)
{
    const char *dot = memchr(s, '.', len);
    size_t il = dot ? (size_t)(dot - s) : len;
    uint64_t sec, frac = 0;
    if (rec_parse_u64(s, il, REC_T_MAX, &sec) < 0 || sec < REC_T_MIN)
        return -1;
    if (dot) {
        size_t fl = len - il - 1;
        if (fl == 0 || fl > 9)
            return -1;
        if (rec_parse_u64(dot + 1, fl, 999999999, &frac) < 0)
            return -1;
        for (size_t i = fl; i < 9; i++)
            frac *= 10;
    }
    *ns = sec * REC_NS + frac;
    return 0;
}

int rec_parse_rfc3339(const char *s, uint64_t *ns)
{
    struct tm tm;
    int n = 0;
    uint64_t frac = 0;
    long off = 0;
    memset(&tm, 0, sizeof tm);
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 || n != 19)
        return -1;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return -1;
    s += n;
    if (*s == '.') {
        int digits = 0;
        for (s++; *s >= '0' && *s <= '9'; s++, digits++)
            if (digits < 9)
                frac = frac * 10 + (uint64_t)(*s - '0');
        if (digits == 0)
            return -1;
        for (; digits < 9; digits++)
            frac *= 10;
    }
    if (*s == '+' || *s == '-') {
        int hh, mm;
        if (sscanf(s + 1, "%2d:%2d", &hh, &mm) != 2 || hh > 23 || mm > 59 || s[6] != '\0')
            return -1;
        off = (hh * 3600L + mm * 60L) * (*s == '+' ? 1 : -1);
    } else if (!((*s == 'Z' || *s == 'z') && s[1] == '\0')) {
        return -1;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t tt = timegm(&tm);
    if (tt == (time_t)-1)
        return -1;
    int64_t sec = (int64_t)tt - off;
    if (sec < (int64_t)REC_T_MIN || sec > (int64_t)REC_T_MAX)
        return -1;
    *ns = (uint64_t)sec * REC_NS + frac;
    return 0;
}

int rec_parse_addr(const char *s, size_t len, nl_addr *a)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return nl_addr_parse(a, buf);
}

int rec_parse_proto(const char *s, size_t len, uint8_t *proto)
{
    static const struct { const char *n; uint8_t p; } names[] = {
        {"tcp", 6}, {"udp", 17}, {"icmp", 1}, {"ipv6-icmp", 58}, {"icmpv6", 58},
        {"sctp", 132}, {"gre", 47}, {"esp", 50},
    };
    uint64_t v;
    if (rec_parse_u64(s, len, 255, &v) == 0) {
        *proto = (uint8_t)v;
        return 0;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i].n) == len && !strncasecmp(s, names[i].n, len)) {
            *proto = names[i].p;
            return 0;
        }
    return -1;
}

int rec_head_has(const char *head, size_t n, const char *s)
{
    size_t l = strlen(s);
    if (l == 0 || l > n)
        return 0;
    return memmem(head, n, s, l) != NULL;
}

/* ---- a whole JSON record file -------------------------------------------- */

int rec_json_load(nl_trace *t, FILE *in, rec_batch *b, rec_json_fn fn, void *ctx,
                  const char *what, char *errbuf)
{
    rec_json J;
    json_object *o;
    char why[128];
    uint64_t used = 0, values = 0;
    int rc;
    if (rec_json_init(&J, in) < 0) {
        snprintf(errbuf, 512, "%s: out of memory", t->path);
        return -1;
    }
    while ((rc = rec_json_next(&J, &o, why)) != 0) {
        if (rc < 0) {
            trace_note_bad(t, "%s:%llu: %s", t->name, (unsigned long long)J.value_line, why);
            continue;
        }
        values++;
        /* gcloud logging read --format=json: one array of entries */
        size_t n = json_object_is_type(o, json_type_array) ? json_object_array_length(o) : 1;
        for (size_t i = 0; i < n; i++) {
            json_object *e = json_object_is_type(o, json_type_array) ? json_object_array_get_idx(o, i) : o;
            const char *w = NULL;
            int r = fn(t, b, e, J.value_line, &w, ctx);
            if (r > 0) {
                used++;
            } else if (r < 0) {
                if (n > 1)
                    trace_note_bad(t, "%s:%llu: entry %zu: %s", t->name,
                                   (unsigned long long)J.value_line, i + 1, w ? w : "not understood");
                else
                    trace_note_bad(t, "%s:%llu: %s", t->name, (unsigned long long)J.value_line,
                                   w ? w : "not understood");
            }
        }
        json_object_put(o);
    }
    rec_json_free(&J);
    t->packets = used;
    if (!used) {
        snprintf(errbuf, 512, "%s: no %s entry could be read (%llu JSON values, %llu bad)", t->path,
                 what, (unsigned long long)values, (unsigned long long)t->bad_records);
        rec_batch_free(b);
        return -1;
    }
    return record_emit(t, b, errbuf);
}
