/* record_out.h - the record facts of a trace (record.h) for people and
 * for JSON. Names from the file are escaped; nothing here keeps state. */
#ifndef NATLENS_RECORD_OUT_H
#define NATLENS_RECORD_OUT_H

#include <stdio.h>
#include "natlens/json.h"
#include "natlens/trace.h"

/* key: [{"flow","side","other_leg","pins":[...],"granularity_s","line",
 * "frame","records","action","rejected":[...],"nat_status",
 * "conntrack":[flags],"conntrack_id","conntrack_mark","conntrack_zone",
 * "tcp_flags":[orig,resp] (with pin "flags"),"gateway",
 * "router","region","vm","interface","reporter","community_id","state"}]
 * - one object per record flow (flow = its id in "flows", 1-based), null
 * for what the record does not hold; "line" for a record file, "frame"
 * (Wireshark's number of the first event block) for conntrack events
 * inside a capture. Call inside an open object. */
void record_out_json(nl_json *j, const char *key, const nl_trace *t);

/* "NAT MAPPINGS (from records)": each record with two legs as
 * "inner -> dest   seen as outer:port   line N  status" ("frame N" for
 * the conntrack events of a capture), then one line per what the records
 * left unknown. Nothing when t holds no records and no conntrack
 * listener ran. */
void record_out_text(FILE *out, const nl_trace *t, int utf8);

/* For a capture carrying conntrack events (natlens-capture --conntrack):
 * "conntrack events in the capture: N events, M record flows (K NAT
 * mappings)" into buf, "" otherwise; returns buf. */
char *record_out_capture_summary(const nl_trace *t, char *buf, size_t len);

/* key: {"listener","events","losses","bad_blocks","record_flows",
 * "kernel_timestamps":"on"|"off"|"turned on"|null} for a capture that
 * carries conntrack events; nothing otherwise. Call inside an open
 * object. */
void record_out_json_capture(nl_json *j, const char *key, const nl_trace *t);

/* One line for the capture summary: "<title>, N entries, M flows (K NAT
 * mappings)" into buf; returns buf. */
char *record_out_summary(const nl_trace *t, char *buf, size_t len);

#endif
