/* test_ndjson.c - NDJSON flow records (flow_ndjson.h, reader_ndjson.h).
 *
 * Round trip: every flow of every sample capture (samples/SCENARIO/FILE.pcap) and
 * of every capture under tests/corpus/ (and the directories named in
 * argv), written as a line and read back, must be identical, byte for
 * byte, to the nl_flow it was written from (table links and the record
 * pointer aside), packet records included; and a whole file read through
 * trace_load() must give the same flows in the same order with the
 * capture's facts. A field added to nl_flow but missing from the table in
 * flow_ndjson.c makes this test fail.
 * Hostile lines: each is counted as bad with file:line and skipped. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "natlens/flow_ndjson.h"
#include "natlens/reader_ndjson.h"
#include "natlens/trace.h"
#include "unit.h"

static size_t files_done, flows_done;

/* f without what belongs to its table (the record and ext pointers). */
static void strip(const nl_flow *f, nl_flow *out)
{
    memcpy(out, f, sizeof *out);
    out->recs = NULL;
    out->ext = NULL;
    out->tunnel = 0;            /* an index into its trace's tunnel table */
}

static int same_flow(const nl_flow *a, const nl_flow *b, const nl_pkt_rec *brecs)
{
    nl_flow x, y;
    strip(a, &x);
    strip(b, &y);
    if (memcmp(&x, &y, sizeof x))
        return 0;
    /* the rare facts: the same, pointed to from both or from neither */
    if (!a->ext != !b->ext || (a->ext && memcmp(a->ext, b->ext, sizeof *a->ext)))
        return 0;
    return a->nrecs == 0 || !memcmp(a->recs, brecs, a->nrecs * sizeof *brecs);
}

static void write_file(const char *path, nl_trace *t, const char *id)
{
    nl_ndjson_writer w;
    nl_ndjson_capture c = { t->path, id, "unit", t->linktype, t->linktype_name, "pcap",
                            t->hostmeta };
    size_t n;
    nl_flow **fl = trace_flows(t, &n);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    CHECK(flow_ndjson_begin(&w, f, &c) == 0);
    for (size_t i = 0; i < n; i++)
        flow_ndjson_flow(&w, fl[i]);
    flow_ndjson_end(&w, t);
    fclose(f);
}

static void round_trip(const char *pcap)
{
    char err[512], tmp[] = "/tmp/natlens-ndjson-XXXXXX";
    nl_trace_opts o;
    nl_trace *t, *r;
    size_t n, m;
    nl_flow **fl, **rl;
    int fd;
    memset(&o, 0, sizeof o);
    o.keep_packets = 1;
    if (!(t = trace_load(pcap, &o, err)))
        return;                 /* damaged corpus files that cannot open */
    fl = trace_flows(t, &n);
    for (size_t i = 0; i < n; i++) {
        char *line = NULL, why[128];
        size_t len = 0;
        nl_flow back;
        nl_flow_ext back_ext;
        nl_pkt_rec recs[NL_FLOW_KEEP_PKTS];
        uint16_t nrecs = 0;
        nl_ndjson_writer w;
        FILE *ms = open_memstream(&line, &len);
        memset(&w, 0, sizeof w);
        w.out = ms;
        memset(w.capture_id, 'a', 64);
        snprintf(w.point, sizeof w.point, "unit");
        flow_ndjson_flow(&w, fl[i]);
        fclose(ms);
        CHECK(len > 0 && line[len - 1] == '\n' && memchr(line, '\n', len) == line + len - 1);
        if (reader_ndjson_parse_flow(line, len - 1, &back, &back_ext, recs, &nrecs, why) < 0) {
            fprintf(stderr, "%s flow %u: %s\n", pcap, fl[i]->id, why);
            CHECK(0);
        } else {
            back.nrecs = nrecs;
            if (!same_flow(fl[i], &back, recs))
                fprintf(stderr, "%s flow %u differs after the round trip\n", pcap, fl[i]->id);
            CHECK(same_flow(fl[i], &back, recs));
        }
        free(line);
        flows_done++;
    }
    /* the whole file through trace_load */
    fd = mkstemp(tmp);
    close(fd);
    write_file(tmp, t, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    r = trace_load(tmp, &o, err);
    CHECK(r != NULL);
    if (r) {
        rl = trace_flows(r, &m);
        CHECK_EQ(m, n);
        for (size_t i = 0; i < n && i < m; i++)
            if (!same_flow(fl[i], rl[i], rl[i]->recs)) {
                fprintf(stderr, "%s: flow %zu differs when read as a file\n", pcap, i);
                CHECK(0);
            }
        CHECK_EQ(r->packets, t->packets);
        CHECK_EQ(r->ip_packets, t->ip_packets);
        CHECK_EQ(r->wire_bytes, t->wire_bytes);
        CHECK_EQ(r->first_ns, t->first_ns);
        CHECK_EQ(r->last_ns, t->last_ns);
        CHECK_EQ(r->linktype, t->linktype);
        CHECK(!strcmp(r->linktype_name, t->linktype_name));
        CHECK_EQ(r->nprobes, t->nprobes);
        CHECK((r->warning == NULL) == (t->warning == NULL));
        CHECK((r->hostmeta == NULL) == (t->hostmeta == NULL));
        CHECK_EQ(r->bad_records, 0);
        CHECK(!r->is_record && !strcmp(r->format, "ndjson"));
        trace_free(r);
    }
    unlink(tmp);
    trace_free(t);
    files_done++;
}

static int is_capture(const char *n)
{
    size_t l = strlen(n);
    return (l > 5 && !strcmp(n + l - 5, ".pcap")) || (l > 7 && !strcmp(n + l - 7, ".pcapng")) ||
           (l > 4 && !strcmp(n + l - 4, ".cap"));
}

static void walk(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d || depth > 4) {
        if (d)
            closedir(d);
        return;
    }
    while ((e = readdir(d))) {
        char p[4096];
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (stat(p, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            walk(p, depth + 1);
        else if (S_ISREG(st.st_mode) && is_capture(e->d_name))
            round_trip(p);
    }
    closedir(d);
}

/* ---- hostile and cut files ---- */

static nl_trace *load_text(const char *text, char *err)
{
    char tmp[] = "/tmp/natlens-ndjson-XXXXXX";
    int fd = mkstemp(tmp);
    nl_trace_opts o;
    nl_trace *t;
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    memset(&o, 0, sizeof o);
    o.keep_packets = 1;
    t = trace_load(tmp, &o, err);
    unlink(tmp);
    return t;
}

#define CAP "{\"type\":\"capture\",\"schema\":1,\"format\":\"natlens-flows\",\"capture_id\":" \
            "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"point\":\"x\"}\n"
#define FL(rest) "{\"type\":\"flow\",\"schema\":1,\"capture_id\":" \
            "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"," rest "}\n"

static void hostile(void)
{
    char err[512];
    nl_trace *t;
    size_t n;
    t = load_text(CAP
        FL("\"id\":1,\"proto\":6,\"orig_ip\":\"192.0.2.1\",\"resp_ip\":\"198.51.100.2\",\"history\":\"S\",\"hist_len\":1")
        FL("\"id\":2,\"proto\":6,\"history\":\"S\",\"hist_len\":200")       /* hist_len lies */
        FL("\"id\":3,\"orig_port\":70000")                                   /* out of range */
        FL("\"id\":4,\"orig_port\":-1")
        FL("\"id\":5,\"orig_ip\":\"not-an-address\"")
        FL("\"id\":6,\"pkt_ts_ns\":[1,2],\"pkt_dir\":[0,2]")                 /* dir indexes arrays */
        FL("\"id\":7,\"pkt_ts_ns\":[1,2],\"pkt_seq\":[1]")                   /* ragged arrays */
        FL("\"id\":8,\"orig_tcp_state\":9")
        FL("\"id\":9,\"history\":\"0123456789012345678901234567890123456789\"")
        FL("\"id\":10,\"orig_mac\":\"zz:00:00:00:00:00\"")
        FL("\"id\":11,\"orig_pkts\":1.5")
        "{\"type\":\"flow\",\"id\":12\n"                                    /* cut JSON */
        "[1,2,3]\n"
        "{\"a\":1} trailing\n"
        FL("\"id\":1,\"proto\":17")                                          /* duplicate id */
        "{\"type\":\"flow\",\"schema\":1,\"capture_id\":\"ffff\",\"id\":13}\n" /* other capture */
        FL("\"id\":14,\"proto\":17,\"orig_ip\":\"2001:db8::1\",\"resp_ip\":\"2001:db8::2\"")
        "\n", err);
    CHECK(t != NULL);
    if (t) {
        nl_flow **fl = trace_flows(t, &n);
        CHECK_EQ(n, 2);
        if (n == 2) {
            CHECK_EQ(fl[0]->id, 1);
            CHECK_EQ(fl[1]->id, 14);
        }
        CHECK_EQ(t->bad_records, 15);
        CHECK(t->bad_first[0] && strstr(t->bad_first[0], ":3: "));
        CHECK(t->warning && strstr(t->warning, "capture_end"));  /* cut */
        trace_free(t);
    }
    /* a newer schema is refused, not guessed at */
    t = load_text("{\"type\":\"capture\",\"schema\":2,\"format\":\"natlens-flows\"}\n", err);
    CHECK(t == NULL && strstr(err, "schema"));
    trace_free(t);
    /* nothing usable */
    t = load_text("{\"type\":\"flow\",\"capture_id\":\"x\",\"id\":0}\n", err);
    CHECK(t == NULL);
    trace_free(t);
}

int main(int argc, char **argv)
{
    hostile();
    walk("samples", 0);
    walk("tests/corpus", 0);
    for (int i = 1; i < argc; i++)
        walk(argv[i], 0);
    printf("round trip: %zu captures, %zu flows\n", files_done, flows_done);
    CHECK(files_done >= 20);
    return UNIT_END();
}
