/* trace.c - one pass over a capture: source -> decode -> flow table; the
 * conntrack events a pcapng capture carries (natlens-capture --conntrack)
 * become its record flows in the same pass (record_capture.c).
 *
 * Every input is opened once (source_stream: plain or compressed, file,
 * FIFO or standard input); its first bytes choose the reader; the host
 * context and drop counters come from the same read (source_blocks). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "natlens/hostmeta.h"
#include "natlens/reader.h"
#include "natlens/record.h"
#include "natlens/source.h"
#include "natlens/source_blocks.h"
#include "natlens/source_stream.h"
#include "natlens/text_safe.h"
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

/* The basename, made safe to print (text_safe.h): file names reach
 * terminals and reports; the path stays as given. */
static char *trace_basename(const char *path)
{
    const char *s = strrchr(path, '/');
    return text_safe_dup(s && s[1] ? s + 1 : path);
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

/* The one dispatch: the record reader for the content whose first bytes
 * the stream peeked (decompressed, whatever the input is: a regular file,
 * a FIFO, standard input), or NULL when libpcap should read it (a capture
 * magic, or nothing claims it: libpcap then says what it is not). */
static const nl_reader *trace_pick_reader(const nl_stream *st, const char *format,
                                          char *errbuf, int *err)
{
    const uint8_t *head;
    size_t n;
    *err = 0;
    if (format && !reader_find(format)) {
        snprintf(errbuf, 512, "unknown record format '%s'", format);
        *err = 1;
        return NULL;
    }
    head = source_stream_head(st, &n);
    /* a forced format names the record files: captures given beside them
     * (correlate vm.pcap nat-log.json) still go to libpcap */
    if (trace_is_pcap_magic(head, n))
        return NULL;
    return format ? reader_find(format) : reader_sniff((const char *)head, n);
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
    fo.keep_policy = o->keep_policy;
    /* a bound on live flows bounds memory only if ended flows shrink to
     * their summary */
    if (o->max_flows && fo.keep_policy == NL_KEEP_ALL)
        fo.keep_policy = NL_KEEP_SUMMARY;
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
    t->nfiles = 1;
    return t;
}

/* Append line w to *to ('\n' between lines). */
static void trace_add_line(char **to, const char *w)
{
    size_t a, b;
    char *n;
    if (!w || !*w)
        return;
    if (!*to) {
        *to = strdup(w);
        return;
    }
    a = strlen(*to);
    b = strlen(w);
    if ((n = realloc(*to, a + b + 2))) {
        n[a] = '\n';
        memcpy(n + a + 1, w, b + 1);
        *to = n;
    }
}

/* Reading stopped early: the damage warning (a line more when there is
 * one already). */
static void trace_warn(nl_trace *t, const char *w)
{
    trace_add_line(&t->warning, w);
}

/* Something every presenter should say that is not damage. */
static void trace_note(nl_trace *t, const char *w)
{
    trace_add_line(&t->notes, w);
}

static void trace_hostmeta_adopt(nl_trace *t, char *doc);

/* A record file through its reader (reader.h). */
static nl_trace *trace_load_records(nl_stream *st, const char *path, const nl_reader *r,
                                    const nl_trace_opts *o, char *errbuf)
{
    nl_trace *t = trace_new(path, o, errbuf);
    FILE *in;
    int rc;
    if (!t)
        return NULL;
    if (!(in = source_stream_file(st))) {
        snprintf(errbuf, 512, "%s: out of memory", path);
        trace_free(t);
        return NULL;
    }
    t->file_size = source_stream_size(st);
    t->format = r->name;
    t->format_title = r->title;
    t->is_record = 1;
    t->linktype = -1;
    snprintf(t->linktype_name, sizeof t->linktype_name, "%s", r->name);
    rc = r->load(t, in, o, errbuf);
    fclose(in);
    if (rc < 0) {
        trace_free(t);
        return NULL;
    }
    if (t->hostmeta) {          /* a record file can carry its capture's */
        char *doc = t->hostmeta;
        t->hostmeta = NULL;
        trace_hostmeta_adopt(t, doc);
    }
    trace_warn(t, source_stream_warning(st));
    if (o->bpf && *o->bpf) {
        /* BPF reads packets: a record entry has none, so say the filter
         * left this capture point whole rather than imply it applied */
        char line[600];
        snprintf(line, sizeof line, "%s: the filter applies to packets, not to record entries: "
                 "every entry was read", t->name);
        trace_note(t, line);
    }
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

/* Every packet of src into t. Returns source_next()'s last status. */
static int trace_read_packets(nl_trace *t, nl_source *src, const nl_trace_opts *o)
{
    nl_packet pkt;
    const uint8_t *bytes;
    nl_probe_info pi;
    size_t probe_cap = 0;
    int rc, bad_tunnel;
    nl_record_capture *rcap;

    source_set_verify_checksums(src, o->verify_checksums);
    t->linktype = source_linktype(src);
    snprintf(t->linktype_name, sizeof t->linktype_name, "%s", source_linktype_name(src));
    t->is_pcapng = source_is_pcapng(src);
    t->format = t->is_pcapng ? "pcapng" : "pcap";
    t->format_title = t->is_pcapng ? "pcapng capture" : "pcap capture";
    t->file_size = source_size(src);
    if (o->tunnels_out)
        *o->tunnels_out = t->tunnels;
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
        tunnel_frame_add(t->tunnels, t->flows, &pkt, bytes, o->verify_checksums, &bad_tunnel);
        if ((pkt.flags & NL_PKT_MALFORMED) || bad_tunnel)
            t->malformed++;
        if (pkt.flags & NL_PKT_TRUNCATED)
            t->truncated++;
        if (pkt.ip_ver)
            t->ip_packets++;
        /* the length test first: almost every packet stops here */
        if (pkt.payload_caplen >= NL_PROBE_PAYLOAD_LEN && probe_recognize(&pkt, bytes, &pi))
            trace_add_probe(t, &pi, &probe_cap);
        if (o->progress && (t->packets & 0xffff) == 0)
            o->progress(o->progress_ctx, source_offset(src), t->file_size, t->packets);
    }
    if (rc < 0) {
        if (source_warning(src))
            t->warning = strdup(source_warning(src));
        t->damage_offset = source_damage_offset(src);
    }
    if (o->progress)
        o->progress(o->progress_ctx, t->file_size, t->file_size, t->packets);
    record_capture_finish(rcap);   /* after the packet flows: their ids follow */
    flow_table_finish(t->flows);
    return rc;
}

/* libpcap could not read the pcapng file to the end (interfaces of other
 * link types): read it again, whole, with wiretap. Returns the new trace,
 * or NULL to keep the one libpcap gave (with a warning saying why). */
static nl_trace *trace_reread_wiretap(nl_trace *t, nl_stream *st, const char *path,
                                      const nl_trace_opts *o)
{
    char err[512];
    nl_source *w;
    nl_trace *t2;
    if (!source_stream_is_regular(st)) {
        trace_warn(t, "this pcapng has interfaces of several link types: natlens reads such "
                      "files whole from a regular file, not from a pipe or standard input");
        return NULL;
    }
    if (!(w = source_open_wiretap(path, o->bpf, err))) {
        trace_warn(t, err);
        return NULL;
    }
    if (!(t2 = trace_new(path, o, err))) {
        source_close(w);
        return NULL;
    }
    trace_read_packets(t2, w, o);
    source_close(w);
    trace_free(t);
    return t2;
}

/* The host context becomes the trace's only through hostmeta_sanitize():
 * every value that may reach a printed command is checked here, once, for
 * every kind of input (pcapng blocks, a record file carrying its
 * capture's). Takes doc. */
static void trace_hostmeta_adopt(nl_trace *t, char *doc)
{
    char warn[400], line[600];
    free(t->hostmeta);
    t->hostmeta = hostmeta_sanitize(doc, warn, sizeof warn);
    free(doc);
    if (t->hostmeta && warn[0]) {
        snprintf(line, sizeof line, "%s: host context: %s not safe to paste into a "
                 "command (not what the kernel or a shell takes as one word); fixes show "
                 "<placeholders> instead", t->name, warn);
        trace_note(t, line);
    }
}

/* What libpcap does not hand out: the host context in the first blocks
 * and the capture's own drop counters. Called once per file; the files of
 * a capture point (name: the file's) add up: the first host context
 * found is kept, drops are summed. */
static void trace_side_blocks(nl_trace *t, nl_stream *st, nl_blocks *b, const char *name)
{
    const uint8_t *lead;
    size_t n;
    nl_capture_stats cs;
    char *doc, line[600];

    if (source_stream_is_direct(st))
        source_blocks_read_fd(b, source_stream_fd(st), (uint64_t)source_stream_size(st));
    lead = source_blocks_lead(b, &n);
    if ((doc = hostmeta_from_blocks(lead, n))) {
        if (t->hostmeta)
            free(doc);
        else
            trace_hostmeta_adopt(t, doc);
    }
    source_blocks_stats(b, &cs);
    if (cs.interfaces) {
        uint64_t drops = (cs.has_ifdrop ? cs.ifdrop : 0) + (cs.has_osdrop ? cs.osdrop : 0);
        t->has_capture_stats = 1;
        t->capture_drops += drops;
        t->capture_received += cs.has_ifrecv ? cs.ifrecv : 0;
        if (drops) {
            char of[48] = "";
            if (cs.has_ifrecv)
                snprintf(of, sizeof of, " of %llu", (unsigned long long)cs.ifrecv);
            snprintf(line, sizeof line, "%s: the capture dropped %llu%s packets (its interface "
                     "statistics say so): a packet missing here may be capture loss, not "
                     "network loss", name, (unsigned long long)drops, of);
            trace_note(t, line);
        }
    }
}

static nl_trace *trace_load_packets(nl_stream *st, const char *path, const nl_trace_opts *o,
                                    char *errbuf)
{
    const uint8_t *head;
    size_t hn;
    nl_blocks *b = source_blocks_new();
    nl_source *src;
    nl_trace *t = NULL;
    int rc;

    if (!b) {
        snprintf(errbuf, 512, "%s: out of memory", path);
        return NULL;
    }
    if (!source_stream_is_direct(st))
        source_stream_observe(st, source_blocks_feed, b);
    head = source_stream_head(st, &hn);
    src = source_open_stream(st, path, o->bpf, errbuf);
    if (!src && source_stream_is_regular(st) && hn >= 4 && !memcmp(head, "\x0a\x0d\x0d\x0a", 4)) {
        /* a pcapng libpcap refuses (no interface block before the first
         * record, ...): Wireshark's reader may still take it */
        char err2[512];
        src = source_open_wiretap(path, o->bpf, err2);
    }
    if (src && (t = trace_new(path, o, errbuf))) {
        rc = trace_read_packets(t, src, o);
        /* compressed data cut at a record boundary: libpcap saw a clean
         * end, the decompressor knows better */
        if (source_stream_warning(st) &&
            !(t->warning && strstr(t->warning, source_stream_warning(st))))
            trace_warn(t, source_stream_warning(st));
        if (rc < 0 && source_mixed_stop(src)) {
            nl_trace *t2;
            source_close(src);
            src = NULL;
            if ((t2 = trace_reread_wiretap(t, st, path, o)))
                t = t2;
        }
        trace_side_blocks(t, st, b, t->name);
    }
    source_close(src);
    source_blocks_free(b);
    return t;
}

/* ------------------------------------------------------------------ */
/* One host, several files: "A+B" names one capture point (frame_ref.h).   */

/* Is `path` a capture point "A+B[+C...]"? Only when no file has that very
 * name (a literal name with '+' opens as one file, as it always did) and
 * it holds a '+'. Returns 0 (open path as one file), the number of files
 * with parts[] pointing into *buf (malloc'd, the caller frees it), or -1
 * with errbuf saying which part is missing. */
static int trace_point_split(const char *path, char **buf, char **parts, char *errbuf)
{
    struct stat sb;
    int n = 0;
    char *p;
    *buf = NULL;
    if (!strchr(path, '+') || !strcmp(path, "-") || stat(path, &sb) == 0)
        return 0;
    if (!(*buf = strdup(path))) {
        snprintf(errbuf, 512, "%s: out of memory", path);
        return -1;
    }
    for (p = *buf;; p++) {
        char *e = strchr(p, '+');
        if (n == NL_POINT_MAX_FILES) {
            snprintf(errbuf, 512, "%s: a capture point FILE+FILE holds at most %d files", path,
                     NL_POINT_MAX_FILES);
            return -1;
        }
        parts[n++] = p;
        if (!e)
            break;
        *e = '\0';
        p = e;
    }
    for (int i = 0; i < n; i++) {
        if (!parts[i][0] || !strcmp(parts[i], "-") || stat(parts[i], &sb) != 0) {
            snprintf(errbuf, 512, "%s: no such file; read as a capture point FILE+FILE, its "
                     "file '%s' %s", path, parts[i],
                     !parts[i][0] ? "is empty" : !strcmp(parts[i], "-") ?
                     "cannot be standard input" : "does not exist either");
            return -1;
        }
    }
    return n;
}

/* "server-eth0.pcap+server-eth1.pcap": the files' basenames joined, made
 * safe to print. NULL on out of memory. */
static char *trace_point_name(char *const *parts, int n)
{
    size_t len = 1;
    char *j, *safe;
    for (int i = 0; i < n; i++)
        len += strlen(parts[i]) + 1;
    if (!(j = malloc(len)))
        return NULL;
    j[0] = '\0';
    for (int i = 0; i < n; i++) {
        const char *b = strrchr(parts[i], '/');
        if (i)
            strcat(j, "+");
        strcat(j, b && b[1] ? b + 1 : parts[i]);
    }
    safe = text_safe_dup(j);
    free(j);
    return safe;
}

/* The files of one capture point merged by time into one trace. Every
 * file is opened once (source_stream), must be a packet capture (records
 * are a capture point of their own), and keeps its own host context and
 * counters (source_blocks). */
static nl_trace *trace_load_point(char *const *parts, int n, const char *path,
                                  const nl_trace_opts *o, char *errbuf)
{
    nl_stream *st[NL_POINT_MAX_FILES] = {0};
    nl_blocks *b[NL_POINT_MAX_FILES] = {0};
    nl_source *src = NULL;
    nl_trace *t = NULL;
    int i, ok = 1;

    for (i = 0; i < n && ok; i++) {
        const uint8_t *head;
        size_t hn;
        if (!(st[i] = source_stream_open(parts[i], errbuf)) || !(b[i] = source_blocks_new())) {
            if (st[i])
                snprintf(errbuf, 512, "%s: out of memory", parts[i]);
            ok = 0;
            break;
        }
        head = source_stream_head(st[i], &hn);
        if (!trace_is_pcap_magic(head, hn) && reader_sniff((const char *)head, hn)) {
            snprintf(errbuf, 512, "%s: a record file cannot join capture point %s: only "
                     "pcap and pcapng files merge; give it as a capture of its own",
                     parts[i], path);
            ok = 0;
            break;
        }
        if (!source_stream_is_direct(st[i]))
            source_stream_observe(st[i], source_blocks_feed, b[i]);
    }
    if (ok && (src = source_open_merged(st, (const char *const *)parts, (size_t)n, path, o->bpf,
                                        errbuf)) &&
        (t = trace_new(path, o, errbuf))) {
        char *name = trace_point_name(parts, n);
        t->nfiles = (unsigned)n;
        if (name) {
            free(t->name);
            t->name = name;
        }
        trace_read_packets(t, src, o);
        for (i = 0; i < n; i++) {
            const char *w = source_stream_warning(st[i]);
            char *bn = trace_basename(parts[i]);
            if (w && !(t->warning && strstr(t->warning, w)))
                trace_warn(t, w);
            trace_side_blocks(t, st[i], b[i], bn ? bn : "?");
            free(bn);
        }
    }
    source_close(src);
    for (i = 0; i < n; i++) {
        source_blocks_free(b[i]);
        source_stream_close(st[i]);
    }
    return t;
}

nl_trace *trace_load(const char *path, const nl_trace_opts *opts, char *errbuf)
{
    nl_trace_opts o;
    const nl_reader *reader;
    nl_stream *st;
    nl_trace *t;
    int rerr;

    memset(&o, 0, sizeof o);
    if (opts)
        o = *opts;
    {
        char *buf, *parts[NL_POINT_MAX_FILES];
        int n = trace_point_split(path, &buf, parts, errbuf);
        t = n > 0 ? trace_load_point(parts, n, path, &o, errbuf) : NULL;
        free(buf);
        if (n != 0)
            return t;
    }
    if (!(st = source_stream_open(path, errbuf)))
        return NULL;
    reader = trace_pick_reader(st, o.format, errbuf, &rerr);
    if (rerr) {
        source_stream_close(st);
        return NULL;
    }
    t = reader ? trace_load_records(st, path, reader, &o, errbuf)
               : trace_load_packets(st, path, &o, errbuf);
    /* an input that cannot be named again: its checksum now or never;
     * a file when asked (pread by offset: nothing consumed) */
    if (t && (o.sha256 || !source_stream_is_regular(st) || source_stream_is_stdin(st)))
        source_stream_sha256(st, t->sha256);
    source_stream_close(st);
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
    free(t->notes);
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
