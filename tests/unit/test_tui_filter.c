/* test_tui_filter.c - the viewer's filter language (analyzer/tui/tui_filter.c).
 *
 * Compiles expressions and matches them against hand-made rows: every term
 * (port, host, net, state, nat, proto, broken, suspect, paired, near-only,
 * far-only, words), and/or/not/parentheses and their precedence, the
 * errors and where they point, and the bounds: input longer than the
 * buffer, nesting deeper than allowed, more terms than nodes, and random
 * token soup (compiled and matched, never crashing; run under ASan by
 * t_asan.sh). The TUI sources are compiled in: the filter is not part of
 * the library. Exit 0 on success. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "unit.h"
#include "../../analyzer/tui/tui_filter.c"
#include "../../analyzer/tui/tui_text.c"
#include "../../analyzer/tui/tui_model.c"

/* tui_draw.c needs curses; the text code only measures ASCII here */
int tui_text_width(const char *s)
{
    return (int)strlen(s);
}

static nl_flow flows[4];
static tui_row rows[4];
static tui_model model;
static nl_trace tr[2];
static nl_trace *trs[2] = {&tr[0], &tr[1]};

static void mkflow(nl_flow *f, uint8_t proto, const char *a, uint16_t pa, const char *b, uint16_t pb,
                   int answered)
{
    memset(f, 0, sizeof *f);
    f->proto = proto;
    nl_addr_parse(&f->orig_ip, a);
    nl_addr_parse(&f->resp_ip, b);
    f->orig_port = pa;
    f->resp_port = pb;
    f->ep[0].state = 1;                 /* UDP: active */
    f->ep[1].state = answered ? 1 : 0;  /* SF, or S0 without an answer */
    f->pkts[0] = 2;
    f->pkts[1] = answered ? 2 : 0;
    f->icmp_type = 8;
}

/* rows: 0 paired udp 10.0.0.1:5000 -> 192.0.2.9:53 seen as 203.0.113.7:6000 (snat+p)
 *       1 paired udp 10.0.0.2:5001 -> 192.0.2.9:53, untranslated, no answer (S0), broken
 *       2 near only icmp echo 10.0.0.1 -> 198.51.100.4, suspect
 *       3 far only udp 198.51.100.5:7 -> 203.0.113.7:7 */
static void setup(void)
{
    mkflow(&flows[0], IPPROTO_UDP, "10.0.0.1", 5000, "192.0.2.9", 53, 1);
    mkflow(&flows[1], IPPROTO_UDP, "203.0.113.7", 6000, "192.0.2.9", 53, 1);
    mkflow(&flows[2], IPPROTO_UDP, "10.0.0.2", 5001, "192.0.2.9", 53, 0);
    mkflow(&flows[3], IPPROTO_ICMP, "10.0.0.1", 77, "198.51.100.4", 77, 1);
    tr[0].name = (char *)"near.pcap";
    tr[1].name = (char *)"far.pcap";
    model.ncaps = 2;
    model.traces = trs;
    model.utf8 = 1;
    model.rows = rows;
    model.nrows = 4;
    rows[0] = (tui_row){.near = &flows[0], .far = &flows[1], .near_cap = 0, .far_cap = 1,
                        .xlate = NL_XLATE_SNAT, .port_changed = 1, .other_cap = -1};
    rows[1] = (tui_row){.near = &flows[2], .far = &flows[2], .near_cap = 0, .far_cap = 1,
                        .health = TUI_H_BAD, .other_cap = -1, .why = "no answer"};
    rows[2] = (tui_row){.near = &flows[3], .near_cap = 0, .far_cap = 0, .other_cap = 1,
                        .health = TUI_H_WARN};
    static nl_flow far_only;
    mkflow(&far_only, IPPROTO_UDP, "198.51.100.5", 7, "203.0.113.7", 7, 1);
    rows[3] = (tui_row){.near = &far_only, .near_cap = 1, .far_cap = 1, .other_cap = 0};
}

/* which rows an expression keeps, as a bit mask (-1: does not compile) */
static int keep(const char *expr)
{
    tui_filter f;
    int mask = 0;
    if (tui_filter_compile(&f, expr) < 0)
        return -1;
    for (int i = 0; i < 4; i++)
        if (tui_filter_match(&f, &model, &rows[i]))
            mask |= 1 << i;
    return mask;
}

static int err_has(const char *expr, const char *what, int at)
{
    tui_filter f;
    if (tui_filter_compile(&f, expr) == 0)
        return 0;
    if (!strstr(f.err, what)) {
        fprintf(stderr, "  '%s': error '%s' lacks '%s'\n", expr, f.err, what);
        return 0;
    }
    if (at >= 0 && f.err_at != at) {
        fprintf(stderr, "  '%s': error at %d, expected %d\n", expr, f.err_at, at);
        return 0;
    }
    return 1;
}

static void test_terms(void)
{
    CHECK_EQ(keep(""), 0xf);
    CHECK_EQ(keep("   "), 0xf);
    CHECK_EQ(keep("port 53"), 0x3);
    CHECK_EQ(keep("port 6000"), 0x1);           /* the far side's port counts */
    CHECK_EQ(keep("port 77"), 0x0);             /* ICMP has no ports */
    CHECK_EQ(keep("host 10.0.0.1"), 0x5);
    CHECK_EQ(keep("host 203.0.113.7"), 0x9);
    CHECK_EQ(keep("net 10.0.0.0/8"), 0x7);
    CHECK_EQ(keep("host 192.0.2.0/24"), 0x3);
    CHECK_EQ(keep("net 0.0.0.0/0"), 0xf);
    CHECK_EQ(keep("state S0"), 0x2);
    CHECK_EQ(keep("STATE sf"), 0x9);           /* ICMP is OTH */
    CHECK_EQ(keep("nat snat"), 0x1);
    CHECK_EQ(keep("nat pat"), 0x1);
    CHECK_EQ(keep("nat none"), 0x2);
    CHECK_EQ(keep("nat dnat"), 0x0);
    CHECK_EQ(keep("proto icmp"), 0x4);
    CHECK_EQ(keep("proto 17"), 0xb);
    CHECK_EQ(keep("broken"), 0x2);
    CHECK_EQ(keep("suspect"), 0x4);
    CHECK_EQ(keep("paired"), 0x3);
    CHECK_EQ(keep("near-only"), 0x4);
    CHECK_EQ(keep("far-only"), 0x8);
    CHECK_EQ(keep("10.0.0.1:"), 0x1);           /* words match the row's text */
    CHECK_EQ(keep("\"echo id=77\""), 0x4);
    CHECK_EQ(keep("NO ANSWER"), 0x2);            /* case-insensitive, a quoted phrase not needed */
}

static void test_logic(void)
{
    CHECK_EQ(keep("port 53 and not broken"), 0x1);
    CHECK_EQ(keep("port 53 not broken"), 0x1);   /* juxtaposition is and */
    CHECK_EQ(keep("port 53 && !broken"), 0x1);
    CHECK_EQ(keep("proto icmp or far-only"), 0xc);
    CHECK_EQ(keep("proto icmp || far-only"), 0xc);
    /* and binds tighter than or */
    CHECK_EQ(keep("proto icmp or port 53 and broken"), 0x6);
    CHECK_EQ(keep("(proto icmp or port 53) and broken"), 0x2);
    CHECK_EQ(keep("not (paired or far-only)"), 0x4);
    CHECK_EQ(keep("not not broken"), 0x2);
    /* before pairing nothing is paired, nat is unknown */
    model.pairing = 1;
    CHECK_EQ(keep("paired"), 0x0);
    CHECK_EQ(keep("nat snat"), 0x0);
    CHECK_EQ(keep("port 53"), 0x3);
    model.pairing = 0;
}

static void test_errors(void)
{
    tui_filter f;
    CHECK(err_has("port", "'port' needs a number", 4));
    CHECK(err_has("port x", "not a port number: 'x'", 5));
    CHECK(err_has("port 65536", "not a port number", 5));
    CHECK(err_has("port and", "'port' needs", 5));
    CHECK(err_has("host 1.2.3", "not an IPv4 or IPv6 address", 5));
    CHECK(err_has("host 10.0.0.0/33", "at most /32", 5));
    CHECK(err_has("host 2001:db8::/129", "at most /128", 5));
    CHECK(err_has("net 10.0.0.1", "'net' needs ADDRESS/LENGTH", 4));
    CHECK(err_has("host 10.0.0.0/x", "not a prefix length", 5));
    CHECK(err_has("state XX", "unknown state 'XX'", 6));
    CHECK(err_has("nat foo", "unknown translation 'foo'", 4));
    CHECK(err_has("proto bogus", "unknown protocol 'bogus'", 6));
    CHECK(err_has("proto 256", "unknown protocol", 6));
    CHECK(err_has("(port 53", "'(' is not closed", -1));
    CHECK(err_has("port 53)", "unexpected ')'", 7));
    CHECK(err_has(")", "')' without '('", 0));
    CHECK(err_has("and broken", "a term is missing before 'and'", 0));
    CHECK(err_has("broken or", "ends too early", -1));
    CHECK(err_has("not", "ends too early", -1));
    CHECK(err_has("\"open", "a quote is not closed", 0));
    CHECK(err_has("broken && || suspect", "a term is missing before '||'", 10));
    /* a failed compile matches everything, never half an expression */
    CHECK(tui_filter_compile(&f, "port 53 and port x") < 0);
    CHECK_EQ(f.root, -1);
}

static void test_bounds(void)
{
    char buf[4096];
    tui_filter f;
    size_t n;
    /* nesting deeper than TUI_FILTER_DEPTH */
    memset(buf, '(', 600);
    strcpy(buf + 600, "broken");
    CHECK(err_has(buf, "too deeply nested", -1));
    for (n = 0; n + 4 < 2000; n += 4)
        memcpy(buf + n, "not ", 4);
    strcpy(buf + n, "broken");
    CHECK(err_has(buf, "too deeply nested", -1));
    /* more terms than nodes */
    for (n = 0; n + 2 < 180; n += 2)
        memcpy(buf + n, "a ", 2);
    buf[n] = '\0';
    CHECK(err_has(buf, "too long", -1));
    /* only TUI_FILTER_LEN - 1 bytes are read: a valid head and garbage after */
    memset(buf, ' ', sizeof buf);
    memcpy(buf, "broken", 6);
    memcpy(buf + TUI_FILTER_LEN + 10, "port x", 6);
    buf[sizeof buf - 1] = '\0';
    CHECK_EQ(tui_filter_compile(&f, buf), 0);
    CHECK_EQ(keep(buf), 0x2);
    /* a word as long as the buffer */
    memset(buf, 'w', TUI_FILTER_LEN + 50);
    buf[TUI_FILTER_LEN + 50] = '\0';
    CHECK(err_has(buf, "too long to search for", 0));
}

/* random token soup: every result compiles or fails cleanly, and matching
 * a compiled one stays in bounds */
static void test_soup(void)
{
    static const char *const tok[] = {
        "port", "53", "host", "10.0.0.1", "net", "10.0.0.0/8", "state", "S0", "nat", "snat",
        "proto", "udp", "broken", "suspect", "paired", "near-only", "far-only", "and", "or",
        "not", "!", "(", ")", "&&", "||", "\"", "x", "::1", "/", "\"a b\"", "65535", "-1"
    };
    uint32_t r = 0x9e3779b9u;
    for (int i = 0; i < 20000; i++) {
        char buf[TUI_FILTER_LEN + 64];
        size_t o = 0;
        int nt = 1 + (int)(r % 24);
        tui_filter f;
        for (int k = 0; k < nt && o + 16 < sizeof buf; k++) {
            r ^= r << 13;
            r ^= r >> 17;
            r ^= r << 5;
            o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s", tok[r % (sizeof tok / sizeof tok[0])],
                                  (r >> 8) % 3 ? " " : "");
        }
        buf[o] = '\0';
        if (tui_filter_compile(&f, buf) == 0) {
            CHECK(f.root >= -1 && f.root < f.nn);
            for (int k = 0; k < 4; k++)
                (void)tui_filter_match(&f, &model, &rows[k]);
        } else {
            CHECK(f.err[0] != '\0');
            CHECK(f.err_at >= 0 && f.err_at <= (int)strlen(buf));
        }
    }
}

int main(void)
{
    setup();
    test_terms();
    test_logic();
    test_errors();
    test_bounds();
    test_soup();
    return UNIT_END();
}
