/* test_frame_ref.c - one capture point of several files (frame_ref.h,
 * source_open_merged()): frame numbers that carry their file, names
 * taken from the point's '+' list, and the k-way merge itself on the
 * asym-return sample's two server interfaces: every packet of both files
 * once, in time order, each file's frames in their own order, the bytes
 * of the packet handed out valid (the decoded ports match them). */
#include <stdlib.h>
#include <string.h>
#include "natlens/frame_ref.h"
#include "natlens/source.h"
#include "natlens/source_stream.h"
#include "unit.h"

static int streq(const char *a, const char *b)
{
    if (strcmp(a, b) != 0) {
        fprintf(stderr, "  got '%s', want '%s'\n", a, b);
        return 0;
    }
    return 1;
}

static void test_numbers(void)
{
    char b[64];
    uint64_t f = frame_ref_make(1, 3);
    CHECK_EQ(frame_ref_file(f), 1);
    CHECK_EQ(frame_ref_local(f), 3);
    CHECK_EQ(frame_ref_file(3), -1);          /* a single file's frame */
    CHECK_EQ(frame_ref_local(3), 3);
    CHECK_EQ(frame_ref_file(frame_ref_make(0, 1)), 0);
    CHECK_EQ(frame_ref_ifx_file(NL_POINT_IFX_BASE + 2), 2);
    CHECK_EQ(frame_ref_ifx_file(3), -1);
    frame_ref_cite("a.pcap+b.pcap", f, b, sizeof b);
    CHECK(streq(b, "b.pcap #3"));
    frame_ref_cite("a.pcap", 7, b, sizeof b);
    CHECK(streq(b, "#7"));
    CHECK(streq(frame_ref_where("a.pcap+b.pcap", frame_ref_make(0, 9), b, sizeof b), "a.pcap"));
    CHECK(streq(frame_ref_where("x+y.pcap", 9, b, sizeof b), "x+y.pcap"));   /* not merged */
    CHECK_EQ(frame_ref_file_name("a.pcap+b.pcap", 2, b, sizeof b), -1); /* no third file */
    CHECK_EQ(frame_ref_file_name("a+b+c", 2, b, sizeof b), 0);
    CHECK(streq(b, "c"));
    CHECK_EQ(frame_ref_name_iface("server-eth1.pcap", b, sizeof b), 0);
    CHECK(streq(b, "eth1"));
    CHECK_EQ(frame_ref_name_iface("client-side.pcap", b, sizeof b), -1);   /* no digit */
    CHECK_EQ(frame_ref_name_iface("server.pcap", b, sizeof b), -1);
    CHECK_EQ(frame_ref_name_iface("x-e;th0.pcap", b, sizeof b), -1);       /* not a name */
}

static void test_merge(void)
{
    const char *paths[2] = {"samples/asym-return/server-eth0.pcap",
                            "samples/asym-return/server-eth1.pcap"};
    nl_stream *st[2];
    char err[512];
    nl_source *s;
    nl_packet p;
    const uint8_t *bytes;
    uint64_t last_ts = 0, last_frame[2] = {0, 0}, n[2] = {0, 0};
    int rc, order_ok = 1, frames_ok = 1, bytes_ok = 1;

    for (int i = 0; i < 2; i++)
        if (!(st[i] = source_stream_open(paths[i], err))) {
            fprintf(stderr, "  %s\n", err);
            CHECK(0);
            return;
        }
    s = source_open_merged(st, paths, 2, "eth0+eth1", NULL, err);
    CHECK(s != NULL);
    if (!s)
        return;
    memset(&p, 0, sizeof p);
    while ((rc = source_next(s, &p, &bytes)) == 1) {
        int f = frame_ref_file(p.frame);
        if (f < 0 || f > 1) {
            CHECK(0);
            break;
        }
        if (p.ts_ns < last_ts)
            order_ok = 0;
        if (frame_ref_local(p.frame) <= last_frame[f])
            frames_ok = 0;
        if (p.ifindex != NL_POINT_IFX_BASE + f)
            frames_ok = 0;
        /* the bytes are this packet's: the TCP source port read from them */
        if (p.proto == 6 && (uint32_t)p.l4_off + 2 <= p.caplen &&
            ((bytes[p.l4_off] << 8) | bytes[p.l4_off + 1]) != p.sport)
            bytes_ok = 0;
        last_ts = p.ts_ns;
        last_frame[f] = frame_ref_local(p.frame);
        n[f]++;
    }
    CHECK_EQ(rc, 0);
    CHECK(order_ok);
    CHECK(frames_ok);
    CHECK(bytes_ok);
    CHECK_EQ(n[0], 40);      /* tcpdump: 40 and 17 packets */
    CHECK_EQ(n[1], 17);
    source_close(s);
    source_stream_close(st[0]);
    source_stream_close(st[1]);
}

/* Equal times: the file given later first, as mergecap orders them (a
 * file merged with itself: every packet is a tie). */
static void test_ties(void)
{
    const char *paths[2] = {"samples/asym-return/server-eth1.pcap",
                            "samples/asym-return/server-eth1.pcap"};
    nl_stream *st[2];
    char err[512];
    nl_source *s;
    nl_packet p;
    const uint8_t *bytes;
    int k = 0, ok = 1;
    for (int i = 0; i < 2; i++)
        if (!(st[i] = source_stream_open(paths[i], err))) {
            CHECK(0);
            return;
        }
    s = source_open_merged(st, paths, 2, "x+x", NULL, err);
    CHECK(s != NULL);
    if (!s)
        return;
    memset(&p, 0, sizeof p);
    while (source_next(s, &p, &bytes) == 1) {
        /* 1, 0, 1, 0, ...: the later file's copy of each packet first */
        if (frame_ref_file(p.frame) != (k % 2 == 0 ? 1 : 0))
            ok = 0;
        k++;
    }
    CHECK(ok);
    CHECK_EQ(k, 34);
    source_close(s);
    source_stream_close(st[0]);
    source_stream_close(st[1]);
}

int main(void)
{
    test_numbers();
    test_merge();
    test_ties();
    return UNIT_END();
}
