/* gen_flow.c - the mixed mode and --pair: a few hundred flows in flight
 * (TCP with options and data, UDP, ICMP echo, some IPv6), one packet of a
 * random one at a time, ~10 us apart; in --pair mode each packet is also
 * seen behind a source NAT (pool in 203.0.113.0/24, port and ICMP id
 * remaps, some ISNs rewritten, a little loss repaired by retransmission,
 * a few flows blocked), with the far clock --offset seconds ahead.
 */
#include <stdlib.h>
#include <string.h>
#include "gen.h"

enum { GEN_TCP, GEN_UDP, GEN_ICMP };
enum { GEN_C2S = 0, GEN_S2C = 1 };

typedef struct gen_flow {
    uint64_t id;
    int      kind;
    uint8_t  blocked;        /* pair: never reaches the far side */
    uint8_t  rst_end;        /* TCP ends with RST instead of FIN */
    gen_addr cli, srv, nat;  /* nat: SNAT address on the far side */
    uint16_t cport, sport, nport;
    uint32_t isn_off;        /* far = near + isn_off (client's seq space) */
    uint32_t cseq, sseq;     /* next seq per side */
    uint32_t ts_c, ts_s;     /* TSval clocks: base at the flow's start */
    uint16_t ipid_c, ipid_s;
    uint64_t t0;             /* event time of the first packet */
    uint64_t ready;          /* earliest time of the next packet */
    uint64_t lat;            /* one-way latency near <-> far */
    uint32_t budget;         /* packets left for the data phase */
    int      phase;
    int      round_left;     /* server segments left in this response */
    uint32_t resp_len;       /* bytes left in this response */
    uint16_t icmp_seq;
    uint8_t  syn_tries;
} gen_flow;

static void gen_flow_init(gen_state *g, gen_flow *f, uint64_t ppf)
{
    gen_rng *r = &g->rng;
    uint32_t k = gen_below(r, 100), client, ci;
    int v6 = !g->o.pair && gen_unit(r) < g->o.v6_frac;
    static const uint16_t tcp_ports[] = {443, 443, 443, 80, 80, 22, 25, 8080, 993, 5432};
    static const uint16_t udp_ports[] = {53, 53, 53, 123, 443, 5353, 514};

    memset(f, 0, sizeof *f);
    f->id = ++g->flows_started;
    f->kind = k < 80 ? GEN_TCP : k < 95 ? GEN_UDP : GEN_ICMP;
    if (f->kind == GEN_ICMP && v6)
        v6 = 0;              /* keep ICMPv6 out: echo over v4 is enough */

    /* client: one of 4096 inner hosts; unique port per client so that no
     * 5-tuple is reused within a capture */
    ci = gen_below(r, 4096);
    client = ci;
    if (v6)
        gen_v6(&f->cli, 0x10, 0x100 + client);
    else
        gen_v4(&f->cli, 10, (uint8_t)(1 + client / 250), (uint8_t)(client % 250 / 10 * 10),
               (uint8_t)(2 + client % 10));
    /* each client starts at its own place in the ephemeral range */
    if (f->kind == GEN_ICMP)
        f->cport = (uint16_t)(1 + (ci * 40503u + g->ports_per_client[ci]++) % 65535);
    else
        f->cport = (uint16_t)(32768 + (ci * 2654435761u + g->ports_per_client[ci]++) % 28232);

    /* server: a few hundred in the documentation ranges */
    {
        uint32_t s = gen_below(r, 400);
        if (v6)
            gen_v6(&f->srv, 0x20, 0x1000 + s);
        else if (s < 200)
            gen_v4(&f->srv, 198, 51, 100, (uint8_t)(1 + s));
        else
            gen_v4(&f->srv, 192, 0, 2, (uint8_t)(1 + s - 200));
    }
    if (f->kind == GEN_TCP)
        f->sport = tcp_ports[gen_below(r, sizeof tcp_ports / sizeof tcp_ports[0])];
    else if (f->kind == GEN_UDP)
        f->sport = udp_ports[gen_below(r, sizeof udp_ports / sizeof udp_ports[0])];
    else
        f->sport = f->cport;   /* echo: id both ways */

    if (g->o.pair) {
        /* SNAT: pool address from the client, a fresh port (ICMP id) per
         * pool address, so far tuples never repeat either */
        uint32_t pool = 1 + client % 254;
        gen_v4(&f->nat, 203, 0, 113, (uint8_t)pool);
        /* ports (and echo ids) handed out in a scrambled order */
        f->nport = (uint16_t)(1024 + (g->nat_next_port[pool]++ * 7919u) % 64512u);
        if (f->kind == GEN_TCP && gen_unit(r) < g->o.isn_frac)
            f->isn_off = (uint32_t)gen_next(r) | 1u;
        f->blocked = gen_unit(r) < g->o.blocked_frac;
    }

    f->cseq = (uint32_t)gen_next(r);
    f->sseq = (uint32_t)gen_next(r);
    f->ts_c = (uint32_t)gen_next(r);
    f->ts_s = (uint32_t)gen_next(r);
    f->ipid_c = (uint16_t)gen_next(r);
    f->ipid_s = (uint16_t)gen_next(r);
    f->lat = 200000 + gen_below(r, 1800000);      /* 0.2 .. 2 ms */
    f->ready = g->now;
    f->rst_end = f->kind == GEN_TCP && gen_below(r, 100) < 5;
    /* packets left after the fixed parts (TCP: 3 handshake + 3 teardown) */
    if (f->kind == GEN_TCP)
        f->budget = ppf > 6 ? (uint32_t)(ppf - 6) : 0;
    else
        f->budget = ppf > 2 ? (uint32_t)ppf : 2;
    if (f->blocked)
        f->budget = 0;
}

/* TSval: 1 kHz clock from the flow's base */
static uint32_t gen_tsval(uint32_t base, uint64_t t, uint64_t t0)
{
    return base + (uint32_t)((t - t0) / 1000000ull);
}

static void gen_fill_payload(gen_state *g, uint32_t n)
{
    uint32_t i = 0;
    while (i + 8 <= n) {
        uint64_t v = gen_next(&g->rng);
        memcpy(g->payload + i, &v, 8);
        i += 8;
    }
    if (i < n) {
        uint64_t v = gen_next(&g->rng);
        memcpy(g->payload + i, &v, n - i);
    }
}

/* Emit one packet of flow f at event time te in direction dir: build the
 * near (or only) frame, and in pair mode the far frame. lost: the packet
 * is dropped between the two capture points. */
static void gen_emit(gen_state *g, const gen_flow *f, gen_pkt *p, int dir, uint64_t te, int lost)
{
    uint32_t len;
    uint64_t near_ts, far_ts;
    uint64_t off = (uint64_t)(g->o.offset_s * 1e9);

    p->ttl = 64;
    if (dir == GEN_C2S) {
        p->src = f->cli; p->dst = f->srv;
        p->sport = f->cport; p->dport = f->sport;
        p->ip_id = f->ipid_c;
        p->smac = gen_mac_client; p->dmac = gen_mac_gw_in;
        near_ts = te;
        far_ts = te + f->lat + off;
    } else {
        p->src = f->srv; p->dst = f->cli;
        p->sport = f->sport; p->dport = f->cport;
        p->ip_id = f->ipid_s;
        p->smac = gen_mac_gw_in; p->dmac = gen_mac_client;
        p->ttl = 63;          /* routed by the gateway */
        near_ts = te + f->lat;
        far_ts = te + off;
    }
    if (f->kind == GEN_ICMP)
        p->sport = p->dport = f->cport;

    if (!g->o.pair) {
        len = gen_frame(g->frame, p);
        gen_side_push(&g->near, near_ts, g->frame, len);
        return;
    }
    /* near side sees a client packet always, a server packet unless lost */
    if (dir == GEN_C2S || !lost) {
        len = gen_frame(g->frame, p);
        gen_side_push(&g->near, near_ts, g->frame, len);
    }
    if (f->blocked || (dir == GEN_C2S && lost))
        return;
    /* far side: after SNAT */
    if (dir == GEN_C2S) {
        p->src = f->nat;
        p->sport = f->nport;
        if (f->kind == GEN_ICMP)
            p->dport = f->nport;
        p->seq += f->isn_off;
        p->ttl = 63;
        p->smac = gen_mac_gw_out; p->dmac = gen_mac_server;
    } else {
        p->dst = f->nat;
        p->dport = f->nport;
        if (f->kind == GEN_ICMP)
            p->sport = f->nport;
        if (p->flags & 0x10)
            p->ack += f->isn_off;
        p->ttl = 64;
        p->smac = gen_mac_server; p->dmac = gen_mac_gw_out;
    }
    len = gen_frame(g->frame, p);
    gen_side_push(&g->far, far_ts, g->frame, len);
}

/* Build the next packet of flow f into *p; returns its direction and sets
 * *done when it is the flow's last packet. */
static int gen_flow_next(gen_state *g, gen_flow *f, gen_pkt *p, uint64_t te, int *done)
{
    gen_rng *r = &g->rng;
    int dir = GEN_C2S;

    memset(p, 0, sizeof *p);
    p->win = 64240;
    *done = 0;
    if (f->kind == GEN_TCP) {
        uint32_t tc = gen_tsval(f->ts_c, te, f->t0), tsv = gen_tsval(f->ts_s, te, f->t0);
        p->proto = 6;
        p->ts_opt = 1;
        switch (f->phase) {
        case 0: /* SYN; a blocked flow retransmits it twice, then gives up */
            p->flags = 0x02; p->seq = f->cseq; p->syn_opts = 1; p->ts_opt = 0;
            p->tsval = tc; p->tsecr = 0;
            if (f->blocked) {
                *done = ++f->syn_tries >= 3;
                return GEN_C2S;
            }
            f->cseq++;
            f->phase = 1;
            return GEN_C2S;
        case 1: /* SYN-ACK */
            p->flags = 0x12; p->seq = f->sseq++; p->ack = f->cseq; p->syn_opts = 1; p->ts_opt = 0;
            p->win = 65160; p->tsval = tsv; p->tsecr = tc;
            f->phase = 2;
            return GEN_S2C;
        case 2: /* ACK */
            p->flags = 0x10; p->seq = f->cseq; p->ack = f->sseq;
            p->win = 502; p->tsval = tc; p->tsecr = tsv;
            f->phase = f->budget >= 3 ? 3 : 5;
            return GEN_C2S;
        case 3: { /* request; the response gets 1..4 segments, then an ACK */
            uint32_t n = 40 + gen_below(r, 360);
            gen_fill_payload(g, n);
            p->flags = 0x18; p->seq = f->cseq; p->ack = f->sseq;
            p->win = 502; p->tsval = tc; p->tsecr = tsv;
            p->payload = g->payload; p->plen = n;
            f->cseq += n;
            f->budget--;
            f->round_left = 1 + (int)gen_below(r, 4);
            if ((uint32_t)f->round_left > f->budget - 1)
                f->round_left = (int)f->budget - 1;
            f->resp_len = (uint32_t)(f->round_left - 1) * GEN_MSS + 1 + gen_below(r, GEN_MSS);
            f->phase = 4;
            return GEN_C2S;
        }
        case 4:
            if (f->round_left > 0) {
                uint32_t n = f->resp_len > GEN_MSS ? GEN_MSS : f->resp_len;
                gen_fill_payload(g, n);
                p->flags = f->round_left == 1 ? 0x18 : 0x10;
                p->seq = f->sseq; p->ack = f->cseq;
                p->win = 509; p->tsval = tsv; p->tsecr = tc;
                p->payload = g->payload; p->plen = n;
                f->sseq += n;
                f->resp_len -= n;
                f->round_left--;
                f->budget--;
                return GEN_S2C;
            }
            p->flags = 0x10; p->seq = f->cseq; p->ack = f->sseq;
            p->win = 502; p->tsval = tc; p->tsecr = tsv;
            f->budget--;
            f->phase = f->budget >= 3 ? 3 : 5;
            return GEN_C2S;
        case 5: /* client closes (FIN, or RST for a few) */
            p->seq = f->cseq; p->ack = f->sseq; p->win = 502; p->tsval = tc; p->tsecr = tsv;
            if (f->rst_end) {
                p->flags = 0x14;
                p->ts_opt = 0;
                *done = 1;
            } else {
                p->flags = 0x11;
                f->cseq++;
                f->phase = 6;
            }
            return GEN_C2S;
        case 6: /* server FIN */
            p->flags = 0x11; p->seq = f->sseq++; p->ack = f->cseq;
            p->win = 509; p->tsval = tsv; p->tsecr = tc;
            f->phase = 7;
            return GEN_S2C;
        default: /* last ACK */
            p->flags = 0x10; p->seq = f->cseq; p->ack = f->sseq;
            p->win = 502; p->tsval = tc; p->tsecr = tsv;
            *done = 1;
            return GEN_C2S;
        }
    }
    /* UDP request/response or ICMP echo request/reply, alternating */
    dir = (f->phase & 1) ? GEN_S2C : GEN_C2S;
    if (f->kind == GEN_UDP) {
        uint32_t n = dir == GEN_C2S ? 28 + gen_below(r, 40) : 60 + gen_below(r, 440);
        gen_fill_payload(g, n);
        p->proto = 17;
        p->payload = g->payload; p->plen = n;
    } else {
        p->proto = f->cli.v6 ? 58 : 1;
        p->icmp_type = dir == GEN_C2S ? (f->cli.v6 ? 128 : 8) : (f->cli.v6 ? 129 : 0);
        p->icmp_seq = (uint16_t)(1 + f->phase / 2);
        gen_fill_payload(g, 56);
        p->payload = g->payload; p->plen = 56;
    }
    f->phase++;
    if (f->budget)
        f->budget--;
    *done = (f->budget == 0 && dir == GEN_S2C) || f->blocked;
    return dir;
}

/* Direction of the flow's next packet (for its timing). */
static int gen_flow_next_dir(const gen_flow *f)
{
    if (f->kind == GEN_TCP)
        return (f->phase == 1 || f->phase == 6 || (f->phase == 4 && f->round_left > 0)) ? GEN_S2C : GEN_C2S;
    return (f->phase & 1) ? GEN_S2C : GEN_C2S;
}

/* One packet of flow f at the earliest time it may go. Returns 1 when the
 * flow is finished. A packet lost between the capture points shows only on
 * the sender's side; TCP sends it again after an RTO. */
static int gen_flow_step(gen_state *g, gen_flow *f)
{
    gen_pkt p, again;
    gen_rng *r = &g->rng;
    uint64_t te = f->ready > g->now ? f->ready : g->now;
    uint64_t gap = 5000 + gen_below(r, 20000);   /* 5..25 us, same sender */
    int done, dir, lost;

    if (f->t0 == 0)
        f->t0 = te;
    lost = g->o.pair && !f->blocked && g->o.loss > 0 && gen_unit(r) < g->o.loss;
    dir = gen_flow_next(g, f, &p, te, &done);
    if (f->cli.v6 && p.proto == 1)
        p.proto = 58;
    again = p;
    gen_emit(g, f, &p, dir, te, lost);
    g->pkts_made++;
    /* TCP resends what it must (data, SYN, FIN), never a bare ACK or RST */
    if (lost && f->kind == GEN_TCP && (again.plen || (again.flags & 0x03))) {
        te += 200000000ull + 2 * f->lat;          /* RTO */
        if (again.ts_opt || again.syn_opts)
            again.tsval = gen_tsval(dir == GEN_C2S ? f->ts_c : f->ts_s, te, f->t0);
        if (dir == GEN_C2S)   /* a resent packet gets a new IP ID */
            again.ip_id = ++f->ipid_c;
        else
            again.ip_id = ++f->ipid_s;
        gen_emit(g, f, &again, dir, te, 0);
        g->pkts_made++;
    }
    if (dir == GEN_C2S)
        f->ipid_c++;
    else
        f->ipid_s++;

    /* a reply waits for the request to cross the path and back; the same
     * sender goes on after a short gap; a blocked SYN backs off 1 s, 2 s */
    if (f->blocked && f->kind == GEN_TCP)
        f->ready = te + (1000000000ull << (f->syn_tries - 1));
    else {
        int nd = gen_flow_next_dir(f);
        f->ready = te + (nd == dir ? gap : 2 * f->lat + gap);
        if (f->kind != GEN_TCP && nd == GEN_C2S)
            f->ready += 1000000ull * gen_below(r, 50);   /* think time */
    }
    return done;
}

/* ---- truth file -------------------------------------------------------- */

static const char *gen_kind_name(int k)
{
    return k == GEN_TCP ? "tcp" : k == GEN_UDP ? "udp" : "icmp";
}

static void gen_truth_flow(gen_state *g, const gen_flow *f)
{
    char c[64], s[64], n[64];
    if (!g->truth)
        return;
    gen_addr_str(&f->cli, c, sizeof c);
    gen_addr_str(&f->srv, s, sizeof s);
    gen_addr_str(&f->nat, n, sizeof n);
    fprintf(g->truth, "%s\n{\"id\":%llu,\"proto\":\"%s\","
            "\"near\":{\"orig_ip\":\"%s\",\"orig_port\":%u,\"resp_ip\":\"%s\",\"resp_port\":%u},",
            g->truth_first ? "" : ",", (unsigned long long)f->id, gen_kind_name(f->kind),
            c, f->cport, s, f->kind == GEN_ICMP ? f->cport : f->sport);
    g->truth_first = 0;
    if (f->blocked)
        fprintf(g->truth, "\"far\":null,");
    else
        fprintf(g->truth, "\"far\":{\"orig_ip\":\"%s\",\"orig_port\":%u,\"resp_ip\":\"%s\",\"resp_port\":%u},",
                n, f->nport, s, f->kind == GEN_ICMP ? f->nport : f->sport);
    fprintf(g->truth, "\"isn_offset\":%u,\"blocked\":%s}", f->isn_off, f->blocked ? "true" : "false");
}

/* ---- modes ------------------------------------------------------------- */

int gen_flow_run(gen_state *g)
{
    gen_opts *o = &g->o;
    uint64_t ppf, off = (uint64_t)(o->offset_s * 1e9);
    uint32_t cap = o->concurrency, nact = 0;
    gen_flow *act;

    if (!o->flows)
        o->flows = o->packets ? (o->packets / 50 ? o->packets / 50 : 1) : 1000;
    ppf = o->packets ? o->packets / o->flows : o->ppf;
    if (ppf < 2)
        ppf = 2;
    if (cap > o->flows)
        cap = (uint32_t)o->flows;
    act = calloc(cap, sizeof *act);
    if (!act)
        return -1;
    if (g->truth)
        fprintf(g->truth, "\"flows\":[");
    while (nact < cap) {
        gen_flow_init(g, &act[nact], ppf);
        gen_truth_flow(g, &act[nact]);
        nact++;
    }
    while (nact > 0) {
        uint32_t i = gen_below(&g->rng, nact);
        if (gen_flow_step(g, &act[i])) {
            int more = g->flows_started < o->flows &&
                       (!o->packets || g->pkts_made + (uint64_t)nact * ppf / 2 < o->packets);
            if (more) {
                gen_flow_init(g, &act[i], ppf);
                gen_truth_flow(g, &act[i]);
            } else {
                act[i] = act[--nact];
            }
        }
        g->now += 1 + gen_below(&g->rng, 20000);        /* ~10 us per packet */
        /* nothing created later can be stamped before `now` (near) or
         * `now + offset` (far) */
        gen_side_flush(&g->near, g->now);
        if (o->pair)
            gen_side_flush(&g->far, g->now + off);
    }
    free(act);
    if (g->truth)
        fprintf(g->truth, "\n]");
    return 0;
}
