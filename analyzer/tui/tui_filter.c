/* tui_filter.c - the Flows panel's filter language.
 *
 *   expr  := and { ("or" | "||") and }
 *   and   := unary { ["and" | "&&"] unary }        juxtaposition is "and"
 *   unary := ("not" | "!") unary | "(" expr ")" | term
 *   term  := port N | host ADDR[/LEN] | net ADDR/LEN | state S0 | nat snat
 *          | proto udp | broken | suspect | paired | near-only | far-only
 *          | record | action accept|reject | nat dropped|out_of_resources|exhausted
 *          | unreplied                        what a record says (record.h)
 *          | WORD | "quoted words"                 substrings of the row
 *
 * Bounded: at most TUI_FILTER_LEN - 1 bytes are read, TUI_FILTER_NODES
 * nodes built, TUI_FILTER_DEPTH levels of nesting, so neither the parser
 * nor the evaluator can recurse or allocate without bound. Compiling
 * never touches the model; matching reads one row and formats its text
 * only when the expression has a substring term.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include "tui.h"

#define TUI_FILTER_DEPTH 12

enum {
    TUI_FOP_AND = 1, TUI_FOP_OR, TUI_FOP_NOT, TUI_FOP_PORT, TUI_FOP_HOST,
    TUI_FOP_STATE, TUI_FOP_NAT, TUI_FOP_PROTO, TUI_FOP_BROKEN, TUI_FOP_SUSPECT,
    TUI_FOP_PAIRED, TUI_FOP_NEAR_ONLY, TUI_FOP_FAR_ONLY, TUI_FOP_TEXT,
    TUI_FOP_RECORD, TUI_FOP_ACTION, TUI_FOP_NAT_STATUS, TUI_FOP_UNREPLIED
};

/* TUI_FOP_NAT_STATUS bits: which allocation statuses match */
enum { TUI_NS_DROPPED = 1, TUI_NS_OOR = 2, TUI_NS_OTHER = 4 };

enum { TUI_NAT_NONE = 1, TUI_NAT_SNAT = 2, TUI_NAT_DNAT = 4, TUI_NAT_PAT = 8 };

typedef struct tui_tok {
    int  kind;                 /* 0 end, 'w' word, 's' quoted, or ( ) ! & | */
    int  at;                   /* offset in the input */
    char text[TUI_FILTER_LEN];
} tui_tok;

typedef struct tui_parser {
    const char *s;
    size_t      len, pos;
    tui_tok     tok;
    tui_filter *f;
    int         depth;
    int         failed;
} tui_parser;

static const char *const tui_states[] = {
    "S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"
};

static int tui_fail(tui_parser *p, int at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The first error wins: what follows it is noise. Always -1. */
static int tui_fail(tui_parser *p, int at, const char *fmt, ...)
{
    va_list ap;
    if (!p->failed) {
        p->failed = 1;
        va_start(ap, fmt);
        vsnprintf(p->f->err, sizeof p->f->err, fmt, ap);
        va_end(ap);
        p->f->err_at = at;
    }
    return -1;
}

static void tui_next(tui_parser *p)
{
    tui_tok *t = &p->tok;
    size_t n = 0;
    while (p->pos < p->len && isspace((unsigned char)p->s[p->pos]))
        p->pos++;
    t->at = (int)p->pos;
    t->text[0] = '\0';
    if (p->pos >= p->len) {
        t->kind = 0;
        return;
    }
    char c = p->s[p->pos];
    if (c == '(' || c == ')' || c == '!') {
        t->kind = c;
        t->text[0] = c;
        t->text[1] = '\0';
        p->pos++;
        return;
    }
    if ((c == '&' || c == '|') && p->pos + 1 < p->len && p->s[p->pos + 1] == c) {
        t->kind = c;
        snprintf(t->text, sizeof t->text, "%c%c", c, c);
        p->pos += 2;
        return;
    }
    if (c == '"') {
        p->pos++;
        while (p->pos < p->len && p->s[p->pos] != '"' && n + 1 < sizeof t->text)
            t->text[n++] = p->s[p->pos++];
        t->text[n] = '\0';
        if (p->pos >= p->len) {
            tui_fail(p, t->at, "a quote is not closed");
            t->kind = 0;
            return;
        }
        p->pos++;
        t->kind = 's';
        return;
    }
    while (p->pos < p->len && !isspace((unsigned char)p->s[p->pos]) &&
           !strchr("()!\"", p->s[p->pos]) && n + 1 < sizeof t->text)
        t->text[n++] = p->s[p->pos++];
    t->text[n] = '\0';
    t->kind = 'w';
}

static int tui_is_word(const tui_tok *t, const char *w)
{
    return t->kind == 'w' && !strcasecmp(t->text, w);
}

static int tui_node(tui_parser *p, int op, int a, int b)
{
    tui_filter *f = p->f;
    tui_fnode *n;
    if (f->nn >= TUI_FILTER_NODES)
        return tui_fail(p, p->tok.at, "the expression is too long");
    n = &f->n[f->nn];
    memset(n, 0, sizeof *n);
    n->op = (uint8_t)op;
    n->a = (int16_t)a;
    n->b = (int16_t)b;
    return f->nn++;
}

/* The argument of a keyword term: a plain word. */
static int tui_arg(tui_parser *p, const char *kw, const char *what, tui_tok *out)
{
    tui_next(p);
    if (p->tok.kind != 'w' || tui_is_word(&p->tok, "and") || tui_is_word(&p->tok, "or") ||
        tui_is_word(&p->tok, "not")) {
        return tui_fail(p, p->tok.at, "'%s' needs %s after it", kw, what);
    }
    *out = p->tok;
    tui_next(p);
    return 0;
}

static int tui_term_port(tui_parser *p)
{
    tui_tok a;
    char *end;
    long v;
    int k;
    if (tui_arg(p, "port", "a number (0-65535)", &a) < 0)
        return -1;
    v = strtol(a.text, &end, 10);
    if (*end || end == a.text || v < 0 || v > 65535)
        return tui_fail(p, a.at, "not a port number: '%s' (0-65535)", a.text);
    if ((k = tui_node(p, TUI_FOP_PORT, -1, -1)) >= 0)
        p->f->n[k].port = (uint16_t)v;
    return k;
}

static int tui_term_host(tui_parser *p, int net)
{
    tui_tok a;
    char addr[TUI_FILTER_LEN], *slash;
    long len = -1;
    int k;
    if (tui_arg(p, net ? "net" : "host", net ? "ADDRESS/LENGTH" : "an address", &a) < 0)
        return -1;
    snprintf(addr, sizeof addr, "%s", a.text);
    if ((slash = strchr(addr, '/'))) {
        char *end;
        *slash = '\0';
        len = strtol(slash + 1, &end, 10);
        if (*end || end == slash + 1 || len < 0)
            return tui_fail(p, a.at, "not a prefix length in '%s'", a.text);
    } else if (net) {
        return tui_fail(p, a.at, "'net' needs ADDRESS/LENGTH, as 10.0.0.0/8 (got '%s')", a.text);
    }
    if ((k = tui_node(p, TUI_FOP_HOST, -1, -1)) < 0)
        return -1;
    if (nl_addr_parse(&p->f->n[k].addr, addr) < 0)
        return tui_fail(p, a.at, "not an IPv4 or IPv6 address: '%s'", addr);
    if (nl_addr_is_v4(&p->f->n[k].addr)) {
        if (len > 32)
            return tui_fail(p, a.at, "an IPv4 prefix is at most /32: '%s'", a.text);
        len = len < 0 ? 128 : len + 96;
    } else if (len > 128) {
        return tui_fail(p, a.at, "an IPv6 prefix is at most /128: '%s'", a.text);
    }
    p->f->n[k].bits = (uint8_t)(len < 0 ? 128 : len);
    return k;
}

static int tui_term_state(tui_parser *p)
{
    tui_tok a;
    int k;
    if (tui_arg(p, "state", "a connection state (S0, SF, REJ, ...)", &a) < 0)
        return -1;
    for (size_t i = 0; i < sizeof tui_states / sizeof tui_states[0]; i++)
        if (!strcasecmp(a.text, tui_states[i])) {
            if ((k = tui_node(p, TUI_FOP_STATE, -1, -1)) >= 0)
                snprintf(p->f->n[k].word, sizeof p->f->n[k].word, "%s", tui_states[i]);
            return k;
        }
    return tui_fail(p, a.at, "unknown state '%s' (S0 S1 SF REJ S2 S3 RSTO RSTR RSTOS0 RSTRH SH SHR OTH)",
                    a.text);
}

static int tui_term_nat(tui_parser *p)
{
    static const struct { const char *name; uint8_t bits; } kinds[] = {
        {"none", TUI_NAT_NONE}, {"snat", TUI_NAT_SNAT}, {"dnat", TUI_NAT_DNAT},
        {"snat+dnat", TUI_NAT_SNAT | TUI_NAT_DNAT}, {"pat", TUI_NAT_PAT}, {"snat+p", TUI_NAT_SNAT | TUI_NAT_PAT},
        {"dnat+p", TUI_NAT_DNAT | TUI_NAT_PAT}
    };
    /* a record's NAT status: Cloud NAT's allocation_status */
    static const struct { const char *name; uint8_t bits; } status[] = {
        {"dropped", TUI_NS_DROPPED}, {"out_of_resources", TUI_NS_OOR},
        {"exhausted", TUI_NS_DROPPED | TUI_NS_OOR | TUI_NS_OTHER}
    };
    tui_tok a;
    int k;
    if (tui_arg(p, "nat", "none, snat, dnat, snat+dnat, pat, or a record's dropped, out_of_resources, "
                "exhausted", &a) < 0)
        return -1;
    for (size_t i = 0; i < sizeof status / sizeof status[0]; i++)
        if (!strcasecmp(a.text, status[i].name)) {
            if ((k = tui_node(p, TUI_FOP_NAT_STATUS, -1, -1)) >= 0)
                p->f->n[k].bits = status[i].bits;
            return k;
        }
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strcasecmp(a.text, kinds[i].name)) {
            if ((k = tui_node(p, TUI_FOP_NAT, -1, -1)) >= 0)
                p->f->n[k].bits = kinds[i].bits;
            p->f->needs_pairing = 1;
            return k;
        }
    return tui_fail(p, a.at, "unknown translation '%s' (none snat dnat snat+dnat pat; dropped "
                    "out_of_resources exhausted)", a.text);
}

static int tui_term_action(tui_parser *p)
{
    tui_tok a;
    int k;
    if (tui_arg(p, "action", "accept or reject", &a) < 0)
        return -1;
    if (strcasecmp(a.text, "accept") && strcasecmp(a.text, "reject"))
        return tui_fail(p, a.at, "unknown action '%s' (accept reject)", a.text);
    if ((k = tui_node(p, TUI_FOP_ACTION, -1, -1)) >= 0)
        p->f->n[k].bits = !strcasecmp(a.text, "accept") ? NL_REC_ACTION_ACCEPT : NL_REC_ACTION_REJECT;
    return k;
}

static int tui_term_proto(tui_parser *p)
{
    static const struct { const char *name; uint8_t proto; } names[] = {
        {"tcp", IPPROTO_TCP}, {"udp", IPPROTO_UDP}, {"icmp", IPPROTO_ICMP},
        {"icmp6", IPPROTO_ICMPV6}, {"sctp", 132}, {"gre", 47}, {"esp", 50}
    };
    tui_tok a;
    char *end;
    long v;
    int k;
    if (tui_arg(p, "proto", "tcp, udp, icmp, icmp6 or a number", &a) < 0)
        return -1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcasecmp(a.text, names[i].name)) {
            if ((k = tui_node(p, TUI_FOP_PROTO, -1, -1)) >= 0)
                p->f->n[k].bits = names[i].proto;
            return k;
        }
    v = strtol(a.text, &end, 10);
    if (*end || end == a.text || v < 0 || v > 255)
        return tui_fail(p, a.at, "unknown protocol '%s' (tcp udp icmp icmp6 sctp, or 0-255)", a.text);
    if ((k = tui_node(p, TUI_FOP_PROTO, -1, -1)) >= 0)
        p->f->n[k].bits = (uint8_t)v;
    return k;
}

static int tui_term(tui_parser *p)
{
    static const struct { const char *kw; int op; int pairing, findings; } flags[] = {
        {"broken", TUI_FOP_BROKEN, 0, 1}, {"suspect", TUI_FOP_SUSPECT, 0, 1},
        {"paired", TUI_FOP_PAIRED, 1, 0}, {"near-only", TUI_FOP_NEAR_ONLY, 1, 0},
        {"far-only", TUI_FOP_FAR_ONLY, 1, 0}, {"record", TUI_FOP_RECORD, 0, 0},
        {"unreplied", TUI_FOP_UNREPLIED, 0, 0}
    };
    tui_tok t = p->tok;
    int k;
    if (t.kind == 0)
        return tui_fail(p, t.at, "the expression ends too early");
    if (t.kind == ')')
        return tui_fail(p, t.at, "')' without '('");
    if (t.kind != 'w' && t.kind != 's')
        return tui_fail(p, t.at, "a term is missing before '%s'", t.text);
    if (t.kind == 'w') {
        if (tui_is_word(&t, "and") || tui_is_word(&t, "or"))
            return tui_fail(p, t.at, "a term is missing before '%s'", t.text);
        if (tui_is_word(&t, "port"))
            return tui_term_port(p);
        if (tui_is_word(&t, "host") || tui_is_word(&t, "net"))
            return tui_term_host(p, tui_is_word(&t, "net"));
        if (tui_is_word(&t, "state"))
            return tui_term_state(p);
        if (tui_is_word(&t, "nat"))
            return tui_term_nat(p);
        if (tui_is_word(&t, "proto"))
            return tui_term_proto(p);
        if (tui_is_word(&t, "action"))
            return tui_term_action(p);
        for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
            if (tui_is_word(&t, flags[i].kw)) {
                p->f->needs_pairing |= flags[i].pairing;
                p->f->needs_findings |= flags[i].findings;
                tui_next(p);
                return tui_node(p, flags[i].op, -1, -1);
            }
    }
    if (strlen(t.text) >= sizeof p->f->n[0].word)
        return tui_fail(p, t.at, "too long to search for (47 characters at most): '%s'", t.text);
    if ((k = tui_node(p, TUI_FOP_TEXT, -1, -1)) < 0)
        return -1;
    snprintf(p->f->n[k].word, sizeof p->f->n[k].word, "%s", t.text);
    p->f->text = 1;
    tui_next(p);
    return k;
}

static int tui_or(tui_parser *p);

static int tui_unary(tui_parser *p)
{
    int a;
    if (++p->depth > TUI_FILTER_DEPTH)
        return tui_fail(p, p->tok.at, "too deeply nested");
    if (tui_is_word(&p->tok, "not") || p->tok.kind == '!') {
        tui_next(p);
        a = tui_unary(p);
        a = a < 0 ? -1 : tui_node(p, TUI_FOP_NOT, a, -1);
    } else if (p->tok.kind == '(') {
        int at = p->tok.at;
        tui_next(p);
        a = tui_or(p);
        if (a >= 0 && p->tok.kind != ')')
            a = tui_fail(p, p->tok.kind ? p->tok.at : at, "'(' is not closed");
        else if (a >= 0)
            tui_next(p);
    } else {
        a = tui_term(p);
    }
    p->depth--;
    return a;
}

static int tui_and(tui_parser *p)
{
    int a = tui_unary(p);
    while (a >= 0 && p->tok.kind && p->tok.kind != ')' && p->tok.kind != '|' &&
           !tui_is_word(&p->tok, "or")) {
        int b;
        if (tui_is_word(&p->tok, "and") || p->tok.kind == '&')
            tui_next(p);
        if ((b = tui_unary(p)) < 0)
            return -1;
        a = tui_node(p, TUI_FOP_AND, a, b);
    }
    return a;
}

static int tui_or(tui_parser *p)
{
    int a = tui_and(p);
    while (a >= 0 && (tui_is_word(&p->tok, "or") || p->tok.kind == '|')) {
        int b;
        tui_next(p);
        if ((b = tui_and(p)) < 0)
            return -1;
        a = tui_node(p, TUI_FOP_OR, a, b);
    }
    return a;
}

int tui_filter_compile(tui_filter *f, const char *expr)
{
    tui_parser p;
    memset(f, 0, sizeof *f);
    f->root = -1;
    memset(&p, 0, sizeof p);
    p.s = expr;
    p.len = strnlen(expr, TUI_FILTER_LEN - 1);
    p.f = f;
    tui_next(&p);
    if (p.tok.kind == 0 && !p.failed)
        return 0;               /* empty: everything */
    f->root = tui_or(&p);
    if (f->root >= 0 && p.tok.kind)
        tui_fail(&p, p.tok.at, "unexpected '%s'", p.tok.text);
    if (p.failed) {
        f->root = -1;
        return -1;
    }
    return 0;
}

/* ---- matching ------------------------------------------------------------ */

typedef struct tui_fctx {
    const tui_model *m;
    const tui_row   *r;
    char             text[512];
    int              have_text;
} tui_fctx;

static int tui_prefix_eq(const nl_addr *a, const nl_addr *net, int bits)
{
    int full = bits / 8, rest = bits % 8;
    if (memcmp(a->b, net->b, (size_t)full))
        return 0;
    if (rest) {
        uint8_t mask = (uint8_t)(0xff << (8 - rest));
        return (a->b[full] & mask) == (net->b[full] & mask);
    }
    return 1;
}

static int tui_flow_test(const tui_fnode *n, const nl_flow *f)
{
    if (!f)
        return 0;
    switch (n->op) {
    case TUI_FOP_PORT:
        return (f->proto == IPPROTO_TCP || f->proto == IPPROTO_UDP || f->proto == 132) &&
               (f->orig_port == n->port || f->resp_port == n->port);
    case TUI_FOP_HOST:
        return tui_prefix_eq(&f->orig_ip, &n->addr, n->bits) ||
               tui_prefix_eq(&f->resp_ip, &n->addr, n->bits);
    case TUI_FOP_STATE:
        return !strcmp(flow_conn_state(f), n->word);
    case TUI_FOP_PROTO:
        return f->proto == n->bits ||
               (n->bits == IPPROTO_ICMP && f->proto == IPPROTO_ICMPV6);
    default:
        return 0;
    }
}

static int tui_nat_test(const tui_fnode *n, const tui_model *m, const tui_row *r)
{
    if (m->pairing || !r->far)
        return 0;
    if (n->bits & TUI_NAT_NONE)
        return !r->xlate && !r->port_changed;
    if ((n->bits & TUI_NAT_SNAT) && !(r->xlate & NL_XLATE_SNAT))
        return 0;
    if ((n->bits & TUI_NAT_DNAT) && !(r->xlate & NL_XLATE_DNAT))
        return 0;
    if ((n->bits & TUI_NAT_PAT) && !r->port_changed)
        return 0;
    return 1;
}

/* Does a record of the row (any capture) pass the node's test? A row
 * holds at most one flow per capture (and a twin's other leg, which
 * carries the same record). */
static int tui_record_test(const tui_fnode *n, const tui_model *m, const tui_row *r)
{
    for (int c = r->near_cap; c <= r->far_cap; c++) {
        const nl_flow *f = r->chain ? r->chain->flows[c] : c == r->near_cap ? r->near : NULL;
        const nl_record_info *ri = tui_record_info(m, c, f);
        if (!ri)
            continue;
        switch (n->op) {
        case TUI_FOP_RECORD:
            return 1;
        case TUI_FOP_ACTION:
            if (ri->action == n->bits)
                return 1;
            break;
        case TUI_FOP_NAT_STATUS:
            if ((ri->nat_status == NL_REC_NAT_DROPPED && (n->bits & TUI_NS_DROPPED)) ||
                (ri->nat_status == NL_REC_NAT_OUT_OF_RESOURCES && (n->bits & TUI_NS_OOR)) ||
                (ri->nat_status == NL_REC_NAT_OTHER && (n->bits & TUI_NS_OTHER)))
                return 1;
            break;
        case TUI_FOP_UNREPLIED:
            if (ri->ct_flags & NL_REC_CT_UNREPLIED)
                return 1;
            break;
        default:
            return 0;
        }
    }
    return 0;
}

static int tui_eval(const tui_filter *f, int k, tui_fctx *cx)
{
    const tui_fnode *n = &f->n[k];
    const tui_model *m = cx->m;
    const tui_row *r = cx->r;
    int two = m->ncaps >= 2 && !m->pairing;
    switch (n->op) {
    case TUI_FOP_AND: return tui_eval(f, n->a, cx) && tui_eval(f, n->b, cx);
    case TUI_FOP_OR: return tui_eval(f, n->a, cx) || tui_eval(f, n->b, cx);
    case TUI_FOP_NOT: return !tui_eval(f, n->a, cx);
    case TUI_FOP_PORT: case TUI_FOP_HOST: case TUI_FOP_STATE: case TUI_FOP_PROTO:
        return tui_flow_test(n, r->near) || tui_flow_test(n, r->far);
    case TUI_FOP_NAT: return tui_nat_test(n, m, r);
    case TUI_FOP_BROKEN: return r->health == TUI_H_BAD;
    case TUI_FOP_SUSPECT: return r->health == TUI_H_WARN;
    case TUI_FOP_PAIRED: return two && r->far != NULL;
    case TUI_FOP_NEAR_ONLY: return two && !r->far && r->near_cap == 0;
    case TUI_FOP_FAR_ONLY: return two && !r->far && (size_t)r->near_cap == m->ncaps - 1;
    case TUI_FOP_RECORD: case TUI_FOP_ACTION: case TUI_FOP_NAT_STATUS: case TUI_FOP_UNREPLIED:
        return tui_record_test(n, m, r);
    case TUI_FOP_TEXT:
        if (!cx->have_text) {
            tui_text_row(m, r, cx->text, sizeof cx->text);
            cx->have_text = 1;
        }
        return strcasestr(cx->text, n->word) != NULL;
    default:
        return 0;
    }
}

int tui_filter_match(const tui_filter *f, const tui_model *m, const tui_row *r)
{
    tui_fctx cx;
    if (f->root < 0)
        return 1;
    cx.m = m;
    cx.r = r;
    cx.have_text = 0;
    return tui_eval(f, f->root, &cx);
}
