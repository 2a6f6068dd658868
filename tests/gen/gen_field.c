/* gen_field.c - --field: the capture pair of issue 11, a gateway busy with
 * short API calls through a source-NAT pool, seen on both sides of the NAT.
 *
 * -f N TCP connections, one every 0.5 ms (plus up to 100 us of jitter), 10
 * packets each at the near point (SYN, SYN-ACK, ACK, request, two response
 * segments, ACK, FIN, FIN, ACK), from --hosts inner hosts (10.20.0.0/16) to
 * --servers servers (198.51.100.10 onwards) on four ports. No TCP option in
 * any segment, so no timestamp (TSval) key to pair on. Only --payloads
 * distinct requests, each with its own fixed response, so every payload
 * key is shared by N / payloads flows. The far point sees every packet
 * after source NAT, its clock --offset seconds ahead (2.5):
 *   --pool 3     three addresses (203.0.113.10-12), each serving --stretch
 *                consecutive flows in turn, source ports remapped;
 *   --pool flow  every flow its own address (100.64.0.0/10, the shared
 *                space of carrier-grade NAT), source ports remapped.
 * Exactly one flow in every 1/--isn-rewrite (5%: one in 20, at a random
 * place in each block) has its client ISN rewritten by the NAT; one in
 * every 1/--synack-loss (1%) loses its SYN-ACK between the far and the
 * near point: the server resends it after 1 s, so the far point sees two
 * SYN-ACKs and the near point one (the client's SYN timer is taken to be
 * longer, as on stacks with a 3 s initial RTO, so the near side keeps its
 * 10 packets).
 *
 * Bounds: near tuples never repeat while flows per host stay under 28232
 * (client ports are handed out per host); far tuples never repeat while
 * flows per (pool address, server endpoint) stay under 64512. Memory is
 * bound by the flows in flight (the two time-ordered output heaps), not by
 * -f: the connections are made in start order and flushed behind it.
 */
#include <stdlib.h>
#include <string.h>
#include "gen.h"

#define GEN_FIELD_GAP_NS   500000ull       /* a new connection every 0.5 ms */
#define GEN_FIELD_PORTS    4
#define GEN_FIELD_REQ_MAX  512
#define GEN_FIELD_RESP_MAX 640
#define GEN_FIELD_NONE     UINT64_MAX      /* a packet not seen at a point */

static const uint16_t gen_field_ports[GEN_FIELD_PORTS] = {443, 8443, 80, 8080};

/* One request and the response the server always gives to it. */
typedef struct gen_field_msg {
    uint8_t  req[GEN_FIELD_REQ_MAX];
    uint32_t req_len;
    uint8_t  resp[GEN_FIELD_RESP_MAX];
    uint32_t resp_len1, resp_len2;     /* two segments */
} gen_field_msg;

/* One connection. */
typedef struct gen_conn {
    uint64_t id;
    gen_addr cli, srv, nat;
    uint16_t cport, sport, nport;
    uint32_t isn_off;                  /* far seq = near seq + isn_off (client side) */
    uint16_t ipid_c, ipid_s;
    uint32_t msg;                      /* request index */
    int      synack_lost;
} gen_conn;

/* Exactly one pick in every block of `every` consecutive flows, at a random
 * place in the block (every 0: never; 1: always). */
typedef struct gen_field_pick {
    uint32_t every, at;
} gen_field_pick;

typedef struct gen_field {
    gen_state     *g;
    uint64_t       off;                /* far clock ahead, ns */
    gen_field_msg *msgs;               /* o.payloads */
    uint32_t      *srv_rtt;            /* far <-> server round trip per server, ns */
    uint32_t      *port_base, *port_used; /* per (pool address, server endpoint) */
    uint32_t      *host_ports;         /* client ports handed out per host */
    gen_field_pick isn, loss;
    uint64_t       n_isn, n_lost;
} gen_field;

static uint32_t gen_field_every(double frac)
{
    if (frac <= 0)
        return 0;
    if (frac >= 1)
        return 1;
    return (uint32_t)(1.0 / frac + 0.5);
}

/* Is flow i (0-based) picked? Draws the block's place at the block start. */
static int gen_field_picked(gen_field_pick *p, gen_rng *r, uint64_t i)
{
    if (p->every == 0)
        return 0;
    if (i % p->every == 0)
        p->at = gen_below(r, p->every);
    return i % p->every == p->at;
}

/* The requests look like HTTP API calls (readable in a viewer); lengths
 * differ so that a payload length alone does not tell them apart. */
static void gen_field_msgs(gen_field *F)
{
    static const char *const what[] = {"orders", "users", "items", "carts", "prices", "stock",
                                       "search", "session"};
    gen_rng *r = &F->g->rng;
    uint32_t k;
    for (k = 0; k < F->g->o.payloads; k++) {
        gen_field_msg *m = &F->msgs[k];
        uint32_t pad = gen_below(r, 280), body = 60 + gen_below(r, 360), n, total, i;
        char *q = (char *)m->req, *s = (char *)m->resp;
        n = (uint32_t)snprintf(q, GEN_FIELD_REQ_MAX,
                               "GET /api/v%u/%s/%u HTTP/1.1\r\nHost: api.example.com\r\n"
                               "Accept: application/json\r\nX-Client: ",
                               1 + k % 3, what[k % 8], k * 7919u % 100000u);
        for (i = 0; i < pad && n < GEN_FIELD_REQ_MAX - 5; i++)
            q[n++] = (char)('a' + (k + i) % 26);
        memcpy(q + n, "\r\n\r\n", 4);
        m->req_len = n + 4;
        n = (uint32_t)snprintf(s, GEN_FIELD_RESP_MAX,
                               "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                               "Content-Length: %u\r\n\r\n{\"id\":%u,\"data\":\"", body + 20, k);
        for (i = 0; i < body && n < GEN_FIELD_RESP_MAX - 3; i++)
            s[n++] = (char)('A' + (k * 3 + i) % 26);
        memcpy(s + n, "\"}", 2);
        total = n + 2;
        m->resp_len1 = total * 2 / 3;
        m->resp_len2 = total - m->resp_len1;
    }
}

static int gen_field_init(gen_field *F, gen_state *g)
{
    gen_opts *o = &g->o;
    uint32_t pools = o->pool ? o->pool : 1, ends = o->servers * GEN_FIELD_PORTS, i;

    memset(F, 0, sizeof *F);
    F->g = g;
    F->off = (uint64_t)(o->offset_s * 1e9);
    F->msgs = calloc(o->payloads, sizeof *F->msgs);
    F->srv_rtt = calloc(o->servers, sizeof *F->srv_rtt);
    F->port_base = calloc((size_t)pools * ends, sizeof *F->port_base);
    F->port_used = calloc((size_t)pools * ends, sizeof *F->port_used);
    F->host_ports = calloc(o->hosts, sizeof *F->host_ports);
    if (!F->msgs || !F->srv_rtt || !F->port_base || !F->port_used || !F->host_ports)
        return -1;
    gen_field_msgs(F);
    for (i = 0; i < o->servers; i++)       /* 0.3 .. 15 ms, fixed per server */
        F->srv_rtt[i] = 300000 + gen_below(&g->rng, 14700000);
    for (i = 0; i < pools * ends; i++)
        F->port_base[i] = gen_below(&g->rng, 64512);
    F->isn.every = gen_field_every(o->isn_frac);
    F->loss.every = gen_field_every(o->synack_loss);
    return 0;
}

static void gen_field_free(gen_field *F)
{
    free(F->msgs);
    free(F->srv_rtt);
    free(F->port_base);
    free(F->port_used);
    free(F->host_ports);
}

/* Addresses, ports and the NAT's choices for flow i. */
static void gen_field_conn(gen_field *F, gen_conn *c, uint64_t i)
{
    gen_state *g = F->g;
    gen_opts *o = &g->o;
    gen_rng *r = &g->rng;
    uint32_t h = gen_below(r, o->hosts), s = gen_below(r, o->servers);
    uint32_t pi = gen_below(r, GEN_FIELD_PORTS), end = s * GEN_FIELD_PORTS + pi;

    memset(c, 0, sizeof *c);
    c->id = i + 1;
    gen_v4(&c->cli, 10, 20, (uint8_t)(h / 250), (uint8_t)(1 + h % 250));
    c->cport = (uint16_t)(32768 + (h * 2654435761u + F->host_ports[h]++) % 28232u);
    gen_v4(&c->srv, 198, 51, 100, (uint8_t)(10 + s));
    c->sport = gen_field_ports[pi];
    if (o->pool) {
        uint32_t a = (uint32_t)(i / o->stretch % o->pool), slot = a * o->servers * GEN_FIELD_PORTS + end;
        gen_v4(&c->nat, 203, 0, 113, (uint8_t)(10 + a));
        /* 7919 is prime to 64512: distinct ports until the range is used up */
        c->nport = (uint16_t)(1024 + (F->port_base[slot] + F->port_used[slot]++ * 7919u) % 64512u);
    } else {
        uint64_t a = i + 1;                /* 100.64.0.1 onwards */
        gen_v4(&c->nat, 100, (uint8_t)(64 + (a >> 16)), (uint8_t)(a >> 8), (uint8_t)a);
        c->nport = (uint16_t)(1024 + gen_below(r, 64512));
    }
    c->msg = gen_below(r, o->payloads);
    c->ipid_c = (uint16_t)gen_next(r);
    c->ipid_s = (uint16_t)gen_next(r);
    if (gen_field_picked(&F->isn, r, i)) {
        c->isn_off = (uint32_t)gen_next(r) | 1u;
        F->n_isn++;
    }
    c->synack_lost = gen_field_picked(&F->loss, r, i);
    F->n_lost += (uint64_t)c->synack_lost;
}

/* Queue one packet of c: at the near point at tn and the far point at tf
 * (near clock), either GEN_FIELD_NONE when that point does not see it. p
 * holds flags, seq, ack, window and payload; the rest is filled here. */
static void gen_field_send(gen_field *F, gen_conn *c, gen_pkt *p, int c2s, uint64_t tn, uint64_t tf)
{
    gen_state *g = F->g;
    if (c2s) {
        p->src = c->cli; p->dst = c->srv; p->sport = c->cport; p->dport = c->sport;
        p->ip_id = c->ipid_c++;
        p->ttl = 64;
        p->smac = gen_mac_client; p->dmac = gen_mac_gw_in;
    } else {
        p->src = c->srv; p->dst = c->cli; p->sport = c->sport; p->dport = c->cport;
        p->ip_id = c->ipid_s++;
        p->ttl = 51;                       /* one hop less than at the far point */
        p->smac = gen_mac_gw_in; p->dmac = gen_mac_client;
    }
    if (tn != GEN_FIELD_NONE)
        gen_side_push(&g->near, tn, g->frame, gen_frame(g->frame, p));
    if (tf == GEN_FIELD_NONE)
        return;
    if (c2s) {
        p->src = c->nat; p->sport = c->nport;
        p->seq += c->isn_off;
        p->ttl = 63;
        p->smac = gen_mac_gw_out; p->dmac = gen_mac_server;
    } else {
        p->dst = c->nat; p->dport = c->nport;
        p->ack += c->isn_off;
        p->ttl = 52;
        p->smac = gen_mac_server; p->dmac = gen_mac_gw_out;
    }
    gen_side_push(&g->far, tf + F->off, g->frame, gen_frame(g->frame, p));
}

/* A segment description: the rest of gen_pkt is filled by gen_field_send. */
static gen_pkt gen_field_seg(uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win,
                             const uint8_t *pl, uint32_t plen)
{
    gen_pkt p;
    memset(&p, 0, sizeof p);
    p.proto = 6;
    p.flags = flags; p.seq = seq; p.ack = ack; p.win = win;
    p.payload = pl; p.plen = plen;
    return p;
}

/* The ten packets of one connection starting at t0 (near clock). d: the
 * NAT's forwarding delay, the same for every packet of the flow so that
 * neither point sees a direction out of order. */
static void gen_field_packets(gen_field *F, gen_conn *c, uint64_t t0)
{
    gen_rng *r = &F->g->rng;
    const gen_field_msg *m = &F->msgs[c->msg];
    uint32_t ci = (uint32_t)gen_next(r), si = (uint32_t)gen_next(r);
    uint32_t ls = m->req_len, lr = m->resp_len1 + m->resp_len2;
    uint64_t d = 20000 + gen_below(r, 130000);
    uint64_t rtt = F->srv_rtt[(c->srv.b[3] - 10u)];
    uint64_t think = 500000 + gen_below(r, 7500000), close = 100000 + gen_below(r, 2900000);
    uint64_t tf, tn, ta;
    gen_pkt p;

    rtt += gen_below(r, (uint32_t)(rtt / 10 + 1));
    p = gen_field_seg(0x02, ci, 0, 64240, NULL, 0);                     /* SYN */
    gen_field_send(F, c, &p, 1, t0, t0 + d);
    tf = t0 + d + rtt;                                                  /* SYN-ACK */
    if (c->synack_lost) {
        p = gen_field_seg(0x12, si, ci + 1, 65160, NULL, 0);
        gen_field_send(F, c, &p, 0, GEN_FIELD_NONE, tf);
        tf += 1000000000ull;                                            /* resent */
    }
    p = gen_field_seg(0x12, si, ci + 1, 65160, NULL, 0);
    gen_field_send(F, c, &p, 0, tf + d, tf);
    ta = tf + d;                                                        /* client has it */
    tn = ta + 30000;
    p = gen_field_seg(0x10, ci + 1, si + 1, 64240, NULL, 0);            /* ACK */
    gen_field_send(F, c, &p, 1, tn, tn + d);
    tn += 20000 + gen_below(r, 180000);
    p = gen_field_seg(0x18, ci + 1, si + 1, 64240, m->req, ls);         /* request */
    gen_field_send(F, c, &p, 1, tn, tn + d);
    tf = tn + d + rtt + think;
    p = gen_field_seg(0x10, si + 1, ci + 1 + ls, 65160, m->resp, m->resp_len1);
    gen_field_send(F, c, &p, 0, tf + d, tf);
    tf += 10000 + gen_below(r, 30000);
    p = gen_field_seg(0x18, si + 1 + m->resp_len1, ci + 1 + ls, 65160,
                      m->resp + m->resp_len1, m->resp_len2);
    gen_field_send(F, c, &p, 0, tf + d, tf);
    tn = tf + d + 30000;
    p = gen_field_seg(0x10, ci + 1 + ls, si + 1 + lr, 64240, NULL, 0);   /* ACK */
    gen_field_send(F, c, &p, 1, tn, tn + d);
    tn += close;
    p = gen_field_seg(0x11, ci + 1 + ls, si + 1 + lr, 64240, NULL, 0);   /* FIN */
    gen_field_send(F, c, &p, 1, tn, tn + d);
    tf = tn + d + rtt;
    p = gen_field_seg(0x11, si + 1 + lr, ci + 2 + ls, 65160, NULL, 0);   /* FIN */
    gen_field_send(F, c, &p, 0, tf + d, tf);
    tn = tf + d + 30000;
    p = gen_field_seg(0x10, ci + 2 + ls, si + 2 + lr, 64240, NULL, 0);   /* last ACK */
    gen_field_send(F, c, &p, 1, tn, tn + d);
}

static void gen_field_truth_conn(gen_field *F, const gen_conn *c)
{
    gen_state *g = F->g;
    char cs[64], ss[64], ns[64];
    if (!g->truth)
        return;
    gen_addr_str(&c->cli, cs, sizeof cs);
    gen_addr_str(&c->srv, ss, sizeof ss);
    gen_addr_str(&c->nat, ns, sizeof ns);
    fprintf(g->truth, "%s\n{\"id\":%llu,\"proto\":\"tcp\","
            "\"near\":{\"orig_ip\":\"%s\",\"orig_port\":%u,\"resp_ip\":\"%s\",\"resp_port\":%u},"
            "\"far\":{\"orig_ip\":\"%s\",\"orig_port\":%u,\"resp_ip\":\"%s\",\"resp_port\":%u},"
            "\"isn_offset\":%u,\"blocked\":false,\"syn_ack_lost\":%s,\"request\":%u}",
            c->id == 1 ? "" : ",", (unsigned long long)c->id, cs, c->cport, ss, c->sport,
            ns, c->nport, ss, c->sport, c->isn_off, c->synack_lost ? "true" : "false", c->msg);
}

/* What the truth file says about the shape as a whole (after the flows). */
static void gen_field_truth_tail(gen_field *F)
{
    gen_state *g = F->g;
    gen_opts *o = &g->o;
    uint32_t a;
    if (!g->truth)
        return;
    fprintf(g->truth, "\n],\"shape\":\"field\",\"pool\":");
    if (o->pool) {
        fprintf(g->truth, "[");
        for (a = 0; a < o->pool; a++)
            fprintf(g->truth, "%s\"203.0.113.%u\"", a ? "," : "", 10 + a);
        fprintf(g->truth, "],\"stretch\":%u", o->stretch);
    } else {
        fprintf(g->truth, "\"per-flow\"");
    }
    fprintf(g->truth, ",\"hosts\":%u,\"servers\":%u,\"server_ports\":[%u,%u,%u,%u],\"payloads\":%u,"
            "\"tcp_options\":false,\"packets_per_flow_near\":10,"
            "\"isn_rewritten\":%llu,\"syn_ack_lost\":%llu",
            o->hosts, o->servers, gen_field_ports[0], gen_field_ports[1], gen_field_ports[2],
            gen_field_ports[3], o->payloads, (unsigned long long)F->n_isn,
            (unsigned long long)F->n_lost);
}

int gen_field_run(gen_state *g)
{
    gen_field F;
    gen_conn c;
    uint64_t i;

    if (gen_field_init(&F, g) != 0) {
        gen_field_free(&F);
        return -1;
    }
    if (g->truth)
        fprintf(g->truth, "\"flows\":[");
    for (i = 0; i < g->o.flows; i++) {
        uint64_t t0 = g->o.start_ns + i * GEN_FIELD_GAP_NS + gen_below(&g->rng, 100000);
        /* nothing made from now on is stamped before t0 (near) or
         * t0 + offset (far): write what is due */
        gen_side_flush(&g->near, t0);
        gen_side_flush(&g->far, t0 + F.off);
        gen_field_conn(&F, &c, i);
        gen_field_packets(&F, &c, t0);
        gen_field_truth_conn(&F, &c);
        g->flows_started++;
    }
    gen_field_truth_tail(&F);
    gen_field_free(&F);
    return 0;
}
