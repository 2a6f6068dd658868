/* fuzz_decode.c - libFuzzer target for decode_packet() and the tunnel
 * decoders.
 *
 * Input: byte 0 picks a link type from fuzz_linktypes[] (the ones
 * decode_linktype_supported() accepts, plus one it must reject), byte 1
 * gives wirelen slack, the rest is the frame. The frame is decoded with and
 * without checksum verification, and what the decoder returned is read back
 * (payload range, text helpers, probe recognition) so that a wrong offset
 * shows up as an out-of-bounds read under ASan. Then the packet is opened
 * as a tunnel, layer by layer up to NL_TUN_MAX_DEPTH: IP-in-IP/GRE, and for
 * UDP every kind at the first layer, the port's kind or the detected one
 * below; each encapsulation's inner range and each inner packet is checked
 * the same way.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/decode.h"
#include "natlens/probe.h"
#include "natlens/tunnel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* DLT values: EN10MB, RAW (12), LINKTYPE_RAW (101), IPV4, IPV6, NULL, LOOP,
 * LINUX_SLL, LINUX_SLL2, and 147 (USER0: unsupported, must be refused). */
static const int fuzz_linktypes[] = {1, 12, 101, 228, 229, 0, 108, 113, 276, 147};
#define FUZZ_NLT (sizeof fuzz_linktypes / sizeof fuzz_linktypes[0])

static volatile uint32_t fuzz_sink;

static void fuzz_decode_check(const nl_packet *p, const uint8_t *frame, uint32_t caplen)
{
    char buf[64];
    nl_probe_info info;
    uint32_t i, sum = 0;

    if (p->payload_caplen) {
        /* the header promises [payload_off, +payload_caplen) is inside the frame */
        if ((uint64_t)p->payload_off + p->payload_caplen > caplen)
            abort();
        for (i = 0; i < p->payload_caplen; i++)
            sum += frame[p->payload_off + i];
    }
    if (p->ip_ver) {
        nl_addr_str(&p->src, buf, sizeof buf);
        nl_addr_str(&p->dst, buf, sizeof buf);
    }
    decode_tcp_flags_str(p->tcp_flags, buf, sizeof buf);
    if (probe_recognize(p, frame, &info) == 1)
        sum += info.seq;
    fuzz_sink = sum;
}

static const nl_tunnel_conf *fuzz_conf(void)
{
    static nl_tunnel_conf c;
    static int done;
    if (!done) {
        tunnel_conf_default(&c);
        done = 1;
    }
    return &c;
}

static void fuzz_open(const nl_packet *p, const uint8_t *frame, uint32_t caplen, int csum,
                      int depth);

/* Decode what encapsulation e holds and go one layer further. */
static void fuzz_inner(const nl_packet *p, const nl_encap *e, const uint8_t *frame,
                       uint32_t caplen, int csum, int depth)
{
    nl_packet in;
    /* the encapsulation must point inside the captured frame */
    if (e->end > caplen || e->off > e->end)
        abort();
    memset(&in, 0x5a, sizeof in);
    if (decode_inner(&in, p, e, frame, csum) == 0 || (in.flags & NL_PKT_HAS_L4)) {
        fuzz_decode_check(&in, frame, caplen);
        fuzz_open(&in, frame, caplen, csum, depth + 1);
    }
}

static void fuzz_open(const nl_packet *p, const uint8_t *frame, uint32_t caplen, int csum,
                      int depth)
{
    nl_encap e;
    int k;
    if (depth >= NL_TUN_MAX_DEPTH)
        return;
    if (decode_encap_ip(&e, p, frame) == NL_ENCAP_OK)
        fuzz_inner(p, &e, frame, caplen, csum, depth);
    if (p->proto != 17 || !(p->flags & NL_PKT_HAS_L4))
        return;
    if (depth == 0) {                     /* every decoder once */
        for (k = NL_TUN_GRE; k < NL_TUN_KINDS; k++)
            if (decode_encap_udp(&e, k, p, frame) == NL_ENCAP_OK)
                fuzz_inner(p, &e, frame, caplen, csum, depth);
        return;
    }
    k = tunnel_conf_kind(fuzz_conf(), p->dport);
    if (!k)
        k = tunnel_conf_kind(fuzz_conf(), p->sport);
    if (!k)
        k = decode_encap_detect(p, frame);
    if (k && decode_encap_udp(&e, k, p, frame) == NL_ENCAP_OK)
        fuzz_inner(p, &e, frame, caplen, csum, depth);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nl_packet pkt;
    uint8_t *frame;
    uint32_t caplen, wirelen;
    int lt, csum;

    if (size < 2)
        return 0;
    lt = fuzz_linktypes[data[0] % FUZZ_NLT];
    caplen = (uint32_t)(size - 2);
    wirelen = caplen + (data[1] & 0x80 ? (uint32_t)(data[1] & 0x7f) * 16 : 0);
    /* an exact-size copy: ASan flags any read past caplen */
    frame = malloc(caplen ? caplen : 1);
    if (!frame)
        return 0;
    memcpy(frame, data + 2, caplen);
    for (csum = 0; csum <= 1; csum++) {
        memset(&pkt, 0xa5, sizeof pkt);   /* the decoder must not rely on zeroed input */
        if (decode_packet(&pkt, frame, caplen, wirelen, lt, csum) == 0 ||
            (pkt.flags & NL_PKT_HAS_L4)) {
            fuzz_decode_check(&pkt, frame, caplen);
            fuzz_open(&pkt, frame, caplen, csum, 0);
        }
    }
    free(frame);
    return 0;
}
