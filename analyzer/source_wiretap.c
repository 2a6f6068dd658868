/* source_wiretap.c - pcapng files with interfaces of several link types,
 * read by Wireshark's own capture-file library (libwiretap).
 *
 * Why a second backend, and why only as a fallback: libpcap 1.10 reads a
 * pcapng section only while every interface has the first one's link type
 * and snap length, and stops at the first that differs ("an interface has
 * a type 0 different from the type of the first interface"); splitting the
 * file per interface with tshark gives files libpcap still refuses. Wiretap
 * reads every record and says, per record, which interface and link type
 * it has. libpcap stays the reader of everything it can read (its BPF, its
 * speed, no glib on the hot path); trace.c starts again with this backend
 * only when libpcap stopped at such an interface or cannot open a pcapng
 * file at all. Starting again (rather than sniffing every interface block
 * up front) keeps one reader per file and needs no pcapng parsing of our
 * own: the cost is reading the part before the odd interface twice, once.
 * Regular files only: wiretap opens by name.
 *
 * Numbering follows Wireshark: frame numbers count every record wiretap
 * returns (custom blocks too), timestamps are the record's own (ns), the
 * interface id is the pcapng one, so `natlens` and `tshark -r FILE` name
 * the same frame #N.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <wiretap/wtap.h>
#include <wiretap/pcap-encap.h>
#include <wsutil/wslog.h>
#include "source_wiretap.h"

struct nl_wtap {
    wtap    *wth;
    wtap_rec rec;
    Buffer   buf;
    char    *path;
    uint64_t frame;            /* records returned so far */
    int      linktype;
    int      pending;          /* the first packet is read ahead */
    int64_t  rec_off, size;
    uint64_t damage_off;
    char     warning[512];
};

static pthread_once_t wt_once = PTHREAD_ONCE_INIT;

/* wiretap encapsulation -> pcap link type. libwiretap exports only the
 * other direction, so the table is made from it once: every link type
 * value is asked, and where several map to one encapsulation (raw IP:
 * 12, 14, 101) the one our decoder takes wins. */
#define WT_MAX_ENCAP 1024
#define WT_MAX_DLT   512
static int wt_dlt_of[WT_MAX_ENCAP];

/* wiretap's log lines go nowhere: natlens reports what matters itself, and
 * a log line may quote bytes of the file to the terminal. */
static void wt_log_discard(const char *domain, enum ws_log_level level, struct timespec timestamp,
                           const char *file, long line, const char *func,
                           const char *user_format, va_list user_ap, void *user_data)
{
}

static void wt_init(void)
{
    ws_log_set_writer(wt_log_discard);
    ws_log_set_level(LOG_LEVEL_CRITICAL);
    wtap_init(FALSE);
    for (int e = 0; e < WT_MAX_ENCAP; e++)
        wt_dlt_of[e] = -1;
    for (int dlt = 0; dlt < WT_MAX_DLT; dlt++) {
        int e = wtap_pcap_encap_to_wtap_encap(dlt);
        if (e < 0 || e >= WT_MAX_ENCAP)
            continue;
        if (wt_dlt_of[e] < 0 ||
            (!decode_linktype_supported(wt_dlt_of[e]) && decode_linktype_supported(dlt)))
            wt_dlt_of[e] = dlt;
    }
}

static int wt_dlt(int encap)
{
    return encap >= 0 && encap < WT_MAX_ENCAP ? wt_dlt_of[encap] : -1;
}

/* Read up to the next packet record. 1, 0 at the end, -1 on damage. */
static int wt_read_packet(nl_wtap *w)
{
    int err = 0;
    gchar *info = NULL;
    gint64 off = 0;
    for (;;) {
        wtap_rec_reset(&w->rec);
        if (!wtap_read(w->wth, &w->rec, &w->buf, &err, &info, &off)) {
            if (err == 0)
                return 0;
            w->damage_off = (uint64_t)wtap_read_so_far(w->wth);
            snprintf(w->warning, sizeof w->warning,
                     "%s: damaged or cut near byte offset %llu (after frame %llu): %s%s%s; "
                     "analysed the frames before it",
                     w->path, (unsigned long long)w->damage_off, (unsigned long long)w->frame,
                     wtap_strerror(err), info ? ": " : "", info ? info : "");
            g_free(info);
            return -1;
        }
        w->frame++;
        w->rec_off = off;
        if (w->rec.rec_type == REC_TYPE_PACKET)
            return 1;
    }
}

nl_wtap *source_wiretap_open(const char *path, char *errbuf)
{
    struct stat st;
    int err = 0, rc;
    gchar *info = NULL;
    nl_wtap *w;

    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(errbuf, 512, "%s: only a regular file can be read again with wiretap", path);
        return NULL;
    }
    pthread_once(&wt_once, wt_init);
    if (!(w = calloc(1, sizeof *w)) || !(w->path = strdup(path))) {
        free(w);
        snprintf(errbuf, 512, "%s: out of memory", path);
        return NULL;
    }
    w->size = (int64_t)st.st_size;
    w->wth = wtap_open_offline(path, WTAP_TYPE_AUTO, &err, &info, FALSE);
    if (!w->wth || wtap_file_type_subtype(w->wth) != wtap_pcapng_file_type_subtype()) {
        if (w->wth)
            snprintf(errbuf, 512, "%s: not a pcapng file", path);
        else
            snprintf(errbuf, 512, "%s: wiretap cannot read it (%s%s%s)", path,
                     wtap_strerror(err), info ? ": " : "", info ? info : "");
        g_free(info);
        if (w->wth)
            wtap_close(w->wth);
        free(w->path);
        free(w);
        return NULL;
    }
    wtap_rec_init(&w->rec);
    ws_buffer_init(&w->buf, 65536);
    rc = wt_read_packet(w);
    w->pending = rc;
    w->linktype = rc == 1 ? wt_dlt(w->rec.rec_header.packet_header.pkt_encap)
                          : 1;   /* no packet: Ethernet, as good as any */
    return w;
}

int source_wiretap_next(nl_wtap *w, nl_packet *pkt, const uint8_t **bytes, int verify_csum)
{
    const wtap_packet_header *ph;
    const uint8_t *data;
    int rc;

    if (w->pending) {
        rc = w->pending;
        w->pending = 0;
    } else {
        rc = wt_read_packet(w);
    }
    if (rc != 1)
        return rc;
    ph = &w->rec.rec_header.packet_header;
    data = ws_buffer_start_ptr(&w->buf);
    memset(pkt, 0, sizeof *pkt);
    decode_packet(pkt, data, ph->caplen, ph->len < ph->caplen ? ph->caplen : ph->len,
                  wt_dlt(ph->pkt_encap), verify_csum);
    pkt->ts_ns = (w->rec.presence_flags & WTAP_HAS_TS) && w->rec.ts.secs >= 0
                     ? (uint64_t)w->rec.ts.secs * 1000000000ull + (uint64_t)w->rec.ts.nsecs
                     : 0;
    pkt->frame = w->frame;
    pkt->file_off = w->rec_off > 0 ? (uint64_t)w->rec_off : 0;
    if (!(pkt->flags & NL_PKT_HAS_IFINDEX) && (w->rec.presence_flags & WTAP_HAS_INTERFACE_ID)) {
        pkt->ifindex = (int32_t)ph->interface_id;
        pkt->flags |= NL_PKT_HAS_IFINDEX;
    }
    *bytes = data;
    return 1;
}

int source_wiretap_linktype(const nl_wtap *w) { return w->linktype; }
int source_wiretap_is_pcapng(const nl_wtap *w) { (void)w; return 1; }
int64_t source_wiretap_size(const nl_wtap *w) { return w->size; }
int64_t source_wiretap_offset(const nl_wtap *w) { return (int64_t)wtap_read_so_far(w->wth); }
uint64_t source_wiretap_damage_offset(const nl_wtap *w) { return w->damage_off; }
const char *source_wiretap_warning(const nl_wtap *w) { return w->warning[0] ? w->warning : NULL; }

void source_wiretap_close(nl_wtap *w)
{
    if (!w)
        return;
    wtap_rec_cleanup(&w->rec);
    ws_buffer_free(&w->buf);
    wtap_close(w->wth);
    free(w->path);
    free(w);
}
