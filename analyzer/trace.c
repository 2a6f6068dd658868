/* trace.c - one pass over a capture: source -> decode -> flow table; the
 * conntrack events a pcapng capture carries (natlens-capture --conntrack)
 * become its record flows in the same pass (record_capture.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "natlens/hostmeta.h"
#include "natlens/reader.h"
#include "natlens/record.h"
#include "natlens/source.h"
#include "natlens/trace.h"

/* Keep a recognised probe; probes are rare, so growing here is not a
 * per-packet allocation in any real capture (bounded at 1M anyway). */
static void trace_add_probe(nl_trace *t, const nl_probe_info *pi, size_t *cap)
{
    if (t->nprobes == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        nl_probe_info *np;
        if (nc > (1u << 20))
            return;
        np = realloc(t->probes, nc * sizeof *np);
        if (!np)
            return;
        t->probes = np;
        *cap = nc;
    }
    t->probes[t->nprobes++] = *pi;
}

static char *trace_basename(const char *path)
{
    const char *s = strrchr(path, '/');
    return strdup(s && s[1] ? s + 1 : path);
}

static int trace_is_pcap_magic(const unsigned char *m, size_t n)
{
    static const unsigned char magics[][4] = {
        {0x0a, 0x0d, 0x0d, 0x0a},                          /* pcapng */
        {0xa1, 0xb2, 0xc3, 0xd4}, {0xd4, 0xc3, 0xb2, 0xa1}, /* pcap us */
        {0xa1, 0xb2, 0x3c, 0x4d}, {0x4d, 0x3c, 0xb2, 0xa1}, /* pcap ns */
    };
    if (n < 4)
        return 0;
    for (size_t i = 0; i < sizeof magics / sizeof magics[0]; i++)
        if (!memcmp(m, magics[i], 4))
            return 1;
    return 0;
}

/* The record reader for `path`, or NULL when libpcap should read it (a
 * capture magic, or nothing claims it: libpcap then says what it is not).
 * Only regular files are peeked: a second open of a FIFO or stdin would
 * steal bytes from the real read. */
static const nl_reader *trace_pick_reader(const char *path, const char *format,
                                          char *errbuf, int *err)
{
    struct stat st;
    char head[NL_READER_HEAD];
    size_t n;
    FILE *f;
    *err = 0;
    if (format && !reader_find(format)) {
        snprintf(errbuf, 512, "unknown record format '%s'", format);
        *err = 1;
        return NULL;
    }
    if (!strcmp(path, "-") || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return format ? reader_find(format) : NULL;
    if (!(f = fopen(path, "rb")))
        return NULL;
    n = fread(head, 1, sizeof head, f);
    fclose(f);
    /* a forced format names the record files: captures given beside them
     * (correlate vm.pcap nat-log.json) still go to libpcap */
    if (trace_is_pcap_magic((const unsigned char *)head, n))
        return NULL;
    return format ? reader_find(format) : reader_sniff(head, n);
}

/* Tunnels and tunnel links kept when flows are capped: a few per flow. */
static uint32_t trace_tunnel_cap(uint32_t max_flows)
{
    if (!max_flows)
        return 0;
    return max_flows > (UINT32_MAX - 1024u) / 4u ? UINT32_MAX : max_flows * 4u + 1024u;
}

/* The likely server ports of a trace: the caller's set or Zeek's default,
 * plus every UDP port that opens a tunnel (Zeek's register_for_ports adds
 * them too). NULL on out of memory. */
static nl_server_ports *trace_server_ports(const nl_trace_opts *o)
{
    nl_server_ports *sp = malloc(sizeof *sp);
    nl_tunnel_conf def;
    const nl_tunnel_conf *tc = o->tunnels;
    if (!sp)
        return NULL;
    if (o->server_ports)
        *sp = *o->server_ports;
    else
        server_ports_default(sp);
    if (!tc) {
        tunnel_conf_default(&def);
        tc = &def;
    }
    for (int k = 1; k < NL_TUN_KINDS; k++)
        for (int i = 0; i < NL_TUN_PORTS && tc->ports[k][i]; i++)
            server_ports_add(sp, 17, tc->ports[k][i]);
    return sp;
}

static nl_trace *trace_new(const char *path, const nl_trace_opts *o,
                           char *errbuf)
{
    nl_flow_table_opts fo;
    nl_trace *t;
    memset(&fo, 0, sizeof fo);
    fo.max_flows = o->max_flows;
    fo.keep_packets = o->keep_packets;
    fo.keep_limit = o->keep_limit;
    fo.keep_done = o->flow_done == NULL;
    fo.on_end = o->flow_done;
    fo.on_end_ctx = o->flow_done_ctx;
    t = calloc(1, sizeof *t);
    if (t && (t->server_ports = trace_server_ports(o)))
        fo.server_ports = t->server_ports;
    /* tunnel bookkeeping is bounded like the flows when streaming */
    if (!t || !t->server_ports || !(t->flows = flow_table_new(&fo)) ||
        !(t->tunnels = tunnel_table_new(o->tunnels, trace_tunnel_cap(o->max_flows))) ||
        !(t->path = strdup(path)) || !(t->name = trace_basename(path))) {
        snprintf(errbuf, 512, "%s: out of memory", path);
        trace_free(t);
        return NULL;
    }
    t->file_size = -1;
    return t;
}

/* A record file through its reader (reader.h). */
static nl_trace *trace_load_records(const char *path, const nl_reader *r,
                                    const nl_trace_opts *o, char *errbuf)
{
    nl_trace *t = trace_new(path, o, errbuf);
    FILE *in;
    struct stat st;
    if (!t)
        return NULL;
    in = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!in) {
        snprintf(errbuf, 512, "%s: cannot open", path);
        trace_free(t);
        return NULL;
    }
    if (in != stdin && fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode))
        t->file_size = (int64_t)st.st_size;
    t->format = r->name;
    t->format_title = r->title;
    t->is_record = 1;
    t->linktype = -1;
    snprintf(t->linktype_name, sizeof t->linktype_name, "%s", r->name);
    if (r->load(t, in, o, errbuf) < 0) {
        if (in != stdin)
            fclose(in);
        trace_free(t);
        return NULL;
    }
    if (in != stdin)
        fclose(in);
    return t;
}

void trace_note_bad(nl_trace *t, const char *fmt, ...)
{
    va_list ap;
    char buf[512];
    if (t->bad_records < NL_TRACE_BAD_KEEP) {
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        t->bad_first[t->bad_records] = strdup(buf);
    }
    t->bad_records++;
}

nl_trace *trace_load(const char *path, const nl_trace_opts *opts, char *errbuf)
{
    nl_trace_opts o;
    const nl_reader *reader;
    int rerr;
    nl_source *src;
    nl_trace *t;
    nl_packet pkt;
    const uint8_t *bytes;
    int rc;
    size_t probe_cap = 0;
    nl_probe_info pi;
    int bad_tunnel;
    nl_record_capture *rcap;

    memset(&o, 0, sizeof o);
    if (opts)
        o = *opts;
    reader = trace_pick_reader(path, o.format, errbuf, &rerr);
    if (rerr)
        return NULL;
    if (reader)
        return trace_load_records(path, reader, &o, errbuf);
    src = source_open(path, o.bpf, errbuf);
    if (!src)
        return NULL;
    source_set_verify_checksums(src, o.verify_checksums);
    if (!(t = trace_new(path, &o, errbuf))) {
        source_close(src);
        return NULL;
    }
    t->linktype = source_linktype(src);
    snprintf(t->linktype_name, sizeof t->linktype_name, "%s", source_linktype_name(src));
    t->is_pcapng = source_is_pcapng(src);
    t->format = t->is_pcapng ? "pcapng" : "pcap";
    t->format_title = t->is_pcapng ? "pcapng capture" : "pcap capture";
    t->file_size = source_size(src);
    if (o.tunnels_out)
        *o.tunnels_out = t->tunnels;
    rcap = t->is_pcapng ? record_capture_new(t) : NULL;
    source_on_custom_block(src, record_capture_block, rcap);

    memset(&pkt, 0, sizeof pkt);
    while ((rc = source_next(src, &pkt, &bytes)) == 1) {
        t->packets++;
        t->wire_bytes += pkt.wirelen;
        if (t->packets == 1 || pkt.ts_ns < t->first_ns)
            t->first_ns = pkt.ts_ns;
        if (pkt.ts_ns > t->last_ns)
            t->last_ns = pkt.ts_ns;
        bad_tunnel = 0;
        /* the frame and everything tunnelled inside it */
        tunnel_frame_add(t->tunnels, t->flows, &pkt, bytes, o.verify_checksums, &bad_tunnel);
        if ((pkt.flags & NL_PKT_MALFORMED) || bad_tunnel)
            t->malformed++;
        if (pkt.flags & NL_PKT_TRUNCATED)
            t->truncated++;
        if (pkt.ip_ver)
            t->ip_packets++;
        /* the length test first: almost every packet stops here */
        if (pkt.payload_caplen >= NL_PROBE_PAYLOAD_LEN && probe_recognize(&pkt, bytes, &pi))
            trace_add_probe(t, &pi, &probe_cap);
        if (o.progress && (t->packets & 0xffff) == 0)
            o.progress(o.progress_ctx, source_offset(src), t->file_size, t->packets);
    }
    if (rc < 0) {
        t->warning = strdup(source_warning(src));
        t->damage_offset = source_damage_offset(src);
    }
    if (o.progress)
        o.progress(o.progress_ctx, t->file_size, t->file_size, t->packets);
    source_close(src);
    record_capture_finish(rcap);   /* after the packet flows: their ids follow */
    if (t->is_pcapng && t->file_size >= 0) { /* re-reading needs a regular file */
        char herr[512];
        t->hostmeta = hostmeta_read(path, herr);
    }
    return t;
}

void trace_free(nl_trace *t)
{
    if (!t)
        return;
    flow_table_free(t->flows);
    tunnel_table_free(t->tunnels);
    free(t->server_ports);
    free(t->path);
    free(t->name);
    free(t->warning);
    free(t->probes);
    free(t->hostmeta);
    record_set_free(t->records);
    for (size_t i = 0; i < NL_TRACE_BAD_KEEP && i < t->bad_records; i++)
        free(t->bad_first[i]);
    free(t);
}

nl_flow **trace_flows(nl_trace *t, size_t *n)
{
    return flow_table_all(t->flows, n);
}
