/* reader_ndjson_flow.c - one NDJSON line into JSON, one flow line into an
 * nl_flow by the table of flow_ndjson.c (see reader_ndjson.h).
 *
 * Every number is range-checked against the member it goes into, and the
 * facts other code indexes with (history length, TCP states, record
 * directions) are checked, so a hostile line cannot steer a later read out
 * of bounds. At most NL_FLOW_KEEP_PKTS packet records a flow.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "natlens/flow_ndjson.h"
#include "natlens/reader_ndjson.h"
#include "reader_ndjson_int.h"

/* ---- values ---- */

int ndj_get_uint(json_object *v, uint64_t max, uint64_t *out)
{
    int64_t s;
    uint64_t u;
    if (json_object_get_type(v) != json_type_int)
        return -1;
    s = json_object_get_int64(v);   /* clamps big positives to INT64_MAX */
    if (s < 0)
        return -1;
    u = json_object_get_uint64(v);
    if (u > max)
        return -1;
    *out = u;
    return 0;
}

static uint64_t ndj_max_of(uint16_t size)
{
    return size >= 8 ? UINT64_MAX : (UINT64_C(1) << (8 * size)) - 1;
}

static void ndj_store_u(void *p, uint16_t size, uint64_t v)
{
    uint8_t a = (uint8_t)v;
    uint16_t b = (uint16_t)v;
    uint32_t c = (uint32_t)v;
    switch (size) {
    case 1: memcpy(p, &a, 1); break;
    case 2: memcpy(p, &b, 2); break;
    case 4: memcpy(p, &c, 4); break;
    default: memcpy(p, &v, 8); break;
    }
}

static int ndj_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int ndj_parse_mac(const char *s, size_t n, uint8_t m[6])
{
    if (n != 17)
        return -1;
    for (int i = 0; i < 6; i++) {
        int hi = ndj_hex(s[3 * i]), lo = ndj_hex(s[3 * i + 1]);
        if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
            return -1;
        m[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* One value of table entry fd from v into p. */
static int ndj_value(json_object *v, const nl_ndjson_field *fd, void *p)
{
    const char *s;
    size_t n;
    uint64_t u;
    if (fd->kind == NDJ_I32) {
        int64_t x;
        int32_t y;
        if (json_object_get_type(v) != json_type_int)
            return -1;
        x = json_object_get_int64(v);
        if (x < INT32_MIN || x > INT32_MAX)
            return -1;
        y = (int32_t)x;
        memcpy(p, &y, sizeof y);
        return 0;
    }
    if (fd->kind == NDJ_ADDR || fd->kind == NDJ_MAC || fd->kind == NDJ_STR) {
        char tmp[64];
        if (json_object_get_type(v) != json_type_string)
            return -1;
        s = json_object_get_string(v);
        n = (size_t)json_object_get_string_len(v);
        if (memchr(s, '\0', n))
            return -1;
        if (fd->kind == NDJ_MAC)
            return ndj_parse_mac(s, n, p);
        if (fd->kind == NDJ_STR) {
            if (n >= fd->size)
                return -1;
            memset(p, 0, fd->size);
            memcpy(p, s, n);
            return 0;
        }
        if (n >= sizeof tmp)
            return -1;
        memcpy(tmp, s, n + 1);
        return nl_addr_parse(p, tmp);
    }
    if (fd->kind == NDJ_BIT) {
        uint8_t b;
        if (ndj_get_uint(v, 1, &u) < 0)
            return -1;
        memcpy(&b, p, 1);
        b = (uint8_t)(u ? b | fd->stride : b & ~fd->stride);
        memcpy(p, &b, 1);
        return 0;
    }
    if (ndj_get_uint(v, ndj_max_of(fd->size), &u) < 0)
        return -1;
    ndj_store_u(p, fd->size, u);
    return 0;
}

/* The packet-record arrays: "pkt_ts_ns" says how many; every other
 * pkt_* array present must be as long. */
static int ndj_recs(json_object *o, nl_pkt_rec *recs, uint16_t *nrecs, char *why)
{
    size_t nrf, n = 0;
    const nl_ndjson_field *rf = flow_ndjson_rec_fields(&nrf);
    json_object *a;
    char key[64];
    *nrecs = 0;
    if (json_object_object_get_ex(o, "pkt_ts_ns", &a)) {
        if (json_object_get_type(a) != json_type_array) {
            snprintf(why, 128, "pkt_ts_ns is not an array");
            return -1;
        }
        n = json_object_array_length(a);
        if (n > NL_FLOW_KEEP_PKTS) {
            snprintf(why, 128, "more than %d packet records", NL_FLOW_KEEP_PKTS);
            return -1;
        }
    }
    memset(recs, 0, n * sizeof *recs);
    for (size_t i = 0; i < nrf; i++) {
        snprintf(key, sizeof key, "pkt_%s", rf[i].name);
        if (!json_object_object_get_ex(o, key, &a))
            continue;
        if (json_object_get_type(a) != json_type_array || json_object_array_length(a) != n) {
            snprintf(why, 128, "%s is not an array of %zu values", key, n);
            return -1;
        }
        for (size_t r = 0; r < n; r++)
            if (ndj_value(json_object_array_get_idx(a, r), &rf[i],
                          (char *)&recs[r] + rf[i].off) < 0) {
                snprintf(why, 128, "%s[%zu]: bad value", key, r);
                return -1;
            }
    }
    for (size_t r = 0; r < n; r++)
        if (recs[r].dir > NL_RESP) {
            snprintf(why, 128, "pkt_dir[%zu] is not 0 or 1", r);
            return -1;
        }
    *nrecs = (uint16_t)n;
    return 0;
}

/* What other code indexes with must be in range. */
static int ndj_check_flow(const nl_flow *f, char *why)
{
    if (f->id == 0) {
        snprintf(why, 128, "id is missing or 0");
        return -1;
    }
    if (f->hist_len != strlen(f->history)) {
        snprintf(why, 128, "hist_len does not match history");
        return -1;
    }
    for (int d = 0; d < 2; d++) {
        if (f->sig[d].ndata > 2) {
            snprintf(why, 128, "%s_ndata is above 2", d ? "resp" : "orig");
            return -1;
        }
        if (f->ep[d].state > NL_TCP_RESET) {
            snprintf(why, 128, "%s TCP state out of range", d ? "resp" : "orig");
            return -1;
        }
    }
    return 0;
}

/* The members of table tab[0..n) present in o into the struct at base;
 * *found counts them. */
static int ndj_table(json_object *o, const nl_ndjson_field *tab, size_t n, void *base,
                     size_t *found, char *why)
{
    char key[64];
    json_object *v;
    for (size_t i = 0; i < n; i++) {
        const nl_ndjson_field *fd = &tab[i];
        int per_dir = fd->per_dir & 1;
        for (int d = 0; d < (per_dir ? 2 : 1); d++) {
            snprintf(key, sizeof key, "%s%s", per_dir ? (d ? "resp_" : "orig_") : "", fd->name);
            if (!json_object_object_get_ex(o, key, &v))
                continue;       /* left out: 0 */
            if (ndj_value(v, fd, (char *)base + fd->off + (size_t)d * fd->stride) < 0) {
                snprintf(why, 128, "%s: bad value", key);
                return -1;
            }
            (*found)++;
        }
    }
    return 0;
}

int ndj_flow_from(json_object *o, nl_flow *f, nl_flow_ext *ext, nl_pkt_rec *recs,
                  uint16_t *nrecs, char *why)
{
    size_t nf, nx, found = 0, xfound = 0;
    const nl_ndjson_field *fields = flow_ndjson_fields(&nf);
    const nl_ndjson_field *xfields = flow_ndjson_ext_fields(&nx);
    memset(f, 0, sizeof *f);
    memset(ext, 0, sizeof *ext);
    if (ndj_table(o, fields, nf, f, &found, why) < 0 ||
        ndj_table(o, xfields, nx, ext, &xfound, why) < 0)
        return -1;
    /* the rare facts only when the line has any: f->ext as the writer saw it */
    if (xfound)
        f->ext = ext;
    if (ndj_check_flow(f, why) < 0 || ndj_recs(o, recs, nrecs, why) < 0)
        return -1;
    return 0;
}

/* One line into a JSON object: NULL with why filled when it is not one. */
json_object *ndj_parse_line(json_tokener *tok, const char *line, size_t len, char *why)
{
    json_object *o;
    enum json_tokener_error e;
    size_t end;
    json_tokener_reset(tok);
    o = json_tokener_parse_ex(tok, line, (int)len);
    e = json_tokener_get_error(tok);
    if (!o || e != json_tokener_success) {
        snprintf(why, 128, "not JSON (%s)", o || e != json_tokener_continue
                 ? json_tokener_error_desc(e) : "unexpected end of line");
        json_object_put(o);
        return NULL;
    }
    end = json_tokener_get_parse_end(tok);
    while (end < len && (line[end] == ' ' || line[end] == '\t' || line[end] == '\r'))
        end++;
    if (end != len || json_object_get_type(o) != json_type_object) {
        snprintf(why, 128, end != len ? "text after the JSON object" : "not a JSON object");
        json_object_put(o);
        return NULL;
    }
    return o;
}

int reader_ndjson_parse_flow(const char *line, size_t len, nl_flow *f, nl_flow_ext *ext,
                             nl_pkt_rec *recs, uint16_t *nrecs, char *why)
{
    json_tokener *tok = json_tokener_new_ex(NDJ_DEPTH);
    json_object *o;
    int rc = -1;
    if (!tok) {
        snprintf(why, 128, "out of memory");
        return -1;
    }
    if ((o = ndj_parse_line(tok, line, len, why))) {
        rc = ndj_flow_from(o, f, ext, recs, nrecs, why);
        json_object_put(o);
    }
    json_tokener_free(tok);
    return rc;
}
