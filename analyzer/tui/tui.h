/* tui.h - the `natlens tui` viewer: internals shared by the analyzer/tui files.
 *
 * Shape (htop's): read-only models built by the loader thread from the same
 * analysis result the other commands print (traces, nl_correlation,
 * findings), and panels that only draw them. Data collection never draws,
 * drawing never collects. Keys go through one table (tui_keys.c) whose
 * actions return flags instead of drawing; the help screen and the function
 * bar are generated from that table.
 *
 * Stages: the loader publishes a model as soon as the captures are read
 * (one row per flow of every capture, the far side "pairing..."), then one
 * with the pairing, then one with the findings. Each model is handed to the
 * UI thread once (tui_load_poll) and is immutable from then on; the UI
 * frees the model it replaces. The traces, the correlation and the findings
 * stay the loader's (freed by tui_load_join) and are only read by the UI.
 * Nothing in here is part of the library.
 */
#ifndef NATLENS_TUI_H
#define NATLENS_TUI_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include "natlens/trace.h"
#include "natlens/correlate.h"
#include "natlens/diagnose.h"
#include "natlens/record.h"
#include "natlens/ladder.h"
#include <stdatomic.h>

/* ---- model (tui_model.c) ----------------------------------------------- */

enum { TUI_H_OK = 0, TUI_H_WARN = 1, TUI_H_BAD = 2 };    /* row health */

/* One connection: a correlation chain (two or more captures) or one flow
 * (one capture, or any capture before pairing). Flows are borrowed from
 * the traces. */
typedef struct tui_row {
    const nl_flow  *near;      /* flow at near_cap (first capture it was seen) */
    const nl_flow  *far;       /* flow at far_cap (last capture), NULL if only one */
    int             near_cap, far_cap;
    const nl_chain *chain;     /* NULL with one capture and before pairing */
    uint8_t         flip;      /* far flow's roles swapped against near's */
    uint8_t         xlate;     /* NL_XLATE_* over all hops */
    uint8_t         port_changed;
    uint8_t         health;    /* TUI_H_* */
    uint8_t         unm_reason;/* NL_UNM_* + 1, 0 when matched */
    int             other_cap; /* unmatched: the capture it is missing from, else -1 */
    uint64_t        lost;      /* packets lost over all hops */
    uint64_t        pkts, bytes;
    uint64_t        first_ns;  /* capture 0's clock (own clock before pairing) */
    const char     *why;       /* static text: why it is coloured, or NULL */
} tui_row;

/* One egress span for the NAT map and the timeline. */
typedef struct tui_group {     /* per inner host, destination, port, proto */
    size_t   first, n;         /* range of corr->egress */
} tui_group;

typedef struct tui_model {
    size_t           ncaps;
    nl_trace *const *traces;   /* borrowed from the loader */
    const nl_correlation *corr;/* borrowed; NULL with one capture or while pairing */
    const nl_findings *diag;   /* borrowed; NULL until diagnosed (or out of memory) */
    int              pairing;  /* two or more captures, pairing not known yet */
    int              diagnosing; /* findings not known yet */
    tui_row         *rows;     /* owned, in order of first packet */
    size_t           nrows;
    int32_t        **row_of;   /* [cap][flow id] -> row, -1 none */
    size_t          *row_of_n; /* entries per capture */
    tui_group       *groups;   /* owned: runs of corr->egress */
    size_t           ngroups;
    uint64_t         t0, t1;   /* span of the egress timeline (capture 0 clock) */
    nl_addr         *eips;     /* owned: distinct egress addresses, sorted */
    size_t           neips;
    uint8_t         *eip_of;   /* owned: per corr->egress entry, index in eips */
    size_t          *nflows;   /* owned: flows per capture */
    int              changes_sorted; /* ip_changes by inner, dest (as documented) */
    size_t           npaired, nnear_only, nfar_only, nbad, nwarn;
    size_t           nrec_only; /* rows of a record no capture flow paired with */
    int              utf8;
} tui_model;

/* Build a model over borrowed traces, correlation (NULL: one capture, or
 * two and more not paired yet) and findings (NULL: not known yet). Linear
 * in flows; formats no text. NULL with err (>= 256) on out of memory. */
tui_model *tui_model_build(nl_trace *const *traces, size_t ntraces,
                           const nl_correlation *corr, const nl_findings *diag,
                           int diagnosing, int utf8, char *err);
void tui_model_free(tui_model *m);

/* Row showing flow f of capture cap, or -1. */
long tui_model_row_of(const tui_model *m, int cap, const nl_flow *f);
/* The flow a row is drawn in the FAR column with (the far-only flow of the
 * last capture, or the far end of a chain), and the one in the NEAR column;
 * NULL for "—". */
const nl_flow *tui_model_far_flow(const tui_model *m, const tui_row *r);
const nl_flow *tui_model_near_flow(const tui_model *m, const tui_row *r);

/* ---- text of rows (tui_text.c): formatted when drawn, never stored ------ */

/* An endpoint pair of a row as four parts, so a narrow cell can shorten
 * the addresses and keep the ports (ICMP: echo id or type instead). */
typedef struct tui_tuple {
    char a[64], b[64];         /* addresses, "=" when brief and unchanged */
    char pa[8], pb[8];         /* ports, "" for protocols without ports */
    char tail[24];             /* "echo id=7", "type=3/1", or "" */
    int  v6a, v6b;             /* bracket the address before a port */
} tui_tuple;

/* The near flow of a row as drawn in the NEAR column. */
void tui_text_near(const tui_model *m, const tui_row *r, tui_tuple *t);
/* The far side as the near originator's packets look there; with brief,
 * endpoints equal to the near side become "=". */
void tui_text_far(const tui_model *m, const tui_row *r, int brief, tui_tuple *t);
/* One flow's endpoints in its own direction (or swapped). */
void tui_text_flow(const nl_flow *f, int swap, tui_tuple *t);
/* Write a tuple in at most w columns (w <= 0: no limit): addresses are cut
 * in the middle, ports never. Returns buf (len >= 160). */
char *tui_text_fit(const tui_tuple *t, int w, int utf8, char *buf, size_t len);
char *tui_text_nat(const tui_model *m, const tui_row *r, char *buf, size_t len);
char *tui_text_state(const tui_model *m, const tui_row *r, char *buf, size_t len);
char *tui_text_proto(const tui_row *r, char *buf, size_t len);
/* Everything searchable about a row, one line (buf >= 512). */
char *tui_text_row(const tui_model *m, const tui_row *r, char *buf, size_t len);
/* "9999", "98.5k", "123k", "4.5M": at most 5 columns; buf >= 16 */
char *tui_fmt_count(uint64_t v, char *buf, size_t len);

/* ---- records (tui_record.c) ------------------------------------------------ */

/* One line of a record as the Pair panel shows it: a label and its text
 * (raw file text inside: drawn through tui_draw_text, which escapes). */
typedef struct tui_rline {
    char    label[16];
    char    text[240];
    uint8_t role;              /* TUI_A_* */
} tui_rline;
#define TUI_RLINES 24          /* lines a record can fill */

/* The record facts of flow f at capture cap; NULL for a packet flow. */
const nl_record_info *tui_record_info(const tui_model *m, int cap, const nl_flow *f);
/* The first record flow of a row and its capture, or NULL. */
const nl_flow *tui_record_of_row(const tui_model *m, const tui_row *r, int *cap);
/* The other leg of a record's NAT mapping, or NULL. */
const nl_flow *tui_record_other_leg(const tui_model *m, int cap, const nl_flow *f);
/* The STATE column's word for a record: "DROPPED", "REJECT", "UNREPLIED",
 * "NAT OK", "ACCEPT", "ASSURED" or "rec". buf >= 24. */
const char *tui_record_word(const nl_record_info *ri, char *buf, size_t len);
/* Searchable words of a record: "record gcp_nat nat.json line 7 gateway
 * nat-gw-1 vm vm-app-3 nat DROPPED". "" for a packet flow. buf >= 400. */
char *tui_record_text(const tui_model *m, int cap, const nl_flow *f, char *buf, size_t len);
/* The record of flow f as lines (at most max): where, the legs, names,
 * action, NAT status, conntrack flags, counts where pinned, the time
 * window and its granularity, what it pins. Returns how many. */
size_t tui_record_lines(const tui_model *m, int cap, const nl_flow *f, tui_rline *out, size_t max);

/* ---- ladder (tui_ladder.c) ------------------------------------------------ */

struct tui_pkts;

/* One line of a ladder: a packet at the near side, the far side or both. */
typedef struct tui_rung {
    uint64_t          t_ns;    /* near capture's clock */
    const nl_pkt_rec *n, *f;   /* either may be NULL */
    uint8_t           dir;     /* in the near flow's direction */
    uint8_t           unknown; /* the other side did not keep records this
                                  far: nothing is claimed about it */
} tui_rung;

typedef struct tui_ladder {
    const tui_row   *row;
    int              near_cap, far_cap;   /* far_cap -1: one side only */
    const nl_flow   *nf, *ff;  /* either may be NULL (a far-only flow: nf) */
    const nl_match  *match;
    uint8_t          flip;
    uint8_t          pending;  /* the far side is being paired */
    uint32_t         isn_n[2], isn_f[2];  /* for relative seq numbers */
    tui_rung        *r;        /* owned: every kept record of both sides */
    size_t           n, cap;
    size_t           hop, nhops;
    size_t           npieces[2];  /* pieces of the connection drawn, near and far */
    int              more_pieces; /* more pieces than the ladder draws */
    uint64_t         kept[2], pkts[2]; /* records kept and packets, per side */
    /* the pieces drawn per side (near, far), at capture pcap[side] (-1:
     * no side), and whether their records hold every packet */
    int              pcap[2];
    const nl_flow   *piece[2][NL_LADDER_PIECES];
    uint8_t          whole[2][NL_LADDER_PIECES];
    size_t           np[2];
} tui_ladder;

/* Lay out the kept packets of a row's hop `hop` (0 = first pair of
 * captures), every piece of the connection on each side; a piece whose
 * packets px read again (tui_pkts.c; px may be NULL) shows those. Reads
 * the model and px only; L->r is reused and grown (free with
 * tui_ladder_free); the rungs borrow px's records until px changes. 0,
 * or -1 out of memory (L then shows no rungs). */
int  tui_ladder_build(const tui_model *m, size_t row, size_t hop, struct tui_pkts *px,
                      tui_ladder *L);
void tui_ladder_free(tui_ladder *L);

/* ---- packets read again (tui_pkts.c) ------------------------------------ */

#define TUI_PKTS_CAP  100000   /* packets read again per capture and connection */
#define TUI_PKTS_ENTS (4 * NL_LADDER_PIECES)

/* The packets of one piece read again, or why not. */
typedef struct tui_pkts_ent {
    int            cap;
    const nl_flow *g;
    nl_pkt_rec    *recs;       /* owned; every packet, or a prefix (capped) */
    size_t         n;
    int            capped;     /* TUI_PKTS_CAP reached before its end */
    char           why[200];   /* not read again: why ("" when read) */
} tui_pkts_ent;

typedef struct tui_pkts {
    pthread_mutex_t mu;
    pthread_t       th;
    struct tui_pkts_job *job;  /* in flight, NULL none (UI thread) */
    long            job_row;
    size_t          job_hop;
    atomic_int      cancel;
    char            reading[128];
    /* under mu */
    int             finished;
    int64_t         done_bytes, total_bytes;
    /* the cache (UI thread): pieces of the open ladder */
    tui_pkts_ent    ent[TUI_PKTS_ENTS];
    size_t          nent;
} tui_pkts;

void tui_pkts_init(tui_pkts *px);
/* Stop a job in flight (bounded: it looks every 4096 packets) and free
 * everything. */
void tui_pkts_free(tui_pkts *px);
int  tui_pkts_busy(const tui_pkts *px);
/* The records read again of piece g at capture cap (nl_ladder_recs_fn),
 * NULL: none (use its own). ctx is the tui_pkts. */
const nl_pkt_rec *tui_pkts_recs(void *ctx, int cap, const nl_flow *g, size_t *n);
/* The cache entry of a piece, or NULL when it was never asked for. */
const tui_pkts_ent *tui_pkts_entry(const tui_pkts *px, int cap, const nl_flow *g);

/* ---- filter (tui_filter.c) ------------------------------------------------ */

#define TUI_FILTER_LEN   192   /* longest expression, with its NUL */
#define TUI_FILTER_NODES 48

typedef struct tui_fnode {
    uint8_t  op;               /* TUI_FOP_* (tui_filter.c) */
    uint8_t  bits;             /* nat bits, proto, prefix length, ... */
    uint16_t port;
    int16_t  a, b;             /* children */
    nl_addr  addr;
    char     word[48];         /* state name or substring */
} tui_fnode;

typedef struct tui_filter {
    tui_fnode n[TUI_FILTER_NODES];
    int       nn, root;        /* root -1: matches everything */
    int       text;            /* uses substrings: needs the row text */
    int       needs_pairing;   /* nat, paired, near-only, far-only */
    int       needs_findings;  /* broken, suspect */
    char      err[120];        /* empty when the expression is good */
    int       err_at;          /* byte offset of the error in the input */
} tui_filter;

/* Compile `expr` (at most TUI_FILTER_LEN - 1 bytes read). 0, or -1 with
 * f->err and f->err_at set; an empty expression matches everything. */
int tui_filter_compile(tui_filter *f, const char *expr);
int tui_filter_match(const tui_filter *f, const tui_model *m, const tui_row *r);

/* ---- loader (tui_load.c) ----------------------------------------------- */

enum { TUI_LD_READING, TUI_LD_PAIRING, TUI_LD_DIAGNOSING, TUI_LD_READY, TUI_LD_FAILED };

typedef struct tui_cap_progress {
    int64_t  done, total;      /* bytes */
    uint64_t packets;
    int      finished;
} tui_cap_progress;

typedef struct tui_loader {
    pthread_mutex_t   mu;
    pthread_t         thread;
    int               started;
    char            **paths;   /* borrowed from argv */
    size_t            npaths;
    const char       *bpf;     /* filter for every capture or NULL; borrowed */
    int               utf8;
    /* the worker's, read by the UI only through the models, freed at join */
    nl_trace        **traces;
    nl_correlation   *corr;
    nl_findings      *diag;
    /* under mu */
    int               stage;
    tui_cap_progress *prog;    /* npaths */
    char              err[512];/* reading failed (stage FAILED) */
    char              note[256]; /* pairing or findings unavailable */
    tui_model        *fresh;   /* published, not taken by the UI yet */
    uint64_t          start_ns, read_ns, paired_ns, ready_ns, stage_ns;
    /* CPU time (NATLENS_TUI_STATS): the slowest reading thread, and the
     * first model; with a core per file and nothing else running, their
     * sum is the wall time to the first rows */
    uint64_t          read_cpu_ns, model_cpu_ns;
} tui_loader;

/* Read record files with this record reader (--format; reader.h); NULL
 * detects. Call before tui_load_start(). */
void tui_load_set_format(const char *name);
/* Open tunnels as --tunnel-port/--tunnel-depth say (NULL: the defaults);
 * borrowed until loading ends. Call before tui_load_start(). */
void tui_load_set_tunnels(const nl_tunnel_conf *c);
/* Start reading in the background (signals blocked in the loader threads
 * so they reach the UI thread). -1 with err filled if no thread. */
int tui_load_start(tui_loader *ld, char **paths, size_t n, const char *bpf, int utf8, char *err);
/* Snapshot of the state; *fresh gets a newly published model (the caller
 * owns it) or NULL. note gets why pairing or findings are missing. */
int tui_load_poll(tui_loader *ld, tui_cap_progress *prog, tui_model **fresh,
                  char *err, size_t errlen, char *note, size_t notelen);
/* Wait for the loader (after it finished) and free what it holds. */
void tui_load_join(tui_loader *ld);
uint64_t tui_now_ns(void);

/* ---- UI state ------------------------------------------------------------ */

enum { TUI_P_FLOWS, TUI_P_PAIR, TUI_P_NAT, TUI_P_TIME, TUI_P_FIND, TUI_NPANELS };

/* flows columns, also the sort keys */
enum { TUI_C_NEAR, TUI_C_FAR, TUI_C_PROTO, TUI_C_NAT, TUI_C_STATE, TUI_C_PKTS,
       TUI_C_BYTES, TUI_C_FIRST, TUI_NCOLS };

/* action result flags */
enum { TUI_F_NONE = 0, TUI_F_REDRAW = 1, TUI_F_QUIT = 2 };

enum { TUI_PROMPT_NONE, TUI_PROMPT_SEARCH, TUI_PROMPT_FILTER };

typedef struct tui_list {
    size_t cur, top;
} tui_list;

/* One line of the findings detail: a piece of a finding's text, wrapped
 * to the width (tui_findings.c). Points into the finding's strings. */
typedef struct tui_dline {
    uint8_t     kind;          /* TUI_DL_* (tui_findings.c) */
    uint32_t    ev;            /* evidence index */
    const char *s;
    uint16_t    n;             /* bytes of s */
} tui_dline;

typedef struct tui_ui {
    tui_loader      *ld;
    const tui_model *m;        /* NULL while reading */
    tui_cap_progress *prog;    /* loading snapshot (npaths) */
    int              stage;
    char             note[256];
    int              panel, back_panel;
    int              help;     /* help overlay shown */
    size_t           help_top;
    tui_list         list[TUI_NPANELS];
    /* flows view: visible rows after filter and sort (indexes into m->rows) */
    size_t          *order;
    size_t           norder, order_cap;
    int              sort_col, sort_rev, broken_only;
    char             filter[TUI_FILTER_LEN];
    tui_filter       flt;
    char             search[TUI_FILTER_LEN];
    /* prompt line */
    int              prompt;
    char             input[TUI_FILTER_LEN];
    size_t           input_len;
    char             input_err[160];
    /* pair view */
    long             pair_row; /* model row, -1 none */
    size_t           pair_hop;
    tui_ladder       ladder;
    tui_pkts         pkts;     /* the open ladder's packets read again */
    /* findings detail, rebuilt when the finding or the width changes */
    tui_dline       *dl;
    size_t           ndl, dl_cap, dl_top;
    long             dl_for;   /* finding index the lines are for, -1 none */
    int              dl_w;
    int              dl_h;     /* lines drawn last time (page size) */
    /* screen */
    int              lines, cols, color, utf8;
    int              body_y, body_h; /* panel area */
    char             status[260];
    uint64_t         first_row_ns; /* a flow row was first drawn */
} tui_ui;

/* Take a model published by the loader: the cursor, the open ladder and
 * the filter follow the same flows into it; the old model is freed. */
void tui_ui_take_model(tui_ui *ui, tui_model *m);
/* "pairing 2 captures…", "looking for problems…", or NULL when done. */
const char *tui_ui_pending(const tui_ui *ui);

/* ---- panels (tui_flows.c, tui_pair.c, ...) ------------------------------ */

typedef struct tui_panel {
    const char *name;          /* tab label */
    /* selectable lines (cursor moves over them) */
    size_t (*count)(const tui_ui *ui);
    /* draw into body rows [y, y + h) of the full width */
    void (*draw)(tui_ui *ui, int y, int h);
    /* Enter; returns TUI_F_* */
    int (*open)(tui_ui *ui);
    /* text of line i for `/` search; NULL when the panel has no search */
    char *(*text)(const tui_ui *ui, size_t i, char *buf, size_t len);
    /* lines the cursor scrolls in one page, after the panel's own header */
    int header_lines;
    /* scroll a detail pane by delta lines (PgDn, j, End...); NULL: the
     * keys move the cursor instead */
    int (*detail)(tui_ui *ui, long delta);
} tui_panel;

extern const tui_panel tui_flows_panel, tui_pair_panel, tui_nat_panel,
                       tui_timeline_panel, tui_findings_panel;
const tui_panel *tui_panel_get(int p);

/* flows view (tui_flows.c) */
void tui_flows_refresh(tui_ui *ui);        /* re-apply filter and sort */
int  tui_flows_goto_row(tui_ui *ui, long row); /* cursor to model row; 0 if hidden */
/* Set the filter expression; -1 (nothing changed) with ui->input_err set
 * when it does not compile. */
int  tui_flows_set_filter(tui_ui *ui, const char *expr);
/* pair view (tui_pair.c) */
int  tui_pair_show(tui_ui *ui, long row);  /* open the ladder of a row */
/* Build the open ladder again (ui->pair_row, pair_hop) with the packets
 * read so far, and ask for the ones its records miss. 0, or -1 out of
 * memory. */
int  tui_pair_rebuild(tui_ui *ui);
/* Start reading the open ladder's missing packets again when nothing is
 * being read (a job for another ladder is cancelled first). */
void tui_pkts_want_more(tui_ui *ui);
/* Take a finished job into the cache and rebuild the ladder; 1 when
 * something changed or a job is running (redraw), 0 otherwise. */
int  tui_pkts_poll(tui_ui *ui);
/* "reading the flow's packets again from client.pcap… 40%" while a job
 * runs: 1, else 0. */
int  tui_pkts_status(const tui_ui *ui, char *buf, size_t len);

/* ---- keys (tui_keys.c) --------------------------------------------------- */

typedef struct tui_key {
    int         keys[4];       /* codes, 0-terminated */
    const char *name;          /* in help and the function bar */
    const char *bar;           /* function bar label, NULL: help only */
    const char *help;
    int (*action)(tui_ui *ui);
} tui_key;

extern const tui_key tui_keys[];
extern const size_t tui_nkeys;
int tui_keys_dispatch(tui_ui *ui, int ch);
/* a key typed while the prompt is open */
int tui_keys_prompt(tui_ui *ui, int ch);
void tui_keys_move(tui_ui *ui, long delta);  /* cursor of the current list */

/* ---- drawing (tui_draw.c) ------------------------------------------------ */

enum { TUI_A_NORMAL, TUI_A_TITLE, TUI_A_TAB, TUI_A_TAB_ON, TUI_A_HEAD,
       TUI_A_CURSOR, TUI_A_BAD, TUI_A_WARN, TUI_A_XLATE, TUI_A_DIM,
       TUI_A_BAR_KEY, TUI_A_BAR, TUI_A_OK, TUI_NATTR };

/* glyphs: UTF-8 when the locale is, ASCII otherwise */
typedef struct tui_glyphs {
    const char *rarrow, *larrow, *line, *head_r, *head_l, *cross, *cursor,
               *bad, *warn, *ellipsis, *swap, *change, *bar_full, *dot, *dash,
               *sort_up, *sort_down;
} tui_glyphs;
extern tui_glyphs tui_g;

void tui_draw_init(tui_ui *ui);           /* colours and glyphs */
int  tui_attr(int role);
/* Text at (y, x), at most maxw columns, sanitized (control bytes and bad
 * UTF-8 become '?'). Returns the columns written. */
int  tui_draw_text(int y, int x, int maxw, int role, const char *s);
/* Same with extra attributes or'ed in (A_BOLD, A_REVERSE). */
int  tui_draw_textx(int y, int x, int maxw, int role, int extra, const char *s);
int  tui_text_width(const char *s);
void tui_draw_fill(int y, int x, int w, int role);
void tui_draw_repeat(int y, int x, int n, int role, const char *glyph);
void tui_draw_screen(tui_ui *ui);
void tui_draw_message(tui_ui *ui, int y, int h, const char *msg);
/* list scrolling: keep cur visible in h lines */
void tui_list_fit(tui_list *l, size_t count, int h);

#endif
