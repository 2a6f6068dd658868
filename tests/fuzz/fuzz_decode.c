/* fuzz_decode.c - libFuzzer target for decode_packet().
 *
 * Input: byte 0 picks a link type from fuzz_linktypes[] (the ones
 * decode_linktype_supported() accepts, plus one it must reject), byte 1
 * gives wirelen slack, the rest is the frame. The frame is decoded with and
 * without checksum verification, and what the decoder returned is read back
 * (payload range, text helpers, probe recognition) so that a wrong offset
 * shows up as an out-of-bounds read under ASan.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/decode.h"
#include "natlens/probe.h"

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
            (pkt.flags & NL_PKT_HAS_L4))
            fuzz_decode_check(&pkt, frame, caplen);
    }
    free(frame);
    return 0;
}
