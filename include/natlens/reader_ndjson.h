/* reader_ndjson.h - natlens's own NDJSON flow records as a capture point.
 *
 * Reads what `natlens flows --ndjson` wrote (flow_ndjson.h) back into a
 * trace: the capture's facts from its capture and capture_end lines, and
 * every flow, with its packet records, identical to the flow it was
 * written from. JSON is parsed by json-c, one bounded line at a time.
 */
#ifndef NATLENS_READER_NDJSON_H
#define NATLENS_READER_NDJSON_H

#include <stddef.h>
#include <stdint.h>
#include "natlens/flow.h"
#include "natlens/flow_ndjson.h"
#include "natlens/reader.h"

extern const nl_reader reader_ndjson;

/* Parse one "flow" line (len bytes, need not be NUL-terminated) into *f
 * (zeroed first; recs pointer and nrecs stay zero), its rare facts into
 * *ext (zeroed first; f->ext points to it when the line has any, else
 * NULL) and up to NL_FLOW_KEEP_PKTS packet records into recs, their count
 * into *nrecs. Returns 0, or -1 with a reason for people in why (>= 128
 * bytes). */
int reader_ndjson_parse_flow(const char *line, size_t len, nl_flow *f, nl_flow_ext *ext,
                             nl_pkt_rec *recs, uint16_t *nrecs, char *why);

/* The capture id (64 hex digits) and capture-point name on the first
 * line of the records file `path`, which must be a capture line of the
 * schema this natlens reads. Reads one bounded line. Returns 0, or -1
 * with errbuf (>= 512) naming the file and the reason. */
int reader_ndjson_identity(const char *path, char capture_id[65],
                           char point[NL_NDJSON_POINT_MAX + 1], char *errbuf);

#endif
