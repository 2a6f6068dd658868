/* cap_main.c - the natlens-capture command line.
 *
 *   natlens-capture -i IFACE|any -w OUT.pcapng [options] [BPF]
 *   natlens-capture probe --to HOST:PORT [...]
 *   natlens-capture meta FILE [--route-dev DST | --ifname N | --get KEY]
 *
 * Exit status: 0 done, 1 stopped by an error after capturing (the file is
 * valid up to that point), 2 bad usage or cannot start. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pcap/pcap.h>
#include "natlens/hostmeta.h"
#include "natlens/text_safe.h"
#include "cap.h"

#ifndef NATLENS_VERSION
#define NATLENS_VERSION "dev"
#endif

static void main_usage(FILE *f)
{
    fprintf(f,
        "usage: " CAP_PROG " -i IFACE|any -w OUT.pcapng [--role client|server|NAME]\n"
        "         [--session ID] [-s SNAPLEN] [--rotate-size MB | --rotate-seconds S]\n"
        "         [--keep N] [-Z USER] [-c COUNT] [-G SECONDS] [-B KIB] [-p] [-q]\n"
        "         [--conntrack [--conntrack-buffer KIB]] [BPF]\n"
        "       " CAP_PROG " probe --to HOST:PORT [--from ADDR]... [--all-sources]\n"
        "         [--via IFACE] [--count N] [--rate PPS] [--proto tcp|udp] [--session ID]\n"
        "       " CAP_PROG " meta FILE [--route-dev DST | --ifname INDEX | --get KEY]\n"
        "\n"
        "Writes pcapng (ns timestamps, interface name, host context: addresses,\n"
        "routes, rules, NAT rules, clock state); SIGINT/SIGTERM stop cleanly.\n"
        "--conntrack also records this namespace's conntrack events (the NAT's own\n"
        "mapping) into the file, one pcapng custom block each.\n"
        "See natlens-capture(1).\n");
}

static int main_u64(const char *opt, const char *v, uint64_t lo, uint64_t hi,
                    uint64_t *out)
{
    char *end;
    unsigned long long n;
    if (!v || !*v || *v == '-')
        goto bad;
    n = strtoull(v, &end, 10);
    if (*end || n < lo || n > hi)
        goto bad;
    *out = n;
    return 0;
bad:
    text_safe_fprintf(stderr, CAP_PROG ": %s must be a number in %llu..%llu, got \"%s\"\n",
            opt, (unsigned long long)lo, (unsigned long long)hi, v ? v : "");
    return -1;
}

/* The stored document as it is, except that what JSON allows raw inside a
 * string but a terminal acts on (DEL, C1 controls, bidi overrides: see
 * text_safe.h) is written as \uNNNN: the same JSON, safe to show. Raw C0
 * controls cannot be in it (validated JSON). */
static void main_put_json(const char *json)
{
    const unsigned char *p = (const unsigned char *)json;
    size_t n = strlen(json);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = text_utf8_decode(p + i, n - i, &cp);
        if (l == 0) {              /* not UTF-8: validated JSON has none */
            printf("\\u%04x", p[i]);
            l = 1;
        } else if (text_cp_unsafe(cp) && cp != '\n' && cp != '\t' && cp != '\r') {
            printf("\\u%04x", (unsigned)cp);   /* white space between tokens stays */
        } else {
            fwrite(p + i, 1, l, stdout);
        }
        i += l;
    }
    putchar('\n');
}

/* `meta FILE [...]`: print a capture's host metadata (or one answer). */
static int main_meta(int argc, char **argv)
{
    char errbuf[512], out[256];
    const char *file = NULL, *route = NULL, *key = NULL, *ifidx = NULL;
    char *json;
    int rc = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--route-dev") == 0 && i + 1 < argc)
            route = argv[++i];
        else if (strcmp(argv[i], "--get") == 0 && i + 1 < argc)
            key = argv[++i];
        else if (strcmp(argv[i], "--ifname") == 0 && i + 1 < argc)
            ifidx = argv[++i];
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            main_usage(stdout);
            return 0;
        } else if (!file && argv[i][0] != '-')
            file = argv[i];
        else {
            if (argv[i][0] == '-')
                fprintf(stderr, CAP_PROG " meta: unknown option or missing value: %s\n", argv[i]);
            main_usage(stderr);
            return 2;
        }
    }
    if (!file) {
        main_usage(stderr);
        return 2;
    }
    json = hostmeta_read(file, errbuf);
    if (!json) {
        text_safe_fprintf(stderr, CAP_PROG ": %s\n", errbuf[0] ? errbuf : "no natlens host metadata in the file");
        if (!errbuf[0])
            text_safe_fprintf(stderr, CAP_PROG ": (file: %s)\n", file);
        return 2;
    }
    if (route) {
        char gw[64];
        if (hostmeta_route_lookup(json, route, out, sizeof out, gw, sizeof gw) == 0)
            text_safe_fprintf(stdout, "%s%s%s\n", out, gw[0] ? " via " : "", gw);
        else {
            text_safe_fprintf(stderr, CAP_PROG ": no route to %s in the recorded tables\n", route);
            rc = 1;
        }
    } else if (ifidx) {
        if (hostmeta_ifname(json, atoi(ifidx), out, sizeof out) == 0)
            text_safe_fprintf(stdout, "%s\n", out);
        else
            rc = 1;
    } else if (key) {
        if (hostmeta_get_str(json, key, out, sizeof out) == 0)
            text_safe_fprintf(stdout, "%s\n", out);
        else
            rc = 1;
    } else {
        main_put_json(json);
    }
    free(json);
    return rc;
}

/* Join the remaining arguments into one filter expression (as tcpdump). */
static char *main_join(int argc, char **argv, int from)
{
    size_t n = 1;
    char *s;
    if (from >= argc)
        return NULL;
    for (int i = from; i < argc; i++)
        n += strlen(argv[i]) + 1;
    s = calloc(1, n);
    if (!s)
        return NULL;
    for (int i = from; i < argc; i++) {
        if (i > from)
            strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

int main(int argc, char **argv)
{
    enum { O_ROLE = 256, O_SESSION, O_RSIZE, O_RSECS, O_KEEP, O_VERSION, O_CONNTRACK,
           O_CTBUF };
    static const struct option longopts[] = {
        {"role", required_argument, NULL, O_ROLE},
        {"session", required_argument, NULL, O_SESSION},
        {"rotate-size", required_argument, NULL, O_RSIZE},
        {"rotate-seconds", required_argument, NULL, O_RSECS},
        {"keep", required_argument, NULL, O_KEEP},
        {"version", no_argument, NULL, O_VERSION},
        {"conntrack", no_argument, NULL, O_CONNTRACK},
        {"conntrack-buffer", required_argument, NULL, O_CTBUF},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    cap_opts o;
    uint64_t v;
    int ch, rc;

    if (argc > 1 && strcmp(argv[1], "probe") == 0)
        return cap_probe_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "meta") == 0)
        return main_meta(argc - 1, argv + 1);

    memset(&o, 0, sizeof o);
    o.snaplen = CAP_DEFAULT_SNAPLEN;
    o.promisc = 1;
    o.buffer_kib = CAP_DEFAULT_BUFFER_KIB;
    while ((ch = getopt_long(argc, argv, "i:w:s:Z:c:G:B:pqh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'i': o.iface = optarg; break;
        case 'w': o.out = optarg; break;
        case 'Z': o.user = optarg; break;
        case 'p': o.promisc = 0; break;
        case 'q': o.quiet = 1; break;
        case O_CONNTRACK: o.conntrack = 1; break;
        case O_CTBUF:
            if (main_u64("--conntrack-buffer", optarg, 4, 1u << 20, &v) != 0)
                return 2;
            o.ct_buffer_kib = (unsigned)v;
            break;
        case O_ROLE:
            if (strlen(optarg) > CAP_MAX_NAME) {
                text_safe_fprintf(stderr, CAP_PROG ": --role at most %d characters\n", CAP_MAX_NAME);
                return 2;
            }
            o.role = optarg;
            break;
        case O_SESSION:
            if (strlen(optarg) > CAP_MAX_NAME) {
                text_safe_fprintf(stderr, CAP_PROG ": --session at most %d characters\n", CAP_MAX_NAME);
                return 2;
            }
            o.session = optarg;
            break;
        case 's':
            if (main_u64("-s", optarg, 0, 262144, &v) != 0)
                return 2;
            o.snaplen = v ? (int)v : CAP_DEFAULT_SNAPLEN;   /* 0 = default, as tcpdump */
            break;
        case 'c':
            if (main_u64("-c", optarg, 1, UINT64_MAX / 2, &o.count) != 0)
                return 2;
            break;
        case 'B':
            if (main_u64("-B", optarg, 1, 1u << 22, &v) != 0)
                return 2;
            o.buffer_kib = (int)v;
            break;
        case O_RSIZE:
            if (main_u64("--rotate-size", optarg, 1, 1u << 20, &v) != 0)
                return 2;
            o.rotate_bytes = v * 1000000u;   /* tcpdump -C: millions of bytes */
            break;
        case 'G':
        case O_RSECS:
            if (main_u64(ch == 'G' ? "-G" : "--rotate-seconds", optarg, 1,
                         86400u * 366, &o.rotate_secs) != 0)
                return 2;
            break;
        case O_KEEP:
            if (main_u64("--keep", optarg, 1, 100000, &v) != 0)
                return 2;
            o.keep = (unsigned)v;
            break;
        case O_VERSION:
            printf(CAP_PROG " %s (%s)\n", NATLENS_VERSION, pcap_lib_version());
            return 0;
        case 'h':
            main_usage(stdout);
            return 0;
        default:
            main_usage(stderr);
            return 2;
        }
    }
    if (!o.iface || !o.out) {
        text_safe_fprintf(stderr, CAP_PROG ": -i IFACE and -w FILE are required\n");
        main_usage(stderr);
        return 2;
    }
    if (o.rotate_bytes && o.rotate_secs) {
        text_safe_fprintf(stderr, CAP_PROG ": use --rotate-size or --rotate-seconds, not both\n");
        return 2;
    }
    if (strcmp(o.out, "-") == 0 && (o.rotate_bytes || o.rotate_secs)) {
        text_safe_fprintf(stderr, CAP_PROG ": rotation needs a file name, not -w -\n");
        return 2;
    }
    if (o.ct_buffer_kib && !o.conntrack) {
        fprintf(stderr, CAP_PROG ": --conntrack-buffer needs --conntrack\n");
        return 2;
    }
    if (o.keep && !o.rotate_bytes && !o.rotate_secs) {
        text_safe_fprintf(stderr, CAP_PROG ": --keep needs --rotate-size or --rotate-seconds\n");
        return 2;
    }
    o.filter = main_join(argc, argv, optind);
    rc = cap_live_run(&o);
    free(o.filter);
    return rc;
}
