/* source.c - capture files through libpcap, nanosecond precision, BPF.
 *
 * libpcap does all the file parsing (pcap and pcapng); we only keep track
 * of where in the file each record started so that damage can be reported
 * as a byte offset, and decode each frame. The file is opened once, by
 * source_stream (plain, compressed, FIFO or standard input), and libpcap
 * reads its FILE*. A pcapng file libpcap 1.10 cannot read to the end
 * (interfaces of several link types) is read again by Wireshark's library
 * (source_wiretap.c): source_open_wiretap() gives the same interface.
 * In a regular pcapng file the blocks libpcap skips between two packets
 * are looked at by offset (pcapng_walk.c): custom blocks go to the caller
 * (conntrack events) and count as frames, as Wireshark numbers them.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "natlens/source.h"
#include "natlens/source_stream.h"
#include "pcapng_walk.h"
#include "source_merge.h"
#include "source_wiretap.h"

static pthread_mutex_t source_compile_lock = PTHREAD_MUTEX_INITIALIZER;

struct nl_source {
    pcap_t  *pcap;             /* libpcap, or */
    nl_wtap *wt;               /* Wireshark's wiretap, or */
    nl_merge *merge;           /* several files of one host (source_merge.c) */
    nl_stream *st;             /* the input (libpcap) */
    int      owns_st;
    char    *path;
    int      linktype;
    int      is_pcapng;
    int      verify_csum;
    uint64_t frame;
    int64_t  size;
    int64_t  rec_off;      /* offset of the record being read */
    int      plain_pcap;   /* classic pcap: offsets computed, no ftell */
    int64_t  next_off;     /* classic pcap: where the next record starts */
    struct bpf_program prog; /* applied per record, so frame numbers and
                              * offsets count every record in the file */
    int      has_prog;
    /* wiretap: one filter program per link type met (mixed files) */
    struct bpf_program wprog[NL_SOURCE_MAX_DLT];
    int      wprog_dlt[NL_SOURCE_MAX_DLT];
    int      wprog_ok[NL_SOURCE_MAX_DLT];
    int      nwprog;
    char    *bpf;
    char     warning[512];
    uint64_t damage_off;
    int      damaged;
    int      mixed_stop;       /* libpcap stopped at an interface it cannot take */
    pcapng_walk *walk;         /* regular pcapng files: blocks between packets;
                                * next_off is then where the last packet block
                                * ended */
    int      tail_done;        /* the blocks after the last packet: walked once */
};

/* libpcap's terse open errors in words the user can act on. */
static void source_open_error(const char *path, const char *perr, const char *comp,
                              char *errbuf)
{
    char what[64] = "";
    if (comp)
        snprintf(what, sizeof what, " (%s-compressed)", comp);
    if (strstr(perr, "unknown file format") || strstr(perr, "bad dump file format"))
        snprintf(errbuf, 512, "%s%s: not a capture file (libpcap: %s); natlens reads pcap and pcapng",
                 path, what, perr);
    else if (strstr(perr, "truncated dump file") || strstr(perr, "truncated"))
        snprintf(errbuf, 512, "%s%s: not a capture file or cut inside the file header (libpcap: %s)",
                 path, what, perr);
    else
        snprintf(errbuf, 512, "%s%s: cannot read (libpcap: %s)", path, what, perr);
}

static nl_source *source_new(const char *path, const char *bpf, char *errbuf)
{
    nl_source *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path)) || (bpf && *bpf && !(s->bpf = strdup(bpf)))) {
        if (s)
            free(s->path);
        free(s);
        snprintf(errbuf, 512, "%s: out of memory", path);
        return NULL;
    }
    s->size = -1;
    return s;
}

nl_source *source_open_stream(nl_stream *st, const char *path, const char *bpf, char *errbuf)
{
    char perr[PCAP_ERRBUF_SIZE];
    nl_source *s;
    pcap_t *p;
    FILE *f;

    if (!(s = source_new(path, bpf, errbuf)))
        return NULL;
    s->st = st;
    if (!(f = source_stream_file(st))) {
        snprintf(errbuf, 512, "%s: out of memory", path);
        source_close(s);
        return NULL;
    }
    perr[0] = '\0';
    p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, perr);
    if (!p) {
        fclose(f);
        if (source_stream_warning(st))
            snprintf(errbuf, 512, "%s", source_stream_warning(st));
        else
            source_open_error(path, perr, source_stream_compression(st), errbuf);
        source_close(s);
        return NULL;
    }
    s->pcap = p;
    if (!decode_linktype_supported(pcap_datalink(p))) {
        const char *n = pcap_datalink_val_to_name(pcap_datalink(p));
        snprintf(errbuf, 512, "%s: link type %d (%s) is not supported", path,
                 pcap_datalink(p), n ? n : "unknown");
        source_close(s);
        return NULL;
    }
    if (s->bpf) {
        /* captures are read on several threads (cli_load.c); libpcap's
         * filter compiler is not documented as reentrant */
        int crc;
        pthread_mutex_lock(&source_compile_lock);
        crc = pcap_compile(p, &s->prog, s->bpf, 1, PCAP_NETMASK_UNKNOWN);
        pthread_mutex_unlock(&source_compile_lock);
        if (crc != 0) {
            snprintf(errbuf, 512, "bad filter expression '%s': %s", s->bpf, pcap_geterr(p));
            source_close(s);
            return NULL;
        }
        s->has_prog = 1;
    }
    s->linktype = pcap_datalink(p);
    /* libpcap reports a pcapng section's version (1.x), classic pcap 2.4 */
    s->is_pcapng = pcap_major_version(p) == 1;
    /* classic pcap read straight from the file: record offsets are
     * counted, not asked of the kernel (one ftell per frame costs) */
    s->plain_pcap = source_stream_is_direct(st) && !s->is_pcapng;
    s->next_off = 24;
    s->size = source_stream_size(st);
    if (source_stream_is_direct(st) && s->is_pcapng && pcap_file(p)) {
        /* libpcap has read the section header: packets start here */
        s->next_off = (int64_t)ftell(pcap_file(p));
        if (s->next_off > 0)
            s->walk = pcapng_walk_new(fileno(pcap_file(p)), (uint64_t)s->size);
    }
    return s;
}

void source_on_custom_block(nl_source *s, nl_source_custom_fn fn, void *ctx)
{
    if (s->merge)
        source_merge_on_custom(s->merge, fn, ctx);
    if (s->walk)
        pcapng_walk_on_custom(s->walk, fn, ctx);
}

/* After libpcap's last packet: the blocks left (custom blocks after the
 * last packet); where their framing broke, when it did. */
static int source_tail(nl_source *s, uint64_t *bad_off)
{
    if (!s->walk || s->rec_off < 0 || s->tail_done)
        return 0;
    s->tail_done = 1;   /* a caller reading on after the end sees no block twice */
    return pcapng_walk_tail(s->walk, (uint64_t)s->rec_off, s->frame, bad_off);
}

nl_source *source_open(const char *path, const char *bpf, char *errbuf)
{
    nl_stream *st = source_stream_open(path, errbuf);
    nl_source *s;
    if (!st)
        return NULL;
    if (!(s = source_open_stream(st, path, bpf, errbuf))) {
        source_stream_close(st);
        return NULL;
    }
    s->owns_st = 1;
    return s;
}

nl_source *source_open_merged(nl_stream **streams, const char *const *paths, size_t n,
                              const char *point, const char *bpf, char *errbuf)
{
    nl_source *mem[NL_POINT_MAX_FILES];
    nl_source *s;
    size_t k = 0;
    if (n < 1 || n > NL_POINT_MAX_FILES) {
        snprintf(errbuf, 512, "%s: a capture point holds 1 to %d files", point,
                 NL_POINT_MAX_FILES);
        return NULL;
    }
    for (; k < n; k++) {
        size_t hn;
        const uint8_t *head = source_stream_head(streams[k], &hn);
        mem[k] = source_open_stream(streams[k], paths[k], bpf, errbuf);
        /* a pcapng libpcap refuses may still be Wireshark's to read */
        if (!mem[k] && source_stream_is_regular(streams[k]) && hn >= 4 &&
            !memcmp(head, "\x0a\x0d\x0d\x0a", 4)) {
            char err2[512];
            mem[k] = source_open_wiretap(paths[k], bpf, err2);
        }
        if (!mem[k])
            break;
    }
    if (k < n || !(s = source_new(point, bpf, errbuf))) {
        while (k > 0)
            source_close(mem[--k]);
        return NULL;
    }
    if (!(s->merge = source_merge_new(mem, paths, n, bpf, errbuf))) {
        source_close(s);
        return NULL;
    }
    s->linktype = source_linktype(source_merge_first(s->merge));
    s->is_pcapng = source_is_pcapng(source_merge_first(s->merge));
    s->size = source_merge_size(s->merge);
    return s;
}

/* The filter program for link type dlt (wiretap: frames of several link
 * types in one file), compiled on first use; NULL when it does not
 * compile for that link type (such frames never match). */
static const struct bpf_program *source_wtap_prog(nl_source *s, int dlt)
{
    pcap_t *dead;
    int i = s->nwprog;
    for (int k = 0; k < s->nwprog; k++)
        if (s->wprog_dlt[k] == dlt)
            return s->wprog_ok[k] ? &s->wprog[k] : NULL;
    if (i == NL_SOURCE_MAX_DLT)
        return NULL;
    s->wprog_dlt[i] = dlt;
    dead = pcap_open_dead_with_tstamp_precision(dlt, 262144, PCAP_TSTAMP_PRECISION_NANO);
    pthread_mutex_lock(&source_compile_lock);
    s->wprog_ok[i] = dead && pcap_compile(dead, &s->wprog[i], s->bpf, 1, PCAP_NETMASK_UNKNOWN) == 0;
    pthread_mutex_unlock(&source_compile_lock);
    if (dead)
        pcap_close(dead);
    s->nwprog++;
    return s->wprog_ok[i] ? &s->wprog[i] : NULL;
}

nl_source *source_open_wiretap(const char *path, const char *bpf, char *errbuf)
{
    nl_source *s = source_new(path, bpf, errbuf);
    if (!s)
        return NULL;
    if (!(s->wt = source_wiretap_open(path, errbuf))) {
        source_close(s);
        return NULL;
    }
    s->linktype = source_wiretap_linktype(s->wt);
    s->is_pcapng = source_wiretap_is_pcapng(s->wt);
    if (s->bpf) {
        /* the expression must make sense for the first link type at least */
        pcap_t *dead = pcap_open_dead(s->linktype, 262144);
        struct bpf_program pr;
        int crc;
        pthread_mutex_lock(&source_compile_lock);
        crc = dead ? pcap_compile(dead, &pr, s->bpf, 1, PCAP_NETMASK_UNKNOWN) : 0;
        pthread_mutex_unlock(&source_compile_lock);
        if (dead && crc != 0) {
            snprintf(errbuf, 512, "bad filter expression '%s': %s", s->bpf, pcap_geterr(dead));
            pcap_close(dead);
            source_close(s);
            return NULL;
        }
        if (dead) {
            pcap_freecode(&pr);
            pcap_close(dead);
        }
    }
    s->size = source_wiretap_size(s->wt);
    return s;
}

static int source_next_wiretap(nl_source *s, nl_packet *pkt, const uint8_t **bytes)
{
    for (;;) {
        int rc = source_wiretap_next(s->wt, pkt, bytes, s->verify_csum);
        if (rc != 1) {
            if (rc < 0) {
                s->damaged = 1;
                s->damage_off = source_wiretap_damage_offset(s->wt);
                snprintf(s->warning, sizeof s->warning, "%s", source_wiretap_warning(s->wt));
            }
            return rc;
        }
        s->frame = pkt->frame;
        if (s->bpf) {
            const struct bpf_program *pr = source_wtap_prog(s, pkt->linktype);
            struct pcap_pkthdr h;
            memset(&h, 0, sizeof h);
            h.caplen = pkt->caplen;
            h.len = pkt->wirelen;
            if (!pr || !pcap_offline_filter(pr, &h, *bytes))
                continue;
        }
        return 1;
    }
}

int source_next(nl_source *s, nl_packet *pkt, const uint8_t **bytes)
{
    struct pcap_pkthdr *h;
    const u_char *data;
    FILE *f;
    int rc;

    if (s->damaged)
        return -1;
    if (s->merge)
        return source_merge_next(s->merge, pkt, bytes);
    if (s->wt)
        return source_next_wiretap(s, pkt, bytes);
    /* ftell costs a system call per frame: classic pcap records are a
     * fixed 16-byte header plus caplen, so count instead */
next_record:
    if (s->plain_pcap || s->walk) {
        s->rec_off = s->next_off;
    } else {
        f = pcap_file(s->pcap);
        s->rec_off = f ? (int64_t)ftell(f) : -1;
    }
    rc = pcap_next_ex(s->pcap, &h, &data);
    if (rc == PCAP_ERROR_BREAK) {
        uint64_t bad;
        source_tail(s, &bad);
        return 0;
    }
    if (rc != 1) {
        uint64_t bad;
        s->damaged = 1;
        /* the walk finds the block that broke, past any good ones */
        if (source_tail(s, &bad))
            s->rec_off = (int64_t)bad;
        s->damage_off = s->rec_off >= 0 ? (uint64_t)s->rec_off : 0;
        if (source_stream_warning(s->st)) {
            /* the compressed data ended it: that says more than libpcap's
             * "truncated" about the decompressed bytes */
            snprintf(s->warning, sizeof s->warning, "%s", source_stream_warning(s->st));
        } else if (strstr(pcap_geterr(s->pcap), "different from the")) {
            /* not damage: libpcap 1.10 reads pcapng files only while every
             * interface shares the first one's link type and snap length;
             * the caller may read the file again with wiretap */
            s->mixed_stop = 1;
            snprintf(s->warning, sizeof s->warning,
                     "%s: stopped at byte offset %lld (after frame %llu): libpcap cannot read "
                     "this pcapng further (%s)",
                     s->path, (long long)s->rec_off, (unsigned long long)s->frame,
                     pcap_geterr(s->pcap));
        } else if (s->rec_off >= 0 && source_stream_compression(s->st))
            snprintf(s->warning, sizeof s->warning,
                     "%s: damaged or cut at byte offset %lld of the decompressed content (after "
                     "frame %llu): %s; analysed the %llu frames before it",
                     s->path, (long long)s->rec_off, (unsigned long long)s->frame,
                     pcap_geterr(s->pcap), (unsigned long long)s->frame);
        else if (s->rec_off >= 0)
            snprintf(s->warning, sizeof s->warning,
                     "%s: damaged or cut at byte offset %lld (after frame %llu): %s; "
                     "analysed the %llu frames before it",
                     s->path, (long long)s->rec_off, (unsigned long long)s->frame,
                     pcap_geterr(s->pcap), (unsigned long long)s->frame);
        else
            snprintf(s->warning, sizeof s->warning,
                     "%s: damaged after frame %llu: %s",
                     s->path, (unsigned long long)s->frame, pcap_geterr(s->pcap));
        return -1;
    }
    if (s->walk) {
        /* custom blocks before this packet are frames before it */
        int64_t end;
        f = pcap_file(s->pcap);
        end = f ? (int64_t)ftell(f) : -1;
        if (end > s->rec_off)
            s->frame += pcapng_walk_packet(s->walk, (uint64_t)s->rec_off, (uint64_t)end,
                                           h->caplen, s->frame);
        s->next_off = end;
    }
    s->frame++;
    if (s->plain_pcap && h->caplen >= (bpf_u_int32)pcap_snapshot(s->pcap)) {
        /* libpcap cuts records longer than the snapshot length and skips
         * the rest: only the stream knows where the next record starts */
        f = pcap_file(s->pcap);
        s->next_off = f ? (int64_t)ftell(f) : s->next_off + 16 + (int64_t)h->caplen;
    } else if (s->plain_pcap) {
        s->next_off += 16 + (int64_t)h->caplen;
    }
    if (s->has_prog && !pcap_offline_filter(&s->prog, h, data))
        goto next_record;
    pkt->ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
    pkt->frame = s->frame;
    pkt->file_off = s->rec_off >= 0 ? (uint64_t)s->rec_off : 0;
    /* libpcap clamps caplen to its snapshot; never trust caplen > wirelen
     * beyond what the buffer holds: the buffer is exactly caplen long */
    decode_packet(pkt, data, h->caplen, h->len < h->caplen ? h->caplen : h->len,
                  s->linktype, s->verify_csum);
    *bytes = data;
    return 1;
}

int source_linktype(const nl_source *s) { return s->linktype; }
int source_mixed_stop(const nl_source *s) { return s->mixed_stop; }
int source_is_pcapng(const nl_source *s) { return s->is_pcapng; }
const char *source_path(const nl_source *s) { return s->path; }
const char *source_warning(const nl_source *s)
{
    if (s->merge)
        return source_merge_warning(s->merge);
    return s->damaged ? s->warning : NULL;
}

uint64_t source_damage_offset(const nl_source *s)
{
    return s->merge ? source_merge_damage_offset(s->merge) : s->damage_off;
}
int64_t source_size(const nl_source *s) { return s->size; }
void source_set_verify_checksums(nl_source *s, int on)
{
    s->verify_csum = on;
    if (s->merge)
        source_merge_set_verify(s->merge, on);
}

const char *source_linktype_name(const nl_source *s)
{
    const char *n = pcap_datalink_val_to_name(s->linktype);
    return n ? n : "UNKNOWN";
}

int64_t source_offset(const nl_source *s)
{
    if (s->merge)
        return source_merge_offset(s->merge);
    if (s->wt)
        return source_wiretap_offset(s->wt);
    return s->st ? source_stream_raw_offset(s->st) : -1;
}

void source_close(nl_source *s)
{
    if (!s)
        return;
    if (s->has_prog)
        pcap_freecode(&s->prog);
    for (int i = 0; i < s->nwprog; i++)
        if (s->wprog_ok[i])
            pcap_freecode(&s->wprog[i]);
    pcapng_walk_free(s->walk);   /* reads through the FILE's descriptor */
    if (s->pcap)
        pcap_close(s->pcap);   /* closes the stream's FILE */
    if (s->wt)
        source_wiretap_close(s->wt);
    source_merge_free(s->merge);
    if (s->owns_st)
        source_stream_close(s->st);
    free(s->bpf);
    free(s->path);
    free(s);
}
