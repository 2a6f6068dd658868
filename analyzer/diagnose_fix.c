/* diagnose_fix.c - the fix line of a finding, grounded in what the captures
 * (and, when recorded, the capturing host's routes) show; plus the small
 * text helpers the rules share.
 *
 * Fixes are shell lines an engineer can paste after replacing what is in
 * <angle brackets>: a name the captures cannot know (a gateway address seen
 * only as a MAC) stays a visible placeholder rather than a guess. */
#define NATLENS_DIAGNOSE_INTERNAL
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/diagnose.h"
#include "natlens/hostmeta.h"

#define FIX_MAX 2048

static char *fix_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *fix_printf(const char *fmt, ...)
{
    char buf[FIX_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return strdup(buf);
}

char *diagnose_ep(const nl_addr *a, uint16_t port, char *buf, size_t len)
{
    char s[64];
    nl_addr_str(a, s, sizeof s);
    if (nl_addr_is_v4(a))
        snprintf(buf, len, "%s:%u", s, port);
    else
        snprintf(buf, len, "[%s]:%u", s, port);
    return buf;
}

int diagnose_mac(const uint8_t m[6], char *buf, size_t len)
{
    static const uint8_t zero[6];
    if (!memcmp(m, zero, 6)) {
        if (len)
            buf[0] = '\0';
        return 0;
    }
    snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    return 1;
}

const char *diagnose_icmp_words(int v6, uint8_t type, uint8_t code)
{
    if (v6) {
        if (type != 1)
            return "error";
        switch (code) {
        case 0: return "no route to destination";
        case 1: return "administratively prohibited";
        case 3: return "address unreachable";
        case 4: return "port unreachable";
        case 5: return "source address failed policy";
        case 6: return "reject route";
        default: return "destination unreachable";
        }
    }
    if (type != 3)
        return "error";
    switch (code) {
    case 0: return "network unreachable";
    case 1: return "host unreachable";
    case 2: return "protocol unreachable";
    case 3: return "port unreachable";
    case 4: return "fragmentation needed";
    case 9: case 10: return "administratively prohibited (network/host)";
    case 13: return "administratively prohibited";
    default: return "destination unreachable";
    }
}

/* Within [o, e): the string value of "key" (any spacing around ':'), as a
 * pointer to its first character and its length; 0 if absent. */
static size_t fix_json_str(const char *o, const char *e, const char *key, const char **val)
{
    char k[40];
    size_t kl = (size_t)snprintf(k, sizeof k, "\"%s\"", key);
    for (const char *p = o; p && p + kl < e; p++) {
        p = strstr(p, k);
        if (!p || p >= e)
            return 0;
        const char *q = p + kl;
        while (q < e && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'))
            q++;
        if (q >= e || *q != ':')
            continue;
        q++;
        while (q < e && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'))
            q++;
        if (q >= e || *q != '"')
            continue;
        q++;
        *val = q;
        return strcspn(q, "\"");
    }
    return 0;
}

/* A gateway of a route through `dev` in the host's recorded routing tables
 * (the "route" array of `ip -j route show table all`), default route
 * preferred. A bounded scan of the document: route objects hold no string
 * with braces, and nested objects ("metrics") are skipped by depth. */
static int fix_gateway_on(const char *json, const char *dev, char *gw, size_t len)
{
    const char *arr, *p, *end, *best = NULL;
    size_t best_len = 0;
    int best_def = 0, depth = 0;
    if (!json || !dev)
        return -1;
    arr = strstr(json, "\"route\"");
    if (!arr || !(p = strchr(arr, '[')))
        return -1;
    end = strstr(arr + 1, "\"route6\""); /* the IPv4 table ends there (or at ']') */
    for (const char *o = NULL; *p && (!end || p < end); p++) {
        if (*p == '"') { /* skip strings */
            p++;
            while (*p && *p != '"')
                p += (*p == '\\' && p[1]) ? 2 : 1;
            if (!*p)
                break;
            continue;
        }
        if (*p == '{' && depth++ == 1)
            o = p;
        else if (*p == '}' && --depth == 1 && o) {
            const char *g, *d, *dst;
            size_t gl = fix_json_str(o, p, "gateway", &g);
            size_t dl = fix_json_str(o, p, "dev", &d);
            size_t sl = fix_json_str(o, p, "dst", &dst);
            int is_def = sl == 7 && !strncmp(dst, "default", 7);
            if (gl && dl == strlen(dev) && !strncmp(d, dev, dl) && (!best || (is_def && !best_def))) {
                best = g;
                best_len = gl;
                best_def = is_def;
            }
            o = NULL;
        } else if (*p == '[') {
            depth++;
        } else if (*p == ']') {
            if (--depth <= 0)
                break;
        }
    }
    if (!best || best_len == 0 || best_len >= len)
        return -1;
    memcpy(gw, best, best_len);
    gw[best_len] = '\0';
    return 0;
}

char *diagnose_fix_source_routing(const char *hostmeta, const char *server_ip,
                                  const char *in_dev, int in_ifindex,
                                  const char *in_mac, const char *via_hint)
{
    char gw[64], dev[64], hop[96];
    if (fix_gateway_on(hostmeta, in_dev, gw, sizeof gw) != 0) {
        if (in_mac && in_mac[0])
            snprintf(gw, sizeof gw, "<address of %s>", in_mac);
        else if (in_dev)
            snprintf(gw, sizeof gw, "<gateway on %s>", in_dev);
        else
            snprintf(gw, sizeof gw, "<gateway the requests come from>");
    }
    if (in_dev)
        snprintf(dev, sizeof dev, "%s", in_dev);
    else if (in_ifindex >= 0)
        snprintf(dev, sizeof dev, "<name of ifindex %d>", in_ifindex);
    else
        snprintf(dev, sizeof dev, "<interface the requests come in on>");
    hop[0] = '\0';
    if (in_mac && in_mac[0])
        snprintf(hop, sizeof hop, " (the next hop %s that delivered the SYN)", in_mac);
    return fix_printf(
        "%s (%s): send replies back the way requests came in%s\n"
        "  ip route add default via %s dev %s table 100\n"
        "  ip rule add from %s table 100\n"
        "or, when %s must keep its current default route, route by connection mark:\n"
        "  iptables -t mangle -A PREROUTING -i %s -m conntrack --ctstate NEW -j CONNMARK --set-mark 1\n"
        "  iptables -t mangle -A OUTPUT -j CONNMARK --restore-mark\n"
        "  ip rule add fwmark 1 table 100",
        via_hint ? via_hint : "on the server", server_ip, hop, gw, dev, server_ip, server_ip,
        dev);
}

char *diagnose_fix_bypass(const char *server_ip, const char *public_ep,
                          const char *proto, uint16_t port)
{
    return fix_printf(
        "on the server (%s): send replies back through the device that translated %s\n"
        "  ip route add default via <that device's inside address> table 100\n"
        "  ip rule add from %s table 100\n"
        "or on that device, also source-NAT what it forwards (the server then sees its address, "
        "not the client's):\n"
        "  iptables -t nat -A POSTROUTING -d %s -p %s --dport %u -j MASQUERADE",
        server_ip, public_ep, server_ip, server_ip, proto, port);
}

char *diagnose_fix_no_answer(const char *dst_ep, const char *proto, int answered,
                             const char *capname)
{
    if (answered)
        return fix_printf(
            "the answer leaves towards the client but never completes the handshake: check the "
            "return route to the client and any firewall on it for %s from %s; capture at the "
            "client too and run natlens correlate CLIENT.pcap %s to see where it vanishes",
            proto, dst_ep, capname);
    return fix_printf(
        "find where the SYN or its answer stops: capture at the server side as well and run "
        "natlens correlate %s SERVER.pcap; check firewalls on the way for %s to %s",
        capname, proto, dst_ep);
}

char *diagnose_fix_rejected(const char *dst_ip, uint16_t port, const char *proto)
{
    return fix_printf(
        "on %s: start the service on %s/%u or point clients at the right port "
        "(ss -ltn 'sport = :%u' shows listeners); if %s listens, a firewall on the way "
        "rejects %s/%u: allow it there",
        dst_ip, proto, port, port, dst_ip, proto, port);
}

char *diagnose_fix_icmp(uint8_t v6, uint8_t type, uint8_t code, const char *from,
                        const char *dst_ip, uint16_t port, const char *proto)
{
    int admin = v6 ? (type == 1 && (code == 1 || code == 5 || code == 6))
                   : (type == 3 && (code == 9 || code == 10 || code == 13));
    int port_unr = v6 ? (type == 1 && code == 4) : (type == 3 && code == 3);
    int host_unr = v6 ? (type == 1 && code == 3) : (type == 3 && code == 1);
    if (admin)
        return fix_printf("a firewall at %s rejects %s/%u to %s: allow it there (or add the "
                          "source address to its allow-list)", from, proto, port, dst_ip);
    if (port_unr)
        return fix_printf("nothing listens on %s/%u at %s: start the service or use the right "
                          "port", proto, port, dst_ip);
    if (host_unr)
        return fix_printf("%s cannot reach %s on its last hop: check that %s is up and that "
                          "address resolution (ARP/ND) works on that segment", from, dst_ip,
                          dst_ip);
    return fix_printf("%s has no usable route to %s: add or fix the route there", from, dst_ip);
}

char *diagnose_fix_lost_between(const char *a, const char *b, const char *what_ep,
                                const char *proto, uint16_t port)
{
    return fix_printf(
        "something between %s and %s drops %s/%u to %s: check the firewall rules of the "
        "devices between the two capture points (e.g. iptables -S FORWARD | grep %u) and "
        "their routes to %s",
        a, b, proto, port, what_ep, port, what_ep);
}

char *diagnose_fix_source_changed(const char *dest, const char *from_ip,
                                  const char *to_ip, const char *inner)
{
    /* dest and inner are addresses, or NULL when several: the command line
     * then carries a placeholder, never prose */
    return fix_printf(
        "if %s allow-list%s sources: add %s to the allow-list next to %s (and every other "
        "address the NAT may use)\n"
        "or pin the egress address of %s on the NAT device, e.g.\n"
        "  iptables -t nat -I POSTROUTING -s %s -d %s -j SNAT --to-source %s",
        dest ? dest : "the destinations", dest ? "s" : "", to_ip, from_ip,
        inner ? inner : "these inner hosts", inner ? inner : "<inner network>",
        dest ? dest : "<destination>", from_ip);
}

char *diagnose_fix_seq(void)
{
    return fix_printf(
        "nothing to fix while connections work; if SACK, TCP-MD5 or TCP-AO fail through that "
        "device, turn off its sequence-number randomisation");
}
