/* trace.c - one pass over a capture: source -> decode -> flow table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/hostmeta.h"
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

nl_trace *trace_load(const char *path, const nl_trace_opts *opts, char *errbuf)
{
    nl_trace_opts o;
    nl_flow_table_opts fo;
    nl_source *src;
    nl_trace *t;
    nl_packet pkt;
    const uint8_t *bytes;
    int rc;
    size_t probe_cap = 0;
    nl_probe_info pi;

    memset(&o, 0, sizeof o);
    if (opts)
        o = *opts;
    src = source_open(path, o.bpf, errbuf);
    if (!src)
        return NULL;
    source_set_verify_checksums(src, o.verify_checksums);

    memset(&fo, 0, sizeof fo);
    fo.max_flows = o.max_flows;
    fo.keep_packets = o.keep_packets;
    fo.keep_limit = o.keep_limit;
    fo.keep_done = o.flow_done == NULL;
    fo.on_end = o.flow_done;
    fo.on_end_ctx = o.flow_done_ctx;
    t = calloc(1, sizeof *t);
    if (!t || !(t->flows = flow_table_new(&fo)) || !(t->path = strdup(path)) ||
        !(t->name = trace_basename(path))) {
        snprintf(errbuf, 512, "%s: out of memory", path);
        trace_free(t);
        source_close(src);
        return NULL;
    }
    t->linktype = source_linktype(src);
    snprintf(t->linktype_name, sizeof t->linktype_name, "%s", source_linktype_name(src));
    t->is_pcapng = source_is_pcapng(src);
    t->file_size = source_size(src);

    memset(&pkt, 0, sizeof pkt);
    while ((rc = source_next(src, &pkt, &bytes)) == 1) {
        t->packets++;
        t->wire_bytes += pkt.wirelen;
        if (t->packets == 1 || pkt.ts_ns < t->first_ns)
            t->first_ns = pkt.ts_ns;
        if (pkt.ts_ns > t->last_ns)
            t->last_ns = pkt.ts_ns;
        if (pkt.flags & NL_PKT_MALFORMED)
            t->malformed++;
        if (pkt.flags & NL_PKT_TRUNCATED)
            t->truncated++;
        if (pkt.ip_ver)
            t->ip_packets++;
        flow_table_add(t->flows, &pkt, bytes);
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
    free(t->path);
    free(t->name);
    free(t->warning);
    free(t->probes);
    free(t->hostmeta);
    free(t);
}

nl_flow **trace_flows(nl_trace *t, size_t *n)
{
    return flow_table_all(t->flows, n);
}
