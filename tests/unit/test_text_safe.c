/* test_text_safe.c - what may reach a terminal or a printed command:
 * text_safe() escapes control, C1 and bidi characters and bad UTF-8;
 * hostmeta_sanitize() keeps interface names and addresses that are safe
 * shell words and replaces the rest by placeholders, quoting none. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/hostmeta.h"
#include "natlens/text_safe.h"

static int failures;
#define CHECK(c, ...) do { if (!(c)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
                                       fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

static void expect_safe(const char *in, const char *want)
{
    char out[256], *d = text_safe_dup(in);
    text_safe(out, sizeof out, in);
    CHECK(!strcmp(out, want), "text_safe: got '%s', want '%s'", out, want);
    CHECK(d && !strcmp(d, want), "text_safe_dup: got '%s'", d ? d : "(null)");
    CHECK(text_is_safe(in) == !strcmp(in, want), "text_is_safe('%s')", want);
    free(d);
}

static void test_text_safe(void)
{
    char small[8];
    expect_safe("plain name.pcap", "plain name.pcap");
    expect_safe("caf\xc3\xa9 \xe2\x86\x92 ok", "caf\xc3\xa9 \xe2\x86\x92 ok");
    expect_safe("a\033]0;t\007b", "a\\x1b]0;t\\x07b");
    expect_safe("del\x7f", "del\\x7f");
    expect_safe("c1\xc2\x9b" "2J", "c1\\u009b2J");
    expect_safe("raw\x9b", "raw\\x9b");
    expect_safe("rlo\xe2\x80\xaegpj.exe", "rlo\\u202egpj.exe");
    expect_safe("iso\xe2\x81\xa6x\xe2\x81\xa9", "iso\\u2066x\\u2069");
    expect_safe("lrm\xe2\x80\x8e", "lrm\\u200e");
    expect_safe("over\xc0\xaf", "over\\xc0\\xaf");            /* overlong '/' */
    expect_safe("sur\xed\xa0\x80", "sur\\xed\\xa0\\x80");     /* a surrogate */
    expect_safe("nl\ntab\t", "nl\\x0atab\\x09");
    /* a short buffer cuts on a whole escape, never inside one */
    text_safe(small, sizeof small, "ab\033cd");
    CHECK(!strcmp(small, "ab\\x1bc"), "short buffer: '%s'", small);
    text_safe(small, 6, "ab\033cd");
    CHECK(!strcmp(small, "ab"), "shorter buffer: '%s'", small);
}

static void test_names(void)
{
    static const char *const good[] = {"eth0", "lo", "ens4", "veth-1.10", "wg0", "br_lan",
                                       "bond0.100", "123456789012345"};
    static const char *const bad[] = {"", ".", "..", "eth0; reboot", "a b", "a/b", "a:1",
                                      "1234567890123456", "x$(id)", "e`id`", "a|b", "a\033b",
                                      "a\nb", "\xe2\x80\xae" "0hte"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECK(hostmeta_ifname_ok(good[i]), "ifname '%s' refused", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(!hostmeta_ifname_ok(bad[i]), "ifname #%zu accepted", i);
    CHECK(hostmeta_addr_ok("192.168.0.1") && hostmeta_addr_ok("fe80::1") &&
          hostmeta_addr_ok("2001:db8::1"), "addresses refused");
    CHECK(!hostmeta_addr_ok("192.168.0.1 && rm -rf ~") && !hostmeta_addr_ok("") &&
          !hostmeta_addr_ok("10.0.0.0/8") && !hostmeta_addr_ok("gw"), "bad address accepted");
}

static void test_sanitize(void)
{
    static const char good[] =
        "{\"natlens_hostmeta\":1,\"ifaces\":[{\"index\":2,\"name\":\"eth0\"}],"
        "\"route\":[{\"dst\":\"default\",\"gateway\":\"192.168.0.1\",\"dev\":\"eth0\"}]}";
    static const char evil[] =
        "{\"natlens_hostmeta\":1,\"hostname\":\"h\",\"capture_iface\":\"any\","
        "\"ifaces\":[{\"index\":2,\"name\":\"eth0; curl x|sh\"}],"
        "\"addr\":[{\"ifindex\":2,\"ifname\":\"e$(id)\"}],"
        "\"route\":[{\"dst\":\"default\",\"gateway\":\"192.168.0.1 && rm -rf ~\",\"dev\":\"eth0; curl x|sh\","
        "\"nexthops\":[{\"gateway\":\"`id`\",\"dev\":\"eth1\"}]},"
        "{\"dst\":\"10.0.0.0/8\",\"dev\":\"eth1\",\"prefsrc\":\"10.0.0.1;x\",\"via\":{\"family\":\"inet\",\"host\":\"evil\"}}],"
        "\"rule6\":[{\"priority\":1,\"iif\":\"a b\",\"table\":\"main\"}]}";
    char warn[256], dev[32], gw[64], name[32];
    char *s = hostmeta_sanitize(good, warn, sizeof warn);
    CHECK(s && !strcmp(s, good) && warn[0] == '\0', "a clean document changed: %s / %s", s, warn);
    free(s);
    s = hostmeta_sanitize(evil, warn, sizeof warn);
    CHECK(s != NULL, "sanitize refused a valid document");
    if (!s)
        return;
    CHECK(!strstr(s, "curl") && !strstr(s, "rm -rf") && !strstr(s, "$(id)") && !strstr(s, "`id`") &&
          !strstr(s, ";x") && !strstr(s, "\"evil\"") && !strstr(s, "a b"), "left in: %s", s);
    CHECK(strstr(warn, "4 interface names") && strstr(warn, "3 gateways") && strstr(warn, "1 address"),
          "warning: '%s'", warn);
    CHECK(!strstr(warn, "curl") && !strstr(warn, "id"), "the warning quotes a value: %s", warn);
    CHECK(strstr(s, "\"capture_iface\":\"any\"") && strstr(s, "\"dev\":\"eth1\""), "good values lost: %s", s);
    CHECK(hostmeta_json_valid(s, strlen(s)), "sanitized document is not JSON");
    CHECK(hostmeta_route_lookup(s, "198.51.100.1", dev, sizeof dev, gw, sizeof gw) == 0 &&
          !strcmp(dev, "<interface>") && !strcmp(gw, "<gateway>"), "route: %s via %s", dev, gw);
    CHECK(hostmeta_ifname(s, 2, name, sizeof name) == 0 && !strcmp(name, "<interface>"), "ifname: %s", name);
    free(s);
    CHECK(hostmeta_sanitize("[1,2]", warn, sizeof warn) == NULL, "an array is no document");
    CHECK(hostmeta_sanitize("{bad", warn, sizeof warn) == NULL, "invalid JSON accepted");
}

int main(void)
{
    test_text_safe();
    test_names();
    test_sanitize();
    if (failures) {
        printf("%d failures\n", failures);
        return 1;
    }
    printf("test_text_safe: ok\n");
    return 0;
}
