/* test_records.c - record readers through their helpers and their output:
 * times, numbers and addresses are range-checked; a Zeek conn_state comes
 * back as flow_conn_state() prints it; a conntrack NAT entry becomes two
 * linked legs with the reply tuple's view as the outer one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "natlens/record.h"
#include "natlens/trace.h"
#include "../../analyzer/record_int.h"
#include "unit.h"

static nl_trace *load_text(const char *text, const char *fmt)
{
    char path[] = "/tmp/natlens-test-records.XXXXXX", err[512];
    int fd = mkstemp(path);
    nl_trace_opts o;
    nl_trace *t;
    if (fd < 0)
        return NULL;
    if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        close(fd);
        return NULL;
    }
    close(fd);
    memset(&o, 0, sizeof o);
    o.format = fmt;
    t = trace_load(path, &o, err);
    if (!t)
        fprintf(stderr, "load: %s\n", err);
    unlink(path);
    return t;
}

static void test_fields(void)
{
    uint64_t v;
    nl_addr a;
    CHECK_EQ(rec_parse_epoch("1795323339.706009", 17, &v), 0);
    CHECK_EQ(v, 1795323339706009000ull);
    CHECK(rec_parse_epoch("179532333", 9, &v) < 0);          /* 1975: refused */
    CHECK(rec_parse_epoch("1795323339.1234567890", 21, &v) < 0);
    CHECK_EQ(rec_parse_rfc3339("2026-11-22T04:55:39.706009Z", &v), 0);
    CHECK_EQ(v, 1795323339706009000ull);
    CHECK_EQ(rec_parse_rfc3339("2026-11-22T05:55:39+01:00", &v), 0);
    CHECK_EQ(v, 1795323339000000000ull);
    CHECK(rec_parse_rfc3339("2026-13-22T04:55:39Z", &v) < 0);
    CHECK(rec_parse_rfc3339("2026-11-22T04:55:39", &v) < 0);  /* no zone: refused */
    CHECK(rec_parse_u64("65536", 5, 65535, &v) < 0);
    CHECK(rec_parse_u64("99999999999999999999999", 23, UINT64_MAX, &v) < 0);
    CHECK_EQ(rec_parse_addr("2001:db8::1", 11, &a), 0);
    CHECK(rec_parse_addr("10.0.0.256", 10, &a) < 0);
}

static void test_zeek_states(void)
{
    static const char *const st[] = {"S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR",
                                     "RSTRH", "SH", "SHR", "OTH"};
    char buf[4096];
    size_t k = (size_t)snprintf(buf, sizeof buf,
        "#separator \\x09\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\t"
        "duration\torig_bytes\tresp_bytes\tconn_state\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\n");
    for (size_t i = 0; i < sizeof st / sizeof st[0]; i++)
        k += (size_t)snprintf(buf + k, sizeof buf - k,
                              "1795323339.%06zu\tC%zu\t10.0.0.1\t%zu\t192.0.2.1\t80\ttcp\t0.5\t1\t2\t%s\tSh\t3\t4\t5\t6\n",
                              i, i, 40000 + i, st[i]);
    nl_trace *t = load_text(buf, NULL);
    CHECK(t != NULL);
    if (!t)
        return;
    size_t n;
    nl_flow **fl = trace_flows(t, &n);
    CHECK_EQ(n, sizeof st / sizeof st[0]);
    for (size_t i = 0; i < n; i++) {
        const nl_record_info *ri = record_info_of(t, fl[i]);
        CHECK(ri != NULL);
        if (strcmp(flow_conn_state(fl[i]), st[fl[i]->orig_port - 40000]))
            fprintf(stderr, "conn_state %s read back as %s\n", st[fl[i]->orig_port - 40000], flow_conn_state(fl[i]));
        CHECK(!strcmp(flow_conn_state(fl[i]), st[fl[i]->orig_port - 40000]));
        CHECK_EQ(fl[i]->pkts[0], 3);
        CHECK_EQ(fl[i]->ip_bytes[1], 6);
        CHECK_EQ(fl[i]->bytes[1], 2);
        CHECK_EQ(fl[i]->last_ns - fl[i]->first_ns, 500000000);
        CHECK(ri && ri->side == NL_REC_SIDE_UNKNOWN);
    }
    trace_free(t);
}

static void test_conntrack_legs(void)
{
    nl_trace *t = load_text(
        "[1795323339.736053]\t    [NEW] tcp      6 120 SYN_SENT src=10.72.2.223 dst=198.51.100.80 sport=40000 dport=80 [UNREPLIED] src=198.51.100.80 dst=203.0.113.2 sport=80 dport=42027 id=2814652796\n"
        "[1795323339.737688]\t [UPDATE] tcp      6 120 TIME_WAIT src=10.72.2.223 dst=198.51.100.80 sport=40000 dport=80 src=198.51.100.80 dst=203.0.113.2 sport=80 dport=42027 [ASSURED] id=2814652796\n"
        "ipv6     10 udp      17 29 src=2001:db8::2 dst=2001:db8:1::5 sport=5000 dport=53 packets=1 bytes=80 [UNREPLIED] src=2001:db8:1::5 dst=2001:db8::2 sport=53 dport=5000 packets=0 bytes=0 mark=0 use=1 id=7\n",
        NULL);
    CHECK(t != NULL);
    if (!t)
        return;
    size_t n;
    nl_flow **fl = trace_flows(t, &n);
    CHECK_EQ(n, 3);
    CHECK_EQ(record_count(t), 3);
    const nl_record_info *in = NULL, *out = NULL, *v6 = NULL;
    const nl_flow *fin = NULL, *fout = NULL;
    for (size_t i = 0; i < n; i++) {
        const nl_record_info *ri = record_info_of(t, fl[i]);
        if (fl[i]->proto == 17) {
            v6 = ri;
        } else if (ri->side == NL_REC_SIDE_INNER) {
            in = ri;
            fin = fl[i];
        } else {
            out = ri;
            fout = fl[i];
        }
    }
    CHECK(in && out && v6);
    if (!in || !out || !v6)
        return;
    CHECK_EQ(in->other_leg, fout->id);
    CHECK_EQ(out->other_leg, fin->id);
    CHECK_EQ(fout->orig_port, 42027);
    CHECK_EQ(fin->orig_port, 40000);
    CHECK(!(in->ct_flags & NL_REC_CT_UNREPLIED));     /* answered later */
    CHECK(in->ct_flags & NL_REC_CT_ASSURED);
    CHECK_EQ(in->nrecords, 2);
    CHECK_EQ(fin->last_ns - fin->first_ns, 1635000);
    CHECK(v6->ct_flags & NL_REC_CT_UNREPLIED);
    CHECK(!v6->other_leg);                           /* no translation: one flow */
    CHECK(v6->pins & NL_REC_PIN_PKTS);
    CHECK(!(v6->pins & NL_REC_PIN_TIMES));           /* a listing has no absolute time */
    trace_free(t);
}

int main(void)
{
    test_fields();
    test_zeek_states();
    test_conntrack_legs();
    return UNIT_END();
}
