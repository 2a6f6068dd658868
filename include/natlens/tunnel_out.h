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

/* For presenters. The kind of tunnel the UDP flow f carries (NL_TUN_*),
 * NL_TUN_NONE for a flow that carries none: its addresses are the
 * underlay's path, not a translation of anything. */
int tunnel_out_carrier(const nl_tunnel_table *tt, const nl_flow *f);
/* How f was carried, for a "path via" line: "vxlan 192.0.2.1 → 192.0.2.2:4789
 * VNI 42" (the tunnel its first packet came in; " (2 deep)" when nested),
 * "" when f never came in a tunnel. Arrow "->" unless utf8. buf >= 128.
 * Addresses only: nothing from packet payloads. Returns buf. */
char *tunnel_out_path(const nl_tunnel_table *tt, const nl_flow *f, char *buf, size_t len,
                      int utf8);

#endif
