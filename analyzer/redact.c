/* redact.c - the --redact map (redact.h): addresses, MACs and learned
 * strings, the names they get, and the lookups every presenter shares.
 *
 * Memory: one entry per distinct inner address, MAC and learned string of
 * the input (bounded by its flows), never per packet: learning merges
 * duplicates before a table grows. Lookups go through open-addressing
 * indexes (expected O(1)), built when the tables are sealed and kept up as
 * text brings addresses the analysis did not hold. */
#include <stdlib.h>
#include <string.h>
#include "redact_int.h"

static const char *const kind_prefix[RD_K_COUNT] = {
    "capture", "host", "kernel", "session", "if", "vm", "nat-gateway", "cloud-router",
};

nl_redact *redact_new(void)
{
    nl_redact *rd = calloc(1, sizeof *rd);
    if (!rd)
        return NULL;
    rd->addrs.ksz = 16;
    rd->addrs.prefix = "inner";
    rd->keep.ksz = 16;
    rd->keep.prefix = "";
    rd->macs.ksz = 6;
    rd->macs.prefix = "mac";
    rd->vars_dirty = 1;
    return rd;
}

static void vars_free(nl_redact *rd)
{
    for (size_t i = 0; i < rd->nvars; i++)
        free(rd->vars[i].s);
    free(rd->vars);
    free(rd->vx);
    free(rd->vlens);
    rd->vars = NULL;
    rd->nvars = 0;
}

/* ---- indexes ------------------------------------------------------------ */

uint64_t rd_hash(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

int rd_index_fit(uint32_t **slot, size_t *cap, size_t items)
{
    size_t nc = 64;
    uint32_t *ns;
    if (items * 2 <= *cap)
        return 0;
    while (nc < items * 4)
        nc *= 2;
    ns = calloc(nc, sizeof *ns);
    if (!ns)
        return -1;
    free(*slot);
    *slot = ns;
    *cap = nc;
    return 1;
}

void rd_index_put(uint32_t *slot, size_t cap, uint64_t h, size_t i)
{
    size_t p = (size_t)h & (cap - 1);
    while (slot[p])
        p = (p + 1) & (cap - 1);
    slot[p] = (uint32_t)(i + 1);
}

void redact_free(nl_redact *rd)
{
    if (!rd)
        return;
    free(rd->addrs.v);
    free(rd->keep.v);
    free(rd->macs.v);
    free(rd->addrs.hx);
    free(rd->keep.hx);
    free(rd->macs.hx);
    free(rd->lx);
    for (size_t i = 0; i < rd->nlits; i++) {
        free(rd->lits[i].s);
        free(rd->lits[i].name);
    }
    free(rd->lits);
    for (size_t i = 0; i < rd->nfiles; i++)
        free(rd->files[i]);
    free(rd->files);
    vars_free(rd);
    free(rd);
}

int redact_addr_is_inner(const nl_addr *a)
{
    const uint8_t *b = a->b;
    if (nl_addr_is_v4(a)) {
        const uint8_t *p = b + 12;
        return p[0] == 10 || p[0] == 127 || (p[0] == 172 && (p[1] & 0xf0) == 16) ||
               (p[0] == 192 && p[1] == 168) || (p[0] == 169 && p[1] == 254) ||
               (p[0] == 100 && (p[1] & 0xc0) == 64);
    }
    if ((b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80))
        return 1;
    for (int i = 0; i < 15; i++)
        if (b[i])
            return 0;
    return b[15] == 1;   /* ::1 */
}

/* ---- names ------------------------------------------------------------ */

/* Is the candidate placeholder the text of something learned? Then it
 * would read as that original: skip the number. */
static rd_lit *lit_find(const nl_redact *rd, const char *s);

static int name_taken(const nl_redact *rd, const char *name)
{
    return lit_find(rd, name) != NULL;
}

static void make_name(const nl_redact *rd, const char *prefix, uint32_t *next, const char *ext,
                      char *buf, size_t len)
{
    do
        snprintf(buf, len, "%s-%u%s", prefix, ++*next, ext);
    while (name_taken(rd, buf));
}

/* ---- fixed-size key tables ------------------------------------------------ */

static int ent_cmp(const void *x, const void *y, void *ksz)
{
    return memcmp(((const rd_ent *)x)->k, ((const rd_ent *)y)->k, *(const size_t *)ksz);
}

rd_ent *rd_tab_find(rd_tab *t, const uint8_t *k)
{
    size_t p;
    if (!t->hx)
        return NULL;
    for (p = (size_t)rd_hash(k, t->ksz) & (t->hcap - 1); t->hx[p]; p = (p + 1) & (t->hcap - 1))
        if (!memcmp(t->v[t->hx[p] - 1].k, k, t->ksz))
            return &t->v[t->hx[p] - 1];
    return NULL;
}

/* Entry i into the index (all of them when it had to grow). */
static int tab_index(rd_tab *t, size_t i)
{
    int r = rd_index_fit(&t->hx, &t->hcap, t->n);
    if (r < 0)
        return -1;
    if (r == 0) {
        rd_index_put(t->hx, t->hcap, rd_hash(t->v[i].k, t->ksz), i);
        return 0;
    }
    for (size_t j = 0; j < t->n; j++)
        rd_index_put(t->hx, t->hcap, rd_hash(t->v[j].k, t->ksz), j);
    return 0;
}

/* Sort and merge duplicates (a key learned as the client side's stays so). */
static void tab_dedupe(rd_tab *t)
{
    size_t k = 0;
    if (t->n)
        qsort_r(t->v, t->n, sizeof *t->v, ent_cmp, &t->ksz);
    for (size_t i = 0; i < t->n; i++) {
        if (k && !memcmp(t->v[k - 1].k, t->v[i].k, t->ksz)) {
            t->v[k - 1].explicit |= t->v[i].explicit;
            continue;
        }
        t->v[k++] = t->v[i];
    }
    t->n = k;
}

/* Room for one more entry. Learning meets the same address or MAC once
 * per flow or packet: a full table is merged before it grows, so memory
 * follows the distinct keys; it grows unless the merge freed half of it,
 * so merges stay n log n in all. */
static int tab_room(rd_tab *t, int sealed)
{
    rd_ent *nv;
    size_t nc;
    if (t->n < t->cap)
        return 0;
    if (!sealed && t->cap >= 4096) {
        tab_dedupe(t);
        if (t->n <= t->cap / 2)
            return 0;
    }
    nc = t->cap ? t->cap * 2 : 64;
    nv = realloc(t->v, nc * sizeof *nv);
    if (!nv)
        return -1;
    t->v = nv;
    t->cap = nc;
    return 0;
}

static rd_ent *tab_append(rd_tab *t, const uint8_t *k, int explicit, int sealed)
{
    if (tab_room(t, sealed) < 0)
        return NULL;
    memset(&t->v[t->n], 0, sizeof t->v[t->n]);
    memcpy(t->v[t->n].k, k, t->ksz);
    t->v[t->n].explicit = (uint8_t)explicit;
    return &t->v[t->n++];
}

static int addr_kept(nl_redact *rd, const uint8_t *k)
{
    return rd_tab_find(&rd->keep, k) != NULL;
}

int rd_tab_push(nl_redact *rd, rd_tab *t, const uint8_t *k, int explicit)
{
    rd_ent *e;
    if (!rd->sealed)
        return tab_append(t, k, explicit, 0) ? 0 : -1;
    /* after the first lookup: named at once, in order of appearance */
    e = rd_tab_find(t, k);
    if (e) {
        e->explicit |= (uint8_t)explicit;
        return 0;
    }
    if (t == &rd->addrs && !explicit && addr_kept(rd, k))
        return 0;
    e = tab_append(t, k, explicit, 1);
    if (!e || tab_index(t, t->n - 1) < 0)
        return -1;
    if (t->prefix[0])
        make_name(rd, t->prefix, &t->next, "", e->name, sizeof e->name);
    return 0;
}

/* Sort, merge duplicates, drop what is kept, name in order, index. */
static int tab_seal(nl_redact *rd, rd_tab *t, int is_addrs)
{
    size_t k = 0;
    tab_dedupe(t);
    if (is_addrs) {
        /* an inner-range address that a NAT translated to is the answer */
        for (size_t i = 0; i < t->n; i++)
            if (t->v[i].explicit || !addr_kept(rd, t->v[i].k))
                t->v[k++] = t->v[i];
        t->n = k;
    }
    if (t->prefix[0])
        for (size_t i = 0; i < t->n; i++)
            make_name(rd, t->prefix, &t->next, "", t->v[i].name, sizeof t->v[i].name);
    free(t->hx);
    t->hx = NULL;
    t->hcap = 0;
    if (rd_index_fit(&t->hx, &t->hcap, t->n ? t->n : 1) < 0)
        return -1;
    for (size_t i = 0; i < t->n; i++)
        rd_index_put(t->hx, t->hcap, rd_hash(t->v[i].k, t->ksz), i);
    return 0;
}

int rd_seal(nl_redact *rd)
{
    if (rd->sealed)
        return 0;
    if (tab_seal(rd, &rd->keep, 0) < 0 || tab_seal(rd, &rd->addrs, 1) < 0 ||
        tab_seal(rd, &rd->macs, 0) < 0)
        return -1;
    rd->sealed = 1;
    return 0;
}

int rd_keep(nl_redact *rd, const nl_addr *a)
{
    if (!rd->sealed)
        return tab_append(&rd->keep, a->b, 0, 0) ? 0 : -1;
    if (addr_kept(rd, a->b))
        return 0;
    if (!tab_append(&rd->keep, a->b, 0, 1))
        return -1;
    return tab_index(&rd->keep, rd->keep.n - 1);
}

/* ---- addresses and MACs ------------------------------------------------ */

const char *redact_addr_name(nl_redact *rd, const nl_addr *a)
{
    const rd_ent *e;
    if (!rd || rd_seal(rd) < 0)
        return NULL;
    e = rd_tab_find(&rd->addrs, a->b);
    if (e)
        return e->name;
    if (!redact_addr_is_inner(a) || addr_kept(rd, a->b) || rd_tab_push(rd, &rd->addrs, a->b, 0) < 0)
        return NULL;
    e = rd_tab_find(&rd->addrs, a->b);
    return e ? e->name : NULL;
}

const char *redact_addr_str(nl_redact *rd, const nl_addr *a, char *buf, size_t len)
{
    const char *p = redact_addr_name(rd, a);
    if (p) {
        snprintf(buf, len, "%s", p);
        return buf;
    }
    return nl_addr_str(a, buf, len);
}

static int mac_kept(const uint8_t m[6])
{
    static const uint8_t zero[6];
    return (m[0] & 1) || !memcmp(m, zero, 6);   /* group bit: multicast, broadcast */
}

const char *rd_mac_name(nl_redact *rd, const uint8_t m[6])
{
    const rd_ent *e;
    if (mac_kept(m) || rd_seal(rd) < 0)
        return NULL;
    e = rd_tab_find(&rd->macs, m);
    if (!e && rd_tab_push(rd, &rd->macs, m, 0) == 0)
        e = rd_tab_find(&rd->macs, m);
    return e ? e->name : NULL;
}

/* ---- learned strings ------------------------------------------------------ */

/* natlens's own words and role names: as a host or interface name they
 * tell nothing, and replacing them in free text would garble sentences. */
static int own_word(const char *s)
{
    static const char *const w[] = {
        "client", "server", "router", "nat", "fw", "firewall", "gateway", "host", "localhost",
        "lb", "backend", "proxy", "vm", "inner", "outer", "none", "unknown", "default",
    };
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        if (!strcmp(s, w[i]))
            return 1;
    return 0;
}

static rd_lit *lit_find(const nl_redact *rd, const char *s)
{
    size_t p;
    if (!rd->lx)
        return NULL;
    for (p = (size_t)rd_hash(s, strlen(s)) & (rd->lcap - 1); rd->lx[p]; p = (p + 1) & (rd->lcap - 1))
        if (!strcmp(rd->lits[rd->lx[p] - 1].s, s))
            return &rd->lits[rd->lx[p] - 1];
    return NULL;
}

static int lit_push(nl_redact *rd, const char *s, const char *name, int kind)
{
    rd_lit *l;
    size_t len = strlen(s);
    if (rd->nlits == rd->litcap) {
        size_t nc = rd->litcap ? rd->litcap * 2 : 16;
        rd_lit *nv = realloc(rd->lits, nc * sizeof *nv);
        if (!nv)
            return -1;
        rd->lits = nv;
        rd->litcap = nc;
    }
    l = &rd->lits[rd->nlits];
    l->s = strdup(s);
    l->name = strdup(name);
    if (!l->s || !l->name) {
        free(l->s);
        free(l->name);
        return -1;
    }
    l->len = len;
    l->kind = (uint8_t)kind;
    l->scan = len >= RD_MIN_SCAN && (kind == RD_K_FILE || kind == RD_K_KERNEL || !own_word(s));
    rd->nlits++;
    rd->vars_dirty = 1;
    switch (rd_index_fit(&rd->lx, &rd->lcap, rd->nlits)) {
    case -1:
        rd->nlits--;
        free(l->s);
        free(l->name);
        return -1;
    case 0:
        rd_index_put(rd->lx, rd->lcap, rd_hash(l->s, len), rd->nlits - 1);
        break;
    default:
        for (size_t i = 0; i < rd->nlits; i++)
            rd_index_put(rd->lx, rd->lcap, rd_hash(rd->lits[i].s, rd->lits[i].len), i);
    }
    return 0;
}

int rd_lit_add(nl_redact *rd, const char *s, int kind)
{
    char name[RD_NAME_LEN];
    size_t len = s ? strlen(s) : 0;
    if (!len || len > RD_MAX_LIT || lit_find(rd, s))
        return 0;
    if (kind == RD_K_IF && rd_ifname_generic(s))
        return 0;
    make_name(rd, kind_prefix[kind], &rd->kind_next[kind], "", name, sizeof name);
    return lit_push(rd, s, name, kind);
}

/* Kernel and udev interface names: a driver prefix, then numbers and the
 * predictable-name letters (s slot, p bus, o onboard, f function, d port,
 * u usb, n/np port name) or a hex suffix (veth3f2a1b, br-1a2b3c4d5e6f).
 * "enx" + MAC is not here: it carries the MAC. */
int rd_ifname_generic(const char *s)
{
    static const char *const pfx[] = {
        "eth", "ens", "enp", "eno", "wlan", "wlp", "wlo", "wwan", "wwp", "ib", "veth", "docker",
        "br", "bond", "team", "tun", "tap", "wg", "vxlan", "virbr", "ppp", "vlan", "dummy", "gre",
        "sit", "vnet", "macvtap", "nlmon", "usb", "em",
    };
    if (!strcmp(s, "lo") || !strcmp(s, "any"))
        return 1;
    for (size_t i = 0; i < sizeof pfx / sizeof pfx[0]; i++) {
        size_t n = strlen(pfx[i]);
        const char *r = s + n;
        int digit = 0;
        if (strncmp(s, pfx[i], n) || !*r)
            continue;
        for (; *r; r++) {
            if (*r >= '0' && *r <= '9')
                digit = 1;
            else if (!strchr("abcdefsponu._-@", *r))
                break;
        }
        if (!*r && digit)
            return 1;
    }
    return 0;
}

const char *redact_str(nl_redact *rd, const char *s)
{
    const rd_lit *l = rd && s ? lit_find(rd, s) : NULL;
    return l ? l->name : NULL;
}

const char *redact_file(nl_redact *rd, size_t index)
{
    return rd && index < rd->nfiles ? rd->files[index] : NULL;
}

/* ".pcap" of "client.pcap": 1 to 8 letters or digits after the last dot. */
static const char *file_ext(const char *base)
{
    const char *dot = strrchr(base, '.');
    size_t n;
    if (!dot || dot == base)
        return "";
    n = strlen(dot + 1);
    if (n < 1 || n > 8)
        return "";
    for (const char *p = dot + 1; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            return "";
    return dot;
}

int redact_learn_file(nl_redact *rd, size_t index, const char *path, int is_record)
{
    char name[RD_NAME_LEN + 16];
    const char *base;
    uint32_t num = (uint32_t)index;
    if (!path || !*path)
        return 0;
    if (index >= rd->nfiles) {
        char **nv = realloc(rd->files, (index + 1) * sizeof *nv);
        if (!nv)
            return -1;
        for (size_t i = rd->nfiles; i <= index; i++)
            nv[i] = NULL;
        rd->files = nv;
        rd->nfiles = index + 1;
    }
    if (rd->files[index])
        return 0;
    base = strrchr(path, '/');
    base = base && base[1] ? base + 1 : path;
    make_name(rd, is_record ? "records" : "capture", &num, file_ext(base), name, sizeof name);
    if (!(rd->files[index] = strdup(name)))
        return -1;
    /* the path and its base name read as the placeholder (a name shared
     * by two inputs keeps the first's: the original was as ambiguous) */
    if (rd_file_alias(rd, index, path) < 0)
        return -1;
    return rd_file_alias(rd, index, base);
}

int rd_file_alias(nl_redact *rd, size_t index, const char *s)
{
    if (!s || !strcmp(s, "-") || index >= rd->nfiles || !rd->files[index] || strlen(s) > RD_MAX_LIT ||
        lit_find(rd, s))
        return 0;
    return lit_push(rd, s, rd->files[index], RD_K_FILE);
}

int redact_add_escaper(nl_redact *rd, void (*esc)(FILE *, const char *))
{
    for (size_t i = 0; i < rd->nesc; i++)
        if (rd->esc[i] == esc)
            return 0;
    if (rd->nesc == RD_MAX_ESC)
        return -1;
    rd->esc[rd->nesc++] = esc;
    rd->vars_dirty = 1;
    return 0;
}
