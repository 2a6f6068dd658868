/* test_ctev.c - conntrack event blocks inside a capture (ctev.h): the layout
 * round trip, every cut of a block refused without a read past its end,
 * and whole pcapng files (both byte orders) read by trace_load(): record
 * flows with conntrack's legs, frame numbers as Wireshark counts them,
 * damaged blocks skipped with their byte offset, LOSS blocks warned. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "natlens/ctev.h"
#include "natlens/record.h"
#include "natlens/trace.h"
#include "unit.h"

static nl_ctev ev_tcp(uint8_t event, uint32_t id, uint16_t nat_port)
{
    nl_ctev ev;
    const uint8_t c[4] = {10, 72, 2, 222}, s[4] = {198, 51, 100, 80}, n[4] = {203, 0, 113, 2};
    memset(&ev, 0, sizeof ev);
    ev.kind = NL_CTEV_EVENT;
    ev.event = event;
    ev.family = 4;
    ev.proto = 6;
    ev.tcp_state = event == NL_CTEV_NEW ? 1 : 3;
    ev.present = NL_CTEV_HAS_ID | NL_CTEV_HAS_STATUS | NL_CTEV_HAS_MARK;
    ev.recv_ns = 1796293808207210000ull + id;
    ev.id = id;
    ev.status = event == NL_CTEV_NEW ? 0x8 : 0xe;   /* CONFIRMED; + SEEN_REPLY, ASSURED */
    ev.mark = 7;
    nl_addr_from_v4(&ev.orig.src, c);
    nl_addr_from_v4(&ev.orig.dst, s);
    ev.orig.sport = 40000;
    ev.orig.dport = 8080;
    nl_addr_from_v4(&ev.reply.src, s);
    nl_addr_from_v4(&ev.reply.dst, n);
    ev.reply.sport = 8080;
    ev.reply.dport = nat_port;
    return ev;
}

static void test_roundtrip(void)
{
    uint8_t buf[NL_CTEV_DATA_MAX];
    nl_ctev a = ev_tcp(NL_CTEV_NEW, 77, 61002), b;
    const char *why;
    size_t n = ctev_encode(&a, buf, sizeof buf);
    CHECK_EQ(n, 4 + 8 + 48 + 24);
    CHECK_EQ(ctev_decode(buf + 4, n - 4, &b, &why), 1);
    CHECK(!memcmp(&a.orig, &b.orig, sizeof a.orig) && !memcmp(&a.reply, &b.reply, sizeof a.reply));
    CHECK_EQ(b.id, 77);
    CHECK_EQ(b.recv_ns, a.recv_ns);
    CHECK_EQ(b.mark, 7);
    /* IPv6 ICMPv6 echo with counters: the largest event */
    memset(&a, 0, sizeof a);
    a.kind = NL_CTEV_EVENT;
    a.event = NL_CTEV_DESTROY;
    a.family = 6;
    a.proto = 58;
    a.tcp_state = NL_CTEV_NO_STATE;
    a.present = NL_CTEV_HAS_COUNTERS | NL_CTEV_HAS_START | NL_CTEV_HAS_STOP | NL_CTEV_HAS_ZONE;
    nl_addr_parse(&a.orig.src, "2001:db8::2");
    nl_addr_parse(&a.orig.dst, "2001:db8:1::80");
    a.orig.type = 128;
    a.orig.icmp_id = 4242;
    a.reply.src = a.orig.dst;
    nl_addr_parse(&a.reply.dst, "2001:db8:ff::1");
    a.reply.type = 129;
    a.reply.icmp_id = 61000;
    a.counters[0] = 3;
    a.counters[3] = 1u << 31;
    a.start_ns = 1;
    a.stop_ns = 2;
    a.zone = 3;
    n = ctev_encode(&a, buf, sizeof buf);
    CHECK_EQ(n, 164);
    CHECK_EQ(ctev_decode(buf + 4, n - 4, &b, &why), 1);
    CHECK(!memcmp(&a.orig, &b.orig, sizeof a.orig) && !memcmp(&a.reply, &b.reply, sizeof a.reply));
    CHECK_EQ(b.counters[3], 1u << 31);
    CHECK_EQ(b.zone, 3);
    CHECK_EQ(b.reply.icmp_id, 61000);
    /* every cut: refused (never 1), and never a read past the cut (ASan) */
    for (size_t k = 0; k < n - 4; k++) {
        uint8_t *cut = malloc(k ? k : 1);
        memcpy(cut, buf + 4, k);
        CHECK(ctev_decode(cut, k, &b, &why) != 1);
        free(cut);
    }
    /* another tag: not ours; a later kind: skipped; a later version: refused */
    memcpy(buf + 4, "XXXX", 4);
    CHECK_EQ(ctev_decode(buf + 4, n - 4, &b, &why), 0);
    memcpy(buf + 4, "NLCT", 4);
    buf[9] = 9;
    CHECK_EQ(ctev_decode(buf + 4, n - 4, &b, &why), 0);
    buf[9] = NL_CTEV_EVENT;
    buf[8] = 2;
    CHECK_EQ(ctev_decode(buf + 4, n - 4, &b, &why), -1);
    CHECK(why && strstr(why, "version"));
    CHECK(ctev_tcp_state_name(9) && !strcmp(ctev_tcp_state_name(9), "SYN_SENT2"));
    CHECK(ctev_tcp_state_name(NL_CTEV_NO_STATE) == NULL);
}

/* ---- a pcapng file written here, in either byte order ------------------- */

typedef struct pn {
    uint8_t b[8192];
    size_t  n;
    int     be;
} pn;

static void pn_u32(pn *p, uint32_t v)
{
    if (p->be)
        v = __builtin_bswap32(v);
    memcpy(p->b + p->n, &v, 4);
    p->n += 4;
}

static void pn_raw(pn *p, const void *v, size_t n)
{
    memcpy(p->b + p->n, v, n);
    p->n += n;
    while (p->n % 4)
        p->b[p->n++] = 0;
}

static size_t pn_begin(pn *p, uint32_t type)
{
    size_t at = p->n;
    pn_u32(p, type);
    pn_u32(p, 0);
    return at;
}

static void pn_end(pn *p, size_t at)
{
    uint32_t len = (uint32_t)(p->n - at + 4), v = p->be ? __builtin_bswap32(len) : len;
    pn_u32(p, len);
    memcpy(p->b + at + 4, &v, 4);
}

static void pn_header(pn *p)
{
    size_t at = pn_begin(p, 0x0A0D0D0A);
    uint16_t ver[2] = {1, 0};
    uint64_t len = UINT64_MAX;
    pn_u32(p, 0x1A2B3C4D);
    if (p->be) {
        ver[0] = __builtin_bswap16(1);
    }
    pn_raw(p, ver, 4);
    pn_raw(p, &len, 8);
    pn_end(p, at);
    at = pn_begin(p, 1);
    {
        uint16_t lt[2] = {101, 0};   /* LINKTYPE_RAW */
        if (p->be)
            lt[0] = __builtin_bswap16(101);
        pn_raw(p, lt, 4);
    }
    pn_u32(p, 65535);
    pn_end(p, at);
}

/* A SYN 10.72.2.222:40000 -> 198.51.100.80:8080, raw IP, at ts_ns (the
 * IDB has no if_tsresol: microseconds). */
static void pn_packet(pn *p, uint64_t ts_ns)
{
    static const uint8_t pkt[40] = {
        0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 10, 72, 2, 222, 198, 51, 100, 80,
        0x9c, 0x40, 0x1f, 0x90, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x20, 0, 0, 0, 0, 0};
    size_t at = pn_begin(p, 6);
    uint64_t ts = ts_ns / 1000;
    pn_u32(p, 0);
    pn_u32(p, (uint32_t)(ts >> 32));
    pn_u32(p, (uint32_t)ts);
    pn_u32(p, sizeof pkt);
    pn_u32(p, sizeof pkt);
    pn_raw(p, pkt, sizeof pkt);
    pn_end(p, at);
}

/* A conntrack block of ev; `mangle` 1 breaks its body (event type 0). */
static size_t pn_ctev(pn *p, const nl_ctev *ev, int mangle)
{
    uint8_t data[NL_CTEV_DATA_MAX];
    size_t n = ctev_encode(ev, data, sizeof data), at = pn_begin(p, NL_CTEV_BLOCK_TYPE);
    pn_u32(p, NL_CTEV_PEN);   /* the PEN in the section's order */
    if (mangle)
        data[12] = 0;
    pn_raw(p, data + 4, n - 4);
    pn_end(p, at);
    return at;
}

static nl_trace *load(const pn *p, char *path)
{
    char err[512];
    nl_trace *t;
    int fd;
    strcpy(path, "/tmp/test_ctev.XXXXXX");
    fd = mkstemp(path);
    if (fd < 0 || write(fd, p->b, p->n) != (ssize_t)p->n)
        return NULL;
    close(fd);
    t = trace_load(path, NULL, err);
    if (!t)
        fprintf(stderr, "trace_load: %s\n", err);
    return t;
}

static void test_capture(int be)
{
    pn p;
    nl_ctev st, e1 = ev_tcp(NL_CTEV_NEW, 91, 61002), e2 = ev_tcp(NL_CTEV_UPDATE, 91, 61002);
    nl_ctev loss;
    char path[64], want[128];
    size_t bad_at, n;
    nl_trace *t;
    nl_flow **fl;
    nl_record_capture_stats cs;
    memset(&p, 0, sizeof p);
    p.be = be;
    memset(&st, 0, sizeof st);
    st.kind = NL_CTEV_START;
    st.tstamp_sysctl = 2;
    memset(&loss, 0, sizeof loss);
    loss.kind = NL_CTEV_LOSS;
    loss.overruns = 1;
    pn_header(&p);
    pn_ctev(&p, &st, 0);               /* frame 1 */
    pn_ctev(&p, &e1, 0);               /* frame 2 */
    pn_packet(&p, e1.recv_ns - 1000);  /* frame 3 */
    bad_at = pn_ctev(&p, &e2, 1);      /* frame 4: damaged body */
    pn_ctev(&p, &loss, 0);             /* frame 5 */
    pn_ctev(&p, &e2, 0);               /* frame 6 */
    pn_packet(&p, e1.recv_ns + 1000);  /* frame 7 */
    t = load(&p, path);
    CHECK(t != NULL);
    if (!t)
        return;
    CHECK_EQ(t->packets, 2);
    CHECK_EQ(record_count(t), 2);      /* the entry's two legs */
    fl = trace_flows(t, &n);
    CHECK_EQ(n, 3);                    /* the packet flow, then the legs */
    if (n == 3) {
        const nl_record_info *in = record_info_of(t, fl[1]), *out = record_info_of(t, fl[2]);
        char a[64];
        CHECK(record_info_of(t, fl[0]) == NULL);
        CHECK_EQ(fl[0]->first_frame, 3);   /* START and the first event are frames 1, 2 */
        CHECK(in && out && in->side == NL_REC_SIDE_INNER && in->other_leg == fl[2]->id);
        CHECK(in && in->line == 2 && in->nrecords == 2 && in->ct_id == 91);
        CHECK(in && (in->ct_flags & NL_REC_CT_ASSURED) && !(in->ct_flags & NL_REC_CT_UNREPLIED));
        CHECK(in && (in->ct_flags & NL_REC_CT_MARK) && in->ct_mark == 7);
        CHECK(in && in->state && !strcmp(in->state, "ESTABLISHED"));
        CHECK_EQ(fl[1]->orig_port, 40000);
        CHECK(!strcmp(nl_addr_str(&fl[2]->orig_ip, a, sizeof a), "203.0.113.2"));
        CHECK_EQ(fl[2]->orig_port, 61002);
        CHECK_EQ(fl[1]->first_ns, e1.recv_ns);
    }
    /* the packet span stays the packets' own */
    CHECK_EQ(t->first_ns, (e1.recv_ns - 1000) / 1000 * 1000);
    record_capture_stats(t, &cs);
    CHECK(cs.listener && cs.events == 2 && cs.losses == 1 && cs.bad_blocks == 1 && cs.tstamp == 2);
    snprintf(want, sizeof want, "block at byte offset %zu (frame 4) skipped", bad_at);
    CHECK(t->warning && strstr(t->warning, want));
    CHECK(t->warning && strstr(t->warning, "dropped conntrack events 1 time while capturing"));
    trace_free(t);
    /* a file cut inside an event block after the last packet: everything
     * before it read, the damage named at that block's offset */
    memset(&p, 0, sizeof p);
    p.be = be;
    pn_header(&p);
    pn_ctev(&p, &e1, 0);
    pn_packet(&p, e1.recv_ns);
    bad_at = pn_ctev(&p, &e2, 0);
    p.n -= 20;
    t = load(&p, path);
    CHECK(t != NULL);
    if (t) {
        snprintf(want, sizeof want, "byte offset %zu", bad_at);
        CHECK(t->warning && strstr(t->warning, want));
        CHECK_EQ(t->damage_offset, bad_at);
        CHECK_EQ(t->packets, 1);
        CHECK_EQ(record_count(t), 2);
        trace_free(t);
    }
    unlink(path);
}

int main(void)
{
    test_roundtrip();
    test_capture(0);
    test_capture(1);
    return UNIT_END();
}
