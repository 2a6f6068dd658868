/* hostmeta.h - the capturing host's context stored inside a pcapng file.
 *
 * natlens-capture writes one JSON document per file section (at start and
 * on every rotation) describing the host: hostname, role, session, kernel,
 * interfaces with addresses and MACs (`ip -j addr`), routing tables
 * (`ip -j route show table all`, also -6), policy rules (`ip -j rule`),
 * NAT rules (`iptables-save -t nat`, when readable) and clock-sync state.
 *
 * Storage: in the Section Header Block, as pcapng custom binary options
 * (code 2989, copyable) with Private Enterprise Number NL_HOSTMETA_PEN,
 * each option value being
 *     PEN u32 | "NLHMETA1" | u32 total length | u32 offset | chunk bytes
 * (section byte order; chunks <= 65000 bytes, in order, joined by the
 * reader), plus, when it fits in 64 KiB, the same JSON as the SHB's
 * opt_comment so capinfos and Wireshark show it. Keeping it in the SHB
 * means no extra "frame" in Wireshark (a Custom Block would be numbered as
 * frame 1 there and shift every frame number against libpcap's). Readers
 * prefer the custom options, then the comment, then (for compatibility) a
 * Custom Block 0x00000BAD with the same PEN and "NLHMETA1" | u32 | JSON.
 *
 * Top-level keys of the document (all optional for a reader):
 *   "natlens_hostmeta":1, "tool", "hostname", "role", "session", "kernel",
 *   "start_ts" (s since epoch), "capture_iface", "snaplen", "filter",
 *   "ifaces" [{"index","name","mac","addrs":[...]}] (getifaddrs),
 *   "addr", "route", "route6", "rule", "rule6" (iproute2 JSON, verbatim),
 *   "nat_rules" (iptables-save text or null), "clock" {...}, "errors" [...].
 */
#ifndef NATLENS_HOSTMETA_H
#define NATLENS_HOSTMETA_H

#include <stddef.h>

/* RFC 5612 documentation PEN: natlens has no IANA number of its own. */
#define NL_HOSTMETA_PEN      32473u
#define NL_HOSTMETA_TAG      "NLHMETA1"
#define NL_HOSTMETA_TAG_LEN  8
#define NL_HOSTMETA_MAX      (16u << 20)   /* largest document accepted */

#define NL_HOSTMETA_DEPTH    64            /* JSON nesting accepted */

/* Find the host metadata of the first section of the pcapng file `path`
 * (a regular file: anything else is refused without blocking). The blocks
 * are read by source_blocks (bounded, every length checked). Returns the
 * document exactly as stored (malloc'd, NUL-terminated; the caller frees
 * it and must pass it through hostmeta_sanitize() before its values reach
 * a printed command), or NULL: with errbuf (>= 512 bytes) empty when the
 * file is a readable capture without metadata (e.g. classic pcap), else
 * naming the reason. */
char *hostmeta_read(const char *path, char *errbuf);

/* The document in the leading blocks of a pcapng section (see
 * source_blocks_lead()): SHB custom options, then the SHB comment, then a
 * Custom Block. Every length is checked against n. malloc'd or NULL. */
char *hostmeta_from_blocks(const unsigned char *lead, size_t n);

/* The document with every value that natlens may paste into a shell line
 * checked: interface names ("dev", "ifname", "iif", "oif", ifaces[].name,
 * "capture_iface") must be what hostmeta_ifname_ok() accepts, addresses
 * ("gateway", "prefsrc", via "host") what hostmeta_addr_ok() accepts;
 * anything else is replaced by "<interface>", "<gateway>" or "<address>".
 * warn (may be NULL) receives how many of each were replaced ("2 interface
 * names, 1 gateway"; "" when none), never the values themselves. Returns a new malloc'd document (the input
 * unchanged when nothing was replaced), NULL when json is not a valid
 * JSON object or memory ran out. */
char *hostmeta_sanitize(const char *json, char *warn, size_t wlen);

/* An interface name the kernel would accept (dev_valid_name: 1..15 bytes,
 * not "." or "..", no '/', ':' or white space) made only of characters
 * safe in a shell word: letters, digits, "_.-@+=". 1 or 0. */
int hostmeta_ifname_ok(const char *s);

/* An IPv4 or IPv6 address (nl_addr_parse). 1 or 0. */
int hostmeta_addr_ok(const char *s);

/* Is s[0..n) one well-formed JSON value (json-c, strict, UTF-8 checked,
 * depth bounded by NL_HOSTMETA_DEPTH)? 1 or 0. */
int hostmeta_json_valid(const char *s, size_t n);

/* Which route would the recorded host use for dst_ip ("198.51.100.8" or an
 * IPv6 address)? Evaluates the stored policy rules that select on nothing
 * but the destination ("from all lookup T", in priority order; local, main,
 * default when no rules were recorded), then the longest prefix match in
 * each table (lowest metric on ties; "throw" goes on to the next rule).
 * Writes the output interface into dev and, if gw is not NULL, the gateway
 * ("" when directly connected) into gw. Returns 0 when found, -1 when the
 * document has no usable routes, no route matches, or the match is
 * unreachable/blackhole/prohibit. */
int hostmeta_route_lookup(const char *json, const char *dst_ip,
                          char *dev, size_t devlen, char *gw, size_t gwlen);

/* hostmeta_route_lookup() without the gateway. */
int hostmeta_route_dev(const char *json, const char *dst_ip, char *dev,
                       size_t len);

/* Interface name of ifindex (e.g. from LINUX_SLL2 frames of `-i any`), from
 * "ifaces" or "addr". Returns 0 when found, -1 otherwise. */
int hostmeta_ifname(const char *json, int ifindex, char *name, size_t len);

/* A top-level string member ("hostname", "role", "session", "kernel"...).
 * Returns 0 when present and a string, -1 otherwise. */
int hostmeta_get_str(const char *json, const char *key, char *out, size_t len);

#endif
