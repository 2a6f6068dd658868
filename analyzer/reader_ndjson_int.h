/* reader_ndjson_int.h - shared by reader_ndjson.c (lines, the capture)
 * and reader_ndjson_flow.c (values, flows). Not installed. */
#ifndef NATLENS_READER_NDJSON_INT_H
#define NATLENS_READER_NDJSON_INT_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "natlens/flow.h"

#define NDJ_DEPTH 8   /* a line is an object of scalars and flat arrays */

/* A JSON integer in [0, max] into *out: 0, or -1 (not an integer, out of
 * range, negative). */
int ndj_get_uint(json_object *v, uint64_t max, uint64_t *out);

/* Parse line[0..len) as one JSON object (trailing blanks allowed).
 * Returns a new reference, or NULL with why (>= 128) filled. */
json_object *ndj_parse_line(json_tokener *tok, const char *line, size_t len, char *why);

/* A parsed "flow" object into *f, *ext and recs (see
 * reader_ndjson_parse_flow). */
int ndj_flow_from(json_object *o, nl_flow *f, nl_flow_ext *ext, nl_pkt_rec *recs,
                  uint16_t *nrecs, char *why);

#endif
