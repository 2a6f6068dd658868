/* trace_out.h - one capture's summary and probes as the contract's JSON,
 * shared by flows, correlate and report so a capture looks alike in all. */
#ifndef NATLENS_TRACE_OUT_H
#define NATLENS_TRACE_OUT_H

#include <stdio.h>
#include "natlens/json.h"
#include "natlens/trace.h"

/* {"file","link_type","format","packets",...,"first_ts","last_ts",...} */
void trace_out_json_capture(nl_json *j, const char *key, nl_trace *t);

/* [{"inner_ip","via","seen_as_ip","seen_as_port","ts","capture",...}] for
 * every probe in the given traces (capture = index in the array). */
void trace_out_json_probes(nl_json *j, const char *key, nl_trace *const *traces, size_t n);

/* "PROBES" text section (nothing when there are none). */
void trace_out_text_probes(FILE *out, nl_trace *const *traces, size_t n);

#endif
