/* conn_zeek.c - Zeek's connection naming: history letters, role decision
 * at creation, reuse, UDP/ICMP accounting and conn_state.
 *
 * Semantics follow Zeek (src/Conn.cc, packet_analysis/protocol/{tcp,udp,
 * ip}, scripts/base/protocols/conn/main.zeek); the TCP endpoint machine is
 * in conn_zeek_tcp.c. Nothing here allocates or keeps global state. */
#include <netinet/in.h>
#include <string.h>
#include "natlens/flow.h"
#include "conn_zeek.h"

#define CZ_NS 1000000000ull

/* ---- history ---- */

static char cz_case(char letter, int dir)
{
    if (dir == NL_RESP && letter >= 'A' && letter <= 'Z')
        return (char)(letter - 'A' + 'a');
    if (dir == NL_ORIG && letter >= 'a' && letter <= 'z')
        return (char)(letter - 'a' + 'A');
    return letter;
}

static void cz_append(nl_flow *f, char c)
{
    /* Zeek's history is unbounded; ours keeps the first 31 letters */
    if ((size_t)f->hist_len + 1 >= sizeof f->history)
        return;
    f->history[f->hist_len++] = c;
    f->history[f->hist_len] = '\0';
}

void conn_zeek_add(nl_flow *f, char letter, int dir)
{
    cz_append(f, cz_case(letter, dir));
}

int conn_zeek_check(nl_flow *f, cz_conn *z, uint32_t mask, char letter, int dir)
{
    if (z->hist_seen[dir] & mask)
        return 1;
    z->hist_seen[dir] = (uint8_t)(z->hist_seen[dir] | mask);
    conn_zeek_add(f, letter, dir);
    return 0;
}

/* The thresholds Zeek's uint32 arithmetic walks through (x10 each time,
 * 10^10 wraps to 1410065408, whose next step would wrap below it: there it
 * stays and counting restarts). Kept as a level 1..11, 0 before the first
 * event, so an endpoint spends a byte per counter, not four. */
static const uint32_t cz_thresholds[] = {
    1u, 10u, 100u, 1000u, 10000u, 100000u, 1000000u, 10000000u, 100000000u,
    1000000000u, 1410065408u
};
#define CZ_LEVELS (sizeof cz_thresholds / sizeof cz_thresholds[0])

void conn_zeek_scaled(nl_flow *f, char letter, int dir, uint32_t *cnt, uint8_t *level)
{
    if (*level == 0)
        *level = 1;
    if (++*cnt == cz_thresholds[*level - 1]) {
        conn_zeek_add(f, letter, dir);
        if (*level == CZ_LEVELS)
            *cnt = 0;        /* wrapped: keep the threshold, restart counting */
        else
            (*level)++;
    }
}

static uint32_t cz_mask_of(char letter)
{
    switch (letter) {
    case 'S': case 's': case 'H': case 'h': return CZ_HIST_SYN;
    case 'F': case 'f': return CZ_HIST_FIN;
    case 'R': case 'r': return CZ_HIST_RST;
    case 'I': case 'i': return CZ_HIST_FIN_RST;
    case 'D': case 'd': return CZ_HIST_DATA;
    case 'A': case 'a': return CZ_HIST_ACK;
    case 'Q': case 'q': return CZ_HIST_MULTI;
    default: return 0;
    }
}

void conn_zeek_history(nl_flow *f, cz_conn *z, char letter, int dir)
{
    uint32_t m = cz_mask_of(letter);
    if (letter == '^' || m == 0) {
        /* '^' and the counted letters (C G T W) carry no seen-bit */
        if (letter == '^')
            cz_append(f, '^');
        else
            conn_zeek_add(f, letter, dir);
        return;
    }
    conn_zeek_check(f, z, m, letter, dir);
}

void conn_zeek_flip(nl_flow *f, cz_conn *z)
{
    char hist[sizeof f->history];
    cz_endpoint e0 = z->ep[0];
    memcpy(hist, f->history, sizeof hist);
    flow_swap_roles(f);
    z->ep[0] = z->ep[1];
    z->ep[1] = e0;
    /* Zeek's Connection::FlipRoles leaves the history string and its seen
     * mask alone and only appends '^' ("Hs^ADadFf"). */
    memcpy(f->history, hist, sizeof hist);
    z->is_partial = 0;
    cz_append(f, '^');
}

/* ---- likely_server_ports ---- */

/* Zeek's default likely_server_ports: the ports the base protocol scripts
 * add with `redef likely_server_ports += {...}` (dce-rpc, dhcp, dhcpv6,
 * dnp3, dns, ftp, http, imap, irc, krb, ldap, modbus, mqtt, mysql, ntp,
 * pop3, postgresql, quic, radius, rdp, redis, sip, smb, smtp, snmp, socks,
 * ssh, ssl/dtls, syslog, xmpp and the UDP tunnels). Compiled by hand from
 * those scripts, not extracted: a port missing here only changes which side
 * is named originator for connections whose first packet is not a SYN.
 * Under `zeek -b` only the loaded scripts contribute; natlens models the
 * full default. Small lists, scanned linearly. */
static const uint16_t cz_tcp_ports[] = {
    21, 22, 25, 53, 80, 81, 88, 110, 135, 139, 143, 389, 443, 445, 502, 563,
    585, 587, 614, 631, 636, 989, 990, 992, 993, 995, 1080, 1434, 1883, 2811,
    3128, 3268, 3306, 3389, 5222, 5223, 5269, 5432, 6379, 6666, 6667, 6668,
    6669, 8000, 8080, 8888, 20000
};
static const uint16_t cz_udp_ports[] = {
    53, 67, 88, 123, 137, 161, 162, 443, 514, 546, 547, 1812, 2123, 2152,
    3478, 3544, 4789, 5060, 5072, 5247, 5353, 5355, 6081, 20000
};

int conn_zeek_likely_server_port(uint8_t proto, uint16_t port)
{
    const uint16_t *v;
    size_t n;
    if (proto == IPPROTO_TCP) {
        v = cz_tcp_ports;
        n = sizeof cz_tcp_ports / sizeof cz_tcp_ports[0];
    } else if (proto == IPPROTO_UDP) {
        v = cz_udp_ports;
        n = sizeof cz_udp_ports / sizeof cz_udp_ports[0];
    } else {
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (v[i] == port)
            return 1;
    return 0;
}

/* IPAddr::IsBroadcast: 255.255.255.255 only. */
static int cz_is_broadcast(const nl_addr *a)
{
    static const uint8_t bc[4] = {255, 255, 255, 255};
    return nl_addr_is_v4(a) && memcmp(a->b + 12, bc, 4) == 0;
}

int conn_zeek_new_flow_flipped(const nl_packet *p, const nl_server_ports *sp)
{
    int flip = 0;
    if (cz_is_broadcast(&p->dst))
        return 0;
    if (p->proto == IPPROTO_TCP) {
        uint8_t fl = p->tcp_flags;
        /* TCPAnalyzer::WantConnection: only partial starts (no SYN, or a
         * SYN-ACK) are candidates; a plain SYN keeps its sender */
        if (!(fl & NL_TH_SYN) || (fl & NL_TH_ACK)) {
            if (server_ports_has(sp, IPPROTO_TCP, p->sport)) {
                if (server_ports_has(sp, IPPROTO_TCP, p->dport))
                    flip = !(fl & NL_TH_SYN) && p->sport < p->dport;
                else
                    flip = 1;
            }
        }
    } else if (p->proto == IPPROTO_UDP) {
        flip = server_ports_has(sp, IPPROTO_UDP, p->sport) &&
               !server_ports_has(sp, IPPROTO_UDP, p->dport);
    }
    return flip;
}

/* ---- reuse and Zeek's removal timers ---- */

/* Would Zeek's timers have removed this TCP connection by time `ts`? */
static int cz_tcp_removed(const nl_flow *f, const cz_conn *z, uint64_t ts)
{
    const nl_tcp_endpoint *o = &f->ep[NL_ORIG], *r = &f->ep[NL_RESP];
    /* ConnectionClosed with a complete close: delete timer at
     * last_time + tcp_close_delay (5 s) */
    if (z->close_ns && ts >= z->close_ns + 5 * CZ_NS)
        return 1;
    /* AttemptTimer (tcp_attempt_delay 5 s): an unanswered SYN */
    if (z->attempt_ns && ts >= z->attempt_ns + 5 * CZ_NS &&
        (o->state == NL_TCP_SYN_SENT || o->state == NL_TCP_SYN_ACK_SENT) &&
        r->state == NL_TCP_INACTIVE)
        return 1;
    /* ExpireTimer (first at +5 s, then every 6 s): nothing ever happened,
     * e.g. only bad-checksum packets */
    if (o->state == NL_TCP_INACTIVE && r->state == NL_TCP_INACTIVE &&
        ts >= f->first_ns + 11 * CZ_NS)
        return 1;
    return 0;
}

/* The DNS analyzer Zeek attaches to UDP 53/137/5353/5355 removes its
 * connection when idle: ExpireTimer every dns_session_timeout (10 s) from
 * creation, firing when last_time + 10 s - 1 s < now. */
static uint64_t cz_dns_tick(const nl_flow *f);
static int cz_dns_port(uint16_t port);

static int cz_dns_removed(const nl_flow *f, uint64_t ts)
{
    if (!cz_dns_port(f->resp_port) || f->last_ns < f->first_ns)
        return 0;
    return ts >= cz_dns_tick(f);
}

/* The next tick of the DNS analyzer's idle timer (see cz_dns_removed). */
static uint64_t cz_dns_tick(const nl_flow *f)
{
    const uint64_t tmo = 10 * CZ_NS, slack = 9 * CZ_NS;
    uint64_t k = (f->last_ns + slack - f->first_ns) / tmo + 1;
    return f->first_ns + k * tmo;
}

static int cz_dns_port(uint16_t port)
{
    return port == 53 || port == 137 || port == 5353 || port == 5355;
}

int conn_zeek_removed(const nl_flow *f, const cz_conn *z, uint64_t ts)
{
    if (f->proto == IPPROTO_UDP)
        return cz_dns_removed(f, ts);
    if (f->proto == IPPROTO_TCP)
        return cz_tcp_removed(f, z, ts);
    return 0;
}

uint64_t conn_zeek_removal_due(const nl_flow *f, const cz_conn *z)
{
    uint64_t due = 0;
    if (f->proto == IPPROTO_UDP)
        return cz_dns_port(f->resp_port) && f->last_ns >= f->first_ns ? cz_dns_tick(f) : 0;
    if (f->proto != IPPROTO_TCP)
        return 0;
    if (z->close_ns)
        due = z->close_ns + 5 * CZ_NS;
    if (z->attempt_ns &&
        (f->ep[NL_ORIG].state == NL_TCP_SYN_SENT || f->ep[NL_ORIG].state == NL_TCP_SYN_ACK_SENT) &&
        f->ep[NL_RESP].state == NL_TCP_INACTIVE &&
        (!due || z->attempt_ns + 5 * CZ_NS < due))
        due = z->attempt_ns + 5 * CZ_NS;
    return due;
}

int conn_zeek_is_reuse(const nl_flow *f, const cz_conn *z, const nl_packet *p, int dir)
{
    int c = NL_ORIG;
    (void)dir;
    if (f->proto == IPPROTO_UDP && p->proto == IPPROTO_UDP)
        return cz_dns_removed(f, p->ts_ns);
    if (f->proto != IPPROTO_TCP || p->proto != IPPROTO_TCP)
        return 0;
    if (cz_tcp_removed(f, z, p->ts_ns))
        return 1;
    /* TCPSessionAdapter::IsReuse: only SYNs (SYN-ACKs for half
     * connections) start a new connection */
    if (!(p->tcp_flags & NL_TH_SYN))
        return 0;
    if (p->tcp_flags & NL_TH_ACK) {
        if (f->ep[NL_ORIG].state != NL_TCP_INACTIVE)
            return 0;
        c = NL_RESP;
    }
    if (!z->ep[NL_ORIG].did_close && !z->ep[NL_RESP].did_close) {
        if (p->seq == z->ep[c].start_seq)
            return 0;
        /* SYN and SYN-ACK seen in reverse order: not a reuse, the TCP
         * machine flips the roles instead */
        if (!(p->tcp_flags & NL_TH_ACK) && f->ep[c].state == NL_TCP_SYN_ACK_SENT &&
            f->ep[NL_RESP].state == NL_TCP_INACTIVE && p->seq == z->ep[NL_RESP].start_seq)
            return 0;
    }
    return 1;
}

/* ---- per packet ---- */

static int cz_udp_packet(nl_flow *f, cz_conn *z, const nl_packet *p, int dir)
{
    cz_endpoint *e = &z->ep[dir];
    if (p->flags & NL_PKT_BAD_CSUM) {
        conn_zeek_scaled(f, 'C', dir, &e->badck_cnt, &e->badck_thresh);
        return -1;
    }
    /* UDPAnalyzer::DeliverPacket: 'D'/'d' for every packet, size is the
     * sum of UDP payload lengths, the side becomes UDP_ACTIVE */
    conn_zeek_check(f, z, CZ_HIST_DATA, 'D', dir);
    f->ep[dir].state = 1;
    f->bytes[dir] += p->payload_len;
    return dir;
}

static int cz_icmp_packet(nl_flow *f, cz_conn *z, const nl_packet *p, int dir)
{
    cz_endpoint *e = &z->ep[dir];
    if (p->flags & NL_PKT_BAD_CSUM) {
        conn_zeek_scaled(f, 'C', dir, &e->badck_cnt, &e->badck_thresh);
        return -1;
    }
    f->ep[dir].state = 1;
    f->bytes[dir] += p->payload_len;
    return dir;
}

int conn_zeek_packet(nl_flow *f, cz_conn *z, const nl_packet *p, int dir)
{
    if (dir < 0)
        return dir;
    switch (f->proto) {
    case IPPROTO_TCP:
        return conn_zeek_tcp_packet(f, z, p, dir);
    case IPPROTO_UDP:
        return cz_udp_packet(f, z, p, dir);
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
        return cz_icmp_packet(f, z, p, dir);
    default:
        f->ep[dir].state = 1;
        return dir;
    }
}

void conn_zeek_settle(nl_flow *f, const cz_conn *z)
{
    if (f->proto != IPPROTO_TCP)
        return;
    for (int d = 0; d < 2; d++)
        f->bytes[d] = conn_zeek_tcp_size(f, z, d);
}

/* ---- conn_state (scripts/base/protocols/conn/main.zeek) ---- */

/* /^\^?S[^HAFGIQ]*R.*$/ on the history */
static int cz_rstos0_history(const char *h)
{
    if (*h == '^')
        h++;
    if (*h != 'S')
        return 0;
    for (h++; *h && !strchr("HAFGIQ", *h); h++)
        if (*h == 'R')
            return 1;
    return 0;
}

const char *flow_conn_state(const nl_flow *f)
{
    int os = f->ep[NL_ORIG].state, rs = f->ep[NL_RESP].state;

    if (f->proto == IPPROTO_UDP) {
        if (os)
            return rs ? "SF" : "S0";
        return rs ? "SHR" : "OTH";
    }
    if (f->proto != IPPROTO_TCP)
        return "OTH";

    int o_inactive = os == NL_TCP_INACTIVE || os == NL_TCP_PARTIAL;
    int r_inactive = rs == NL_TCP_INACTIVE || rs == NL_TCP_PARTIAL;

    if (rs == NL_TCP_RESET) {
        if (os == NL_TCP_SYN_SENT || os == NL_TCP_SYN_ACK_SENT ||
            (os == NL_TCP_RESET && f->bytes[NL_ORIG] == 0 && f->bytes[NL_RESP] == 0))
            return "REJ";
        return o_inactive ? "RSTRH" : "RSTR";
    }
    if (os == NL_TCP_RESET) {
        if (r_inactive)
            return cz_rstos0_history(f->history) ? "RSTOS0" : "OTH";
        return "RSTO";
    }
    if (rs == NL_TCP_CLOSED && os == NL_TCP_CLOSED)
        return "SF";
    if (os == NL_TCP_CLOSED)
        return r_inactive ? "SH" : "S2";
    if (rs == NL_TCP_CLOSED)
        return o_inactive ? "SHR" : "S3";
    if (os == NL_TCP_SYN_SENT && rs == NL_TCP_INACTIVE)
        return "S0";
    if (os == NL_TCP_ESTABLISHED && rs == NL_TCP_ESTABLISHED)
        return "S1";
    return "OTH";
}
