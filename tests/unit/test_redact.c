/* test_redact.c - the --redact layer (redact.h) on text: which addresses
 * become names and which stay, that names are stable and sorted, MACs,
 * Community IDs, learned strings at word boundaries and in escaped forms,
 * natlens's own words left alone, columns kept aligned, the FILE filter
 * fed in pieces giving the same bytes as one pass, and host context
 * learned from a natlens-capture document. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/redact.h"
#include "unit.h"

static char *run(nl_redact *rd, const char *s, int flags)
{
    char *b = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&b, &n);
    redact_write(rd, s, strlen(s), m, flags);
    fclose(m);
    return b;
}

static int expect(nl_redact *rd, const char *in, const char *want, int flags)
{
    char *got = run(rd, in, flags);
    int ok = !strcmp(got, want);
    if (!ok)
        fprintf(stderr, "redact(%s):\n  got  '%s'\n  want '%s'\n", in, got, want);
    free(got);
    return ok;
}

static void test_addresses(void)
{
    nl_redact *rd = redact_new();
    nl_addr a;
    /* met in text only: numbered in order of appearance; public stays */
    CHECK(expect(rd, "from 10.0.0.5:80 to 203.0.113.7, then 10.0.0.5 and 192.168.1.9.",
                 "from inner-1:80 to 203.0.113.7, then inner-1 and inner-2.", 0));
    CHECK(expect(rd, "at 10:02:11.160358 v0.1.0 1.2.3.4.5 10.0.0.5x sha 0a1b2c 1795323357.734925",
                 "at 10:02:11.160358 v0.1.0 1.2.3.4.5 10.0.0.5x sha 0a1b2c 1795323357.734925", 0));
    CHECK(expect(rd, "[fd00::1]:443 and fe80::2 and 2001:db8::1 and inner-1",
                 "[inner-3]:443 and inner-4 and 2001:db8::1 and inner-1", 0));
    /* the IPv4-mapped form is the same host */
    CHECK(expect(rd, "::ffff:10.0.0.5 and ::ffff:198.51.100.1", "inner-1 and ::ffff:198.51.100.1", 0));
    nl_addr_parse(&a, "192.168.1.9");
    CHECK(redact_addr_name(rd, &a) && !strcmp(redact_addr_name(rd, &a), "inner-2"));
    nl_addr_parse(&a, "198.51.100.1");
    CHECK(redact_addr_name(rd, &a) == NULL);
    nl_addr_parse(&a, "100.64.0.1");
    CHECK(redact_addr_is_inner(&a));
    nl_addr_parse(&a, "172.32.0.1");
    CHECK(!redact_addr_is_inner(&a));
    redact_free(rd);
}

static void test_macs_cids(void)
{
    nl_redact *rd = redact_new();
    CHECK(expect(rd, "hop 02:4e:4c:00:00:16 then 02-4E-4C-00-00-17, 02:4e:4c:00:00:16.",
                 "hop mac-1 then mac-2, mac-1.", 0));
    /* broadcast, multicast, zero: no host behind them */
    CHECK(expect(rd, "ff:ff:ff:ff:ff:ff 01:00:5e:00:00:fb 33:33:00:00:00:01 00:00:00:00:00:00",
                 "ff:ff:ff:ff:ff:ff 01:00:5e:00:00:fb 33:33:00:00:00:01 00:00:00:00:00:00", 0));
    CHECK(expect(rd, "02:4e:4c:00:00:16:77 is not a MAC", "02:4e:4c:00:00:16:77 is not a MAC", 0));
    CHECK(expect(rd, "\"community_id\": \"1:LQU9qZlK+B5F3KDmev6m5PMibrg=\",",
                 "\"community_id\": \"redacted\",", 0));
    redact_free(rd);
}

static void test_strings(void)
{
    nl_redact *rd = redact_new();
    CHECK(redact_learn_file(rd, 0, "/home/alice/acme/vm-7.pcap", 0) == 0);
    CHECK(redact_learn_file(rd, 1, "conntrack \"fw\".txt", 1) == 0);
    CHECK(redact_learn_hostmeta(rd,
        "{\"natlens_hostmeta\":1,\"hostname\":\"db7\",\"session\":\"s-4711\",\"role\":\"server\","
        "\"kernel\":\"Linux 6.1.0-18-amd64 #1 SMP\",\"capture_iface\":\"eth0\","
        "\"ifaces\":[{\"index\":3,\"name\":\"acme-uplink\",\"mac\":\"02:aa:bb:cc:dd:ee\","
        "\"addrs\":[\"10.9.9.9\",\"203.0.113.9\"]},{\"index\":4,\"name\":\"enx001122334455\"}],"
        "\"route\":[{\"dst\":\"default\",\"gateway\":\"192.168.0.1\",\"dev\":\"eth0\"}]}") == 0);
    CHECK(!strcmp(redact_file(rd, 0), "capture-1.pcap"));
    CHECK(!strcmp(redact_file(rd, 1), "records-2.txt"));
    CHECK(redact_str(rd, "db7") && !strcmp(redact_str(rd, "db7"), "host-1"));
    CHECK(redact_str(rd, "eth0") == NULL);           /* a kernel name: kept */
    CHECK(redact_str(rd, "server") == NULL);         /* a role: not learned */
    CHECK(expect(rd, "read /home/alice/acme/vm-7.pcap (vm-7.pcap) on db7, not prod-db7 or db70",
                 "read capture-1.pcap (capture-1.pcap) on host-1, not prod-db7 or db70", 0));
    CHECK(expect(rd, "Linux 6.1.0-18-amd64 #1 SMP; session s-4711; dev acme-uplink, eth0, enx001122334455",
                 "kernel-1; session session-1; dev if-1, eth0, if-2", 0));
    /* JSON and terminal escapes of a learned name are found too */
    CHECK(expect(rd, "\"file\": \"conntrack \\\"fw\\\".txt\"", "\"file\": \"records-2.txt\"", 0));
    /* host context addresses: gateway and inner ones, sorted; public kept */
    CHECK(expect(rd, "via 192.168.0.1 from 10.9.9.9 as 203.0.113.9", "via inner-2 from inner-1 as 203.0.113.9", 0));
    CHECK(expect(rd, "mac 02:aa:bb:cc:dd:ee", "mac mac-1", 0));
    redact_free(rd);

    /* natlens's own words and short names stay in free text */
    rd = redact_new();
    CHECK(redact_learn_hostmeta(rd, "{\"hostname\":\"client\",\"session\":\"ab\"}") == 0);
    CHECK(redact_str(rd, "client") && !strcmp(redact_str(rd, "client"), "host-1"));
    CHECK(expect(rd, "the client resets it; ab", "the client resets it; ab", 0));
    redact_free(rd);
}

static void esc_html(FILE *f, const char *s)
{
    for (; *s; s++)
        if (*s == '&')
            fputs("&amp;", f);
        else
            fputc(*s, f);
}

static void test_escaper(void)
{
    nl_redact *rd = redact_new();
    CHECK(redact_learn_hostmeta(rd, "{\"hostname\":\"r&d-lab\"}") == 0);
    CHECK(expect(rd, "<b>r&amp;d-lab</b>", "<b>r&amp;d-lab</b>", 0));
    CHECK(redact_add_escaper(rd, esc_html) == 0);
    CHECK(expect(rd, "<b>r&amp;d-lab</b>", "<b>host-1</b>", 0));
    redact_free(rd);
}

static void test_columns(void)
{
    nl_redact *rd = redact_new();
    const char *in = "  10.72.2.222    198.51.100.80:80  x\n  10.72.2.223:41  y      z\n";
    /* each replacement is made up in the next run of spaces */
    CHECK(expect(rd, in, "  inner-1        198.51.100.80:80  x\n  inner-2:41      y      z\n",
                 NL_REDACT_COLUMNS));
    CHECK(expect(rd, "\033[1m10.72.2.222\033[0m done", "\033[1minner-1\033[0m done", 0));
    redact_free(rd);
}

/* The filter fed byte by byte and in odd pieces gives the same text as
 * one pass over the whole. */
static void test_filter(void)
{
    const char *doc = "a 10.0.0.1 b 02:4e:4c:00:00:16\n  10.0.0.22  c\n"
                      "\"1:LQU9qZlK+B5F3KDmev6m5PMibrg=\" 192.168.7.7";
    for (size_t piece = 1; piece <= 7; piece += 3) {
        nl_redact *rd = redact_new(), *rd2 = redact_new();
        char *b = NULL, *want;
        size_t n = 0, len = strlen(doc);
        FILE *m = open_memstream(&b, &n), *f = redact_fopen(rd, m, NL_REDACT_COLUMNS);
        CHECK(f != NULL);
        setvbuf(f, NULL, _IONBF, 0);
        for (size_t i = 0; i < len; i += piece)
            fwrite(doc + i, 1, i + piece <= len ? piece : len - i, f);
        CHECK(fclose(f) == 0);
        fclose(m);
        want = run(rd2, doc, NL_REDACT_COLUMNS);
        CHECK(!strcmp(b, want));
        if (strcmp(b, want))
            fprintf(stderr, "piece %zu: got '%s' want '%s'\n", piece, b, want);
        free(b);
        free(want);
        redact_free(rd);
        redact_free(rd2);
    }
}

int main(void)
{
    test_addresses();
    test_macs_cids();
    test_strings();
    test_escaper();
    test_columns();
    test_filter();
    return UNIT_END();
}
