/* tui_pkts.c - every packet of the open ladder's flow, read again from the
 * capture files on demand.
 *
 * The viewer loads like `flows` (NL_KEEP_NEEDED: most flows keep no packet
 * records, the rest at most NL_FLOW_KEEP_PKTS), so memory is bounded by
 * flows. When the Pair panel opens a connection whose pieces' records do
 * not hold every packet, a background thread reads those pieces' packets
 * again: one pass over each capture with libpcap and a BPF filter on the
 * pieces' tuples as seen at that capture (source.h: the same decoding,
 * frame numbers and stream layer as the first read, so compressed files
 * work), each packet matched to its piece by tuple, time span and count
 * and made into a record as the flow table makes them
 * (flow_pkt_rec_fill). At most TUI_PKTS_CAP packets a side are read (said
 * when reached); the rest of a piece is then not claimed.
 *
 * What cannot be read again is said and the ladder keeps the kept
 * records: standard input and pipes (read once), a file that changed since
 * (its size), record files (no packets), flows from inside a tunnel (the
 * filter sees the outer header), and a piece whose packets the pass did
 * not all find (an encapsulation the filter misses).
 *
 * Threads: the UI thread owns the cache and starts at most one job; the
 * job reads the traces' flows (immutable after loading) and writes only
 * its own result, handed over under the mutex. Cancelling is a flag the
 * job reads every 4096 packets that pass the filter and between files:
 * the filter runs inside source_next(), so a job asked to stop ends at
 * the end of the file it reads (a pass over a 124 MB capture takes about
 * 0.3 s). Quitting does not wait for it (tui_main.c).
 */
#include <errno.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include "natlens/source.h"
#include "tui.h"

/* ---- what can be read again ------------------------------------------- */

/* Why the packets of flow f at trace t cannot be read again, or NULL. */
static const char *tui_pkts_why_not(const nl_trace *t, const nl_flow *f, char *buf, size_t len)
{
    struct stat st;
    if (t->is_record)
        return "a record file holds no packets";
    if (f->tunnel)
        return "the flow came from inside a tunnel";
    if (!strcmp(t->path, "-") || t->sha256[0])
        return "read from standard input or a pipe, it cannot be read again";
    if (stat(t->path, &st) < 0) {
        snprintf(buf, len, "cannot read it again: %s", strerror(errno));
        return buf;
    }
    if (!S_ISREG(st.st_mode))
        return "not a regular file, it cannot be read again";
    if (t->file_size >= 0 && st.st_size != t->file_size)
        return "the file changed since it was read";
    return NULL;
}

/* ---- the job ----------------------------------------------------------- */

typedef struct tui_pkts_want {
    const nl_flow *g;
    nl_pkt_rec    *recs;        /* grown as found */
    size_t         n, cap;
    char           why[160];    /* not read again: why ("" when read) */
} tui_pkts_want;

typedef struct tui_pkts_side {
    int            cap;
    const nl_trace *t;
    tui_pkts_want  w[NL_LADDER_PIECES];
    size_t         nw;
    int            capped;      /* stopped at TUI_PKTS_CAP */
    char           why[200];    /* the whole side failed */
} tui_pkts_side;

struct tui_pkts_job {
    tui_pkts      *px;
    const char    *bpf;         /* the viewer's own filter, or NULL */
    tui_pkts_side  side[2];
    size_t         nside;
};

/* A piece's BPF term: its protocol and endpoints as this capture saw
 * them (the C match after it is exact; the filter only narrows). */
static size_t tui_pkts_term(const nl_flow *g, char *buf, size_t len)
{
    char a[64], b[64];
    nl_addr_str(&g->orig_ip, a, sizeof a);
    nl_addr_str(&g->resp_ip, b, sizeof b);
    switch (g->proto) {
    case IPPROTO_TCP:
    case IPPROTO_UDP:
        return (size_t)snprintf(buf, len, "(%s and host %s and host %s and port %u and port %u)",
                                g->proto == IPPROTO_TCP ? "tcp" : "udp", a, b,
                                g->orig_port, g->resp_port);
    case IPPROTO_ICMP:
        return (size_t)snprintf(buf, len, "(icmp and host %s and host %s)", a, b);
    case IPPROTO_ICMPV6:
        return (size_t)snprintf(buf, len, "(icmp6 and host %s and host %s)", a, b);
    default:
        return (size_t)snprintf(buf, len, "(proto %u and host %s and host %s)", g->proto, a, b);
    }
}

/* The filter of one side: the viewer's own and any piece's tuple, also
 * under one VLAN tag (vlan: 0 for link types that have none). */
static int tui_pkts_filter(const tui_pkts_side *s, const char *user, int vlan, char *buf,
                           size_t len)
{
    char terms[NL_LADDER_PIECES * 200 + 8];
    size_t o = 0;
    int n;
    terms[0] = '\0';
    for (size_t i = 0; i < s->nw; i++) {
        char one[200];
        tui_pkts_term(s->w[i].g, one, sizeof one);
        if (strstr(terms, one) && o)
            continue;           /* pieces of one 5-tuple share a term */
        if (o + strlen(one) + 5 >= sizeof terms)
            return -1;
        o += (size_t)snprintf(terms + o, sizeof terms - o, "%s%s", o ? " or " : "", one);
        terms[o] = '\0';
    }
    if (vlan)
        n = snprintf(buf, len, "%s%s%s(%s) or (vlan and (%s))%s", user ? "(" : "", user ? user : "",
                     user ? ") and (" : "", terms, terms, user ? ")" : "");
    else
        n = snprintf(buf, len, "%s%s%s(%s)%s", user ? "(" : "", user ? user : "",
                     user ? ") and (" : "", terms, user ? ")" : "");
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* ft_match's rule (flow_table.c): the direction of p in g, or -1. */
static int tui_pkts_dir(const nl_flow *g, const nl_packet *p)
{
    if (g->proto != p->proto)
        return -1;
    if (g->orig_port == p->sport && g->resp_port == p->dport &&
        !nl_addr_cmp(&g->orig_ip, &p->src) && !nl_addr_cmp(&g->resp_ip, &p->dst))
        return NL_ORIG;
    if (g->orig_port == p->dport && g->resp_port == p->sport &&
        !nl_addr_cmp(&g->orig_ip, &p->dst) && !nl_addr_cmp(&g->resp_ip, &p->src))
        return NL_RESP;
    return -1;
}

static int tui_pkts_add(tui_pkts_want *w, const nl_packet *p, const uint8_t *bytes, int dir)
{
    if (w->n == w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 64;
        nl_pkt_rec *nr = realloc(w->recs, nc * sizeof *nr);
        if (!nr)
            return -1;
        w->recs = nr;
        w->cap = nc;
    }
    flow_pkt_rec_fill(&w->recs[w->n++], p, bytes, dir);
    return 0;
}

static void tui_pkts_progress(tui_pkts *px, int64_t done, int64_t total)
{
    pthread_mutex_lock(&px->mu);
    px->done_bytes = done;
    px->total_bytes = total;
    pthread_mutex_unlock(&px->mu);
}

/* One pass over a side's capture. 0 read (or cancelled), -1 with
 * s->why set when the file could not be read. */
static int tui_pkts_pass(struct tui_pkts_job *j, tui_pkts_side *s, nl_source *src)
{
    nl_packet pkt;
    const uint8_t *bytes;
    size_t total = 0;
    uint64_t seen = 0;
    int rc;
    memset(&pkt, 0, sizeof pkt);
    for (size_t i = 0; i < s->nw; i++)
        s->w[i].n = 0;
    s->capped = 0;
    while ((rc = source_next(src, &pkt, &bytes)) == 1) {
        if ((++seen & 0xfff) == 0) {
            if (atomic_load(&j->px->cancel))
                return 0;
            tui_pkts_progress(j->px, source_offset(src), source_size(src));
        }
        /* what the flow table counts (flow_table_add): IP, and for the
         * protocols with ports or ids their header (not a later fragment) */
        if ((pkt.flags & NL_PKT_NOT_IP) || !pkt.ip_ver ||
            (!(pkt.flags & NL_PKT_HAS_L4) &&
             (pkt.proto == IPPROTO_TCP || pkt.proto == IPPROTO_UDP ||
              pkt.proto == IPPROTO_ICMP || pkt.proto == IPPROTO_ICMPV6)))
            continue;
        for (size_t i = 0; i < s->nw; i++) {
            tui_pkts_want *w = &s->w[i];
            const nl_flow *g = w->g;
            int dir = tui_pkts_dir(g, &pkt);
            /* pieces of one 5-tuple follow each other in time: the span
             * and the count say which one a packet is */
            if (dir < 0 || pkt.ts_ns < g->first_ns || pkt.ts_ns > g->last_ns ||
                w->n >= g->pkts[0] + g->pkts[1])
                continue;
            if (tui_pkts_add(w, &pkt, bytes, dir) < 0) {
                snprintf(s->why, sizeof s->why, "out of memory reading %s again", s->t->name);
                return -1;
            }
            total++;
            break;
        }
        if (total >= TUI_PKTS_CAP) {
            s->capped = 1;
            break;
        }
    }
    if (rc < 0 && source_warning(src))
        snprintf(s->why, sizeof s->why, "%.190s", source_warning(src));
    return 0;
}

static void tui_pkts_side_read(struct tui_pkts_job *j, tui_pkts_side *s)
{
    char bpf[2 * NL_LADDER_PIECES * 200 + 1024], err[512];
    nl_source *src = NULL;
    const char *user = j->bpf && *j->bpf ? j->bpf : NULL;
    pthread_mutex_lock(&j->px->mu);
    snprintf(j->px->reading, sizeof j->px->reading, "%s", s->t->name);
    j->px->done_bytes = 0;
    j->px->total_bytes = -1;
    pthread_mutex_unlock(&j->px->mu);
    for (int vlan = 1; vlan >= 0 && !src; vlan--) {
        if (tui_pkts_filter(s, user, vlan, bpf, sizeof bpf) < 0) {
            snprintf(s->why, sizeof s->why, "the connection's filter is too long");
            return;
        }
        src = source_open(s->t->path, bpf, err);
    }
    if (!src) {
        snprintf(s->why, sizeof s->why, "%.190s", err);
        return;
    }
    if (tui_pkts_pass(j, s, src) < 0) {
        source_close(src);
        return;
    }
    if (!s->capped && source_mixed_stop(src) && !atomic_load(&j->px->cancel)) {
        /* libpcap stopped at an interface of another link type: the
         * first read went on with wiretap (trace.c), so does this one */
        source_close(src);
        src = source_open_wiretap(s->t->path, bpf, err);
        if (!src) {
            snprintf(s->why, sizeof s->why, "%.190s", err);
            return;
        }
        if (tui_pkts_pass(j, s, src) < 0) {
            source_close(src);
            return;
        }
    }
    source_close(src);
    /* a piece read again is every packet the first read counted, or (at
     * the cap) a prefix of them; anything else is not that piece */
    for (size_t i = 0; i < s->nw; i++) {
        tui_pkts_want *w = &s->w[i];
        uint64_t pk = w->g->pkts[0] + w->g->pkts[1];
        if (w->n != pk && !(s->capped && w->n < pk))
            snprintf(w->why, sizeof w->why, "reading %s again found %zu of its %llu packets",
                     s->t->name, w->n, (unsigned long long)pk);
    }
}

static void *tui_pkts_main(void *arg)
{
    struct tui_pkts_job *j = arg;
    for (size_t k = 0; k < j->nside && !atomic_load(&j->px->cancel); k++)
        tui_pkts_side_read(j, &j->side[k]);
    pthread_mutex_lock(&j->px->mu);
    j->px->finished = 1;
    pthread_mutex_unlock(&j->px->mu);
    return NULL;
}

static void tui_pkts_job_free(struct tui_pkts_job *j)
{
    for (size_t k = 0; j && k < j->nside; k++)
        for (size_t i = 0; i < j->side[k].nw; i++)
            free(j->side[k].w[i].recs);
    free(j);
}

/* ---- the cache (UI thread) ---------------------------------------------- */

static tui_pkts_ent *tui_pkts_find(tui_pkts *px, int cap, const nl_flow *g)
{
    for (size_t i = 0; i < px->nent; i++)
        if (px->ent[i].cap == cap && px->ent[i].g == g)
            return &px->ent[i];
    return NULL;
}

const nl_pkt_rec *tui_pkts_recs(void *ctx, int cap, const nl_flow *g, size_t *n)
{
    tui_pkts *px = ctx;
    tui_pkts_ent *e = px ? tui_pkts_find(px, cap, g) : NULL;
    if (!e || !e->n || e->why[0])
        return NULL;
    *n = e->n;
    return e->recs;
}

const tui_pkts_ent *tui_pkts_entry(const tui_pkts *px, int cap, const nl_flow *g)
{
    return tui_pkts_find((tui_pkts *)px, cap, g);
}

static void tui_pkts_ent_free(tui_pkts_ent *e)
{
    free(e->recs);
    memset(e, 0, sizeof *e);
}

/* Keep the entries of the ladder L shows (it is rebuilt right after, so
 * nothing else borrows the others): memory is one connection's. */
static void tui_pkts_trim(tui_pkts *px, const tui_ladder *L)
{
    size_t k = 0;
    for (size_t i = 0; i < px->nent; i++) {
        tui_pkts_ent *e = &px->ent[i];
        int used = 0;
        for (int s = 0; s < 2 && !used; s++)
            for (size_t p = 0; p < L->np[s] && !used; p++)
                used = L->pcap[s] == e->cap && L->piece[s][p] == e->g;
        if (used)
            px->ent[k++] = *e;
        else
            free(e->recs);
    }
    px->nent = k;
}

static void tui_pkts_put(tui_pkts *px, int cap, const tui_pkts_want *w, int capped,
                         const char *side_why)
{
    tui_pkts_ent *e = tui_pkts_find(px, cap, w->g);
    if (!e) {
        if (px->nent == TUI_PKTS_ENTS) {
            free(w->recs);      /* more than a ladder shows: not kept */
            return;
        }
        e = &px->ent[px->nent++];
    } else {
        tui_pkts_ent_free(e);
    }
    e->cap = cap;
    e->g = w->g;
    e->recs = w->recs;
    e->n = w->n;
    e->capped = capped && w->n < w->g->pkts[0] + w->g->pkts[1];
    snprintf(e->why, sizeof e->why, "%s", side_why && side_why[0] ? side_why : w->why);
}

void tui_pkts_init(tui_pkts *px)
{
    memset(px, 0, sizeof *px);
    pthread_mutex_init(&px->mu, NULL);
    atomic_init(&px->cancel, 0);
}

int tui_pkts_busy(const tui_pkts *px)
{
    return px->job != NULL;
}

/* Pieces of the open ladder that no record covers and nobody tried:
 * a job, or NULL. Pieces that cannot be read go to the cache with why. */
static struct tui_pkts_job *tui_pkts_plan(tui_ui *ui)
{
    tui_pkts *px = &ui->pkts;
    const tui_ladder *L = &ui->ladder;
    const tui_model *m = ui->m;
    struct tui_pkts_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    /* no job runs: the cache holds what this ladder borrows and older
     * pieces nothing borrows; those go, so it never fills up */
    tui_pkts_trim(px, L);
    j->px = px;
    j->bpf = ui->ld ? ui->ld->bpf : NULL;
    for (int s = 0; s < 2; s++) {
        tui_pkts_side *sd = &j->side[j->nside];
        if (L->pcap[s] < 0 || (size_t)L->pcap[s] >= m->ncaps)
            continue;
        sd->cap = L->pcap[s];
        sd->t = m->traces[sd->cap];
        for (size_t p = 0; p < L->np[s]; p++) {
            const nl_flow *g = L->piece[s][p];
            char why[200];
            const char *no;
            if (L->whole[s][p] || tui_pkts_find(px, sd->cap, g))
                continue;
            if ((no = tui_pkts_why_not(sd->t, g, why, sizeof why))) {
                tui_pkts_want w;
                memset(&w, 0, sizeof w);
                w.g = g;
                snprintf(w.why, sizeof w.why, "%.150s", no);
                tui_pkts_put(px, sd->cap, &w, 0, NULL);
                continue;
            }
            sd->w[sd->nw++].g = g;
        }
        if (sd->nw)
            j->nside++;
    }
    if (!j->nside) {
        free(j);
        return NULL;
    }
    return j;
}

void tui_pkts_want_more(tui_ui *ui)
{
    tui_pkts *px = &ui->pkts;
    struct tui_pkts_job *j;
    sigset_t all, old;
    int rc;
    if (ui->pair_row < 0 || !ui->m || ui->m->pairing)
        return;             /* pieces are known once paired */
    if (px->job) {
        /* another connection opened: stop the one being read */
        if (px->job_row != ui->pair_row || px->job_hop != ui->pair_hop)
            atomic_store(&px->cancel, 1);
        return;
    }
    if (!(j = tui_pkts_plan(ui)))
        return;
    atomic_store(&px->cancel, 0);
    px->finished = 0;
    px->done_bytes = 0;
    px->total_bytes = -1;
    px->reading[0] = '\0';
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&px->th, NULL, tui_pkts_main, j);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        for (size_t k = 0; k < j->nside; k++)
            for (size_t i = 0; i < j->side[k].nw; i++)
                snprintf(j->side[k].w[i].why, sizeof j->side[k].w[i].why,
                         "cannot start a thread to read packets again");
        for (size_t k = 0; k < j->nside; k++)
            for (size_t i = 0; i < j->side[k].nw; i++) {
                tui_pkts_put(px, j->side[k].cap, &j->side[k].w[i], 0, NULL);
                j->side[k].w[i].recs = NULL;
            }
        tui_pkts_job_free(j);
        return;
    }
    px->job = j;
    px->job_row = ui->pair_row;
    px->job_hop = ui->pair_hop;
}

int tui_pkts_poll(tui_ui *ui)
{
    tui_pkts *px = &ui->pkts;
    struct tui_pkts_job *j = px->job;
    int fin, cancelled;
    if (!j)
        return 0;
    pthread_mutex_lock(&px->mu);
    fin = px->finished;
    pthread_mutex_unlock(&px->mu);
    if (!fin)
        return 1;           /* the status line shows the progress */
    pthread_join(px->th, NULL);
    px->job = NULL;
    cancelled = atomic_load(&px->cancel);
    if (!cancelled) {
        tui_pkts_trim(px, &ui->ladder);
        for (size_t k = 0; k < j->nside; k++) {
            tui_pkts_side *s = &j->side[k];
            for (size_t i = 0; i < s->nw; i++) {
                tui_pkts_put(px, s->cap, &s->w[i], s->capped, s->why);
                s->w[i].recs = NULL;    /* the cache's now */
            }
        }
    }
    tui_pkts_job_free(j);
    /* the ladder borrows the cache: rebuilt now, and the next job (a
     * connection opened meanwhile) starts from it */
    tui_pair_rebuild(ui);
    return 1;
}

int tui_pkts_status(const tui_ui *ui, char *buf, size_t len)
{
    tui_pkts *px = (tui_pkts *)&ui->pkts;
    int64_t d, t;
    char name[128];
    if (!px->job)
        return 0;
    pthread_mutex_lock(&px->mu);
    d = px->done_bytes;
    t = px->total_bytes;
    snprintf(name, sizeof name, "%s", px->reading);
    pthread_mutex_unlock(&px->mu);
    if (t > 0 && d > 0)
        snprintf(buf, len, "reading the flow's packets again from %s%s %d%%", name,
                 tui_g.ellipsis, (int)(d * 100 / t));
    else
        snprintf(buf, len, "reading the flow's packets again%s%s%s", name[0] ? " from " : "",
                 name, tui_g.ellipsis);
    return 1;
}

void tui_pkts_free(tui_pkts *px)
{
    if (px->job) {
        atomic_store(&px->cancel, 1);
        pthread_join(px->th, NULL);
        tui_pkts_job_free(px->job);
        px->job = NULL;
    }
    for (size_t i = 0; i < px->nent; i++)
        free(px->ent[i].recs);
    px->nent = 0;
    pthread_mutex_destroy(&px->mu);
}
