/* flow_out.h - a flow as the contract's JSON object, a CSV row, or text.
 * Shared by flows, correlate, report and the viewer so a flow looks the
 * same everywhere. Nothing here keeps state. */
#ifndef NATLENS_FLOW_OUT_H
#define NATLENS_FLOW_OUT_H

#include <stdio.h>
#include "natlens/flow.h"
#include "natlens/json.h"
#include "natlens/tunnel.h"

/* {"proto","orig_ip","orig_port","resp_ip","resp_port","conn_state",
 *  "history","orig_pkts","resp_pkts","orig_bytes","resp_bytes",
 *  "first_ts","first_ns","last_ts","last_ns","community_id", ...}
 * community_id with the document's seed (j->community_id_seed). */
void flow_out_json(nl_json *j, const char *key, const nl_flow *f);
/* The same with the flow's tunnel facts from its trace's table (tt may be
 * NULL), see tunnel_out.h. */
void flow_out_json_tun(nl_json *j, const char *key, const nl_flow *f,
                       const nl_tunnel_table *tt);
/* The same for a flow of trace t (NULL: as flow_out_json): its tunnel
 * facts, and for a flow made from a record (record.h) null where the
 * record pins nothing (a Cloud NAT entry has no TCP state, no packet
 * counts): a record's silence is never written as OTH or 0. */
struct nl_trace;
void flow_out_json_in(nl_json *j, const char *key, const nl_flow *f, const struct nl_trace *t);

void flow_out_csv_header(FILE *out);
/* community_id with seed cid_seed (0 unless --community-id-seed). */
void flow_out_csv_row(FILE *out, const nl_flow *f, uint16_t cid_seed);

/* "10.0.0.1:4242 → 192.0.2.1:80" (IPv6 in brackets). buf >= 128.
 * arrow: UTF-8 "→" when utf8 is non-zero, "->" otherwise. */
char *flow_out_tuple(const nl_flow *f, char *buf, size_t len, int utf8);

/* "10:02:11.160358" (UTC, or local time when local != 0). buf >= 32. */
char *flow_out_time(uint64_t ts_ns, char *buf, size_t len, int local);

#endif
