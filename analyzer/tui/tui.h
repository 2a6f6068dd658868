/* tui.h - the `natlens tui` viewer: internals shared by the analyzer/tui files.
 *
 * Shape (htop's): a read-only model built once by the loader thread from the
 * same analysis result the other commands print (traces, nl_correlation,
 * findings), and panels that only draw it. Data collection never draws,
 * drawing never collects. Keys go through one table (tui_keys.c) whose
 * actions return flags instead of drawing; the help screen and the function
 * bar are generated from that table.
 *
 * Threads: the loader (tui_load.c) owns everything until it publishes the
 * model under its mutex; after that the model is immutable and only the UI
 * thread touches it. Nothing in here is part of the library.
 */
#ifndef NATLENS_TUI_H
#define NATLENS_TUI_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include "natlens/trace.h"
#include "natlens/correlate.h"
#include "natlens/diagnose.h"

/* ---- model (tui_model.c) ----------------------------------------------- */

enum { TUI_H_OK = 0, TUI_H_WARN = 1, TUI_H_BAD = 2 };    /* row health */

/* One connection: a correlation chain (two or more captures) or one flow
 * (one capture). Flows are borrowed from the traces. */
typedef struct tui_row {
    const nl_flow  *near;      /* flow at near_cap (first capture it was seen) */
    const nl_flow  *far;       /* flow at far_cap (last capture), NULL if only one */
    int             near_cap, far_cap;
    const nl_chain *chain;     /* NULL with one capture */
    uint8_t         flip;      /* far flow's roles swapped against near's */
    uint8_t         xlate;     /* NL_XLATE_* over all hops */
    uint8_t         port_changed;
    uint8_t         health;    /* TUI_H_* */
    uint8_t         unm_reason;/* NL_UNM_* + 1, 0 when matched */
    int             other_cap; /* unmatched: the capture it is missing from, else -1 */
    uint64_t        lost;      /* packets lost over all hops */
    uint64_t        pkts, bytes;
    uint64_t        first_ns;  /* capture 0's clock */
    const char     *why;       /* static text: why it is coloured, or NULL */
} tui_row;

/* One egress span for the NAT map and the timeline. */
typedef struct tui_group {     /* per inner host, destination, port, proto */
    size_t   first, n;         /* range of corr->egress */
} tui_group;

typedef struct tui_model {
    size_t           ncaps;
    nl_trace       **traces;   /* owned */
    nl_correlation  *corr;     /* owned, NULL with one capture */
    nl_findings     *diag;     /* owned, may be NULL */
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
    size_t           npaired, nnear_only, nfar_only, nbad, nwarn;
    int              utf8;
} tui_model;

/* Build the model; takes ownership of traces (array and items), corr and
 * diag (also on failure). NULL with err (>= 256) filled on out of memory. */
tui_model *tui_model_build(nl_trace **traces, size_t ntraces,
                           nl_correlation *corr, nl_findings *diag,
                           int utf8, char *err);
void tui_model_free(tui_model *m);

/* Row showing flow f of capture cap, or -1. */
long tui_model_row_of(const tui_model *m, int cap, const nl_flow *f);
/* Text of a row's endpoints in the near flow's direction. buf >= 128. */
char *tui_model_near_text(const tui_model *m, const tui_row *r, char *buf, size_t len);
/* Far side as the near originator's packets look there; with `brief`,
 * endpoints equal to the near side are written as "=". */
char *tui_model_far_text(const tui_model *m, const tui_row *r, int brief,
                         char *buf, size_t len);
char *tui_model_nat_text(const tui_row *r, char *buf, size_t len);
char *tui_model_state_text(const tui_row *r, char *buf, size_t len);
/* Everything searchable about a row, one line. */
char *tui_model_row_text(const tui_model *m, const tui_row *r, char *buf, size_t len);

/* One line of a ladder: a packet at the near side, the far side or both. */
typedef struct tui_rung {
    uint64_t          t_ns;    /* near capture's clock */
    const nl_pkt_rec *n, *f;   /* either may be NULL */
    uint8_t           dir;     /* in the near flow's direction */
} tui_rung;

typedef struct tui_ladder {
    const tui_row   *row;
    int              near_cap, far_cap;   /* far_cap -1: one capture */
    const nl_flow   *nf, *ff;
    const nl_match  *match;
    uint8_t          flip;
    uint32_t         isn_n[2], isn_f[2];  /* for relative seq numbers */
    tui_rung         r[2 * NL_FLOW_KEEP_PKTS];
    size_t           n;
    size_t           hop, nhops;
} tui_ladder;

/* Lay out the kept packets of a row's hop `hop` (0 = first pair of
 * captures) against the far side. Pure: reads the model only. */
void tui_model_ladder(const tui_model *m, size_t row, size_t hop, tui_ladder *out);

/* ---- loader (tui_load.c) ----------------------------------------------- */

enum { TUI_LD_READING, TUI_LD_CORRELATING, TUI_LD_DIAGNOSING,
       TUI_LD_READY, TUI_LD_FAILED };

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
    /* under mu */
    int               stage;
    tui_cap_progress *prog;    /* npaths */
    char              err[512];
    tui_model        *model;   /* published at TUI_LD_READY */
    uint64_t          start_ns, ready_ns;
} tui_loader;

/* Read record files with this record reader (--format; reader.h); NULL
 * detects. Call before tui_load_start(). */
void tui_load_set_format(const char *name);
/* Start reading in the background (signals blocked in the loader threads
 * so they reach the UI thread). -1 with err filled if no thread. */
int tui_load_start(tui_loader *ld, char **paths, size_t n, const char *bpf, int utf8, char *err);
/* Snapshot of the state; *model set once ready. */
int tui_load_poll(tui_loader *ld, tui_cap_progress *prog, tui_model **model,
                  char *err, size_t errlen);
/* Wait for the loader (after it finished) and free what it left. */
void tui_load_join(tui_loader *ld);
uint64_t tui_now_ns(void);

/* ---- UI state ------------------------------------------------------------ */

enum { TUI_P_FLOWS, TUI_P_PAIR, TUI_P_NAT, TUI_P_TIME, TUI_P_FIND, TUI_NPANELS };

/* flows columns, also the sort keys */
enum { TUI_C_NEAR, TUI_C_FAR, TUI_C_NAT, TUI_C_STATE, TUI_C_PKTS, TUI_C_BYTES,
       TUI_C_FIRST, TUI_NCOLS };

/* action result flags */
enum { TUI_F_NONE = 0, TUI_F_REDRAW = 1, TUI_F_QUIT = 2 };

enum { TUI_PROMPT_NONE, TUI_PROMPT_SEARCH, TUI_PROMPT_FILTER };

typedef struct tui_list {
    size_t cur, top;
} tui_list;

typedef struct tui_ui {
    tui_loader      *ld;
    const tui_model *m;        /* NULL while loading */
    tui_cap_progress *prog;    /* loading snapshot (npaths) */
    int              stage;
    int              panel, back_panel;
    int              help;     /* help overlay shown */
    size_t           help_top;
    tui_list         list[TUI_NPANELS];
    /* flows view: visible rows after filter and sort (indexes into m->rows) */
    size_t          *order;
    size_t           norder;
    int              sort_col, sort_rev, broken_only;
    char             filter[64];
    char             search[64];
    /* prompt line */
    int              prompt;
    char             input[64];
    size_t           input_len;
    /* pair view */
    long             pair_row; /* model row, -1 none */
    size_t           pair_hop;
    tui_ladder       ladder;
    /* screen */
    int              lines, cols, color, utf8;
    int              body_y, body_h; /* panel area */
    char             status[200];
} tui_ui;

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
} tui_panel;

extern const tui_panel tui_flows_panel, tui_pair_panel, tui_nat_panel,
                       tui_timeline_panel, tui_findings_panel;
const tui_panel *tui_panel_get(int p);

/* flows view (tui_flows.c) */
void tui_flows_refresh(tui_ui *ui);        /* re-apply filter and sort */
int  tui_flows_goto_row(tui_ui *ui, long row); /* cursor to model row; 0 if hidden */
/* pair view (tui_pair.c) */
int  tui_pair_show(tui_ui *ui, long row);  /* open the ladder of a row */

/* ---- keys (tui_keys.c) --------------------------------------------------- */

typedef struct tui_key {
    int         keys[4];       /* codes, 0-terminated */
    const char *name;          /* in help and the function bar */
    const char *bar;           /* function bar label, NULL: help only */
    const char *help;          /* NULL: same line as the entry above */
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
/* "9999", "98.5k", "123k", "4.5M": at most 5 columns; buf >= 16 */
char *tui_fmt_count(uint64_t v, char *buf, size_t len);
/* list scrolling: keep cur visible in h lines */
void tui_list_fit(tui_list *l, size_t count, int h);

#endif
