/* redact_int.h - private to analyzer/redact*.c: the map behind nl_redact.
 *
 * redact.c        the tables (addresses, MACs, learned strings), how names
 *                 are given, the lookups;
 * redact_learn.c  what is learned from traces, a correlation, host context;
 * redact_text.c   finding all of it in text, and the FILE filter. */
#ifndef NATLENS_REDACT_INT_H
#define NATLENS_REDACT_INT_H

#include <stdint.h>
#include "natlens/redact.h"

#define RD_NAME_LEN 24          /* "inner-4294967295" and the like */
#define RD_MAX_ESC 8            /* escapers a document can have */
#define RD_MIN_SCAN 3           /* shorter learned strings: not in free text */
#define RD_MAX_LIT 4000         /* longer strings are not learned (paths fit) */

/* A fixed-size key (address: 16 bytes, MAC: 6) and its name. */
typedef struct rd_ent {
    uint8_t k[16];
    uint8_t explicit;           /* addresses: learned as the client side's */
    char    name[RD_NAME_LEN];  /* "" until named */
} rd_ent;

/* Before the seal: keys as learned (merged when the table fills). At the
 * seal: sorted, merged and named in that order; then met keys are
 * appended and named in order of appearance. */
typedef struct rd_tab {
    rd_ent *v;
    size_t  n, cap;
    uint32_t *hx;               /* index (rd_index_*) over all entries, from the seal on */
    size_t  hcap;
    size_t  ksz;
    uint32_t next;              /* next number */
    const char *prefix;         /* "inner", "mac" */
} rd_tab;

/* Kinds of learned strings: each its own placeholder prefix. */
enum {
    RD_K_FILE, RD_K_HOST, RD_K_KERNEL, RD_K_SESSION, RD_K_IF, RD_K_VM,
    RD_K_GATEWAY, RD_K_ROUTER, RD_K_COUNT
};

typedef struct rd_lit {
    char   *s;                  /* the original, owned */
    size_t  len;
    char   *name;               /* placeholder, owned */
    uint8_t kind;
    uint8_t scan;               /* also replaced in free text */
} rd_lit;

/* One form (raw or escaped) of a learned string, as the text pass looks
 * for it. */
typedef struct rd_var {
    char       *s;              /* owned */
    size_t      len;
    const char *name;           /* the rd_lit's */
} rd_var;

struct nl_redact {
    rd_tab   addrs, keep, macs;
    int      sealed;            /* tables sorted and named */
    rd_lit  *lits;
    size_t   nlits, litcap;
    uint32_t *lx;               /* index of lits by string */
    size_t   lcap;
    uint32_t kind_next[RD_K_COUNT];
    char   **files;             /* placeholder per input index, NULL if none */
    size_t   nfiles;
    void   (*esc[RD_MAX_ESC])(FILE *, const char *);
    size_t   nesc;
    /* the text pass's index, rebuilt when lits or esc changed */
    rd_var  *vars;
    size_t   nvars;
    uint32_t *vx;               /* index of vars by their bytes */
    size_t   vcap;
    size_t  *vlens;             /* distinct lengths of the forms starting with byte b, */
    size_t   vlstart[257];      /* longest first: vlens[vlstart[b] .. vlstart[b+1]) */
    size_t   maxvar;            /* longest form */
    int      vars_dirty;
};

/* redact.c */
/* FNV-1a of n bytes. */
uint64_t rd_hash(const void *p, size_t n);
/* Open addressing over item indices (slot = index + 1, 0 empty), kept at
 * most half full: make room for `items`; 1 when the table was replaced
 * (the caller puts every item again), 0 when it fits, -1 out of memory. */
int  rd_index_fit(uint32_t **slot, size_t *cap, size_t items);
void rd_index_put(uint32_t *slot, size_t cap, uint64_t h, size_t i);
int  rd_tab_push(nl_redact *rd, rd_tab *t, const uint8_t *k, int explicit);
rd_ent *rd_tab_find(rd_tab *t, const uint8_t *k);
/* Sort, name and index what was learned (once); -1 out of memory. */
int  rd_seal(nl_redact *rd);
/* Learn string s of kind (placeholder made here); 0, or -1 out of memory.
 * Empty, too long and already learned strings are skipped. */
int  rd_lit_add(nl_redact *rd, const char *s, int kind);
/* s (a display name of input index) reads as that input's placeholder. */
int  rd_file_alias(nl_redact *rd, size_t index, const char *s);
/* Mark an address as kept (a translated egress address). */
int  rd_keep(nl_redact *rd, const nl_addr *a);
/* Placeholder of a unicast MAC (learning it if new), NULL when kept. */
const char *rd_mac_name(nl_redact *rd, const uint8_t m[6]);
/* Is this interface name a kernel or udev default (kept)? */
int  rd_ifname_generic(const char *s);

#endif
