/* reader_ndjson.c - natlens NDJSON flow records (flow_ndjson.h) as a
 * capture point: the nl_reader, its bounded line loop, and the capture,
 * probe and capture_end lines. Flow lines go to reader_ndjson_flow.c.
 *
 * Bounds: a line is at most NL_NDJSON_MAX_LINE bytes (longer: a bad line,
 * skipped to its newline); JSON at most NDJ_DEPTH deep; at most
 * NDJ_MAX_PROBES probes. A bad line is counted with file:line and skipped;
 * a file of a newer schema is refused (exit 2), as is one with nothing
 * usable in it.
 *
 * Flows are written in the order they ended; the table wants them in the
 * order they began (their id), which is the order correlate relies on for
 * ties. So flow lines are collected, sorted by id, and then put: memory is
 * that of the flows, as for a capture read without --max-flows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/flow_ndjson.h"
#include "natlens/flow_table.h"
#include "natlens/hostmeta.h"
#include "natlens/reader_ndjson.h"
#include "reader_ndjson_int.h"

#define NDJ_MAX_PROBES (1u << 20)
#define NDJ_TEXT_MAX   1024     /* warning text carried over */

typedef struct ndj_item {      /* one flow line, kept until the sort */
    nl_flow  f;                /* f.ext and f.recs are set just before the put:
                                * the items array moves until then */
    nl_flow_ext ext;
    int      has_ext;
    size_t   rec_at;           /* first record in ndj_load.recs */
    uint64_t line;
} ndj_item;

typedef struct ndj_load {
    nl_trace   *t;
    const nl_trace_opts *o;
    json_tokener *tok;
    uint64_t    line;
    char        capture_id[65];
    int         have_capture, have_end;
    uint64_t    end_flow_lines, flow_lines;
    char       *end_warning;
    ndj_item   *items;
    size_t      n, cap;
    nl_pkt_rec *recs;
    size_t      nrec, reccap;
    size_t      probe_cap;
} ndj_load;

/* ---- sniffing ---- */

static int ndj_has(const char *head, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (head[i] == needle[0] && !memcmp(head + i, needle, k))
            return 1;
    return 0;
}

static int ndj_sniff(const char *head, size_t n)
{
    size_t i = 0, e;
    while (i < n && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n'))
        i++;
    if (i >= n || head[i] != '{')
        return 0;
    for (e = i; e < n && head[e] != '\n'; e++)
        ;
    if (ndj_has(head + i, e - i, "\"type\":\"capture\"") &&
        ndj_has(head + i, e - i, "\"format\":\"" NL_NDJSON_FORMAT "\""))
        return 100;
    if (ndj_has(head + i, e - i, "\"type\":\"flow\"") &&
        ndj_has(head + i, e - i, "\"capture_id\":"))
        return 80;
    return 0;
}

/* ---- lines ---- */

/* The next line without its newline into *buf (NUL-terminated). Returns
 * 1, 0 at the end, -1 when it is longer than NL_NDJSON_MAX_LINE (then
 * skipped to its newline), -2 out of memory. */
static int ndj_getline(FILE *in, char **buf, size_t *cap, size_t *len)
{
    size_t n = 0;
    int c, any = 0;
    while ((c = getc_unlocked(in)) != EOF) {
        any = 1;
        if (c == '\n')
            break;
        if (n + 1 >= *cap) {
            size_t nc = *cap ? *cap * 2 : 65536;
            char *nb;
            if (n >= NL_NDJSON_MAX_LINE) {
                while ((c = getc_unlocked(in)) != EOF && c != '\n')
                    ;
                return -1;
            }
            if (nc > NL_NDJSON_MAX_LINE + 2)
                nc = NL_NDJSON_MAX_LINE + 2;
            if (!(nb = realloc(*buf, nc)))
                return -2;
            *buf = nb;
            *cap = nc;
        }
        (*buf)[n++] = (char)c;
    }
    if (!any)
        return 0;
    if (n && (*buf)[n - 1] == '\r')
        n--;
    (*buf)[n] = '\0';
    *len = n;
    return 1;
}

static int ndj_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return 0;
    return 1;
}

/* ---- small getters over one object ---- */

static const char *ndj_str(json_object *o, const char *key, size_t max)
{
    json_object *v;
    size_t n;
    if (!json_object_object_get_ex(o, key, &v) || json_object_get_type(v) != json_type_string)
        return NULL;
    n = (size_t)json_object_get_string_len(v);
    if (n > max || memchr(json_object_get_string(v), '\0', n))
        return NULL;
    return json_object_get_string(v);
}

static uint64_t ndj_u(json_object *o, const char *key, uint64_t max, int *bad)
{
    json_object *v;
    uint64_t u = 0;
    if (json_object_object_get_ex(o, key, &v) && ndj_get_uint(v, max, &u) < 0)
        *bad = 1;
    return u;
}

static int ndj_hex64(const char *s)
{
    if (!s || strlen(s) != 64)
        return 0;
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static int ndj_printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

/* ---- the capture's lines ---- */

/* Findings and texts name a capture point by its file: the records stand
 * for the capture they were made from, so they take its name (printable
 * ASCII only; else the records file keeps its own). */
static void ndj_name(nl_trace *t, const char *file)
{
    const char *b;
    char *n;
    if (!file || !ndj_printable(file))
        return;
    b = strrchr(file, '/');
    b = b && b[1] ? b + 1 : file;
    if (!*b || !(n = strdup(b)))
        return;
    free(t->name);
    t->name = n;
}

/* The first line. -1 (fatal, errbuf filled) for another schema or format. */
static int ndj_capture(ndj_load *L, json_object *o, char *errbuf, char *why)
{
    nl_trace *t = L->t;
    const char *id = ndj_str(o, "capture_id", 64), *lt = ndj_str(o, "link_type", 31);
    const char *hm = ndj_str(o, "host_context", NL_HOSTMETA_MAX), *fmt = ndj_str(o, "format", 64);
    int bad = 0;
    uint64_t schema = ndj_u(o, "schema", UINT32_MAX, &bad);
    uint64_t lty = ndj_u(o, "linktype", INT32_MAX, &bad);
    if (schema != NL_NDJSON_SCHEMA || !fmt || strcmp(fmt, NL_NDJSON_FORMAT)) {
        snprintf(errbuf, 512, "%s: natlens flow records of schema %llu; this natlens reads "
                 "schema %d", t->path, (unsigned long long)schema, NL_NDJSON_SCHEMA);
        return -1;
    }
    if (L->have_capture || L->n) {
        snprintf(why, 128, "a capture line after the first line (one capture a file)");
        return 1;
    }
    if (!ndj_hex64(id) || bad) {
        snprintf(why, 128, "capture line without a valid capture_id");
        return 1;
    }
    memcpy(L->capture_id, id, 65);
    L->have_capture = 1;
    if (json_object_object_get_ex(o, "linktype", NULL))
        t->linktype = (int)lty;
    if (lt && ndj_printable(lt))
        snprintf(t->linktype_name, sizeof t->linktype_name, "%s", lt);
    if (hm && hostmeta_json_valid(hm, strlen(hm)))
        t->hostmeta = strdup(hm);
    ndj_name(t, ndj_str(o, "file", 4096));
    return 0;
}

static void ndj_probe(ndj_load *L, json_object *o, char *why)
{
    nl_trace *t = L->t;
    nl_probe_info p;
    const char *via = ndj_str(o, "via", NL_PROBE_NAME_LEN), *ses = ndj_str(o, "session", NL_PROBE_NAME_LEN);
    const char *a = ndj_str(o, "inner_ip", 63), *b = ndj_str(o, "seen_as_ip", 63);
    const char *c = ndj_str(o, "seen_dst_ip", 63);
    int bad = 0;
    memset(&p, 0, sizeof p);
    p.proto = (uint8_t)ndj_u(o, "proto", 255, &bad);
    p.dst_port = (uint16_t)ndj_u(o, "dst_port", 65535, &bad);
    p.seq = (uint32_t)ndj_u(o, "seq", UINT32_MAX, &bad);
    p.ts_ns = ndj_u(o, "ts_ns", UINT64_MAX, &bad);
    p.seen_as_port = (uint16_t)ndj_u(o, "seen_as_port", 65535, &bad);
    p.seen_dst_port = (uint16_t)ndj_u(o, "seen_dst_port", 65535, &bad);
    p.seen_ts_ns = ndj_u(o, "seen_ts_ns", UINT64_MAX, &bad);
    if (bad || !via || !ses || !a || !b || !c || nl_addr_parse(&p.inner_ip, a) ||
        nl_addr_parse(&p.seen_as_ip, b) || nl_addr_parse(&p.seen_dst_ip, c)) {
        snprintf(why, 128, "probe line with a missing or bad field");
        return;
    }
    memcpy(p.via, via, strlen(via) + 1);
    memcpy(p.session, ses, strlen(ses) + 1);
    if (t->nprobes == L->probe_cap) {
        size_t nc = L->probe_cap ? L->probe_cap * 2 : 16;
        nl_probe_info *np;
        if (nc > NDJ_MAX_PROBES || !(np = realloc(t->probes, nc * sizeof *np))) {
            snprintf(why, 128, "too many probes (at most %u)", NDJ_MAX_PROBES);
            return;
        }
        t->probes = np;
        L->probe_cap = nc;
    }
    t->probes[t->nprobes++] = p;
}

static void ndj_end(ndj_load *L, json_object *o, char *why)
{
    nl_trace *t = L->t;
    const char *w = ndj_str(o, "warning", NDJ_TEXT_MAX);
    int bad = 0;
    t->packets = ndj_u(o, "packets", UINT64_MAX, &bad);
    t->ip_packets = ndj_u(o, "ip_packets", UINT64_MAX, &bad);
    t->wire_bytes = ndj_u(o, "bytes", UINT64_MAX, &bad);
    t->first_ns = ndj_u(o, "first_ns", UINT64_MAX, &bad);
    t->last_ns = ndj_u(o, "last_ns", UINT64_MAX, &bad);
    t->malformed = ndj_u(o, "malformed", UINT64_MAX, &bad);
    t->truncated = ndj_u(o, "truncated", UINT64_MAX, &bad);
    t->damage_offset = ndj_u(o, "damage_offset", UINT64_MAX, &bad);
    L->end_flow_lines = ndj_u(o, "flow_lines", UINT64_MAX, &bad);
    if (bad)
        snprintf(why, 128, "capture_end line with a bad number");
    if (w && !(L->end_warning = strdup(w)))
        snprintf(why, 128, "out of memory");
    L->have_end = 1;
}

static int ndj_flow(ndj_load *L, json_object *o, char *why)
{
    const char *id = ndj_str(o, "capture_id", 64);
    nl_pkt_rec recs[NL_FLOW_KEEP_PKTS];
    uint16_t nrecs;
    ndj_item *it;
    if (L->have_capture && (!id || strcmp(id, L->capture_id))) {
        snprintf(why, 128, "flow of another capture (capture_id differs from the capture line)");
        return 0;
    }
    if (L->n == L->cap) {
        size_t nc = L->cap ? L->cap * 2 : 1024;
        ndj_item *ni = realloc(L->items, nc * sizeof *ni);
        if (!ni)
            return -1;
        L->items = ni;
        L->cap = nc;
    }
    it = &L->items[L->n];
    if (ndj_flow_from(o, &it->f, &it->ext, recs, &nrecs, why) < 0)
        return 0;
    it->has_ext = it->f.ext != NULL;
    it->f.ext = NULL;
    if (L->nrec + nrecs > L->reccap) {
        size_t nc = L->reccap ? L->reccap * 2 : 4096;
        nl_pkt_rec *nr;
        while (nc < L->nrec + nrecs)
            nc *= 2;
        if (!(nr = realloc(L->recs, nc * sizeof *nr)))
            return -1;
        L->recs = nr;
        L->reccap = nc;
    }
    if (nrecs)       /* recs may still be NULL: no pointer arithmetic on it */
        memcpy(L->recs + L->nrec, recs, nrecs * sizeof *recs);
    it->rec_at = L->nrec;
    it->f.nrecs = nrecs;
    it->line = L->line;
    L->nrec += nrecs;
    L->n++;
    return 0;
}

/* One line. -1 fatal (errbuf filled). */
static int ndj_line(ndj_load *L, const char *buf, size_t len, char *errbuf)
{
    char why[128] = "";
    const char *type;
    int rc = 0;
    json_object *o = ndj_parse_line(L->tok, buf, len, why);
    if (o) {
        type = ndj_str(o, "type", 32);
        if (!type)
            snprintf(why, 128, "no \"type\"");
        else if (!strcmp(type, "flow")) {
            L->flow_lines++;
            if (ndj_flow(L, o, why) < 0) {
                snprintf(errbuf, 512, "%s: out of memory", L->t->path);
                rc = -1;
            }
        } else if (!strcmp(type, "capture")) {
            rc = ndj_capture(L, o, errbuf, why) < 0 ? -1 : 0;
        } else if (!strcmp(type, "probe"))
            ndj_probe(L, o, why);
        else if (!strcmp(type, "capture_end"))
            ndj_end(L, o, why);
        /* other types: written by a later natlens of this schema; skipped */
        json_object_put(o);
    }
    if (rc == 0 && why[0])
        trace_note_bad(L->t, "%s:%llu: %s", L->t->path, (unsigned long long)L->line, why);
    return rc;
}

/* ---- into the table ---- */

static int ndj_item_cmp(const void *a, const void *b)
{
    const ndj_item *x = a, *y = b;
    if (x->f.id != y->f.id)
        return x->f.id < y->f.id ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* Put the flows in the order of their ids: the id and the ended flag are
 * restored on the table's copy (flow_table_put gives it the next id; it
 * copies the rare facts and the packet records). With a streaming table
 * (flows --max-flows on records) the copy goes straight to on_end and
 * keeps the table's id. */
static void ndj_put_all(ndj_load *L)
{
    uint64_t t0 = UINT64_MAX, t1 = 0;
    if (L->n > 1)
        qsort(L->items, L->n, sizeof *L->items, ndj_item_cmp);
    for (size_t i = 0; i < L->n; i++) {
        ndj_item *it = &L->items[i];
        nl_flow *f;
        if (i > 0 && it->f.id == L->items[i - 1].f.id) {
            trace_note_bad(L->t, "%s:%llu: a second flow with id %u", L->t->path,
                           (unsigned long long)it->line, it->f.id);
            continue;
        }
        if (it->f.first_ns < t0)
            t0 = it->f.first_ns;
        if (it->f.last_ns > t1)
            t1 = it->f.last_ns;
        it->f.ext = it->has_ext ? &it->ext : NULL;
        it->f.recs = it->f.nrecs ? L->recs + it->rec_at : NULL;
        if (!(f = flow_table_put(L->t->flows, &it->f)))
            continue;
        f->id = it->f.id;
        f->ended = it->f.ended;
    }
    if (!L->have_end && L->n) {
        L->t->first_ns = t0;
        L->t->last_ns = t1;
    }
}

/* The capture's own damage warning, and ours when the file is cut. */
static void ndj_warn(ndj_load *L)
{
    char ours[256] = "", *w;
    size_t n;
    if (!L->have_end)
        snprintf(ours, sizeof ours, "%s: ends before its capture_end line (cut?); "
                 "read %llu flow lines", L->t->path, (unsigned long long)L->flow_lines);
    else if (L->end_flow_lines != L->flow_lines)
        snprintf(ours, sizeof ours, "%s: capture_end counts %llu flow lines, the file has %llu",
                 L->t->path, (unsigned long long)L->end_flow_lines,
                 (unsigned long long)L->flow_lines);
    if (!ours[0] && !L->end_warning)
        return;
    n = (L->end_warning ? strlen(L->end_warning) : 0) + strlen(ours) + 3;
    if (!(w = malloc(n)))
        return;
    snprintf(w, n, "%s%s%s", L->end_warning ? L->end_warning : "",
             L->end_warning && ours[0] ? "; " : "", ours);
    L->t->warning = w;
}

static int ndj_load_file(nl_trace *t, FILE *in, const nl_trace_opts *o, char *errbuf)
{
    ndj_load L;
    char *buf = NULL;
    size_t cap = 0, len = 0;
    int rc, ret = 0;
    memset(&L, 0, sizeof L);
    L.t = t;
    L.o = o;
    if (!(L.tok = json_tokener_new_ex(NDJ_DEPTH))) {
        snprintf(errbuf, 512, "%s: out of memory", t->path);
        return -1;
    }
    while ((rc = ndj_getline(in, &buf, &cap, &len)) != 0) {
        L.line++;
        if (rc == -2) {
            snprintf(errbuf, 512, "%s: out of memory", t->path);
            ret = -1;
            break;
        }
        if (rc == -1) {
            trace_note_bad(t, "%s:%llu: line longer than %zu bytes", t->path,
                           (unsigned long long)L.line, NL_NDJSON_MAX_LINE);
            continue;
        }
        if (ndj_blank(buf, len))
            continue;
        if (ndj_line(&L, buf, len, errbuf) < 0) {
            ret = -1;
            break;
        }
    }
    if (ret == 0 && ferror(in)) {
        snprintf(errbuf, 512, "%s: read error", t->path);
        ret = -1;
    }
    if (ret == 0 && !L.have_capture && L.n == 0) {
        snprintf(errbuf, 512, "%s: no natlens flow records in it (%llu bad lines)", t->path,
                 (unsigned long long)t->bad_records);
        ret = -1;
    }
    if (ret == 0) {
        ndj_put_all(&L);
        ndj_warn(&L);
        if (!L.have_end)
            t->packets = L.flow_lines;
        /* these flows are a capture's, packet records and counts included:
         * the pipeline takes them as a capture (the handshake rules run),
         * not as records without packets; t->format still says "ndjson" */
        t->is_record = 0;
    }
    free(buf);
    free(L.items);
    free(L.recs);
    free(L.end_warning);
    json_tokener_free(L.tok);
    return ret;
}

const nl_reader reader_ndjson = {
    "ndjson", "natlens NDJSON flow records", ndj_sniff, ndj_load_file,
};

int reader_ndjson_identity(const char *path, char capture_id[65],
                           char point[NL_NDJSON_POINT_MAX + 1], char *errbuf)
{
    FILE *in = fopen(path, "rb");
    char *buf = NULL, why[128] = "";
    size_t cap = 0, len = 0;
    json_tokener *tok = json_tokener_new_ex(NDJ_DEPTH);
    json_object *o = NULL;
    const char *type, *id, *pt, *fmt;
    int bad = 0, rc = -1;
    if (!in || !tok) {
        snprintf(errbuf, 512, "%s: cannot open", path);
        goto out;
    }
    if (ndj_getline(in, &buf, &cap, &len) != 1 || !(o = ndj_parse_line(tok, buf, len, why))) {
        snprintf(errbuf, 512, "%s:1: not natlens flow records %s", path, why);
        goto out;
    }
    type = ndj_str(o, "type", 32);
    id = ndj_str(o, "capture_id", 64);
    pt = ndj_str(o, "point", NL_NDJSON_POINT_MAX);
    fmt = ndj_str(o, "format", 64);
    if (!type || strcmp(type, "capture") || !fmt || strcmp(fmt, NL_NDJSON_FORMAT) ||
        ndj_u(o, "schema", UINT32_MAX, &bad) != NL_NDJSON_SCHEMA || bad) {
        snprintf(errbuf, 512, "%s:1: not a capture line of natlens flow records, schema %d",
                 path, NL_NDJSON_SCHEMA);
        goto out;
    }
    if (!ndj_hex64(id) || !pt || !flow_ndjson_point_ok(pt)) {
        snprintf(errbuf, 512, "%s:1: bad capture_id or point", path);
        goto out;
    }
    memcpy(capture_id, id, 65);
    snprintf(point, NL_NDJSON_POINT_MAX + 1, "%s", pt);
    rc = 0;
out:
    json_object_put(o);
    if (tok)
        json_tokener_free(tok);
    free(buf);
    if (in)
        fclose(in);
    return rc;
}
