/* correlate_csv.c - `natlens correlate --csv`: one row per connection
 * followed through the captures (a chain) or seen at one only, for
 * spreadsheets and scripts. Columns: the row's kind and protocol, per
 * capture i the flow's endpoints as that capture saw them (c<i>_orig_ip,
 * c<i>_orig_port, c<i>_resp_ip, c<i>_resp_port, c<i>_state, c<i>_pkts;
 * empty where the connection was not seen), the translation per hop, the
 * pair's level and keys, why a lone flow is lone, the egress address the
 * farthest capture saw, and the start (capture 0's clock) in seconds and
 * integer nanoseconds. Every row, like --json (no --top cap). Fields are
 * quoted when they hold a comma or a quote; addresses and names are never
 * raw bytes from a file (capture names are not in the rows).
 */
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include "natlens/correlate.h"
#include "natlens/flow.h"
#include "cli.h"

static void csv_field(FILE *out, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s == '\n' || *s == '\r' ? ' ' : *s, out);
    }
    fputc('"', out);
}

static void csv_flow(FILE *out, const nl_flow *f)
{
    char a[64], b[64];
    if (!f) {
        fputs(",,,,,,", out);
        return;
    }
    fprintf(out, ",%s,%u,%s,%u,%s,%llu", nl_addr_str(&f->orig_ip, a, sizeof a), f->orig_port,
            nl_addr_str(&f->resp_ip, b, sizeof b), f->resp_port, flow_conn_state(f),
            (unsigned long long)(f->pkts[0] + f->pkts[1]));
}

static void csv_header(FILE *out, size_t ncaps)
{
    fputs("kind,proto", out);
    for (size_t i = 0; i < ncaps; i++)
        fprintf(out, ",c%zu_orig_ip,c%zu_orig_port,c%zu_resp_ip,c%zu_resp_port,c%zu_state,c%zu_pkts",
                i, i, i, i, i, i);
    fputs(",translation,level,evidence,reason,egress_ip,egress_seen_at,first_ts,first_ns\n", out);
}

static void csv_tail(FILE *out, const char *tr, const char *level, const char *ev,
                     const char *reason, const char *egress, int seen_at, uint64_t t)
{
    fputc(',', out);
    csv_field(out, tr);
    fprintf(out, ",%s,", level);
    csv_field(out, ev);
    fprintf(out, ",%s,%s,", reason, egress);
    if (seen_at >= 0)
        fprintf(out, "%d", seen_at);
    fprintf(out, ",%llu.%09llu,%llu\n", (unsigned long long)(t / 1000000000u),
            (unsigned long long)(t % 1000000000u), (unsigned long long)t);
}

static void csv_chain(FILE *out, const nl_correlation *c, const nl_chain *ch)
{
    char tr[160] = "", ev[160] = "", pb[16], eg[64] = "";
    uint32_t evb = 0;
    uint8_t level = NL_CONF_RECORDED;
    const nl_flow *f0 = ch->flows[ch->first_cap];
    for (size_t h = 0; h < ch->nhops; h++) {
        size_t l = strlen(tr);
        const nl_hop *hp = &ch->hops[h];
        snprintf(tr + l, sizeof tr - l, "%s%s", h ? ";" : "",
                 hp->present ? correlate_translation_name(hp->translation)
                             : hp->answered ? "elsewhere" : "lost");
        if (hp->present) {
            evb |= hp->match->evidence;
            if (hp->match->level < level)
                level = hp->match->level;
        }
    }
    for (int i = 0; i < NL_EV_COUNT; i++)
        if (evb & (1u << i)) {
            size_t l = strlen(ev);
            snprintf(ev + l, sizeof ev - l, "%s%s", l ? " " : "", correlate_evidence_name(1u << i));
        }
    nl_addr egress;
    int seen_at = -1;
    if (correlate_chain_egress(c, ch, &egress, &seen_at))
        nl_addr_str(&egress, eg, sizeof eg);
    else
        seen_at = -1;
    fprintf(out, "chain,%s", flow_proto_name(f0->proto, pb, sizeof pb));
    for (size_t i = 0; i < c->ncaps; i++)
        csv_flow(out, ch->flows[i]);
    csv_tail(out, tr, correlate_level_name(level), ev, "", eg, seen_at,
             correlate_to_clock(c, ch->first_cap, 0, f0->first_ns));
}

void cli_correlate_csv(FILE *out, const nl_correlation *c)
{
    char pb[16];
    csv_header(out, c->ncaps);
    for (size_t i = 0; i < c->nchains; i++)
        csv_chain(out, c, &c->chains[i]);
    for (size_t i = 0; i < c->nunmatched; i++) {
        const nl_unmatched *u = &c->unmatched[i];
        if (!correlate_unmatched_is_lone(c, i))
            continue;           /* in a chain, or listed already */
        fprintf(out, "lone,%s", flow_proto_name(u->flow->proto, pb, sizeof pb));
        for (size_t k = 0; k < c->ncaps; k++)
            csv_flow(out, (int)k == u->capture ? u->flow : NULL);
        csv_tail(out, "", "", "", correlate_reason_name(u->reason), "", -1,
                 correlate_to_clock(c, u->capture, 0, u->flow->first_ns));
    }
}
