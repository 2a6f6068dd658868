/* test_probe.c - marked probes (probe.h) and host metadata (hostmeta.h).
 *
 * Probes: encode -> frame -> decode_packet -> probe_recognize round trip
 * (TCP and UDP, after a simulated SNAT), every cut length and every
 * single-byte corruption rejected, lying payload spans rejected, random
 * frames never crash. Hostmeta: JSON validation, route lookup on stored
 * `ip -j` data, reading a hand-written pcapng (and refusing lying block
 * lengths). Exit 0 on success. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include "natlens/decode.h"
#include "natlens/probe.h"
#include "natlens/hostmeta.h"

static int failures;
#define CHECK(c) do { if (!(c)) { failures++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); } } while (0)

static uint32_t rng = 0x12345678u;
static uint32_t xorshift(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static void be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* Ethernet + IPv4 + TCP SYN (or UDP) carrying `pl`. Returns frame length. */
static size_t build_frame(uint8_t *f, int proto, const uint8_t src[4],
                          uint16_t sport, const uint8_t dst[4], uint16_t dport,
                          uint32_t isn, uint16_t ipid, const uint8_t *pl, size_t pl_len)
{
    size_t l4 = proto == IPPROTO_TCP ? 20 : 8, off = 14;
    memset(f, 0, 14 + 20 + l4 + pl_len);
    memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
    be16(f + 12, 0x0800);
    f[off] = 0x45;
    be16(f + off + 2, (uint16_t)(20 + l4 + pl_len));
    be16(f + off + 4, ipid);
    be16(f + off + 6, 0x4000);
    f[off + 8] = 64;
    f[off + 9] = (uint8_t)proto;
    memcpy(f + off + 12, src, 4);
    memcpy(f + off + 16, dst, 4);
    off += 20;
    be16(f + off, sport);
    be16(f + off + 2, dport);
    if (proto == IPPROTO_TCP) {
        be32(f + off + 4, isn);
        f[off + 12] = 0x50;
        f[off + 13] = 0x02;   /* SYN */
        be16(f + off + 14, 64240);
    } else {
        be16(f + off + 4, (uint16_t)(8 + pl_len));
    }
    off += l4;
    memcpy(f + off, pl, pl_len);
    return off + pl_len;
}

static void test_probe_roundtrip(int proto)
{
    static const uint8_t inner[4] = {10, 72, 2, 222}, nat[4] = {203, 0, 113, 2},
                         srv[4] = {198, 51, 100, 80};
    nl_probe_info in, out, dec;
    uint8_t pl[NL_PROBE_PAYLOAD_LEN + 8], frame[256];
    nl_packet pkt;
    size_t flen;
    char txt[64];

    memset(&in, 0, sizeof in);
    nl_addr_from_v4(&in.inner_ip, inner);
    snprintf(in.via, sizeof in.via, "ens4");
    snprintf(in.session, sizeof in.session, "lab-42");
    in.proto = (uint8_t)proto;
    in.dst_port = 25;
    in.seq = 7;
    in.ts_ns = 1734663662123456789ull;
    CHECK(probe_encode(pl, NL_PROBE_PAYLOAD_LEN - 1, &in) == -1);
    CHECK(probe_encode(pl, sizeof pl, &in) == NL_PROBE_PAYLOAD_LEN);
    CHECK(memcmp(pl, "NLPROBE1", 8) == 0);
    CHECK(probe_decode_payload(pl, NL_PROBE_PAYLOAD_LEN, &dec) == 0);
    CHECK(nl_addr_cmp(&dec.inner_ip, &in.inner_ip) == 0);
    CHECK(strcmp(dec.via, "ens4") == 0 && strcmp(dec.session, "lab-42") == 0);
    CHECK(dec.seq == 7 && dec.ts_ns == in.ts_ns && dec.dst_port == 25 &&
          dec.proto == proto);

    /* As the server sees it after SNAT: source 203.0.113.2:61002. */
    flen = build_frame(frame, proto, nat, 61002, srv, 25, probe_isn(7), probe_ip_id(7),
                       pl, NL_PROBE_PAYLOAD_LEN);
    memset(&pkt, 0, sizeof pkt);
    CHECK(decode_packet(&pkt, frame, (uint32_t)flen, (uint32_t)flen, 1, 0) == 0);
    pkt.ts_ns = 1734663662200000000ull;
    CHECK(probe_recognize(&pkt, frame, &out) == 1);
    CHECK(strcmp(nl_addr_str(&out.inner_ip, txt, sizeof txt), "10.72.2.222") == 0);
    CHECK(strcmp(nl_addr_str(&out.seen_as_ip, txt, sizeof txt), "203.0.113.2") == 0);
    CHECK(out.seen_as_port == 61002 && out.seen_dst_port == 25);
    CHECK(strcmp(out.via, "ens4") == 0 && out.seq == 7);
    CHECK(out.ts_ns == in.ts_ns && out.seen_ts_ns == pkt.ts_ns);
    CHECK(pkt.ip_id == probe_ip_id(7));
    if (proto == IPPROTO_TCP)
        CHECK(pkt.seq == probe_isn(7) && (pkt.seq >> 16) == NL_PROBE_ISN_MAGIC);

    /* Every cut of the frame: decoding is partial, recognition refuses. */
    for (size_t cut = 0; cut < flen; cut++) {
        nl_packet p2;
        memset(&p2, 0, sizeof p2);
        decode_packet(&p2, frame, (uint32_t)cut, (uint32_t)flen, 1, 0);
        CHECK(probe_recognize(&p2, frame, &out) == 0);
    }
    /* Every single-byte corruption of the payload is refused. */
    for (size_t i = 0; i < NL_PROBE_PAYLOAD_LEN; i++) {
        nl_packet p2;
        size_t at = flen - NL_PROBE_PAYLOAD_LEN + i;
        frame[at] ^= 0x20;
        memset(&p2, 0, sizeof p2);
        decode_packet(&p2, frame, (uint32_t)flen, (uint32_t)flen, 1, 0);
        CHECK(probe_recognize(&p2, frame, &out) == 0);
        frame[at] ^= 0x20;
    }
    /* A packet whose payload span lies past caplen is refused. */
    pkt.payload_caplen = pkt.caplen;
    CHECK(probe_recognize(&pkt, frame, &out) == 0);
    CHECK(probe_recognize(NULL, frame, &out) == 0);
}

static void test_probe_hostile(void)
{
    uint8_t frame[1600], pl[NL_PROBE_PAYLOAD_LEN];
    nl_probe_info in, out;
    nl_packet pkt;
    int hits = 0;

    /* Control bytes in the name fields never come back raw. */
    memset(&in, 0, sizeof in);
    snprintf(in.via, sizeof in.via, "a\x1b[2Jb");
    probe_encode(pl, sizeof pl, &in);
    CHECK(probe_decode_payload(pl, sizeof pl, &out) == 0);
    CHECK(strchr(out.via, 0x1b) == NULL && strlen(out.via) == 6);

    /* Random frames, some with a valid magic planted: no crash, no
     * recognition unless the check word matches. */
    for (int iter = 0; iter < 20000; iter++) {
        uint32_t len = xorshift() % sizeof frame;
        for (uint32_t i = 0; i < len; i++)
            frame[i] = (uint8_t)xorshift();
        if (len > 60 && (iter & 1)) {
            frame[12] = 0x08; frame[13] = 0x00; frame[14] = 0x45;
            frame[23] = (iter & 2) ? 6 : 17;
            memcpy(frame + len - (len > 90 ? 80 : 40), "NLPROBE1", 8);
        }
        memset(&pkt, 0, sizeof pkt);
        decode_packet(&pkt, frame, len, len + (xorshift() % 3), 1, 0);
        hits += probe_recognize(&pkt, frame, &out);
    }
    CHECK(hits == 0);
}

/* ------------------------------------------------------------ hostmeta */

static const char *meta_doc =
    "{\"natlens_hostmeta\":1,\"hostname\":\"vm1\",\"role\":\"client\","
    "\"ifaces\":[{\"index\":1,\"name\":\"lo\"},{\"index\":7,\"name\":\"ens4\"}],"
    "\"route\":["
    "{\"dst\":\"default\",\"gateway\":\"10.72.0.1\",\"dev\":\"ens4\",\"flags\":[]},"
    "{\"dst\":\"10.72.0.0/16\",\"dev\":\"ens4\",\"protocol\":\"kernel\",\"flags\":[]},"
    "{\"dst\":\"192.168.0.0/16\",\"dev\":\"ens5\",\"flags\":[]},"
    "{\"dst\":\"198.51.100.0/24\",\"gateway\":\"192.168.0.1\",\"dev\":\"ens5\",\"metric\":200,\"flags\":[]},"
    "{\"dst\":\"198.51.100.0/24\",\"gateway\":\"10.72.0.9\",\"dev\":\"ens4\",\"metric\":100,\"flags\":[]},"
    "{\"dst\":\"203.0.113.0/24\",\"table\":\"100\",\"dev\":\"wg0\",\"flags\":[]},"
    "{\"type\":\"blackhole\",\"dst\":\"192.0.2.0/24\",\"flags\":[]},"
    "{\"type\":\"local\",\"dst\":\"10.72.2.222\",\"dev\":\"ens4\",\"table\":\"local\",\"flags\":[]}],"
    "\"rule\":[{\"priority\":0,\"src\":\"all\",\"table\":\"local\"},"
    "{\"priority\":100,\"src\":\"all\",\"fwmark\":\"0x1\",\"table\":\"100\"},"
    "{\"priority\":200,\"src\":\"all\",\"table\":\"100\"},"
    "{\"priority\":32766,\"src\":\"all\",\"table\":\"main\"}],"
    "\"x\":\"esc \\\" \\\\ \\u0041\"}";

static void test_hostmeta_json(void)
{
    char dev[32], gw[64];
    static const char *const bad[] = {"", "{", "[1,]", "{\"a\"}", "{\"a\":}",
        "\"\\x\"", "[01", "{\"a\":1}}", "\"a\nb\"", "tru", "[\"\\u12\"]"};
    CHECK(hostmeta_json_valid(meta_doc, strlen(meta_doc)));
    CHECK(hostmeta_json_valid("[]", 2) && hostmeta_json_valid(" {} ", 4));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(!hostmeta_json_valid(bad[i], strlen(bad[i])));
    {   /* deep nesting is refused, not a stack overflow */
        char deep[4001];
        memset(deep, '[', 4000);
        deep[4000] = '\0';
        CHECK(!hostmeta_json_valid(deep, 4000));
    }
    CHECK(hostmeta_route_lookup(meta_doc, "198.51.100.25", dev, sizeof dev, gw, sizeof gw) == 0);
    CHECK(strcmp(dev, "ens4") == 0 && strcmp(gw, "10.72.0.9") == 0);   /* lower metric */
    CHECK(hostmeta_route_dev(meta_doc, "192.168.3.4", dev, sizeof dev) == 0 &&
          strcmp(dev, "ens5") == 0);
    CHECK(hostmeta_route_lookup(meta_doc, "8.8.8.8", dev, sizeof dev, gw, sizeof gw) == 0 &&
          strcmp(dev, "ens4") == 0 && strcmp(gw, "10.72.0.1") == 0);
    /* priority 100 needs a fwmark (skipped); 200 sends 203.0.113/24 to table 100 */
    CHECK(hostmeta_route_dev(meta_doc, "203.0.113.7", dev, sizeof dev) == 0 &&
          strcmp(dev, "wg0") == 0);
    CHECK(hostmeta_route_dev(meta_doc, "192.0.2.1", dev, sizeof dev) == -1);
    CHECK(hostmeta_route_dev(meta_doc, "10.72.2.222", dev, sizeof dev) == 0 &&
          strcmp(dev, "ens4") == 0);
    CHECK(hostmeta_route_dev(meta_doc, "2001:db8::1", dev, sizeof dev) == -1);
    CHECK(hostmeta_route_dev(meta_doc, "not-an-ip", dev, sizeof dev) == -1);
    CHECK(hostmeta_route_dev("{\"route\":7}", "10.0.0.1", dev, sizeof dev) == -1);
    CHECK(hostmeta_route_dev("garbage", "10.0.0.1", dev, sizeof dev) == -1);
    CHECK(hostmeta_ifname(meta_doc, 7, dev, sizeof dev) == 0 && strcmp(dev, "ens4") == 0);
    CHECK(hostmeta_ifname(meta_doc, 9, dev, sizeof dev) == -1);
    CHECK(hostmeta_get_str(meta_doc, "role", dev, sizeof dev) == 0 &&
          strcmp(dev, "client") == 0);
    CHECK(hostmeta_get_str(meta_doc, "x", dev, sizeof dev) == 0 &&
          strcmp(dev, "esc \" \\ A") == 0);   /* json-c decodes \\u0041 */
    CHECK(hostmeta_get_str(meta_doc, "nope", dev, sizeof dev) == -1);
}

static void put32(FILE *f, uint32_t v) { fwrite(&v, 4, 1, f); }

/* SHB, IDB, Custom Block with the document; optionally a lying length. */
static void write_pcapng(const char *path, const char *doc, int lie)
{
    FILE *f = fopen(path, "wb");
    uint32_t jl = (uint32_t)strlen(doc), pad = (4 - jl % 4) % 4;
    uint32_t cbl = 8 + 4 + 8 + 4 + jl + pad + 4;
    uint64_t sl = UINT64_MAX;
    put32(f, 0x0A0D0D0A); put32(f, 28); put32(f, 0x1A2B3C4D);
    put32(f, 0x00000001); fwrite(&sl, 8, 1, f); put32(f, 28);
    put32(f, 1); put32(f, 20); put32(f, 1); put32(f, 65535); put32(f, 20);
    put32(f, 0xBAD); put32(f, lie ? 0x7ffffff0u : cbl); put32(f, NL_HOSTMETA_PEN);
    fwrite(NL_HOSTMETA_TAG, 8, 1, f); put32(f, jl); fwrite(doc, jl, 1, f);
    fwrite("\0\0\0", pad, 1, f); put32(f, cbl);
    fclose(f);
}

/* SHB whose custom options (2989) carry the document in `chunk`-byte
 * pieces; swap_two exchanges the first two chunks (must be refused). */
static void write_pcapng_shb(const char *path, const char *doc, size_t chunk,
                             int swap_two)
{
    FILE *f = fopen(path, "wb");
    uint32_t jl = (uint32_t)strlen(doc), blen = 28, nch = (jl + (uint32_t)chunk - 1) / (uint32_t)chunk;
    uint64_t sl = UINT64_MAX;
    for (uint32_t i = 0; i < nch; i++) {
        uint32_t n = jl - i * (uint32_t)chunk < chunk ? jl - i * (uint32_t)chunk : (uint32_t)chunk;
        blen += 4 + ((20 + n + 3) & ~3u);
    }
    put32(f, 0x0A0D0D0A); put32(f, blen); put32(f, 0x1A2B3C4D);
    put32(f, 0x00000001); fwrite(&sl, 8, 1, f);
    for (uint32_t k = 0; k < nch; k++) {
        uint32_t i = swap_two && k < 2 ? 1 - k : k;
        uint32_t off = i * (uint32_t)chunk, n = jl - off < chunk ? jl - off : (uint32_t)chunk;
        uint16_t code = 2989, vlen = (uint16_t)(20 + n);
        fwrite(&code, 2, 1, f); fwrite(&vlen, 2, 1, f);
        put32(f, NL_HOSTMETA_PEN); fwrite(NL_HOSTMETA_TAG, 8, 1, f);
        put32(f, jl); put32(f, off); fwrite(doc + off, n, 1, f);
        fwrite("\0\0\0", (4 - vlen % 4) % 4, 1, f);
    }
    put32(f, 0); put32(f, blen);
    fclose(f);
}

static void test_hostmeta_read(void)
{
    /* tmpfs when there is one: this writes ~1300 small files */
    char path[64], err[512];
    int fd;
    snprintf(path, sizeof path, "%s/test_probe_XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    fd = mkstemp(path);
    char *s;
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    close(fd);
    write_pcapng(path, meta_doc, 0);
    s = hostmeta_read(path, err);
    CHECK(s && strcmp(s, meta_doc) == 0);
    free(s);
    write_pcapng(path, meta_doc, 1);
    s = hostmeta_read(path, err);
    CHECK(s == NULL && strstr(err, "damaged") != NULL);
    free(s);
    write_pcapng(path, "{\"natlens_hostmeta\":1,", 0);   /* invalid JSON */
    s = hostmeta_read(path, err);
    CHECK(s == NULL);
    free(s);
    /* Every truncation of a good file: no crash, never a wrong answer. */
    write_pcapng(path, meta_doc, 0);
    {
        FILE *f = fopen(path, "rb");
        long n;
        char *buf;
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        rewind(f);
        buf = malloc((size_t)n);
        CHECK(fread(buf, 1, (size_t)n, f) == (size_t)n);
        fclose(f);
        for (long cut = 0; cut < n; cut += 3) {
            f = fopen(path, "wb");
            fwrite(buf, 1, (size_t)cut, f);
            fclose(f);
            s = hostmeta_read(path, err);
            CHECK(s == NULL);
            free(s);
        }
        free(buf);
    }
    /* the writer's layout: SHB custom options, several chunks */
    write_pcapng_shb(path, meta_doc, 100, 0);
    s = hostmeta_read(path, err);
    CHECK(s && strcmp(s, meta_doc) == 0);
    free(s);
    write_pcapng_shb(path, meta_doc, 100, 1);
    s = hostmeta_read(path, err);
    CHECK(s == NULL);
    free(s);
    /* Random byte flips in a good file (headers, lengths, option codes):
     * never a crash, and an answer only if it is valid JSON. */
    {
        FILE *f;
        long n;
        char *buf;
        write_pcapng_shb(path, meta_doc, 64, 0);
        f = fopen(path, "rb");
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        rewind(f);
        buf = malloc((size_t)n);
        CHECK(fread(buf, 1, (size_t)n, f) == (size_t)n);
        fclose(f);
        for (int it = 0; it < 600; it++) {
            char *m = malloc((size_t)n);
            memcpy(m, buf, (size_t)n);
            for (int k = 0; k < 1 + it % 4; k++)
                m[xorshift() % (uint32_t)(it % 3 ? 120 : n)] = (char)xorshift();
            f = fopen(path, "wb");
            fwrite(m, 1, (size_t)n, f);
            fclose(f);
            s = hostmeta_read(path, err);
            CHECK(s == NULL || hostmeta_json_valid(s, strlen(s)));
            free(s);
            free(m);
        }
        free(buf);
    }
    s = hostmeta_read("/nonexistent/x.pcapng", err);
    CHECK(s == NULL && err[0]);
    unlink(path);
}

int main(void)
{
    test_probe_roundtrip(IPPROTO_TCP);
    test_probe_roundtrip(IPPROTO_UDP);
    test_probe_hostile();
    test_hostmeta_json();
    test_hostmeta_read();
    if (failures) {
        fprintf(stderr, "test_probe: %d failures\n", failures);
        return 1;
    }
    printf("test_probe: ok\n");
    return 0;
}
