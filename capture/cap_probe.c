/* cap_probe.c - `natlens-capture probe`: marked egress probes with libnet.
 *
 * One raw IPv4 socket per chosen source (libnet LIBNET_RAW4). The socket is
 * bound to the source address, so the kernel's route lookup sees the same
 * source as a real connection would (policy rules "from ADDR" apply), and
 * with --via it is bound to the interface (libnet sets SO_BINDTODEVICE).
 * Every probe carries the marker of probe.h in its ISN, IPv4 ID and
 * payload. Bounded: at most PROBE_MAX_COUNT probes per source, at most
 * PROBE_MAX_RATE per second overall, at most PROBE_MAX_SOURCES sources.
 *
 * The answer (SYN-ACK or RST, ICMP port unreachable for UDP) reaches a
 * kernel that has no socket for it: a SYN-ACK is answered with a RST, the
 * rest is dropped. Nothing is left open. */
/* natlens headers first: <netinet/ip_icmp.h> (pulled in by libnet.h)
 * defines icmp_id / icmp_seq as macros, which would rename nl_packet's
 * fields of the same names. */
#include "natlens/probe.h"
#include "natlens/text_safe.h"
#include "cap.h"
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <libnet.h>

#define PROBE_MAX_COUNT   1000
#define PROBE_MAX_RATE    1000
#define PROBE_MAX_SOURCES 64

typedef struct probe_src {
    struct in_addr addr;
    char ifname[IF_NAMESIZE];
} probe_src;

typedef struct probe_cfg {
    struct in_addr dst;
    uint16_t dport;
    int proto;              /* IPPROTO_TCP / IPPROTO_UDP */
    long count, rate;
    const char *via;
    const char *session;
    int all_sources;
    probe_src src[PROBE_MAX_SOURCES];
    int nsrc;
    int quiet;
} probe_cfg;

static void probe_usage(FILE *f)
{
    fprintf(f,
        "usage: " CAP_PROG " probe --to HOST:PORT [--from ADDR]... [--all-sources]\n"
        "         [--via IFACE] [--count N] [--rate PPS] [--proto tcp|udp]\n"
        "         [--session ID] [-q]\n"
        "  -c N, --count N     probes per source (default 3)\n"
        "  -r PPS, --rate PPS  probes per second over all sources (default 10)\n"
        "  -q, --quiet         no line per probe, no count at the end\n"
        "Sends marked probes (TCP SYN or UDP, IPv4) from each chosen source so the\n"
        "far-side capture shows which address each source leaves as.\n"
        "Limits: count <= %d per source, rate <= %d/s, sources <= %d. Needs root.\n",
        PROBE_MAX_COUNT, PROBE_MAX_RATE, PROBE_MAX_SOURCES);
}

/* Interface holding local address a ("" if none). */
static void probe_iface_of(struct in_addr a, char *name, size_t len)
{
    struct ifaddrs *ifa, *i;
    name[0] = '\0';
    if (getifaddrs(&ifa) != 0)
        return;
    for (i = ifa; i; i = i->ifa_next)
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
            ((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr.s_addr == a.s_addr) {
            snprintf(name, len, "%s", i->ifa_name);
            break;
        }
    freeifaddrs(ifa);
}

static int probe_add_src(probe_cfg *c, struct in_addr a, const char *ifname)
{
    for (int i = 0; i < c->nsrc; i++)
        if (c->src[i].addr.s_addr == a.s_addr)
            return 0;
    if (c->nsrc >= PROBE_MAX_SOURCES) {
        text_safe_fprintf(stderr, CAP_PROG " probe: more than %d sources\n", PROBE_MAX_SOURCES);
        return -1;
    }
    c->src[c->nsrc].addr = a;
    snprintf(c->src[c->nsrc].ifname, IF_NAMESIZE, "%s", ifname);
    c->nsrc++;
    return 0;
}

/* Every IPv4 address on an up, non-loopback interface (only --via's). */
static int probe_all_sources(probe_cfg *c)
{
    struct ifaddrs *ifa, *i;
    if (getifaddrs(&ifa) != 0) {
        perror(CAP_PROG " probe: getifaddrs");
        return -1;
    }
    for (i = ifa; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
            !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
            continue;
        if (c->via && strcmp(c->via, i->ifa_name) != 0)
            continue;
        if (probe_add_src(c, ((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr,
                          i->ifa_name) != 0)
            break;
    }
    freeifaddrs(ifa);
    return 0;
}

/* The source the kernel picks for dst (a connected UDP socket sends
 * nothing; getsockname tells the route's preferred source). */
static int probe_kernel_source(probe_cfg *c)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr = c->dst,
                              .sin_port = htons(c->dport ? c->dport : 9)};
    socklen_t sl = sizeof sin;
    char name[IF_NAMESIZE];
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (c->via && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, c->via,
                             (socklen_t)strlen(c->via)) != 0) {
        text_safe_fprintf(stderr, CAP_PROG " probe: --via %s: %s\n", c->via, strerror(errno));
        close(fd);
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &sl) != 0) {
        text_safe_fprintf(stderr, CAP_PROG " probe: no route to %s: %s\n",
                inet_ntoa(c->dst), strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    probe_iface_of(sin.sin_addr, name, sizeof name);
    return probe_add_src(c, sin.sin_addr, c->via ? c->via : name);
}

static int probe_parse_to(probe_cfg *c, const char *arg)
{
    char host[256];
    const char *colon = strrchr(arg, ':');
    struct addrinfo hints = {.ai_family = AF_INET}, *res = NULL;
    char *end;
    long port;
    if (!colon || colon == arg || (size_t)(colon - arg) >= sizeof host) {
        text_safe_fprintf(stderr, CAP_PROG " probe: --to wants HOST:PORT, got \"%s\"\n", arg);
        return -1;
    }
    memcpy(host, arg, (size_t)(colon - arg));
    host[colon - arg] = '\0';
    port = strtol(colon + 1, &end, 10);
    if (*end || port < 1 || port > 65535) {
        text_safe_fprintf(stderr, CAP_PROG " probe: bad port in \"%s\"\n", arg);
        return -1;
    }
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res) {
        text_safe_fprintf(stderr, CAP_PROG " probe: cannot resolve \"%s\" (IPv4 only)\n", host);
        return -1;
    }
    c->dst = ((const struct sockaddr_in *)(const void *)res->ai_addr)->sin_addr;
    freeaddrinfo(res);
    c->dport = (uint16_t)port;
    return 0;
}

static long probe_num(const char *opt, const char *v, long lo, long hi)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n < lo || n > hi) {
        text_safe_fprintf(stderr, CAP_PROG " probe: %s must be %ld..%ld, got \"%s\"\n", opt,
                lo, hi, v);
        return -1;
    }
    return n;
}

static uint16_t probe_sport(void)
{
    uint16_t r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        r = (uint16_t)(cap_now_ns() ^ (uint64_t)getpid());
    return (uint16_t)(32768 + r % (60999 - 32768));
}

static void probe_sleep_ns(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
                          .tv_nsec = (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Build and send one probe on l. Returns 0 or -1. */
static int probe_send_one(libnet_t *l, const probe_cfg *c, const probe_src *s,
                          uint32_t seq)
{
    uint8_t payload[NL_PROBE_PAYLOAD_LEN];
    nl_probe_info in;
    uint16_t sport = probe_sport();
    libnet_ptag_t t;
    char src_txt[INET_ADDRSTRLEN], dst_txt[INET_ADDRSTRLEN];
    int l4len;

    memset(&in, 0, sizeof in);
    nl_addr_from_v4(&in.inner_ip, (const uint8_t *)&s->addr.s_addr);
    snprintf(in.via, sizeof in.via, "%s", s->ifname);
    snprintf(in.session, sizeof in.session, "%s", c->session ? c->session : "");
    in.proto = (uint8_t)c->proto;
    in.dst_port = c->dport;
    in.seq = seq;
    in.ts_ns = cap_now_ns();
    if (probe_encode(payload, sizeof payload, &in) < 0)
        return -1;

    libnet_clear_packet(l);
    if (c->proto == IPPROTO_TCP) {
        l4len = LIBNET_TCP_H + NL_PROBE_PAYLOAD_LEN;
        t = libnet_build_tcp(sport, c->dport, probe_isn(seq), 0, TH_SYN, 64240, 0, 0,
                             (uint16_t)l4len, payload, sizeof payload, l, 0);
    } else {
        l4len = LIBNET_UDP_H + NL_PROBE_PAYLOAD_LEN;
        t = libnet_build_udp(sport, c->dport, (uint16_t)l4len, 0, payload,
                             sizeof payload, l, 0);
    }
    if (t == -1)
        goto fail;
    t = libnet_build_ipv4((uint16_t)(LIBNET_IPV4_H + l4len), 0, probe_ip_id(seq),
                          0x4000 /* DF */, 64, (uint8_t)c->proto, 0,
                          s->addr.s_addr, c->dst.s_addr, NULL, 0, l, 0);
    if (t == -1)
        goto fail;
    if (libnet_write(l) == -1)
        goto fail;
    if (!c->quiet) {
        inet_ntop(AF_INET, &s->addr, src_txt, sizeof src_txt);
        inet_ntop(AF_INET, &c->dst, dst_txt, sizeof dst_txt);
        printf("probe %u %s %s:%u -> %s:%u via %s id=0x%04x%s%08x\n", seq,
               c->proto == IPPROTO_TCP ? "tcp" : "udp", src_txt, sport, dst_txt,
               c->dport, s->ifname[0] ? s->ifname : "?", probe_ip_id(seq),
               c->proto == IPPROTO_TCP ? " isn=0x" : " tag=0x",
               c->proto == IPPROTO_TCP ? probe_isn(seq) : seq);
        fflush(stdout);
    }
    return 0;
fail:
    text_safe_fprintf(stderr, CAP_PROG " probe: %s\n", libnet_geterror(l));
    return -1;
}

static int probe_run(const probe_cfg *c)
{
    uint64_t gap = 1000000000u / (uint64_t)c->rate;
    uint32_t seq = 1;
    int failures = 0;
    libnet_t *ls[PROBE_MAX_SOURCES] = {0};
    char errbuf[LIBNET_ERRBUF_SIZE];

    for (int i = 0; i < c->nsrc; i++) {
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr = c->src[i].addr};
        ls[i] = libnet_init(LIBNET_RAW4, c->via ? c->via : NULL, errbuf);
        if (!ls[i]) {
            text_safe_fprintf(stderr, CAP_PROG " probe: %s\n", errbuf);
            failures++;
            continue;
        }
        /* Route as a socket bound to this source would (policy rules). */
        if (bind(libnet_getfd(ls[i]), (struct sockaddr *)&sin, sizeof sin) != 0) {
            text_safe_fprintf(stderr, CAP_PROG " probe: cannot use source %s: %s\n",
                    inet_ntoa(c->src[i].addr), strerror(errno));
            libnet_destroy(ls[i]);
            ls[i] = NULL;
            failures++;
        }
    }
    /* Round-robin over sources so each gets probes spread over the run. */
    for (long k = 0; k < c->count; k++)
        for (int i = 0; i < c->nsrc; i++) {
            if (!ls[i])
                continue;
            if (seq > 1)
                probe_sleep_ns(gap);
            if (probe_send_one(ls[i], c, &c->src[i], seq++) != 0)
                failures++;
        }
    for (int i = 0; i < c->nsrc; i++)
        if (ls[i])
            libnet_destroy(ls[i]);
    if (!c->quiet)
        text_safe_fprintf(stderr, "%u probes sent, %d failures\n", seq - 1, failures);
    return failures ? 1 : 0;
}

int cap_probe_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"to", required_argument, NULL, 't'},
        {"from", required_argument, NULL, 'f'},
        {"all-sources", no_argument, NULL, 'A'},
        {"via", required_argument, NULL, 'v'},
        {"count", required_argument, NULL, 'c'},
        {"rate", required_argument, NULL, 'r'},
        {"proto", required_argument, NULL, 'p'},
        {"session", required_argument, NULL, 's'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    static probe_cfg c;
    const char *from[PROBE_MAX_SOURCES];
    int nfrom = 0, have_to = 0, ch;

    memset(&c, 0, sizeof c);
    c.count = 3;
    c.rate = 10;
    c.proto = IPPROTO_TCP;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:r:qh", longopts, NULL)) != -1) {
        switch (ch) {
        case 't':
            if (probe_parse_to(&c, optarg) != 0)
                return 2;
            have_to = 1;
            break;
        case 'f':
            if (nfrom >= PROBE_MAX_SOURCES) {
                text_safe_fprintf(stderr, CAP_PROG " probe: too many --from\n");
                return 2;
            }
            from[nfrom++] = optarg;
            break;
        case 'A': c.all_sources = 1; break;
        case 'v': c.via = optarg; break;
        case 'c':
            if ((c.count = probe_num("--count", optarg, 1, PROBE_MAX_COUNT)) < 0)
                return 2;
            break;
        case 'r':
            if ((c.rate = probe_num("--rate", optarg, 1, PROBE_MAX_RATE)) < 0)
                return 2;
            break;
        case 'p':
            if (strcmp(optarg, "tcp") == 0)
                c.proto = IPPROTO_TCP;
            else if (strcmp(optarg, "udp") == 0)
                c.proto = IPPROTO_UDP;
            else {
                text_safe_fprintf(stderr, CAP_PROG " probe: --proto tcp|udp\n");
                return 2;
            }
            break;
        case 's':
            if (strlen(optarg) > NL_PROBE_NAME_LEN) {
                text_safe_fprintf(stderr, CAP_PROG " probe: --session at most %d characters\n",
                        NL_PROBE_NAME_LEN);
                return 2;
            }
            c.session = optarg;
            break;
        case 'q': c.quiet = 1; break;
        case 'h': probe_usage(stdout); return 0;
        default: probe_usage(stderr); return 2;
        }
    }
    if (!have_to || optind < argc) {
        probe_usage(stderr);
        return 2;
    }
    if (c.via && (strlen(c.via) >= IF_NAMESIZE || if_nametoindex(c.via) == 0)) {
        text_safe_fprintf(stderr, CAP_PROG " probe: --via %s: no such interface\n", c.via);
        return 2;
    }
    for (int i = 0; i < nfrom; i++) {
        struct in_addr a;
        char name[IF_NAMESIZE];
        if (inet_pton(AF_INET, from[i], &a) != 1) {
            text_safe_fprintf(stderr, CAP_PROG " probe: --from %s: not an IPv4 address\n", from[i]);
            return 2;
        }
        probe_iface_of(a, name, sizeof name);
        if (!name[0]) {
            text_safe_fprintf(stderr, CAP_PROG " probe: --from %s: not an address of this host\n",
                    from[i]);
            return 2;
        }
        if (probe_add_src(&c, a, c.via ? c.via : name) != 0)
            return 2;
    }
    if (c.all_sources && probe_all_sources(&c) != 0)
        return 2;
    if (c.nsrc == 0 && (nfrom || c.all_sources)) {
        text_safe_fprintf(stderr, CAP_PROG " probe: no usable source address\n");
        return 2;
    }
    if (c.nsrc == 0 && probe_kernel_source(&c) != 0)
        return 2;
    if (geteuid() != 0)
        text_safe_fprintf(stderr, CAP_PROG " probe: warning: raw sockets need root or CAP_NET_RAW\n");
    return probe_run(&c);
}
