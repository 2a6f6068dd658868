/* record_out.h - the record facts of a trace (record.h) for people and
 * for JSON. Names from the file are escaped; nothing here keeps state. */
#ifndef NATLENS_RECORD_OUT_H
#define NATLENS_RECORD_OUT_H

#include <stdio.h>
#include "natlens/json.h"
#include "natlens/trace.h"

/* key: [{"flow","side","other_leg","pins":[...],"granularity_s","line",
 * "records","action","reject_dirs":[...],"nat_status","conntrack":[flags],
 * "conntrack_id","tcp_flags":[orig,resp] (with pin "flags"),"gateway",
 * "router","region","vm","interface","reporter","community_id","state"}]
 * - one object per record flow (flow = its id in "flows", 1-based), null
 * for what the record does not hold. Call inside an open object. */
void record_out_json(nl_json *j, const char *key, const nl_trace *t);

/* "NAT MAPPINGS (from records)": each record with two legs as
 * "inner -> dest   seen as outer:port   line N  status", then one line
 * per what the records left unknown. Nothing when t holds no records. */
void record_out_text(FILE *out, const nl_trace *t, int utf8);

/* One line for the capture summary: "<title>, N entries, M flows (K NAT
 * mappings)" into buf; returns buf. */
char *record_out_summary(const nl_trace *t, char *buf, size_t len);

#endif
