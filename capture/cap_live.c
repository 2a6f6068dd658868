/* cap_live.c - live capture with libpcap into pcapng files.
 *
 * tcpdump's habits: "listening on ..." on stderr once the interface is
 * open, privileges dropped (-Z) after the interface is open and before any
 * file is created, tcpdump-style counters at the end. What we add:
 * nanosecond timestamps, the host's context stored in every file, drop
 * counters stored in an Interface Statistics Block.
 *
 * The ring: libpcap's TPACKET_V3 (what it uses when not in immediate
 * mode), whose blocks hold packets at their captured size. Immediate mode
 * gives the older ring with one slot per packet sized for the snap length
 * (with offloads on, 262,144 bytes): a 16 MiB buffer then held 256 packets
 * and a burst while the writer was busy lost the rest (measured: 248 of
 * 1,000 kept where tcpdump kept 1,000). V3 delivers a block when it is full
 * or after LIVE_BLOCK_MS, so nothing waits longer than that; stopping
 * waits one block timeout and drains what the kernel handed over.
 *
 * The loop polls the pcap descriptor (and, with --conntrack, the conntrack
 * event socket: cap_conntrack.c) with a 100 ms timeout in non-blocking
 * mode, so signals, -c, rotation by time and the final drain are handled in
 * one place and never from a signal handler. Each batch is flushed to disk
 * before the next poll: a SIGKILL loses at most the current batch. What a
 * rotation costs besides writing (fsync of the old file, the host context
 * of the new one) runs in cap_bg.c's thread, never on this loop. */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <pcap/pcap.h>
#include "natlens/hostmeta.h"
#include "natlens/text_safe.h"
#include "cap.h"
#include "cap_pcapng.h"

#ifndef NATLENS_VERSION
#define NATLENS_VERSION "dev"
#endif
#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#define LIVE_POLL_MS     100
#define LIVE_BLOCK_MS    50       /* V3 block timeout: the longest a packet waits */
#define LIVE_DRAIN_ROUNDS 64
#define LIVE_COMMENT_MAX 65000

static volatile sig_atomic_t live_stop_sig;

static void live_on_signal(int sig)
{
    live_stop_sig = sig;
}

typedef struct live {
    const cap_opts *o;
    pcap_t *p;
    int linktype;
    cap_pcapng w;
    int have_w;
    unsigned file_index;       /* rotation index of the open file */
    uint64_t file_start_ns;
    uint64_t start_ns;
    uint64_t total;            /* packets handed to the writer, all files */
    uint64_t written;          /* packets in files closed so far */
    int write_failed;
    char *premeta;             /* first file's metadata, read before -Z */
    cap_bg *bg;                /* rotation work, NULL: done on this loop */
    char os[300];
    cap_ct *ct;                /* --conntrack listener, NULL without */
} live;

/* OUT with a 4-digit rotation index before the extension:
 * cap.pcapng -> cap.0003.pcapng; without rotation, OUT itself. */
static void live_file_name(const live *L, unsigned idx, char *buf, size_t len)
{
    const char *out = L->o->out, *slash, *dot;
    if (!L->o->rotate_bytes && !L->o->rotate_secs) {
        snprintf(buf, len, "%s", out);
        return;
    }
    slash = strrchr(out, '/');
    dot = strrchr(out, '.');
    if (dot && (!slash || dot > slash + 1))
        snprintf(buf, len, "%.*s.%04u%s", (int)(dot - out), out, idx, dot);
    else
        snprintf(buf, len, "%s.%04u", out, idx);
}

static int live_open_file(live *L)
{
    char path[4096];
    char *meta;
    cap_meta_opts mo = {
        .role = L->o->role, .session = L->o->session, .iface = L->o->iface,
        .filter = L->o->filter, .snaplen = L->o->snaplen,
        .linktype = L->linktype, .start_ns = L->start_ns,
        .file_index = L->file_index,
    };
    int r;

    live_file_name(L, L->file_index, path, sizeof path);
    if (cap_pcapng_open(&L->w, path) != 0) {
        text_safe_fprintf(stderr, CAP_PROG ": %s: cannot create: %s\n", path, strerror(errno));
        return -1;
    }
    L->have_w = 1;
    L->file_start_ns = cap_now_ns();
    if (L->premeta) {
        meta = L->premeta;
        L->premeta = NULL;
    } else if (L->bg) {
        meta = cap_bg_meta(L->bg, L->file_index);   /* collected meanwhile */
    } else {
        meta = cap_meta_collect(&mo);
    }
    /* The document lives in the SHB (custom options), so it travels with
     * its section and never shows up as a "frame" in Wireshark; a short
     * copy as opt_comment makes it visible in capinfos / Wireshark. */
    r = cap_pcapng_shb(&L->w, meta && strlen(meta) <= LIVE_COMMENT_MAX ? meta : NULL,
                       NULL, L->os, CAP_PROG " " NATLENS_VERSION, NL_HOSTMETA_PEN,
                       NL_HOSTMETA_TAG, NL_HOSTMETA_TAG_LEN, meta,
                       meta ? strlen(meta) : 0);
    if (r == 0)
        r = cap_pcapng_idb(&L->w, L->linktype, (uint32_t)L->o->snaplen,
                           L->o->iface, L->o->filter, L->os);
    if (r == 0)
        r = cap_ct_file_start(L->ct, &L->w);
    free(meta);
    if (r == 0)
        r = cap_pcapng_flush(&L->w);
    if (r != 0) {
        text_safe_fprintf(stderr, CAP_PROG ": %s: write failed: %s\n", path, strerror(L->w.err));
        L->write_failed = 1;
        return -1;
    }
    /* --keep N: remove the file that fell out of the window (ours). */
    if (L->o->keep && L->file_index >= L->o->keep) {
        char old[4096];
        live_file_name(L, L->file_index - L->o->keep, old, sizeof old);
        if (unlink(old) != 0 && errno != ENOENT)
            text_safe_fprintf(stderr, CAP_PROG ": %s: cannot remove: %s\n", old, strerror(errno));
    }
    return 0;
}

static void live_stats(live *L, cap_pcapng_stats *st, struct pcap_stat *ps)
{
    memset(ps, 0, sizeof *ps);
    pcap_stats(L->p, ps);
    st->now_ns = cap_now_ns();
    st->start_ns = L->start_ns;
    st->end_ns = st->now_ns;
    st->ifrecv = ps->ps_recv;
    st->ifdrop = ps->ps_ifdrop;
    st->osdrop = ps->ps_drop;
    /* what reached the files: those closed, this one's written and
     * pending packets (the statistics block goes out with the pending) */
    st->usrdeliv = L->written + L->w.packets + L->w.pending_packets;
}

/* Write the ISB and close. After a failed write (a full disk) the file was
 * cut back to its last whole block; the statistics block is still tried
 * (small: often it fits where a batch did not), and cut away again if it
 * does not. Returns 0, or -1 after a write failure. */
static int live_close_file(live *L)
{
    cap_pcapng_stats st;
    struct pcap_stat ps;
    char path[4096];
    int r, fd = -1;

    if (!L->have_w)
        return 0;
    snprintf(path, sizeof path, "%s", L->w.path ? L->w.path : "?");
    if (L->w.err)
        cap_pcapng_recover(&L->w);
    live_stats(L, &st, &ps);
    if (!L->w.err)
        cap_ct_file_end(L->ct, &L->w);
    if (!L->w.err)
        cap_pcapng_isb(&L->w, 0, &st);
    if (L->bg) {
        /* the disk's own time is the worker's: the loop goes on */
        r = cap_pcapng_release(&L->w, &fd);
        if (fd >= 0 && cap_bg_retire(L->bg, fd) != 0)
            close(fd);
    } else {
        r = cap_pcapng_close(&L->w);
    }
    L->written += L->w.packets;
    L->have_w = 0;
    if (r != 0 && !L->write_failed) {
        text_safe_fprintf(stderr, CAP_PROG ": %s: write failed: %s\n", path, strerror(L->w.err));
        L->write_failed = 1;
    }
    return r;
}

static void live_packet(u_char *user, const struct pcap_pkthdr *h,
                        const u_char *bytes)
{
    live *L = (live *)(void *)user;   /* our own pointer back */
    /* Nanosecond precision was requested: tv_usec holds nanoseconds. */
    uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000000u + (uint64_t)h->ts.tv_usec;
    if (L->write_failed)
        return;
    if (L->o->count && L->total >= L->o->count)
        return;
    if (cap_pcapng_epb(&L->w, 0, ts, h->caplen, h->len, bytes) == 0)
        L->total++;
    if (L->o->count && L->total >= L->o->count)
        pcap_breakloop(L->p);
}

static int live_drop_privs(const char *user)
{
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        text_safe_fprintf(stderr, CAP_PROG ": -Z %s: no such user\n", user);
        return -1;
    }
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
        setuid(pw->pw_uid) != 0) {
        text_safe_fprintf(stderr, CAP_PROG ": -Z %s: cannot drop privileges: %s\n", user,
                strerror(errno));
        return -1;
    }
    if (pw->pw_uid != 0 && setuid(0) == 0) {
        text_safe_fprintf(stderr, CAP_PROG ": -Z %s: privileges could be regained\n", user);
        return -1;
    }
    return 0;
}

static pcap_t *live_open_pcap(const cap_opts *o, char *errbuf)
{
    pcap_t *p = pcap_create(o->iface, errbuf);
    int r;
    if (!p)
        return NULL;
    pcap_set_snaplen(p, o->snaplen);
    pcap_set_promisc(p, o->promisc);
    /* not immediate mode: TPACKET_V3 (see the top of this file) */
    pcap_set_immediate_mode(p, 0);
    pcap_set_timeout(p, LIVE_BLOCK_MS);
    if (o->buffer_kib > 0)
        pcap_set_buffer_size(p, o->buffer_kib * 1024);
    if (pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO) != 0)
        text_safe_fprintf(stderr, CAP_PROG ": warning: no nanosecond timestamps on %s\n", o->iface);
    r = pcap_activate(p);
    if (r < 0) {
        {
            /* libpcap's text is more specific than the status name when
             * it has one ("socket: Operation not permitted"). */
            const char *e = pcap_geterr(p), *st = pcap_statustostr(r);
            if (e && *e && strcmp(e, st) != 0 && r != PCAP_ERROR)
                snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s: %s (%s)", o->iface, st, e);
            else
                snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s: %s", o->iface,
                         e && *e ? e : st);
        }
        pcap_close(p);
        return NULL;
    }
    if (r > 0)
        text_safe_fprintf(stderr, CAP_PROG ": warning: %s: %s\n", o->iface, pcap_statustostr(r));
    /* SLL2 carries the interface index of every frame on "any". */
    if (strcmp(o->iface, "any") == 0)
        pcap_set_datalink(p, DLT_LINUX_SLL2);
    return p;
}

int cap_live_run(const cap_opts *o)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    live L;
    struct sigaction sa;
    struct bpf_program prog;
    struct pcap_stat ps;
    cap_pcapng_stats st;
    struct utsname u;
    int fd, rc = 0;

    memset(&L, 0, sizeof L);
    L.o = o;
    if (uname(&u) == 0)
        snprintf(L.os, sizeof L.os, "%s %s", u.sysname, u.release);

    L.p = live_open_pcap(o, errbuf);
    if (!L.p) {
        text_safe_fprintf(stderr, CAP_PROG ": %s\n", errbuf);
        return 2;
    }
    L.linktype = pcap_datalink(L.p);
    if (o->filter && *o->filter) {
        if (pcap_compile(L.p, &prog, o->filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
            text_safe_fprintf(stderr, CAP_PROG ": bad filter \"%s\": %s\n", o->filter,
                    pcap_geterr(L.p));
            pcap_close(L.p);
            return 2;
        }
        if (pcap_setfilter(L.p, &prog) != 0) {
            text_safe_fprintf(stderr, CAP_PROG ": cannot set filter: %s\n", pcap_geterr(L.p));
            pcap_freecode(&prog);
            pcap_close(L.p);
            return 2;
        }
        pcap_freecode(&prog);
    }
    L.start_ns = cap_now_ns();
    /* in this namespace, while still privileged (joining the groups needs
     * CAP_NET_ADMIN); before the first file so it gets the START block */
    if (o->conntrack && !(L.ct = cap_ct_open(o->quiet, o->ct_buffer_kib))) {
        pcap_close(L.p);
        return 2;
    }
    {
        /* The host context, read while still privileged (iptables-save
         * needs root before -Z); later files get theirs from cap_bg's
         * thread, collected while the loop captures. */
        cap_meta_opts mo = {
            .role = o->role, .session = o->session, .iface = o->iface,
            .filter = o->filter, .snaplen = o->snaplen,
            .linktype = L.linktype, .start_ns = L.start_ns, .file_index = CAP_META_NO_INDEX,
        };
        char *first = cap_meta_collect(&mo);
        if (o->user && live_drop_privs(o->user) != 0) {
            free(first);
            cap_ct_close(L.ct);
            pcap_close(L.p);
            return 2;
        }
        /* without the thread: the first file takes this one, later files
         * collect their own on the loop (as before) */
        if (first && !(L.bg = cap_bg_start(&mo, first)))
            L.premeta = first;
    }

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = live_on_signal;   /* no SA_RESTART: poll() wakes up */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (live_open_file(&L) != 0) {
        live_close_file(&L);
        cap_bg_stop(L.bg);
        cap_ct_close(L.ct);
        pcap_close(L.p);
        return L.write_failed ? 1 : 2;
    }
    if (pcap_setnonblock(L.p, 1, errbuf) != 0) {
        text_safe_fprintf(stderr, CAP_PROG ": %s\n", errbuf);
        live_close_file(&L);
        cap_bg_stop(L.bg);
        cap_ct_close(L.ct);
        pcap_close(L.p);
        return 2;
    }
    fd = pcap_get_selectable_fd(L.p);
    if (!o->quiet)
        text_safe_fprintf(stderr, "listening on %s, link-type %s (%s), snapshot length %d bytes\n",
                o->iface, pcap_datalink_val_to_name(L.linktype) ?
                pcap_datalink_val_to_name(L.linktype) : "?",
                pcap_datalink_val_to_description(L.linktype) ?
                pcap_datalink_val_to_description(L.linktype) : "?", o->snaplen);

    while (!live_stop_sig) {
        struct pollfd pfd[2] = {{.fd = fd, .events = POLLIN},
                                {.fd = cap_ct_fd(L.ct), .events = POLLIN}};
        int n;
        if (fd >= 0 && poll(pfd, L.ct ? 2 : 1, LIVE_POLL_MS) < 0 && errno != EINTR) {
            text_safe_fprintf(stderr, CAP_PROG ": poll: %s\n", strerror(errno));
            rc = 1;
            break;
        }
        /* one bounded round of events, then the packets: neither starves
         * (a write error shows at the flush below) */
        cap_ct_drain(L.ct, &L.w);
        n = pcap_dispatch(L.p, -1, live_packet, (u_char *)&L);
        if (n == PCAP_ERROR) {
            text_safe_fprintf(stderr, CAP_PROG ": %s: %s\n", o->iface, pcap_geterr(L.p));
            rc = 1;
            break;
        }
        if (cap_pcapng_flush(&L.w) != 0) {
            text_safe_fprintf(stderr, CAP_PROG ": %s: write failed: %s; the file is valid "
                    "up to its last %llu packets (%llu bytes)\n", L.w.path,
                    strerror(L.w.err), (unsigned long long)L.w.packets,
                    (unsigned long long)L.w.committed);
            L.write_failed = 1;
            rc = 1;
            break;
        }
        if (o->count && L.total >= o->count)
            break;
        if ((o->rotate_bytes && L.w.committed >= o->rotate_bytes) ||
            (o->rotate_secs &&
             cap_now_ns() - L.file_start_ns >= o->rotate_secs * 1000000000u)) {
            if (live_close_file(&L) != 0) {
                rc = 1;
                break;
            }
            L.file_index++;
            if (live_open_file(&L) != 0) {
                rc = 1;
                break;
            }
        }
    }
    /* Drain: stopping must not drop packets captured before the signal.
     * The kernel hands a partly filled block over when its timeout
     * expires, so wait two block timeouts, taking what comes, then empty
     * the ring. */
    if (live_stop_sig && !L.write_failed && L.have_w) {
        uint64_t until = cap_now_ns() + 2u * LIVE_BLOCK_MS * 1000000u + 10000000u;
        int rounds = 0;
        while (!(o->count && L.total >= o->count) && rounds < LIVE_DRAIN_ROUNDS) {
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            uint64_t now = cap_now_ns();
            int n;
            if (now < until && fd >= 0)
                poll(&pfd, 1, (int)((until - now) / 1000000u) + 1);
            n = pcap_dispatch(L.p, -1, live_packet, (u_char *)&L);
            if (n > 0)
                rounds++;
            if (n <= 0 && cap_now_ns() >= until)
                break;
        }
        /* and the events the kernel already queued */
        for (int i = 0; i < LIVE_DRAIN_ROUNDS; i++)
            if (cap_ct_drain(L.ct, &L.w) <= 0)
                break;
        if (cap_pcapng_flush(&L.w) != 0 && !L.write_failed) {
            text_safe_fprintf(stderr, CAP_PROG ": %s: write failed: %s\n", L.w.path,
                              strerror(L.w.err));
            L.write_failed = 1;
            rc = 1;
        }
    }
    live_stats(&L, &st, &ps);
    if (live_close_file(&L) != 0)
        rc = 1;
    cap_bg_stop(L.bg);       /* after the last file: its fsync is done here */
    /* the count says what the files hold (a full disk cuts the last batch) */
    text_safe_fprintf(stderr, "%llu packets captured\n%u packets received by filter\n"
            "%u packets dropped by kernel\n%u packets dropped by interface\n",
            (unsigned long long)L.written, ps.ps_recv, ps.ps_drop, ps.ps_ifdrop);
    if (L.total > L.written)
        text_safe_fprintf(stderr, "%llu packets captured but not written (the write failed)\n",
                          (unsigned long long)(L.total - L.written));
    cap_ct_summary(L.ct);
    cap_ct_close(L.ct);
    pcap_close(L.p);
    return rc;
}
