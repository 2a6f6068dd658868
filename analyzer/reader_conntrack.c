/* reader_conntrack.c - the Linux kernel's connection tracking table as
 * conntrack(8) prints it: the NAT's own mapping, exact.
 *
 * Documentation: conntrack(8), https://conntrack-tools.netfilter.org/manual.html
 * (conntrack-tools user manual) and the output of libnetfilter_conntrack's
 * snprintf_default.c / snprintf_xml.c. Accepted, mixed freely in one file:
 *   conntrack -L [-o extended,id,timestamp]     (table listing)
 *     ipv4     2 tcp      6 119 TIME_WAIT src=A dst=B sport=a dport=b
 *       [packets=N bytes=N] [UNREPLIED] src=C dst=D sport=c dport=d
 *       [packets=N bytes=N] [ASSURED] mark=0 [delta-time=N] use=1 [id=N]
 *   conntrack -E -o timestamp,id[,extended]     (event stream)
 *     [1795323339.706009]\t    [NEW] tcp      6 120 SYN_SENT src=... id=N
 *   conntrack -L|-E -o xml                      (one <flow> element a line)
 * Lines starting with '#' and conntrack's own "conntrack v1.4.7 ..." trailer
 * are skipped. IPv4 and IPv6.
 *
 * Original tuple src:sport -> dst:dport is the inner leg (as the client
 * sent it); the reply tuple src=C dst=D says what the destination saw:
 * the outer leg is D:d -> C:c. They differ exactly when the entry was
 * translated (SNAT and/or DNAT); then the entry becomes two flows.
 * Events of one entry (same id, or same original tuple when ids are not
 * printed) merge into one: NEW gives the start (µs, same clock as a
 * capture on that host), the last event the end, [UNREPLIED] on the last
 * record means the NAT never saw an answer. A table listing has no
 * absolute times (delta-time counts from an unknown "now"): its entries
 * pin no times unless events of the same id do. Counters (packets=,
 * bytes=) appear only with net.netfilter.nf_conntrack_acct=1; their bytes
 * are IP bytes.
 */
#include <string.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include "natlens/reader.h"
#include "record_int.h"

#define CT_MAX_TOKENS 96

typedef rec_ct_tuple ct_tuple;
typedef rec_ct_event ct_rec;

/* ---- text lines ---------------------------------------------------------- */

static int ct_tuple_kv(ct_tuple *tp, uint8_t proto, const char *k, size_t kl,
                       const char *v, size_t vl, const char **why)
{
    uint64_t x;
    int icmp = proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
#define KEY(s) (kl == sizeof(s) - 1 && !memcmp(k, s, kl))
    if (KEY("src") || KEY("dst")) {
        nl_addr *a = KEY("src") ? &tp->src : &tp->dst;
        if (rec_parse_addr(v, vl, a) < 0)
            return *why = "address not understood", -1;
        *(KEY("src") ? &tp->has_src : &tp->has_dst) = 1;
    } else if (KEY("sport") || KEY("dport")) {
        if (rec_parse_u64(v, vl, 65535, &x) < 0)
            return *why = "port out of range", -1;
        *(KEY("sport") ? &tp->sport : &tp->dport) = (uint16_t)x;
        tp->has_ports = 1;
    } else if (icmp && (KEY("type") || KEY("code"))) {
        if (rec_parse_u64(v, vl, 255, &x) < 0)
            return *why = "ICMP type/code out of range", -1;
        *(KEY("type") ? &tp->type : &tp->code) = (uint8_t)x;
        tp->has_type = 1;
    } else if (icmp && KEY("id") && !tp->has_id) {
        if (rec_parse_u64(v, vl, 65535, &x) < 0)
            return *why = "ICMP id out of range", -1;
        tp->id = (uint16_t)x;
        tp->has_id = 1;
    } else if (KEY("packets") || KEY("bytes")) {
        if (rec_parse_u64(v, vl, UINT64_MAX / 4, &x) < 0)
            return *why = "counter out of range", -1;
        *(KEY("packets") ? &tp->pkts : &tp->bytes) = x;
        tp->has_counts = 1;
    } else {
        return 0;   /* not a tuple key */
    }
    return 1;
#undef KEY
}

static int ct_is_upper_word(const char *s, size_t n)
{
    if (n == 0 || n > 15)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_'))
            return 0;
    return 1;
}

/* Split at blanks; a "[start=Wed Dec  3 ...]" token keeps its blanks. */
static size_t ct_tokens(char *s, char **tok, size_t *tl)
{
    size_t n = 0;
    while (*s && n < CT_MAX_TOKENS) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s)
            break;
        char *b = s;
        if (*s == '[') {
            char *e = strchr(s, ']');
            s = e ? e + 1 : s + strlen(s);
        } else {
            while (*s && *s != ' ' && *s != '\t')
                s++;
        }
        tok[n] = b;
        tl[n++] = (size_t)(s - b);
    }
    return n;
}

static int ct_parse_text(char *line, ct_rec *r, const char **why)
{
    char *tok[CT_MAX_TOKENS];
    size_t tl[CT_MAX_TOKENS], n = ct_tokens(line, tok, tl), i = 0;
    int cur = -1;
    uint64_t x;
    memset(r, 0, sizeof *r);
    if (n == CT_MAX_TOKENS)
        return *why = "too many fields", -1;
    if (i < n && tok[i][0] == '[' && tl[i] > 2 && tok[i][1] >= '0' && tok[i][1] <= '9') {
        if (rec_parse_epoch(tok[i] + 1, tl[i] - 2, &r->ts_ns) < 0)
            return *why = "event time not understood", -1;
        i++;
    }
    if (i < n && tok[i][0] == '[') {
        static const char *const ev[] = {"[NEW]", "[UPDATE]", "[DESTROY]"};
        for (int k = 0; k < 3; k++)
            if (tl[i] == strlen(ev[k]) && !memcmp(tok[i], ev[k], tl[i]))
                r->event = "NUD"[k];
        if (!r->event)
            return *why = "unknown event type", -1;
        i++;
    }
    if (i + 1 < n && (!strncmp(tok[i], "ipv4", tl[i]) || !strncmp(tok[i], "ipv6", tl[i])) && tl[i] == 4)
        i += 2;   /* l3 name and number */
    if (i + 1 >= n || rec_parse_proto(tok[i], tl[i], &r->proto) < 0)
        return *why = "no protocol where conntrack prints it", -1;
    i++;
    if (rec_parse_u64(tok[i], tl[i], 255, &x) < 0 || x != r->proto)
        return *why = "protocol number does not match its name", -1;
    i++;
    if (i < n && rec_parse_u64(tok[i], tl[i], UINT32_MAX, &x) == 0)
        i++;   /* timeout */
    if (i < n && ct_is_upper_word(tok[i], tl[i])) {
        snprintf(r->state, sizeof r->state, "%.*s", (int)tl[i], tok[i]);
        i++;
    }
    for (; i < n; i++) {
        char *t = tok[i], *eq;
        if (t[0] == '[') {
            if (tl[i] == 11 && !memcmp(t, "[UNREPLIED]", 11))
                r->unreplied = 1;
            else if (tl[i] == 9 && !memcmp(t, "[ASSURED]", 9))
                r->assured = 1;
            continue;   /* [OFFLOAD], [start=...], ... */
        }
        eq = memchr(t, '=', tl[i]);
        if (!eq)
            return *why = "field without '='", -1;
        size_t kl = (size_t)(eq - t), vl = tl[i] - kl - 1;
        if (kl == 3 && !memcmp(t, "src", 3)) {
            if (++cur > 1)
                return *why = "more than two tuples", -1;
        }
        if (cur >= 0) {
            int rc = ct_tuple_kv(&r->t[cur], r->proto, t, kl, eq + 1, vl, why);
            if (rc < 0)
                return -1;
            if (rc > 0)
                continue;
        }
        if (kl == 2 && !memcmp(t, "id", 2) && rec_parse_u64(eq + 1, vl, UINT32_MAX, &r->id) < 0)
            return *why = "conntrack id out of range", -1;
        if (kl == 4 && !memcmp(t, "mark", 4)) {
            if (rec_parse_u64(eq + 1, vl, UINT32_MAX, &x) < 0)
                return *why = "mark out of range", -1;
            r->mark = (uint32_t)x;
            r->has_mark = 1;
        }
        if (kl == 4 && !memcmp(t, "zone", 4)) {
            if (rec_parse_u64(eq + 1, vl, 65535, &x) < 0)
                return *why = "zone out of range", -1;
            r->zone = (uint16_t)x;
            r->has_zone = 1;
        }
    }
    if (cur != 1)
        return *why = "no original and reply tuple", -1;
    return 0;
}

/* ---- XML lines (libxml2: one <flow> element is one small document) ------- */

static const char *ct_xml_text(xmlNode *n, char *buf, size_t len)
{
    xmlChar *c = xmlNodeGetContent(n);
    snprintf(buf, len, "%s", c ? (const char *)c : "");
    xmlFree(c);
    return buf;
}

static int ct_xml_meta(xmlNode *m, ct_rec *r, int dir, const char **why)
{
    char v[128];
    for (xmlNode *a = m->children; a; a = a->next) {
        if (a->type != XML_ELEMENT_NODE)
            continue;
        const char *nm = (const char *)a->name;
        if (dir < 0) {   /* independent */
            ct_xml_text(a, v, sizeof v);
            if (!strcmp(nm, "state"))
                snprintf(r->state, sizeof r->state, "%s", v);
            else if (!strcmp(nm, "id") && rec_parse_u64(v, strlen(v), UINT32_MAX, &r->id) < 0)
                return *why = "conntrack id out of range", -1;
            else if (!strcmp(nm, "unreplied"))
                r->unreplied = 1;
            else if (!strcmp(nm, "assured"))
                r->assured = 1;
            continue;
        }
        if (!strcmp(nm, "layer4")) {
            xmlChar *pn = xmlGetProp(a, (const xmlChar *)"protonum");
            uint64_t p;
            int ok = pn && rec_parse_u64((const char *)pn, strlen((const char *)pn), 255, &p) == 0;
            xmlFree(pn);
            if (!ok)
                return *why = "layer4 protonum missing", -1;
            r->proto = (uint8_t)p;
        }
        if (!strcmp(nm, "layer3") || !strcmp(nm, "layer4") || !strcmp(nm, "counters")) {
            for (xmlNode *f = a->children; f; f = f->next) {
                if (f->type != XML_ELEMENT_NODE)
                    continue;
                const char *k = (const char *)f->name;
                ct_xml_text(f, v, sizeof v);
                if (ct_tuple_kv(&r->t[dir], r->proto, k, strlen(k), v, strlen(v), why) < 0)
                    return -1;
            }
        }
    }
    return 0;
}

static int ct_parse_xml(const char *line, size_t len, ct_rec *r, const char **why)
{
    xmlDoc *doc;
    xmlNode *root;
    int rc = 0;
    memset(r, 0, sizeof *r);
    doc = xmlReadMemory(line, (int)len, NULL, NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        return *why = "XML not well-formed", -1;
    root = xmlDocGetRootElement(doc);
    if (!root || strcmp((const char *)root->name, "flow")) {
        xmlFreeDoc(doc);
        return *why = "not a <flow> element", -1;
    }
    xmlChar *ty = xmlGetProp(root, (const xmlChar *)"type");
    if (ty)
        r->event = !strcmp((const char *)ty, "new") ? 'N' : !strcmp((const char *)ty, "destroy") ? 'D' : 'U';
    xmlFree(ty);
    for (xmlNode *m = root->children; m && rc == 0; m = m->next) {
        if (m->type != XML_ELEMENT_NODE || strcmp((const char *)m->name, "meta"))
            continue;
        xmlChar *d = xmlGetProp(m, (const xmlChar *)"direction");
        int dir = !d ? -2 : !strcmp((const char *)d, "original") ? 0 : !strcmp((const char *)d, "reply") ? 1 : -1;
        xmlFree(d);
        if (dir >= -1)
            rc = ct_xml_meta(m, r, dir, why);
    }
    xmlFreeDoc(doc);
    if (rc == 0 && !(r->t[0].has_src && r->t[1].has_src))
        return *why = "no original and reply tuple", -1;
    /* <when> has whole seconds of local time: not a usable clock, left out */
    return rc;
}

/* ---- records into entries (the one event -> record step) ------------------- */

static void ct_apply(rec_entry *e, const ct_rec *r, nl_trace *t)
{
    const ct_tuple *o = &r->t[0], *p = &r->t[1];
    int icmp = r->proto == IPPROTO_ICMP || r->proto == IPPROTO_ICMPV6;
    if (r->ts_ns) {
        if (!e->first_ns || r->ts_ns < e->first_ns)
            e->first_ns = r->ts_ns;
        if (r->ts_ns > e->last_ns)
            e->last_ns = r->ts_ns;
        e->info.pins |= NL_REC_PIN_TIMES;
    }
    /* the kernel's own start of the entry: exact even when NEW was missed */
    if (r->start_ns && (!e->first_ns || r->start_ns < e->first_ns)) {
        e->first_ns = r->start_ns;
        if (!e->last_ns)
            e->last_ns = r->start_ns;
        e->info.pins |= NL_REC_PIN_TIMES;
    }
    if (r->has_mark) {
        e->info.ct_mark = r->mark;
        e->info.ct_flags |= NL_REC_CT_MARK;
    }
    if (r->has_zone) {
        e->info.ct_zone = r->zone;
        e->info.ct_flags |= NL_REC_CT_ZONE;
    }
    if (r->event == 'N')
        e->info.ct_flags |= NL_REC_CT_NEW;
    else if (r->event == 'D')
        e->info.ct_flags |= NL_REC_CT_DESTROYED;
    else if (!r->event)
        e->info.ct_flags |= NL_REC_CT_LISTED;
    /* the latest record decides whether the entry was ever answered */
    e->info.ct_flags = (uint8_t)((e->info.ct_flags & ~NL_REC_CT_UNREPLIED) |
                                 (r->unreplied ? NL_REC_CT_UNREPLIED : 0));
    if (r->assured)
        e->info.ct_flags |= NL_REC_CT_ASSURED;
    if (r->state[0])
        e->info.state = record_intern(t, r->state, strlen(r->state));
    if (o->has_counts || p->has_counts) {
        e->pkts[0] = o->pkts;
        e->ip_bytes[0] = o->bytes;
        e->pkts[1] = p->pkts;
        e->ip_bytes[1] = p->bytes;
        e->info.pins |= NL_REC_PIN_PKTS | NL_REC_PIN_BYTES | NL_REC_PIN_RESP;
    }
    e->proto = r->proto;
    e->in_src = o->src;
    e->in_dst = o->dst;
    e->in_sport = icmp ? o->id : o->sport;
    e->in_dport = icmp ? o->id : o->dport;
    e->icmp_type = o->type;
    /* as the destination saw it: from the reply tuple's destination to its source */
    e->out_src = p->dst;
    e->out_dst = p->src;
    e->out_sport = icmp ? p->id : p->dport;
    e->out_dport = icmp ? p->id : p->sport;
    e->has_outer = nl_addr_cmp(&e->in_src, &e->out_src) || nl_addr_cmp(&e->in_dst, &e->out_dst) ||
                   e->in_sport != e->out_sport || e->in_dport != e->out_dport;
    e->info.pins |= NL_REC_PIN_ADDRS | NL_REC_PIN_PORTS;
    e->info.side = NL_REC_SIDE_INNER;
    e->info.ct_id = r->id;
    e->info.nrecords++;
}

int rec_ct_add(nl_trace *t, rec_batch *b, const rec_ct_event *r, uint64_t line)
{
    rec_entry key, *e;
    int icmp = r->proto == IPPROTO_ICMP || r->proto == IPPROTO_ICMPV6;
    memset(&key, 0, sizeof key);
    key.proto = r->proto;
    key.in_src = r->t[0].src;
    key.in_dst = r->t[0].dst;
    key.in_sport = icmp ? r->t[0].id : r->t[0].sport;
    key.in_dport = icmp ? r->t[0].id : r->t[0].dport;
    key.key_extra = r->id;
    e = rec_batch_find(b, &key);
    /* a listing line without id joins the entry with the same tuple; a tuple
     * reused after DESTROY starts a new entry */
    if (e && (e->info.ct_flags & NL_REC_CT_DESTROYED) && r->event == 'N')
        e = NULL;
    if (!e) {
        if (!(e = rec_batch_add(b)))
            return -1;
        e->info.line = line;
        e->key_extra = r->id;
        ct_apply(e, r, t);
        return rec_batch_index(b, (size_t)(e - b->v));
    }
    ct_apply(e, r, t);
    return 0;
}

static int ct_load(nl_trace *t, FILE *in, const nl_trace_opts *o, char *errbuf)
{
    rec_lines L;
    rec_batch b;
    char *line;
    size_t len;
    uint64_t good = 0;
    (void)o;
    memset(&b, 0, sizeof b);
    if (rec_lines_init(&L, in) < 0) {
        snprintf(errbuf, 512, "%s: out of memory", t->path);
        return -1;
    }
    while (rec_lines_next(&L, &line, &len)) {
        ct_rec r;
        const char *why = NULL, *s = line + strspn(line, " \t");
        if (L.too_long) {
            trace_note_bad(t, "%s:%llu: line longer than %d bytes", t->name,
                           (unsigned long long)L.lineno, REC_LINE_MAX);
            continue;
        }
        if (!*s || *s == '#' || !strncmp(s, "conntrack v", 11) || !strncmp(s, "<?xml", 5) ||
            !strcmp(s, "<conntrack>") || !strcmp(s, "</conntrack>"))
            continue;
        int rc = *s == '<' ? ct_parse_xml(s, strlen(s), &r, &why) : ct_parse_text((char *)s, &r, &why);
        if (rc < 0) {
            trace_note_bad(t, "%s:%llu: %s", t->name, (unsigned long long)L.lineno, why);
            continue;
        }
        if (rec_ct_add(t, &b, &r, L.lineno) < 0) {
            trace_note_bad(t, "%s:%llu: %s", t->name, (unsigned long long)L.lineno,
                           b.full ? "too many entries (4M)" : "out of memory");
            continue;
        }
        good++;
    }
    rec_lines_free(&L);
    t->packets = good;
    if (!good) {
        snprintf(errbuf, 512, "%s: no conntrack entry could be read (%llu bad lines)",
                 t->path, (unsigned long long)t->bad_records);
        rec_batch_free(&b);
        return -1;
    }
    return record_emit(t, &b, errbuf);
}

static int ct_sniff(const char *head, size_t n)
{
    int score = 0;
    if (rec_head_has(head, n, "<conntrack>") || rec_head_has(head, n, "<flow><meta direction=\"original\">") ||
        rec_head_has(head, n, "<flow type=\""))
        return 95;
    if (rec_head_has(head, n, " src=") && rec_head_has(head, n, " dst=")) {
        score = 40;
        if (rec_head_has(head, n, " sport=") || rec_head_has(head, n, " type="))
            score += 20;
        if (rec_head_has(head, n, "[NEW]") || rec_head_has(head, n, "[UPDATE]") ||
            rec_head_has(head, n, "[DESTROY]") || rec_head_has(head, n, "ipv4     2 ") ||
            rec_head_has(head, n, "ipv6     10 ") || rec_head_has(head, n, " use="))
            score += 30;
    }
    return score;
}

const nl_reader reader_conntrack = {
    "conntrack", "conntrack table/events", ct_sniff, ct_load
};
