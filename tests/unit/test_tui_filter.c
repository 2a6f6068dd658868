/* test_tui_filter.c - the viewer's filter language (analyzer/tui/tui_filter.c).
 *
 * Compiles expressions and matches them against hand-made rows: every term
 * (port, host, net, state, nat, proto, broken, suspect, paired, near-only,
 * far-only, words; record, action, nat dropped/exhausted, unreplied on rows
 * of real record files read with trace_load), and/or/not/parentheses and their precedence, the
 * errors and where they point, and the bounds: input longer than the
 * buffer, nesting deeper than allowed, more terms than nodes, and random
 * token soup (compiled and matched, never crashing; run under ASan by
 * t_asan.sh). The TUI sources are compiled in: the filter is not part of
 * the library. Exit 0 on success. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include "unit.h"
#include "../../analyzer/tui/tui_filter.c"
#include "../../analyzer/tui/tui_text.c"
#include "../../analyzer/tui/tui_model.c"
#include "../../analyzer/tui/tui_record.c"

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
        "record", "action", "reject", "dropped", "exhausted", "unreplied",
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

/* ---- records: rows of real record files ---------------------------------- */

/* An AWS flow log (custom format with a header), a Cloud NAT log (one
 * mapping, one DROPPED entry) and a conntrack event stream ([UNREPLIED]),
 * each a capture point of its own. */
static const char aws_log[] =
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end "
    "action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id "
    "flow-direction\n"
    "5 123456789010 eni-0a1b2c3d4e5f60718 10.72.2.222 198.51.100.80 42000 80 6 2 120 1795323360 "
    "1795323420 ACCEPT OK vpc-0abc1234 subnet-0aaa1111 i-0123456789abcdef0 2 IPv4 10.72.2.222 "
    "198.51.100.80 eu-west-1 euw1-az1 egress\n"
    "5 123456789010 eni-0a1b2c3d4e5f60718 10.72.2.222 198.51.100.80 42003 8082 6 4 240 1795323360 "
    "1795323420 REJECT OK vpc-0abc1234 subnet-0aaa1111 i-0123456789abcdef0 2 IPv4 10.72.2.222 "
    "198.51.100.80 eu-west-1 euw1-az1 egress\n";
static const char nat_log[] =
    "{\"jsonPayload\": {\"allocation_status\": \"OK\", \"connection\": {\"dest_ip\": \"198.51.100.80\", "
    "\"dest_port\": 80, \"nat_ip\": \"203.0.113.2\", \"nat_port\": 40000, \"protocol\": 6, \"src_ip\": "
    "\"10.72.2.222\", \"src_port\": 40000}, \"endpoint\": {\"vm_name\": \"vm-client-222\"}, "
    "\"gateway_identifiers\": {\"gateway_name\": \"nat-gw-1\", \"region\": \"europe-west1\", "
    "\"router_name\": \"router-1\"}}, \"logName\": \"projects/p/logs/compute.googleapis.com%2Fnat_flows\", "
    "\"timestamp\": \"2026-11-22T04:55:39.706009Z\"}\n"
    "{\"jsonPayload\": {\"allocation_status\": \"DROPPED\", \"connection\": {\"dest_ip\": \"198.51.100.80\", "
    "\"dest_port\": 80, \"protocol\": 6, \"src_ip\": \"10.72.2.223\", \"src_port\": 41000}, "
    "\"endpoint\": {\"vm_name\": \"vm-app-3\"}, \"gateway_identifiers\": {\"gateway_name\": "
    "\"nat-gw-1\", \"region\": \"europe-west1\", \"router_name\": \"router-1\"}}, \"logName\": "
    "\"projects/p/logs/compute.googleapis.com%2Fnat_flows\", \"timestamp\": \"2026-11-22T04:55:40.236053Z\"}\n";
static const char ct_log[] =
    "[1795323361.280457]\t    [NEW] tcp      6 120 SYN_SENT src=198.51.100.10 dst=203.0.113.5 sport=41002 "
    "dport=80 [UNREPLIED] src=192.168.0.250 dst=198.51.100.10 sport=80 dport=41002 id=2588579012\n";

static nl_trace *load_text(const char *text)
{
    char path[] = "/tmp/natlens-test-tui-filter.XXXXXX", err[512];
    int fd = mkstemp(path);
    nl_trace *t;
    if (fd < 0)
        return NULL;
    if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        close(fd);
        unlink(path);
        return NULL;
    }
    close(fd);
    t = trace_load(path, NULL, err);
    if (!t)
        fprintf(stderr, "load: %s\n", err);
    unlink(path);
    return t;
}

/* The first flow of t whose record passes want(). */
static const nl_flow *rec_flow(nl_trace *t, int (*want)(const nl_record_info *))
{
    size_t n;
    nl_flow **fl = trace_flows(t, &n);
    for (size_t i = 0; i < n; i++) {
        const nl_record_info *ri = record_info_of(t, fl[i]);
        if (ri && want(ri))
            return fl[i];
    }
    return NULL;
}

static int want_reject(const nl_record_info *ri) { return ri->action == NL_REC_ACTION_REJECT; }
static int want_accept(const nl_record_info *ri) { return ri->action == NL_REC_ACTION_ACCEPT; }
static int want_dropped(const nl_record_info *ri) { return ri->nat_status == NL_REC_NAT_DROPPED; }
static int want_ok_inner(const nl_record_info *ri)
{
    return ri->nat_status == NL_REC_NAT_OK && ri->side == NL_REC_SIDE_INNER;
}
static int want_unreplied(const nl_record_info *ri) { return (ri->ct_flags & NL_REC_CT_UNREPLIED) != 0; }

#define NREC_ROWS 6
static tui_model rmodel;
static tui_row rrows[NREC_ROWS];

static int keep_rec(const char *expr)
{
    tui_filter f;
    int mask = 0;
    if (tui_filter_compile(&f, expr) < 0)
        return -1;
    for (int i = 0; i < NREC_ROWS; i++)
        if (tui_filter_match(&f, &rmodel, &rrows[i]))
            mask |= 1 << i;
    return mask;
}

/* rows: 0 a packet flow (no record), 1 AWS REJECT, 2 AWS ACCEPT, 3 Cloud
 * NAT DROPPED (vm-app-3), 4 Cloud NAT OK (a mapping), 5 conntrack
 * [UNREPLIED]; each alone at its capture point */
static void test_records(void)
{
    nl_trace *aws = load_text(aws_log), *nat = load_text(nat_log), *ct = load_text(ct_log);
    nl_trace *traces[4] = {&tr[0], aws, nat, ct};
    const nl_flow *f[NREC_ROWS];
    char buf[512];
    CHECK(aws && nat && ct);
    if (!aws || !nat || !ct)
        goto out;
    f[0] = &flows[0];
    f[1] = rec_flow(aws, want_reject);
    f[2] = rec_flow(aws, want_accept);
    f[3] = rec_flow(nat, want_dropped);
    f[4] = rec_flow(nat, want_ok_inner);
    f[5] = rec_flow(ct, want_unreplied);
    for (int i = 1; i < NREC_ROWS; i++)
        CHECK(f[i] != NULL);
    if (!f[1] || !f[2] || !f[3] || !f[4] || !f[5])
        goto out;
    memset(&rmodel, 0, sizeof rmodel);
    rmodel.ncaps = 4;
    rmodel.traces = traces;
    rmodel.rows = rrows;
    rmodel.nrows = NREC_ROWS;
    static const int cap[NREC_ROWS] = {0, 1, 1, 2, 2, 3};
    for (int i = 0; i < NREC_ROWS; i++)
        rrows[i] = (tui_row){.near = f[i], .near_cap = cap[i], .far_cap = cap[i], .other_cap = -1};
    CHECK_EQ(keep_rec("record"), 0x3e);
    CHECK_EQ(keep_rec("not record"), 0x01);
    CHECK_EQ(keep_rec("action reject"), 0x02);
    CHECK_EQ(keep_rec("ACTION Accept"), 0x04);
    CHECK_EQ(keep_rec("nat dropped"), 0x08);
    CHECK_EQ(keep_rec("nat exhausted"), 0x08);
    CHECK_EQ(keep_rec("nat out_of_resources"), 0x00);
    CHECK_EQ(keep_rec("unreplied"), 0x20);
    CHECK_EQ(keep_rec("record and not (action accept or nat dropped)"), 0x32);
    /* the record's own words are the row's text: file names, VM, interface */
    CHECK_EQ(keep_rec("vm-app-3"), 0x08);
    CHECK_EQ(keep_rec("eni-0a1b2c3d4e5f60718"), 0x06);
    CHECK_EQ(keep_rec("nat-gw-1"), 0x18);
    /* the STATE column says what the record says, never a packet state */
    CHECK(!strcmp(tui_text_state(&rmodel, &rrows[3], buf, sizeof buf), "DROPPED"));
    CHECK(!strcmp(tui_text_state(&rmodel, &rrows[4], buf, sizeof buf), "NAT OK"));
    CHECK(!strcmp(tui_text_state(&rmodel, &rrows[1], buf, sizeof buf), "REJECT"));
    CHECK(!strcmp(tui_text_state(&rmodel, &rrows[5], buf, sizeof buf), "UNREPLIED"));
    CHECK(!strcmp(tui_text_state(&rmodel, &rrows[0], buf, sizeof buf), "SF"));
    {
        /* the Pair panel's lines of the mapping: both legs, the gateway */
        tui_rline rl[TUI_RLINES];
        size_t n = tui_record_lines(&rmodel, 2, f[4], rl, TUI_RLINES), hit = 0;
        for (size_t i = 0; i < n; i++)
            hit |= (strstr(rl[i].text, "203.0.113.2:40000") ? 1u : 0u) |
                   (strstr(rl[i].text, "nat-gw-1") ? 2u : 0u) |
                   (strstr(rl[i].text, "to 1 s") ? 4u : 0u) |
                   (!strcmp(rl[i].label, "pins") && strstr(rl[i].text, "no TCP state") ? 8u : 0u);
        CHECK_EQ(hit, 15u);
    }
    CHECK(err_has("action", "'action' needs accept or reject", -1));
    CHECK(err_has("action maybe", "unknown action 'maybe'", 7));
    CHECK(err_has("nat droped", "unknown translation 'droped'", 4));
out:
    trace_free(aws);
    trace_free(nat);
    trace_free(ct);
}

int main(void)
{
    setup();
    test_terms();
    test_logic();
    test_errors();
    test_bounds();
    test_soup();
    test_records();
    return UNIT_END();
}
