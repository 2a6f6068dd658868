/* json.h - a small streaming JSON writer (RFC 8259) onto a FILE.
 *
 * Output collects in the writer's own buffer and reaches the FILE when the
 * buffer is full and when the top-level value is closed: write nothing
 * else to that FILE before then.
 * Commas and nesting are tracked for the caller; strings are escaped
 * (control bytes as \u00XX, bytes >= 0x80 that are not valid UTF-8 as
 * \u00XX of the byte), so text taken from packets can never break the
 * document or reach a terminal raw. Keys are NULL inside arrays.
 */
#ifndef NATLENS_JSON_H
#define NATLENS_JSON_H

#include <stdio.h>
#include <stdint.h>
#include "natlens/decode.h"

#define NL_JSON_MAX_DEPTH 32

/* Version of the documents natlens writes ("schema" at their top).
 * 2: "schema" itself; every float-seconds time "X_ts" (or "ts") has an
 *    integer-nanoseconds twin "X_ns" (or "ts_ns"); community_id follows
 *    --community-id-seed. */
#define NL_JSON_SCHEMA 2

typedef struct nl_json {
    FILE *f;
    int   depth;
    int   pretty;                   /* indent with two spaces */
    uint8_t count[NL_JSON_MAX_DEPTH]; /* items written at each level (saturating) */
    /* Settings of the document for the presenters writing into it (0 by
     * json_init): the Community ID seed of every flow written. */
    uint16_t community_id_seed;
    size_t n;                       /* bytes in buf not yet handed to f */
    char  buf[8192];                /* written to f when full and at the end */
} nl_json;

void json_init(nl_json *j, FILE *f, int pretty);
void json_obj_begin(nl_json *j, const char *key);
void json_obj_end(nl_json *j);
void json_arr_begin(nl_json *j, const char *key);
void json_arr_end(nl_json *j);
void json_str(nl_json *j, const char *key, const char *s);   /* s NULL -> null */
void json_strn(nl_json *j, const char *key, const char *s, size_t n);
void json_int(nl_json *j, const char *key, int64_t v);
void json_uint(nl_json *j, const char *key, uint64_t v);
void json_double(nl_json *j, const char *key, double v, int decimals);
/* The shortest decimal that reads back as v, without exponent (always
 * with a '.'), as rapidjson and so Zeek's JSON logs write doubles. */
void json_double_shortest(nl_json *j, const char *key, double v);
void json_bool(nl_json *j, const char *key, int v);
void json_null(nl_json *j, const char *key);
/* A time: key with seconds since the epoch as a number with 9 decimals,
 * then its twin with integer nanoseconds (a double cannot hold 9
 * decimals of a current date): "X_ts" -> "X_ns", any other key -> key
 * + "_ns" ("ts" -> "ts_ns"). Inside an array (key NULL) only the number. */
void json_ts(nl_json *j, const char *key, uint64_t ts_ns);
/* "schema": NL_JSON_SCHEMA, first key of every document natlens writes. */
void json_schema(nl_json *j);
void json_addr(nl_json *j, const char *key, const nl_addr *a);
/* End the document with a newline and fflush the FILE. */
void json_finish(nl_json *j);

/* Escape `s` (n bytes) for safe display on a terminal or in text output:
 * printable ASCII kept, everything else as \xNN. Writes at most out_len-1
 * bytes plus NUL into out. Returns out. */
char *json_escape_text(const uint8_t *s, size_t n, char *out, size_t out_len);

#endif
