/* probe.h - marked egress probes: the wire format, built by natlens-capture
 * and recognised by the analyzer in every packet.
 *
 * A probe is an IPv4 TCP SYN (or a UDP datagram) sent from a chosen local
 * source address. What a NAT rewrites (addresses, ports, checksums) is not
 * where the marker lives; the marker is carried three times:
 *   - the TCP ISN: top 16 bits NL_PROBE_ISN_MAGIC, low 16 bits the sequence;
 *   - the IPv4 ID: NL_PROBE_IPID_MAGIC in the top byte, sequence low byte;
 *   - the payload (NL_PROBE_PAYLOAD_LEN bytes, big-endian fields):
 *       off len
 *        0   8  "NLPROBE1"
 *        8   1  version (1)
 *        9   1  proto of the probe (6 tcp, 17 udp)
 *       10   2  destination port as sent (big-endian)
 *       12  16  inner source address (IPv4-mapped IPv6, as nl_addr)
 *       28  16  interface name it left by (NUL padded, not terminated if 16)
 *       44  16  session id (NUL padded)
 *       60   4  sequence number
 *       64   8  send time, ns since the epoch
 *       72   4  FNV-1a 32 of bytes 0..71 (rejects accidental matches)
 * The payload alone identifies a probe (ISN and IP ID may be rewritten by
 * some firewalls); probe_recognize() checks length, magic and the check
 * word before it reads anything else.
 */
#ifndef NATLENS_PROBE_H
#define NATLENS_PROBE_H

#include <stddef.h>
#include <stdint.h>
#include "natlens/decode.h"

#define NL_PROBE_MAGIC        "NLPROBE1"
#define NL_PROBE_MAGIC_LEN    8
#define NL_PROBE_VERSION      1
#define NL_PROBE_PAYLOAD_LEN  76
#define NL_PROBE_ISN_MAGIC    0x4e4cu   /* "NL" in the ISN's top 16 bits */
#define NL_PROBE_IPID_MAGIC   0xa7u     /* top byte of the IPv4 ID */
#define NL_PROBE_NAME_LEN     16        /* iface name / session field size */

typedef struct nl_probe_info {
    nl_addr  inner_ip;        /* source address the probe was sent from */
    char     via[NL_PROBE_NAME_LEN + 1];     /* interface name, NUL-terminated */
    char     session[NL_PROBE_NAME_LEN + 1]; /* session id, NUL-terminated */
    uint8_t  proto;           /* IPPROTO_TCP or IPPROTO_UDP as sent */
    uint16_t dst_port;        /* destination port as sent */
    uint32_t seq;             /* probe sequence number */
    uint64_t ts_ns;           /* send time (sender's clock) */
    /* filled by probe_recognize() from the packet it was found in */
    nl_addr  seen_as_ip;      /* source address where captured */
    uint16_t seen_as_port;    /* source port where captured */
    nl_addr  seen_dst_ip;     /* destination address where captured */
    uint16_t seen_dst_port;
    uint64_t seen_ts_ns;      /* capture time of that packet */
} nl_probe_info;

/* Write the probe payload for `in` (inner_ip, via, session, proto,
 * dst_port, seq, ts_ns are used) into buf. Returns NL_PROBE_PAYLOAD_LEN, or
 * -1 when len is too small. Strings longer than 16 bytes are cut. */
int probe_encode(uint8_t *buf, size_t len, const nl_probe_info *in);

/* Parse a payload. Returns 0 and fills the sender's fields of *out (not the
 * seen_* ones) when `p` holds a valid probe payload, -1 otherwise. */
int probe_decode_payload(const uint8_t *p, size_t len, nl_probe_info *out);

/* The marked ISN and IPv4 ID for probe number `seq`. */
uint32_t probe_isn(uint32_t seq);
uint16_t probe_ip_id(uint32_t seq);

/* Is this decoded packet a probe? `frame` is the captured frame that `pkt`
 * was decoded from (pkt->payload_off indexes into it). Cheap on the hot
 * path: protocol, captured payload length and the magic are checked before
 * anything else; never reads outside [payload_off, payload_off +
 * payload_caplen). Returns 1 and fills *out (seen_* from the packet),
 * 0 when the packet is not a probe. */
int probe_recognize(const nl_packet *pkt, const uint8_t *frame,
                    nl_probe_info *out);

#endif
