/* diagnose_records.c - what a record file alone shows (record.h).
 *
 * Rules, one case per record flow (the inner leg where a record has two):
 *   - Cloud NAT allocation_status other than OK (DROPPED, OUT_OF_RESOURCES)
 *     -> nat_port_exhausted, grouped per VM, gateway and status; the fix
 *     raises the VM's minimum NAT ports or turns on dynamic port
 *     allocation (gcloud, with names checked against GCP's resource name
 *     rule: anything else becomes a placeholder);
 *   - a flow log action REJECT in either direction -> rejected_by_rule,
 *     grouped per interface (AWS interface-id, Azure MAC) and naming the
 *     direction: a reply rejected on the way back is a stateless rule
 *     (network ACL) missing its return rule;
 *   - a conntrack entry whose last record is [UNREPLIED] -> nat_no_reply:
 *     the NAT forwarded the first packet and never saw an answer (grouped
 *     per destination; UDP only informational: one-way UDP is common). A
 *     TCP entry left in state CLOSE was answered by a reset: not judged.
 * Names from the file are cut to printable ASCII before they reach a
 * summary (presenters escape again).
 */
#define NATLENS_DIAGNOSE_INTERNAL
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/diagnose.h"
#include "natlens/flow_out.h"
#include "natlens/record.h"

/* Printable ASCII of s (at most len - 1 bytes) into buf; "?" for others. */
static const char *dr_name(const char *s, char *buf, size_t len)
{
    size_t k = 0;
    for (; s && *s && k + 1 < len; s++)
        buf[k++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
    buf[k] = '\0';
    return buf;
}

/* GCP resource names: [a-z]([-a-z0-9]{0,61}[a-z0-9])?; regions alike. */
static int dr_gcp_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 63 || s[0] < 'a' || s[0] > 'z' || s[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    return 1;
}

static const nl_flow *dr_leg(nl_flow **fl, size_t n, const nl_trace *t, uint32_t id)
{
    /* record flows sit in id order: a binary search finds the other leg */
    size_t lo = 0, hi = n;
    (void)t;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (fl[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && fl[lo]->id == id ? fl[lo] : NULL;
}

typedef struct dr_ctx {
    nl_findings *fs;
    int          cap;
    const nl_trace *t;
    nl_flow    **fl;
    size_t       n;
    const char  *file;
} dr_ctx;

/* Evidence from a record: a record file names its line; records inside a
 * capture (conntrack events, record.h) are frames of it, cited as such. */
static void dr_ev_line(dg_case *k, const dr_ctx *cx, const nl_record_info *ri, uint64_t ts,
                       const char *text)
{
    if (cx->t->is_record)
        diagnose_case_ev(k, cx->cap, 0, ts, "line %" PRIu64 ": %s", ri->line, text);
    else
        diagnose_case_ev(k, cx->cap, ri->line, ts, "conntrack event: %s", text);
}

static void dr_ev_record(dg_case *k, const dr_ctx *cx, const nl_flow *f, const nl_record_info *ri,
                         const char *what)
{
    char tup[200], text[560];
    flow_out_tuple(f, tup, sizeof tup, 1);
    snprintf(text, sizeof text, "%s %s", tup, what);
    dr_ev_line(k, cx, ri, f->first_ns, text);
}

/* Connections of the VM to f's destination in the file (OK or not): how
 * many NAT ports it needed at once, at most. */
static uint64_t dr_vm_demand(const dr_ctx *cx, const nl_record_info *ri0, const nl_flow *f0)
{
    uint64_t n = 0;
    for (size_t i = 0; i < cx->n; i++) {
        const nl_flow *f = cx->fl[i];
        const nl_record_info *ri = record_info_of(cx->t, f);
        if (ri && ri->side != NL_REC_SIDE_OUTER && ri->vm == ri0->vm && f->proto == f0->proto &&
            f->resp_port == f0->resp_port && !nl_addr_cmp(&f->resp_ip, &f0->resp_ip))
            n++;
    }
    return n;
}

static char *dr_fix_ports(const nl_record_info *ri, uint64_t demand)
{
    char buf[700];
    const char *gw = dr_gcp_name_ok(ri->gateway) ? ri->gateway : "<nat-gateway>";
    const char *rt = dr_gcp_name_ok(ri->router) ? ri->router : "<router>";
    const char *rg = dr_gcp_name_ok(ri->region) ? ri->region : "<region>";
    uint64_t ports = 128;
    while (ports < demand * 2 && ports < 32768)
        ports *= 2;
    snprintf(buf, sizeof buf,
             "# one NAT port per connection to the same destination; %" PRIu64 " were asked for\n"
             "  gcloud compute routers nats update %s --router=%s --region=%s --min-ports-per-vm=%" PRIu64 "\n"
             "# or let the gateway hand out ports as needed:\n"
             "  gcloud compute routers nats update %s --router=%s --region=%s "
             "--enable-dynamic-port-allocation --max-ports-per-vm=%" PRIu64,
             demand, gw, rt, rg, ports, gw, rt, rg, ports * 8 > 65536 ? 65536 : ports * 8);
    return strdup(buf);
}

static void dr_nat_drop(const dr_ctx *cx, const nl_flow *f, const nl_record_info *ri)
{
    char vm[49], gw[49], st[33], ip[46], tup[160];
    const char *status = record_nat_status_name(ri);
    dg_case *k = diagnose_case_new(cx->fs, NL_FK_NAT_PORT_EXHAUSTED, NL_SEV_ERROR);
    dr_name(ri->vm ? ri->vm : "", vm, sizeof vm);
    dr_name(ri->gateway ? ri->gateway : "the Cloud NAT gateway", gw, sizeof gw);
    dr_name(status ? status : "not OK", st, sizeof st);
    nl_addr_str(&f->orig_ip, ip, sizeof ip);
    diagnose_case_flow(k, cx->cap, f);
    snprintf(k->group, sizeof k->group, "natdrop|%s|%s|%s|%s", vm, ip, gw, st);
    flow_out_tuple(f, tup, sizeof tup, 1);
    snprintf(k->subject1, sizeof k->subject1, "The connection %s of %s%s%s%s", tup,
             vm[0] ? "VM " : "", vm[0] ? vm : ip, vm[0] ? " (" : "", vm[0] ? ip : "");
    if (vm[0])
        strncat(k->subject1, ")", sizeof k->subject1 - strlen(k->subject1) - 1);
    snprintf(k->subjectn, sizeof k->subjectn, "connections of %s%s%s%s%s", vm[0] ? "VM " : "",
             vm[0] ? vm : ip, vm[0] ? " (" : "", vm[0] ? ip : "", vm[0] ? ")" : "");
    snprintf(k->predicate, sizeof k->predicate,
             "got no NAT port from %s (allocation_status %s): the gateway dropped the packets", gw, st);
    dr_ev_record(k, cx, f, ri, "allocation_status not OK: no NAT port for this connection");
    diagnose_case_fix(k, 2, dr_fix_ports(ri, dr_vm_demand(cx, ri, f)));
    k->first_ns = f->first_ns ? f->first_ns : k->first_ns;
}

static void dr_reject(const dr_ctx *cx, const nl_flow *f, const nl_record_info *ri)
{
    char ifn[49], tup[200], rtup[400], fix[400];
    dg_case *k = diagnose_case_new(cx->fs, NL_FK_REJECTED_BY_RULE, NL_SEV_ERROR);
    dr_name(ri->interface ? ri->interface : "", ifn, sizeof ifn);
    diagnose_case_flow(k, cx->cap, f);
    snprintf(k->group, sizeof k->group, "reject|%u|%s", ri->reject_dirs, ifn);
    flow_out_tuple(f, tup, sizeof tup, 1);
    snprintf(k->subject1, sizeof k->subject1, "The flow %s", tup);
    snprintf(k->subjectn, sizeof k->subjectn, "flows");
    snprintf(k->predicate, sizeof k->predicate,
             "%s rejected by a security rule at %s%s (flow log action REJECT)",
             ri->reject_dirs == 2 ? "had its reply" : ri->reject_dirs == 3 ? "was (both ways)" : "was",
             ifn[0] ? "interface " : "the logged interface", ifn);
    if (ri->reject_dirs & 1)
        dr_ev_record(k, cx, f, ri, "rejected");
    if (ri->reject_dirs & 2) {
        char a[64], b[64];
        nl_addr_str(&f->resp_ip, a, sizeof a);
        nl_addr_str(&f->orig_ip, b, sizeof b);
        snprintf(rtup, sizeof rtup, "the reply %s:%u \xe2\x86\x92 %s:%u rejected on the way back "
                 "(a stateless rule, e.g. a network ACL, lacks the return rule)",
                 a, f->resp_port, b, f->orig_port);
        dr_ev_line(k, cx, ri, f->first_ns, rtup);
    }
    if (ifn[0] && !strncmp(ifn, "eni-", 4) && strspn(ifn + 4, "0123456789abcdef") == strlen(ifn + 4) &&
        strlen(ifn) >= 12 && strlen(ifn) <= 21) {
        snprintf(fix, sizeof fix,
                 "# the security groups and the subnet's network ACL of the interface:\n"
                 "  aws ec2 describe-network-interfaces --network-interface-ids %s\n"
                 "  aws ec2 describe-network-acls --filters Name=association.subnet-id,Values=<subnet-id>", ifn);
        diagnose_case_fix(k, 2, strdup(fix));
    } else {
        diagnose_case_fix(k, 1, strdup("# allow the flow in the security rule (security group, network "
                                       "ACL or NSG) that the flow log's interface applies"));
    }
    k->first_ns = f->first_ns ? f->first_ns : k->first_ns;
}

static void dr_no_reply(const dr_ctx *cx, const nl_flow *f, const nl_record_info *ri)
{
    char tup[200], ep[80];
    const nl_flow *out = ri->other_leg ? dr_leg(cx->fl, cx->n, cx->t, ri->other_leg) : NULL;
    dg_case *k = diagnose_case_new(cx->fs, NL_FK_NAT_NO_REPLY,
                                   f->proto == DG_PROTO_UDP ? NL_SEV_INFO : NL_SEV_WARNING);
    diagnose_case_flow(k, cx->cap, f);
    if (out)
        diagnose_case_flow(k, cx->cap, out);
    diagnose_ep(&(out ? out : f)->resp_ip, (out ? out : f)->resp_port, ep, sizeof ep);
    snprintf(k->group, sizeof k->group, "noreply|%u|%s", f->proto, ep);
    flow_out_tuple(f, tup, sizeof tup, 1);
    snprintf(k->subject1, sizeof k->subject1, "The connection %s", tup);
    snprintf(k->subjectn, sizeof k->subjectn, "connections to %s", ep);
    snprintf(k->predicate, sizeof k->predicate,
             "got no answer at the NAT: conntrack kept the entry [UNREPLIED]%s",
             out ? " after translating it" : "");
    if (out && !cx->t->is_record) {
        /* a capture's events are one frame: one piece of evidence */
        char otup[200], text[300];
        flow_out_tuple(out, otup, sizeof otup, 1);
        snprintf(text, sizeof text, "[UNREPLIED] on the entry's last record, sent on as %s", otup);
        dr_ev_record(k, cx, f, ri, text);
    } else {
        dr_ev_record(k, cx, f, ri, "[UNREPLIED] on the entry's last record");
    }
    if (out && cx->t->is_record) {
        char otup[200], text[300];
        flow_out_tuple(out, otup, sizeof otup, 1);
        snprintf(text, sizeof text, "sent on as %s", otup);
        dr_ev_line(k, cx, ri, out->first_ns, text);
    }
    k->first_ns = f->first_ns ? f->first_ns : k->first_ns;
}

void diagnose_records_run(nl_findings *fs, int cap, const nl_trace *t)
{
    dr_ctx cx;
    memset(&cx, 0, sizeof cx);
    cx.fs = fs;
    cx.cap = cap;
    cx.t = t;
    if (!record_count(t))
        return;
    cx.fl = flow_table_all(t->flows, &cx.n);
    for (size_t i = 0; i < cx.n; i++) {
        const nl_flow *f = cx.fl[i];
        const nl_record_info *ri = record_info_of(t, f);
        if (!ri || ri->side == NL_REC_SIDE_OUTER)
            continue;   /* one case per record: its inner leg (or its only flow) */
        if (ri->nat_status >= NL_REC_NAT_DROPPED)
            dr_nat_drop(&cx, f, ri);
        if (ri->action == NL_REC_ACTION_REJECT)
            dr_reject(&cx, f, ri);
        /* [UNREPLIED] in state CLOSE: the answer was a reset (conntrack never
         * marks a RST as a reply), which is not "no answer" */
        if ((ri->ct_flags & NL_REC_CT_UNREPLIED) && f->proto != DG_PROTO_ICMP &&
            f->proto != DG_PROTO_ICMP6 && !(ri->state && !strcmp(ri->state, "CLOSE")))
            dr_no_reply(&cx, f, ri);
    }
}

int diagnose_records(nl_findings *out, nl_trace *t, int cap_index)
{
    size_t n0;
    int rc;
    if (!out || !t)
        return -1;
    n0 = diagnose_count(out);
    diagnose_records_run(out, cap_index, t);
    rc = diagnose_trace(out, t, cap_index);   /* single-capture rules, then finalise */
    if (rc < 0)
        return -1;
    return (int)(diagnose_count(out) >= n0 ? diagnose_count(out) - n0 : 0);
}
