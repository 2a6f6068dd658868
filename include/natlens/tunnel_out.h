/* tunnel_out.h - a flow's tunnel facts as JSON members.
 *
 * tunnel_out_json() writes members into the JSON object the caller has
 * open (flow_out_json_tun does it for a flow object): for a flow found in
 * tunnels "tunnel":{"kind","vni"|"teid"|"key","depth","path":[...],
 * "parents":[...],"changes","aws_gwlb","teredo_origin"}, for a UDP flow
 * that carries one "carries":"vxlan","carried_pkts". A tunnel in "path"
 * (outermost first) and "parents" (Zeek's tunnel_parents) is
 * {"kind","proto","orig_ip","orig_port","resp_ip","resp_port","flow"},
 * "flow" the carrying flow's id in the same capture (UDP tunnels only).
 * Writes nothing for a flow that never met a tunnel. */
#ifndef NATLENS_TUNNEL_OUT_H
#define NATLENS_TUNNEL_OUT_H

#include <stdio.h>
#include "natlens/flow.h"
#include "natlens/json.h"
#include "natlens/tunnel.h"

void tunnel_out_json(nl_json *j, const nl_tunnel_table *tt, const nl_flow *f);

/* What was opened in a capture: {"frames","opened":{"vxlan":N,...},
 * "malformed","too_deep","fragments_reassembled","fragments_incomplete"};
 * nothing when the capture had no tunnel. */
void tunnel_out_json_stats(nl_json *j, const char *key, const nl_tunnel_table *tt);
/* The same as summary lines for text output ("  tunnels: ..."). */
void tunnel_out_text_stats(FILE *out, const nl_tunnel_table *tt);

#endif
