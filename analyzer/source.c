/* source.c - capture files through libpcap, nanosecond precision, BPF.
 *
 * libpcap does all the file parsing (pcap and pcapng); we only keep track
 * of where in the file each record started so that damage can be reported
 * as a byte offset, and decode each frame. In a regular pcapng file the
 * blocks libpcap skips between two packets are looked at by offset
 * (pcapng_walk.c): custom blocks go to the caller (conntrack events) and
 * count as frames, as Wireshark numbers them.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "natlens/source.h"
#include "pcapng_walk.h"

static pthread_mutex_t source_compile_lock = PTHREAD_MUTEX_INITIALIZER;

struct nl_source {
    pcap_t  *pcap;
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
    char     warning[512];
    uint64_t damage_off;
    int      damaged;
    pcapng_walk *walk;     /* regular pcapng files: blocks between packets;
                            * next_off is then where the last packet block
                            * ended */
    int      tail_done;    /* the blocks after the last packet: walked once */
};

/* Peek at the magic number: 1 pcapng, 2 classic pcap (16-byte record
 * headers, so record offsets can be computed without asking the kernel),
 * 0 anything else (including stdin). libpcap does the real parsing. */
static int source_peek_format(const char *path)
{
    FILE *f;
    unsigned char m[4];
    int fmt = 0;
    if (strcmp(path, "-") == 0)
        return 0;
    f = fopen(path, "rb");
    if (!f)
        return 0;
    if (fread(m, 1, 4, f) == 4) {
        uint32_t be = ((uint32_t)m[0] << 24) | ((uint32_t)m[1] << 16) | ((uint32_t)m[2] << 8) | m[3];
        uint32_t le = ((uint32_t)m[3] << 24) | ((uint32_t)m[2] << 16) | ((uint32_t)m[1] << 8) | m[0];
        if (be == 0x0a0d0d0a)
            fmt = 1;
        else if (be == 0xa1b2c3d4 || le == 0xa1b2c3d4 || be == 0xa1b23c4d || le == 0xa1b23c4d)
            fmt = 2;
    }
    fclose(f);
    return fmt;
}

nl_source *source_open(const char *path, const char *bpf, char *errbuf)
{
    char perr[PCAP_ERRBUF_SIZE];
    struct stat st;
    nl_source *s;
    pcap_t *p;

    if (strcmp(path, "-") != 0) {
        if (stat(path, &st) != 0) {
            snprintf(errbuf, 512, "%s: %s", path, strerror(errno));
            return NULL;
        }
        if (S_ISDIR(st.st_mode)) {
            snprintf(errbuf, 512, "%s: is a directory, not a capture file", path);
            return NULL;
        }
    }
    perr[0] = '\0';
    p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, perr);
    if (!p) {
        /* libpcap's messages are terse ("unknown file format"): say what
         * the user can act on */
        if (strstr(perr, "unknown file format") || strstr(perr, "bad dump file format"))
            snprintf(errbuf, 512, "%s: not a capture file (libpcap: %s); natlens reads pcap and pcapng",
                     path, perr);
        else if (strstr(perr, "truncated dump file") || strstr(perr, "truncated"))
            snprintf(errbuf, 512, "%s: not a capture file or cut inside the file header (libpcap: %s)",
                     path, perr);
        else
            snprintf(errbuf, 512, "%s: cannot read (libpcap: %s)", path, perr);
        return NULL;
    }
    if (!decode_linktype_supported(pcap_datalink(p))) {
        const char *n = pcap_datalink_val_to_name(pcap_datalink(p));
        snprintf(errbuf, 512, "%s: link type %d (%s) is not supported", path,
                 pcap_datalink(p), n ? n : "unknown");
        pcap_close(p);
        return NULL;
    }
    s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        pcap_close(p);
        snprintf(errbuf, 512, "%s: out of memory", path);
        return NULL;
    }
    if (bpf && *bpf) {
        /* captures are read on several threads (cli_load.c); libpcap's
         * filter compiler is not documented as reentrant */
        pthread_mutex_lock(&source_compile_lock);
        int crc = pcap_compile(p, &s->prog, bpf, 1, PCAP_NETMASK_UNKNOWN);
        pthread_mutex_unlock(&source_compile_lock);
        if (crc != 0) {
            snprintf(errbuf, 512, "bad filter expression '%s': %s", bpf, pcap_geterr(p));
            pcap_close(p);
            free(s->path);
            free(s);
            return NULL;
        }
        s->has_prog = 1;
    }
    s->pcap = p;
    s->linktype = pcap_datalink(p);
    /* libpcap reports a pcapng section's version (1.x), classic pcap 2.4 */
    s->is_pcapng = pcap_major_version(p) == 1;
    /* peek only at regular files: opening a pipe or FIFO a second time
     * steals bytes from libpcap's stream, or blocks forever */
    s->plain_pcap = strcmp(path, "-") != 0 && S_ISREG(st.st_mode) &&
                    source_peek_format(path) == 2;
    s->next_off = 24;
    s->size = (strcmp(path, "-") != 0 && S_ISREG(st.st_mode)) ? (int64_t)st.st_size : -1;
    if (s->size >= 0 && !s->plain_pcap && s->is_pcapng && pcap_file(p)) {
        /* libpcap has read the section header: packets start here */
        s->next_off = (int64_t)ftell(pcap_file(p));
        if (s->next_off > 0)
            s->walk = pcapng_walk_new(fileno(pcap_file(p)), (uint64_t)s->size);
    }
    return s;
}

void source_on_custom_block(nl_source *s, nl_source_custom_fn fn, void *ctx)
{
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

int source_next(nl_source *s, nl_packet *pkt, const uint8_t **bytes)
{
    struct pcap_pkthdr *h;
    const u_char *data;
    FILE *f;
    int rc;

    if (s->damaged)
        return -1;
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
        if (strstr(pcap_geterr(s->pcap), "different from the")) {
            /* not damage: libpcap 1.10 reads pcapng files only while every
             * interface shares the first one's link type and snap length */
            snprintf(s->warning, sizeof s->warning,
                     "%s: stopped at byte offset %lld (after frame %llu): libpcap cannot read "
                     "this pcapng further (%s); split it per interface, e.g. "
                     "tshark -r FILE -Y frame.interface_id==1 -w part1.pcapng",
                     s->path, (long long)s->rec_off, (unsigned long long)s->frame,
                     pcap_geterr(s->pcap));
        } else if (s->rec_off >= 0)
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
        f = pcap_file(s->pcap);
        int64_t end = f ? (int64_t)ftell(f) : -1;
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
int source_is_pcapng(const nl_source *s) { return s->is_pcapng; }
const char *source_path(const nl_source *s) { return s->path; }
const char *source_warning(const nl_source *s) { return s->damaged ? s->warning : NULL; }
uint64_t source_damage_offset(const nl_source *s) { return s->damage_off; }
int64_t source_size(const nl_source *s) { return s->size; }
void source_set_verify_checksums(nl_source *s, int on) { s->verify_csum = on; }

const char *source_linktype_name(const nl_source *s)
{
    const char *n = pcap_datalink_val_to_name(s->linktype);
    return n ? n : "UNKNOWN";
}

int64_t source_offset(const nl_source *s)
{
    FILE *f = pcap_file(s->pcap);
    return f ? (int64_t)ftell(f) : -1;
}

void source_close(nl_source *s)
{
    if (!s)
        return;
    if (s->has_prog)
        pcap_freecode(&s->prog);
    pcapng_walk_free(s->walk);
    pcap_close(s->pcap);
    free(s->path);
    free(s);
}
