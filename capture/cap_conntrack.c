/* cap_conntrack.c - `natlens-capture --conntrack`: the kernel's conntrack
 * events into the capture file, one pcapng Custom Block each (layout:
 * include/natlens/ctev.h).
 *
 * libnetfilter_conntrack opens the netlink socket (nfct_open, subscribed to
 * NEW, UPDATE and DESTROY) in the network namespace natlens-capture runs
 * in, which is the one it captures in, before privileges are dropped (-Z):
 * joining the groups needs CAP_NET_ADMIN, receiving afterwards does not.
 * The socket is non-blocking and read by the capture's own poll loop
 * (cap_live.c), no thread: every round reads at most CAP_CT_ROUND events,
 * then libpcap gets its turn, so events can never starve the packet ring.
 * The only queue is the kernel's socket buffer (CAP_CT_RCVBUF, forced as
 * root); when it overflows the kernel drops events and the next read
 * fails with ENOBUFS: we count it, warn once on stderr, and write a LOSS
 * block at that point of the file, so a reader knows events are missing
 * there (how many, the kernel does not say).
 *
 * Messages are parsed by libnetfilter_conntrack (nfct_nlmsg_parse). One
 * gap: its getters give the ICMP type, code and id of the original tuple
 * only, and a NAT may change the echo id like a port; the reply tuple's
 * ICMP fields are taken from the message's attributes directly (libnfnetlink
 * macros, every length checked).
 *
 * Kernel timestamps (the entry's start and stop, CTA_TIMESTAMP) exist only
 * with net.netfilter.nf_conntrack_timestamp=1 in the namespace, and the
 * kernel sends them with DESTROY events only (seen on 6.18): --conntrack
 * turns the sysctl on when it is off (it stays on: we cannot switch it back
 * after -Z, and other listeners may rely on it) and says so. Entries
 * created before it was on carry no start time; the receive time is always
 * there. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <libnfnetlink/libnfnetlink.h>
#include <libnetfilter_conntrack/linux_nfnetlink_conntrack.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include "natlens/ctev.h"
#include "cap.h"
#include "cap_pcapng.h"

#define CAP_CT_RCVBUF   (8u << 20)   /* socket buffer: ~25k events of ~300 bytes */
#define CAP_CT_ROUND    256          /* events per poll round, at most: ~5 us each
                                        (measured), so a round stays under ~2 ms */
#define CAP_CT_MSGBUF   65536        /* one recv: a netlink datagram */
#define CT_SYSCTL_TSTAMP "/proc/sys/net/netfilter/nf_conntrack_timestamp"
#define CT_SYSCTL_ACCT   "/proc/sys/net/netfilter/nf_conntrack_acct"

struct cap_ct {
    struct nfct_handle *h;
    uint8_t *buf;                   /* CAP_CT_MSGBUF */
    int fd;
    int quiet;
    uint8_t tstamp_sysctl, acct_sysctl;
    uint32_t rcvbuf;
    uint64_t events;                /* written, whole run */
    uint64_t file_events;           /* written into the open file */
    uint32_t overruns, file_overruns, overruns_before_file;
    uint64_t unparsed;              /* messages libnetfilter_conntrack refused */
    int warned_loss, failed;
};

/* ---- namespace settings -------------------------------------------------- */

/* A 0/1 sysctl of the current namespace: 0, 1, or 255 when unreadable. */
static uint8_t ct_sysctl_get(const char *path)
{
    char v[8] = "";
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;
    if (fd < 0)
        return 255;
    n = read(fd, v, sizeof v - 1);
    close(fd);
    if (n <= 0)
        return 255;
    return v[0] == '0' ? 0 : v[0] == '1' ? 1 : 255;
}

/* nf_conntrack_timestamp on: 1 it was on, 2 we turned it on, 0 it stays
 * off (no permission, no such sysctl), 255 unknown. */
static uint8_t ct_timestamps_on(int quiet)
{
    uint8_t v = ct_sysctl_get(CT_SYSCTL_TSTAMP);
    int fd;
    if (v != 0)
        return v;
    fd = open(CT_SYSCTL_TSTAMP, O_WRONLY | O_CLOEXEC);
    if (fd >= 0 && write(fd, "1\n", 2) == 2 && close(fd) == 0 && ct_sysctl_get(CT_SYSCTL_TSTAMP) == 1) {
        if (!quiet)
            fprintf(stderr, CAP_PROG ": turned on net.netfilter.nf_conntrack_timestamp in this "
                    "namespace (conntrack start/stop times; it stays on)\n");
        return 2;
    }
    if (fd >= 0)
        close(fd);
    fprintf(stderr, CAP_PROG ": warning: cannot turn on net.netfilter.nf_conntrack_timestamp: "
            "events carry receive times only\n");
    return 0;
}

/* ---- open / close -------------------------------------------------------- */

cap_ct *cap_ct_open(int quiet, unsigned buffer_kib)
{
    cap_ct *c = calloc(1, sizeof *c);
    int fl;
    if (!c || !(c->buf = malloc(CAP_CT_MSGBUF))) {
        fprintf(stderr, CAP_PROG ": --conntrack: out of memory\n");
        cap_ct_close(c);
        return NULL;
    }
    c->quiet = quiet;
    c->tstamp_sysctl = ct_timestamps_on(quiet);
    c->acct_sysctl = ct_sysctl_get(CT_SYSCTL_ACCT);
    c->h = nfct_open(CONNTRACK, NF_NETLINK_CONNTRACK_NEW | NF_NETLINK_CONNTRACK_UPDATE |
                                NF_NETLINK_CONNTRACK_DESTROY);
    if (!c->h) {
        fprintf(stderr, CAP_PROG ": --conntrack: cannot listen to conntrack events: %s%s\n",
                strerror(errno), errno == EPERM ? " (needs CAP_NET_ADMIN: run as root)" : "");
        cap_ct_close(c);
        return NULL;
    }
    c->fd = nfct_fd(c->h);
    /* SO_RCVBUFFORCE as root, else capped at net.core.rmem_max */
    c->rcvbuf = nfnl_rcvbufsiz(nfct_nfnlh(c->h), buffer_kib ? buffer_kib * 1024u : CAP_CT_RCVBUF);
    fl = fcntl(c->fd, F_GETFL);
    if (fl < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
        fcntl(c->fd, F_SETFD, FD_CLOEXEC) < 0) {
        fprintf(stderr, CAP_PROG ": --conntrack: %s\n", strerror(errno));
        cap_ct_close(c);
        return NULL;
    }
    return c;
}

int cap_ct_fd(const cap_ct *c)
{
    return c ? c->fd : -1;
}

void cap_ct_close(cap_ct *c)
{
    if (!c)
        return;
    if (c->h)
        nfct_close(c->h);
    free(c->buf);
    free(c);
}

void cap_ct_summary(const cap_ct *c)
{
    if (!c)
        return;
    fprintf(stderr, "%llu conntrack events recorded\n%u conntrack event losses "
            "(kernel buffer overruns)\n", (unsigned long long)c->events, c->overruns);
    if (c->unparsed)
        fprintf(stderr, CAP_PROG ": warning: %llu conntrack messages could not be parsed\n",
                (unsigned long long)c->unparsed);
    if (c->events == 0)
        fprintf(stderr, CAP_PROG ": note: no conntrack events: a namespace tracks connections "
                "only once a rule needs it (NAT, -m conntrack)\n");
}

/* ---- blocks -------------------------------------------------------------- */

static int ct_write(cap_pcapng *w, const nl_ctev *ev)
{
    uint8_t data[NL_CTEV_DATA_MAX];
    size_t n = ctev_encode(ev, data, sizeof data);
    return n ? cap_pcapng_custom(w, NL_CTEV_BLOCK_TYPE, data, n) : 0;
}

int cap_ct_file_start(cap_ct *c, cap_pcapng *w)
{
    nl_ctev ev;
    if (!c)
        return 0;
    c->file_events = 0;
    c->overruns_before_file = c->overruns;
    c->file_overruns = 0;
    memset(&ev, 0, sizeof ev);
    ev.kind = NL_CTEV_START;
    ev.recv_ns = cap_now_ns();
    ev.tstamp_sysctl = c->tstamp_sysctl;
    ev.acct_sysctl = c->acct_sysctl;
    ev.rcvbuf = c->rcvbuf;
    ev.overruns = c->overruns_before_file;
    return ct_write(w, &ev);
}

int cap_ct_file_end(cap_ct *c, cap_pcapng *w)
{
    nl_ctev ev;
    if (!c)
        return 0;
    memset(&ev, 0, sizeof ev);
    ev.kind = NL_CTEV_END;
    ev.recv_ns = cap_now_ns();
    ev.events = c->file_events;
    ev.overruns = c->file_overruns;
    return ct_write(w, &ev);
}

static int ct_loss(cap_ct *c, cap_pcapng *w)
{
    nl_ctev ev;
    c->overruns++;
    c->file_overruns++;
    if (!c->warned_loss) {
        fprintf(stderr, CAP_PROG ": warning: the kernel dropped conntrack events (socket buffer "
                "full, ENOBUFS); marked in the file, counted at the end\n");
        c->warned_loss = 1;
    }
    memset(&ev, 0, sizeof ev);
    ev.kind = NL_CTEV_LOSS;
    ev.recv_ns = cap_now_ns();
    ev.overruns = c->overruns;
    return ct_write(w, &ev);
}

/* ---- one event ----------------------------------------------------------- */

/* The payload of the first attribute of `type` among the netlink
 * attributes p[0..len) (*plen its length), or NULL. Headers are copied
 * out, every length checked against what is left. */
static const uint8_t *ct_attr(const uint8_t *p, size_t len, uint16_t type, size_t *plen)
{
    size_t off = 0;
    while (off + NLA_HDRLEN <= len) {
        struct nlattr a;
        memcpy(&a, p + off, sizeof a);
        if (a.nla_len < NLA_HDRLEN || a.nla_len > len - off)
            return NULL;
        if ((a.nla_type & NLA_TYPE_MASK) == type) {
            *plen = a.nla_len - NLA_HDRLEN;
            return p + off + NLA_HDRLEN;
        }
        off += NLA_ALIGN(a.nla_len);
    }
    return NULL;
}

/* The reply tuple's ICMP type, code and id, straight from the message
 * (CTA_TUPLE_REPLY > CTA_TUPLE_PROTO > CTA_PROTO_ICMP[V6]_*). */
static void ct_reply_icmp(const uint8_t *msg, size_t len, nl_ctev_tuple *r, int v6)
{
    size_t hdr = NLMSG_SPACE(sizeof(struct nfgenmsg)), tl, pl, xl;
    const uint8_t *t, *p, *x;
    if (len <= hdr || !(t = ct_attr(msg + hdr, len - hdr, CTA_TUPLE_REPLY, &tl)) ||
        !(p = ct_attr(t, tl, CTA_TUPLE_PROTO, &pl)))
        return;
    if ((x = ct_attr(p, pl, v6 ? CTA_PROTO_ICMPV6_TYPE : CTA_PROTO_ICMP_TYPE, &xl)) && xl >= 1)
        r->type = x[0];
    if ((x = ct_attr(p, pl, v6 ? CTA_PROTO_ICMPV6_CODE : CTA_PROTO_ICMP_CODE, &xl)) && xl >= 1)
        r->code = x[0];
    if ((x = ct_attr(p, pl, v6 ? CTA_PROTO_ICMPV6_ID : CTA_PROTO_ICMP_ID, &xl)) && xl >= 2)
        r->icmp_id = (uint16_t)((x[0] << 8) | x[1]);   /* network byte order */
}

static void ct_addr(const struct nf_conntrack *ct, int v6, int a4, int a6, nl_addr *out)
{
    const void *p = nfct_get_attr(ct, v6 ? a6 : a4);
    memset(out, 0, sizeof *out);
    if (p && v6)
        memcpy(out->b, p, 16);
    else if (p)
        nl_addr_from_v4(out, p);
}

static void ct_u32_opt(const struct nf_conntrack *ct, int attr, uint32_t *v, uint16_t *present,
                       uint16_t bit)
{
    if (nfct_attr_is_set(ct, attr) > 0) {
        *v = nfct_get_attr_u32(ct, attr);
        *present |= bit;
    }
}

/* The parsed entry into ev (kind EVENT). */
static void ct_fill(const struct nf_conntrack *ct, const uint8_t *msg, size_t len, uint8_t event,
                    nl_ctev *ev)
{
    int v6 = nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO) == AF_INET6;
    memset(ev, 0, sizeof *ev);
    ev->kind = NL_CTEV_EVENT;
    ev->event = event;
    ev->recv_ns = cap_now_ns();
    ev->family = v6 ? 6 : 4;
    ev->proto = nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO);
    ev->tcp_state = nfct_attr_is_set(ct, ATTR_TCP_STATE) > 0 ? nfct_get_attr_u8(ct, ATTR_TCP_STATE)
                                                              : NL_CTEV_NO_STATE;
    ct_addr(ct, v6, ATTR_ORIG_IPV4_SRC, ATTR_ORIG_IPV6_SRC, &ev->orig.src);
    ct_addr(ct, v6, ATTR_ORIG_IPV4_DST, ATTR_ORIG_IPV6_DST, &ev->orig.dst);
    ct_addr(ct, v6, ATTR_REPL_IPV4_SRC, ATTR_REPL_IPV6_SRC, &ev->reply.src);
    ct_addr(ct, v6, ATTR_REPL_IPV4_DST, ATTR_REPL_IPV6_DST, &ev->reply.dst);
    if (ev->proto == IPPROTO_ICMP || ev->proto == IPPROTO_ICMPV6) {
        ev->orig.type = nfct_get_attr_u8(ct, ATTR_ICMP_TYPE);
        ev->orig.code = nfct_get_attr_u8(ct, ATTR_ICMP_CODE);
        ev->orig.icmp_id = ntohs(nfct_get_attr_u16(ct, ATTR_ICMP_ID));
        ct_reply_icmp(msg, len, &ev->reply, v6);
    } else {
        ev->orig.sport = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_SRC));
        ev->orig.dport = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST));
        ev->reply.sport = ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC));
        ev->reply.dport = ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_DST));
    }
    ct_u32_opt(ct, ATTR_ID, &ev->id, &ev->present, NL_CTEV_HAS_ID);
    ct_u32_opt(ct, ATTR_STATUS, &ev->status, &ev->present, NL_CTEV_HAS_STATUS);
    ct_u32_opt(ct, ATTR_MARK, &ev->mark, &ev->present, NL_CTEV_HAS_MARK);
    ct_u32_opt(ct, ATTR_TIMEOUT, &ev->timeout, &ev->present, NL_CTEV_HAS_TIMEOUT);
    if (nfct_attr_is_set(ct, ATTR_ZONE) > 0) {
        ev->zone = nfct_get_attr_u16(ct, ATTR_ZONE);
        ev->present |= NL_CTEV_HAS_ZONE;
    }
    if (nfct_attr_is_set(ct, ATTR_TIMESTAMP_START) > 0) {
        ev->start_ns = nfct_get_attr_u64(ct, ATTR_TIMESTAMP_START);
        ev->present |= NL_CTEV_HAS_START;
    }
    if (nfct_attr_is_set(ct, ATTR_TIMESTAMP_STOP) > 0) {
        ev->stop_ns = nfct_get_attr_u64(ct, ATTR_TIMESTAMP_STOP);
        ev->present |= NL_CTEV_HAS_STOP;
    }
    if (nfct_attr_is_set(ct, ATTR_ORIG_COUNTER_PACKETS) > 0) {
        ev->counters[0] = nfct_get_attr_u64(ct, ATTR_ORIG_COUNTER_PACKETS);
        ev->counters[1] = nfct_get_attr_u64(ct, ATTR_ORIG_COUNTER_BYTES);
        ev->counters[2] = nfct_get_attr_u64(ct, ATTR_REPL_COUNTER_PACKETS);
        ev->counters[3] = nfct_get_attr_u64(ct, ATTR_REPL_COUNTER_BYTES);
        ev->present |= NL_CTEV_HAS_COUNTERS;
    }
}

/* One netlink message (msg[0..len), len its nlmsg_len, checked): NEW
 * (create flags), UPDATE, DESTROY as libnetfilter_conntrack tells them
 * apart. 1 written, 0 not an event, -1 write failure. */
static int ct_message(cap_ct *c, cap_pcapng *w, const uint8_t *msg, size_t len)
{
    const struct nlmsghdr *nlh = (const struct nlmsghdr *)(const void *)msg;
    uint16_t type = NFNL_MSG_TYPE(nlh->nlmsg_type);
    uint8_t event;
    struct nf_conntrack *ct;
    nl_ctev ev;
    if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_CTNETLINK)
        return 0;
    if (type == IPCTNL_MSG_CT_NEW)
        event = nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL) ? NL_CTEV_NEW : NL_CTEV_UPDATE;
    else if (type == IPCTNL_MSG_CT_DELETE)
        event = NL_CTEV_DESTROY;
    else
        return 0;
    if (len < NLMSG_SPACE(sizeof(struct nfgenmsg))) {
        c->unparsed++;
        return 0;
    }
    /* a fresh object per event: parsing only adds attributes, and
     * nfct_destroy() frees what it allocated (labels, helper data) */
    if (!(ct = nfct_new())) {
        c->unparsed++;   /* out of memory: counted, the capture goes on */
        return 0;
    }
    if (nfct_nlmsg_parse(nlh, ct) < 0) {
        c->unparsed++;
        nfct_destroy(ct);
        return 0;
    }
    ct_fill(ct, msg, len, event, &ev);
    nfct_destroy(ct);
    if (ct_write(w, &ev) != 0)
        return -1;
    c->events++;
    c->file_events++;
    return 1;
}

int cap_ct_drain(cap_ct *c, cap_pcapng *w)
{
    int done = 0;
    if (!c || c->failed)
        return 0;
    while (done < CAP_CT_ROUND) {
        ssize_t n = recv(c->fd, c->buf, CAP_CT_MSGBUF, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            if (errno == ENOBUFS) {
                if (ct_loss(c, w) != 0)
                    return -1;
                continue;
            }
            fprintf(stderr, CAP_PROG ": --conntrack: %s: no more events recorded\n", strerror(errno));
            c->failed = 1;
            break;
        }
        /* a datagram holds whole messages, each at a 4-byte aligned
         * offset of our (malloc-aligned) buffer; every length checked */
        for (size_t off = 0; off + NLMSG_HDRLEN <= (size_t)n;) {
            struct nlmsghdr h;
            int r;
            memcpy(&h, c->buf + off, sizeof h);
            if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > (size_t)n - off)
                break;
            if ((r = ct_message(c, w, c->buf + off, h.nlmsg_len)) < 0)
                return -1;
            done += r;
            off += NLMSG_ALIGN(h.nlmsg_len);
        }
    }
    return done;
}
