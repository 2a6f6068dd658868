/* ctev.h - conntrack events inside a pcapng capture: the block layout.
 *
 * `natlens-capture --conntrack` writes every conntrack event of the
 * namespace it captures in (libnetfilter_conntrack: NEW, UPDATE, DESTROY)
 * into the pcapng file beside the packets, one pcapng Custom Block per
 * event, so a router's capture carries the kernel's own NAT mapping.
 * natlens reads them back as record flows of the capture (record.h). This
 * header is the one definition of the layout: the writer encodes with
 * ctev_encode(), every reader decodes with ctev_decode().
 *
 * The block (draft-ietf-opsawg-pcapng, "Custom Block"):
 *
 *    0                   1                   2                   3
 *    +---------------------------------------------------------------+
 *  0 |              Block Type = 0x00000BAD (copiable)               |
 *  4 |                      Block Total Length                       |
 *  8 |           Private Enterprise Number = 32473                   |
 * 12 |  'N'  |  'L'  |  'C'  |  'T'  |version|  kind |  body length  |
 * 20 /                   body (body length bytes)                    /
 *    /                   padding to 32 bits                          /
 *    |                      Block Total Length                       |
 *    +---------------------------------------------------------------+
 *
 * The block header and the PEN are in the section's byte order (as every
 * pcapng field); everything from the tag on is natlens's own layout, in
 * network byte order (big-endian) whatever the section's order, so one
 * decoder serves every file. PEN 32473 is RFC 5612's "documentation" PEN,
 * the one natlens's host context uses too (natlens has no IANA number of
 * its own): the tag "NLCT" tells our blocks from anyone else's.
 *
 * Copiable (0x00000BAD, not 0x40000BAD): an event stands on its own (its
 * own times, tuples and id; it refers to no interface, packet or block
 * position), so it stays true when a tool copies it into an edited file.
 * editcap and mergecap keep copiable custom blocks and drop the others.
 *
 * Versioning: `version` is 1. A later version that only appends fields to
 * a body keeps version 1 (readers take the fields they know, ignore the
 * rest); an incompatible change takes version 2. A reader skips a version
 * it does not know (one warning) and a kind it does not know (silently).
 *
 * Bodies (offsets from the body start, all big-endian):
 *
 * kind 1 EVENT (48 + 2 * (2A + 4) bytes, + 32 with counters):
 *    0 u8  event: 1 NEW, 2 UPDATE, 3 DESTROY (NFCT_T_*)
 *    1 u8  address family: 4 or 6 (A = 4 or 16 address bytes)
 *    2 u8  layer-4 protocol number
 *    3 u8  TCP state (the kernel's enum tcp_conntrack, 0..9), 255 none
 *    4 u16 present: which optional fields hold a value (NL_CTEV_HAS_*)
 *    6 u16 zone
 *    8 u64 receive time: ns since the epoch (CLOCK_REALTIME, the clock of
 *          the packets) when natlens-capture read the event
 *   16 u64 kernel start: CTA_TIMESTAMP start (ns since the epoch: when the
 *          entry was confirmed), with HAS_START (the kernel sends its
 *          timestamps with DESTROY events only, and only with
 *          nf_conntrack_timestamp=1)
 *   24 u64 kernel stop: CTA_TIMESTAMP stop (when it was destroyed), HAS_STOP
 *   32 u32 conntrack id          36 u32 status (IPS_* bits)
 *   40 u32 mark                  44 u32 timeout (s)
 *   48 original tuple: src (A bytes), dst (A), then 4 bytes: sport, dport
 *      (u16 each: TCP, UDP, UDP-Lite, SCTP, DCCP) or type, code (u8 each)
 *      and id (u16: ICMP, ICMPv6); zero for other protocols
 *   .. reply tuple, the same shape
 *   .. with HAS_COUNTERS: u64 original packets, bytes, reply packets, bytes
 * kind 2 LOSS: the kernel dropped events before this block (netlink
 *    ENOBUFS: the socket buffer overflowed); how many is not known.
 *    0 u64 time it was seen (ns)   8 u32 overruns since the start (this one
 *    included)                     12 u32 reserved
 * kind 3 START: the listener was running when this file began.
 *    0 u64 time (ns)   8 u8 nf_conntrack_timestamp: 0 off, 1 on, 2 turned on
 *    by natlens-capture, 255 unknown   9 u8 nf_conntrack_acct (0, 1, 255)
 *    10 u16 reserved   12 u32 socket receive buffer (bytes)
 *    16 u32 overruns before this file (earlier files of a rotation)
 * kind 4 END: written last in a file.
 *    0 u64 time (ns)   8 u64 events written into this file
 *    16 u32 overruns during this file   20 u32 reserved
 */
#ifndef NATLENS_CTEV_H
#define NATLENS_CTEV_H

#include <stddef.h>
#include <stdint.h>
#include "natlens/decode.h"

#define NL_CTEV_BLOCK_TYPE   0x00000BADu   /* pcapng Custom Block, copiable */
#define NL_CTEV_PEN          32473u
#define NL_CTEV_TAG          "NLCT"
#define NL_CTEV_VERSION      1
/* Largest custom data ctev_encode() writes (PEN included): an IPv6 event
 * with counters is 4 + 8 + 48 + 72 + 32 = 164 bytes. Readers accept up to
 * NL_CTEV_MAX_DATA (later versions may append fields). */
#define NL_CTEV_DATA_MAX     256
#define NL_CTEV_MAX_DATA     65536

enum { NL_CTEV_EVENT = 1, NL_CTEV_LOSS = 2, NL_CTEV_START = 3, NL_CTEV_END = 4 };
enum { NL_CTEV_NEW = 1, NL_CTEV_UPDATE = 2, NL_CTEV_DESTROY = 3 };

/* nl_ctev.present */
enum {
    NL_CTEV_HAS_START    = 1u << 0,
    NL_CTEV_HAS_STOP     = 1u << 1,
    NL_CTEV_HAS_ID       = 1u << 2,
    NL_CTEV_HAS_STATUS   = 1u << 3,
    NL_CTEV_HAS_MARK     = 1u << 4,
    NL_CTEV_HAS_ZONE     = 1u << 5,
    NL_CTEV_HAS_TIMEOUT  = 1u << 6,
    NL_CTEV_HAS_COUNTERS = 1u << 7
};

/* The kernel's conntrack status bits we read (linux/netfilter/
 * nf_conntrack_common.h, a stable ABI). */
enum {
    NL_CTEV_IPS_SEEN_REPLY = 1u << 1,
    NL_CTEV_IPS_ASSURED    = 1u << 2,
    NL_CTEV_IPS_SRC_NAT    = 1u << 4,
    NL_CTEV_IPS_DST_NAT    = 1u << 5
};

#define NL_CTEV_NO_STATE 255

typedef struct nl_ctev_tuple {
    nl_addr  src, dst;      /* IPv4 as nl_addr holds it (nl_addr_from_v4) */
    uint16_t sport, dport;  /* ports, 0 for ICMP */
    uint8_t  type, code;    /* ICMP / ICMPv6 */
    uint16_t icmp_id;
} nl_ctev_tuple;

typedef struct nl_ctev {
    uint8_t  kind;          /* NL_CTEV_EVENT ... */
    /* EVENT */
    uint8_t  event;         /* NL_CTEV_NEW / UPDATE / DESTROY */
    uint8_t  family;        /* 4 or 6 */
    uint8_t  proto;
    uint8_t  tcp_state;     /* NL_CTEV_NO_STATE when none */
    uint16_t present;       /* NL_CTEV_HAS_* */
    uint16_t zone;
    uint64_t recv_ns;       /* EVENT: receive time; other kinds: their time */
    uint64_t start_ns, stop_ns;
    uint32_t id, status, mark, timeout;
    nl_ctev_tuple orig, reply;
    uint64_t counters[4];   /* orig pkts, orig bytes, reply pkts, reply bytes */
    /* LOSS, START, END */
    uint32_t overruns;
    uint8_t  tstamp_sysctl, acct_sysctl;
    uint32_t rcvbuf;
    uint64_t events;
} nl_ctev;

/* The custom data of one block for ev (PEN first, in host byte order as
 * cap_pcapng writes sections; the rest big-endian) into buf (>= len
 * bytes). Returns the length (a multiple of 4, <= NL_CTEV_DATA_MAX), or 0
 * when ev cannot be encoded (unknown kind or family) or len is too small. */
size_t ctev_encode(const nl_ctev *ev, uint8_t *buf, size_t len);

/* Decode the custom data that follows the PEN (data[0..n): from the tag
 * on, the PEN already checked by the caller) into *ev. Returns 1 decoded,
 * 0 not ours (another tag) or a kind this reader does not know (skip
 * quietly), -1 damaged or a version this reader does not know: *why says
 * what (a static string). Never reads outside data[0..n). */
int ctev_decode(const uint8_t *data, size_t n, nl_ctev *ev, const char **why);

/* "NEW", "UPDATE", "DESTROY", "?" */
const char *ctev_event_name(uint8_t event);
/* The kernel's TCP state names as conntrack(8) prints them ("SYN_SENT",
 * "ESTABLISHED", ..., "SYN_SENT2"), NULL for NL_CTEV_NO_STATE or out of
 * range. */
const char *ctev_tcp_state_name(uint8_t state);

#endif
