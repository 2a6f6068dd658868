/* tui_main.c - `natlens tui CAPTURE [CAPTURE...]`: start, loop, restore.
 *
 * The captures are checked (opened and closed) before the screen is taken,
 * so a wrong path fails like every other command (message, exit 2). Then a
 * loader thread reads them while the UI thread draws the progress; the
 * first screen is up before any packet is read. The loop waits for a key
 * at most a few tenths of a second so progress, signals and the finished
 * load are noticed. endwin() runs on every way out: q, a signal, a failed
 * load.
 */
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <curses.h>
#include "natlens/reader.h"
#include "natlens/source.h"
#include "natlens/source_stream.h"
#include "../cli/cli.h"
#include "tui.h"

static volatile sig_atomic_t tui_signal;

static void tui_on_signal(int sig)
{
    tui_signal = sig;
}

static const tui_panel *const tui_panel_table[TUI_NPANELS] = {
    &tui_flows_panel, &tui_pair_panel, &tui_nat_panel, &tui_timeline_panel, &tui_findings_panel
};

const tui_panel *tui_panel_get(int p)
{
    return tui_panel_table[p >= 0 && p < TUI_NPANELS ? p : 0];
}

static void tui_usage(FILE *f)
{
    fprintf(f, "usage: natlens tui [--format NAME] [--community-id-seed N] [--tunnel-port KIND=PORT]...\n"
               "                   [--tunnel-depth N] [-n] [-f EXPR] [-r CAPTURE]... CAPTURE...\n"
               "                   [-- BPF expression]\n"
               "  A CAPTURE may be a record file; --format NAME forces its record reader.\n"
               "  Interactive viewer. Captures in path order, client side first. The flows\n"
               "  show as soon as the files are read; pairing and findings follow.\n"
               "  -r CAPTURE a capture (as tcpdump; may repeat); -f EXPR or the words after --:\n"
               "  a BPF filter for every capture; -n accepted (natlens never resolves names);\n"
               "  --community-id-seed N accepted as by the other commands (no Community IDs shown).\n"
               "  Panels: 1 Flows, 2 Pair (packet ladder), 3 NAT map, 4 Timeline, 5 Findings.\n"
               "  Keys: F1/? help, F3// search, F4/f filter (port 80, host 10.1.2.3,\n"
               "  state S0, nat snat, proto udp, broken; and, or, not), F6/s sort, F10/q quit.\n"
               "  NO_COLOR=1 turns colours off.\n"
               CLI_TUNNEL_USAGE);
}

static int tui_preflight(char **paths, size_t n, const char *bpf, const char *format)
{
    char err[512];
    for (size_t i = 0; i < n; i++) {
        nl_source *s;
        if (!strcmp(paths[i], "-")) {
            fprintf(stderr, "natlens tui: the viewer reads keys from standard input; "
                            "give capture files, not '-'\n");
            return -1;
        }
        {   /* a FIFO is read once, by the loader: no trial read here */
            struct stat st;
            if (stat(paths[i], &st) == 0 && S_ISFIFO(st.st_mode))
                continue;
        }
        s = source_open(paths[i], bpf, err);    /* a bad filter fails here too */
        if (!s) {
            /* a record file (conntrack, cloud logs, conn.log) is no pcap;
             * its first bytes (decompressed) say which it is */
            char err2[512];
            nl_stream *st = source_stream_open(paths[i], err2);
            size_t hn = 0;
            const uint8_t *head = st ? source_stream_head(st, &hn) : NULL;
            int rec = hn && (format || reader_sniff((const char *)head, hn));
            source_stream_close(st);
            if (rec)
                continue;
            cli_eprintf("natlens: %s\n", err);
            return -1;
        }
        source_close(s);
    }
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(stderr, "natlens tui: needs a terminal on stdin and stdout "
                        "(use `natlens correlate` for text output)\n");
        return -1;
    }
    return 0;
}

static void tui_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = tui_on_signal;
    sigemptyset(&sa.sa_mask);
    /* no SA_RESTART: a signal ends the wait for a key at once */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
}

/* The flow a row stands for, to find it again in the next model. */
typedef struct tui_anchor {
    int            cap;
    const nl_flow *flow;
} tui_anchor;

static tui_anchor tui_anchor_of(const tui_model *m, long row)
{
    tui_anchor a = {-1, NULL};
    if (m && row >= 0 && (size_t)row < m->nrows) {
        a.cap = m->rows[row].near_cap;
        a.flow = m->rows[row].near;
    }
    return a;
}

void tui_ui_take_model(tui_ui *ui, tui_model *m)
{
    const tui_model *old = ui->m;
    tui_anchor cur = {-1, NULL}, pair;
    int had_findings = old && !old->diagnosing;
    if (old && ui->norder && ui->list[TUI_P_FLOWS].cur < ui->norder)
        cur = tui_anchor_of(old, (long)ui->order[ui->list[TUI_P_FLOWS].cur]);
    pair = tui_anchor_of(old, ui->pair_row);
    ui->m = m;
    tui_model_free((tui_model *)old);
    ui->norder = 0;
    tui_flows_refresh(ui);
    if (cur.flow) {
        long row = tui_model_row_of(m, cur.cap, cur.flow);
        for (size_t i = 0; row >= 0 && i < ui->norder; i++)
            if ((long)ui->order[i] == row) {
                ui->list[TUI_P_FLOWS].cur = i;
                break;
            }
    }
    if (ui->pair_row >= 0) {
        /* the open ladder follows its flow; now with the far side */
        long row = tui_model_row_of(m, pair.cap, pair.flow);
        ui->pair_row = row;
        ui->pair_hop = 0;
        if (row < 0 || tui_pair_rebuild(ui) < 0)
            ui->pair_row = -1;
        if (ui->list[TUI_P_PAIR].cur >= ui->ladder.n)
            ui->list[TUI_P_PAIR].cur = 0;
    }
    if (!had_findings) {
        ui->list[TUI_P_FIND].cur = ui->list[TUI_P_FIND].top = 0;
        ui->dl_for = -1;
    }
}

const char *tui_ui_pending(const tui_ui *ui)
{
    static char buf[64], pk[200]; /* UI thread only */
    if (!ui->m)
        return NULL;
    if (ui->m->pairing && ui->stage != TUI_LD_READY) {
        snprintf(buf, sizeof buf, "pairing %zu captures%s", ui->m->ncaps, tui_g.ellipsis);
        return buf;
    }
    if (ui->m->diagnosing && ui->stage != TUI_LD_READY) {
        snprintf(buf, sizeof buf, "looking for problems%s", tui_g.ellipsis);
        return buf;
    }
    if (tui_pkts_status(ui, pk, sizeof pk))
        return pk;
    return NULL;
}

/* Everything after the options: check the files, read them in the
 * background, run the viewer. paths[n], bpf and format (a record reader's
 * name or NULL) stay the caller's. */
static int tui_run(char **paths, size_t n, const char *bpf, const char *format)
{
    tui_loader ld;
    tui_ui ui;
    char err[512];
    int rc = CLI_OK, done = 0, dirty = 1;
    uint64_t t_first = 0;

    tui_load_set_format(format);
    if (tui_preflight(paths, n, bpf, format) < 0)
        return CLI_USAGE;

    memset(&ui, 0, sizeof ui);
    setlocale(LC_ALL, "");
    ui.utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");
    {
        const char *nc = getenv("NO_COLOR");
        ui.color = !(nc && *nc);
    }
    ui.pair_row = -1;
    ui.dl_for = -1;
    ui.sort_col = TUI_C_FIRST;
    ui.flt.root = -1;
    ui.ld = &ld;
    tui_pkts_init(&ui.pkts);
    ui.prog = calloc(n, sizeof *ui.prog);
    if (!ui.prog) {
        fprintf(stderr, "natlens: out of memory\n");
        return CLI_USAGE;
    }
    tui_signals();
    /* reading starts before the screen is taken: the first screen already
     * shows progress */
    if (tui_load_start(&ld, paths, n, bpf, ui.utf8, err) < 0) {
        cli_eprintf("natlens tui: %s\n", err);
        free(ui.prog);
        return CLI_USAGE;
    }

    if (!initscr()) {
        fprintf(stderr, "natlens tui: cannot initialise the terminal\n");
        _exit(CLI_USAGE);
    }
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    curs_set(0);
    set_escdelay(25);
    tui_draw_init(&ui);

    while (!tui_signal) {
        int ch, f;
        if (!done) {
            /* the worker publishes up to three models; take each as it
             * comes, never wait for one */
            tui_model *fresh = NULL;
            ui.stage = tui_load_poll(&ld, ui.prog, &fresh, err, sizeof err, ui.note, sizeof ui.note);
            if (fresh)
                tui_ui_take_model(&ui, fresh);
            if (ui.stage == TUI_LD_READY) {
                done = 1;
            } else if (ui.stage == TUI_LD_FAILED) {
                done = 1;
                rc = CLI_USAGE;
                break;
            }
            dirty = 1;          /* progress and elapsed time move */
        }
        if (tui_pkts_poll(&ui))
            dirty = 1;          /* packets read again, or reading */
        if (dirty) {
            tui_draw_screen(&ui);
            if (!t_first)
                t_first = tui_now_ns();
            dirty = 0;
        }
        /* a published stage or packets read again show within 50 ms */
        timeout(done && !tui_pkts_busy(&ui.pkts) ? 250 : 50);
        ch = getch();
        if (ch == ERR)
            continue;
        dirty = 1;
        if (ch == KEY_RESIZE)
            continue;           /* ncurses has updated LINES and COLS */
        ui.status[0] = '\0';
        f = ui.prompt ? tui_keys_prompt(&ui, ch) : tui_keys_dispatch(&ui, ch);
        if (f & TUI_F_QUIT)
            break;
    }
    if (tui_signal)
        rc = 128 + tui_signal;
    erase();
    refresh();
    endwin();
    if (getenv("NATLENS_TUI_STATS")) {
        /* the figures the benchmark reads: when the first flow row was on
         * screen, and when pairing and findings were done */
        /* read_ns was written before the first model was handed over
         * (under the loader's mutex), the others before READY */
        uint64_t t[5] = {t_first, ui.m ? ld.read_ns : 0, ui.first_row_ns,
                         done ? ld.paired_ns : 0, done ? ld.ready_ns : 0};
        const char *name[5] = {"first screen", "read", "first flow row", "paired", "ready"};
        fprintf(stderr, "natlens tui:");
        for (int i = 0; i < 5; i++)
            if (t[i])
                fprintf(stderr, "%s %s %.3f s", i ? "," : "", name[i],
                        (double)(t[i] - ld.start_ns) / 1e9);
        if (ui.m)
            fprintf(stderr, "; cpu: slowest read %.3f s, first model %.3f s",
                    (double)ld.read_cpu_ns / 1e9, (double)ld.model_cpu_ns / 1e9);
        fprintf(stderr, "\n");
    }
    if (rc == CLI_USAGE)
        cli_eprintf("natlens: %s\n", err);
    if (!done || tui_pkts_busy(&ui.pkts)) {
        /* still reading, pairing or diagnosing, or reading a flow's
         * packets again: none of it can be interrupted at once, and
         * nothing is left to flush; leave without waiting for it */
        fflush(stdout);
        fflush(stderr);
        _exit(rc);
    }
    tui_pkts_free(&ui.pkts);   /* its job reads the traces: before the join */
    tui_model_free((tui_model *)ui.m);
    tui_load_join(&ld);
    tui_ladder_free(&ui.ladder);
    free(ui.dl);
    free(ui.order);
    free(ui.prog);
    return rc;
}

int cmd_tui(int argc, char **argv)
{
    cli_common cc = {NULL, 0, NULL, 0};
    char **paths = NULL, *filter, *bpf = NULL;
    const char *format = NULL;
    size_t n;
    int first, rc = CLI_USAGE, oom = 0;
    nl_tunnel_conf tconf;

    tunnel_conf_default(&tconf);

    filter = cli_take_filter(&argc, argv);
    for (first = 1; first < argc && argv[first][0] == '-' && argv[first][1]; first++) {
        if (cli_common_arg(&cc, argc, argv, &first))
            continue;          /* -r -n -f, shared with correlate and report */
        if (!strcmp(argv[first], "-h") || !strcmp(argv[first], "--help")) {
            tui_usage(stdout);
            rc = CLI_OK;
            goto out;
        }
        if (cli_tunnel_arg(&tconf, argc, argv, &first))
            continue;
        if (!strcmp(argv[first], "--format") && first + 1 < argc) {
            format = argv[++first];
            continue;
        }
        if (!strncmp(argv[first], "--format=", 9)) {
            format = argv[first] + 9;
            continue;
        }
        cli_eprintf("natlens tui: unknown option '%s'\n", argv[first]);
        tui_usage(stderr);
        goto out;
    }
    n = (size_t)cc.nfiles + (size_t)(argc - first);
    if (n == 0) {
        tui_usage(stderr);
        goto out;
    }
    paths = calloc(n + 1, sizeof *paths);
    bpf = cli_filter_and(cc.filter_f, filter, &oom);
    if (!paths || oom) {
        fprintf(stderr, "natlens: out of memory\n");
        goto out;
    }
    /* -r captures first, in their order */
    for (size_t i = 0; i < n; i++)
        paths[i] = i < (size_t)cc.nfiles ? (char *)cc.files[i] : argv[first + (int)i - cc.nfiles];
    tui_load_set_tunnels(&tconf);
    rc = tui_run(paths, n, bpf, format);
out:
    free(paths);
    free(bpf);
    free(filter);
    free(cc.files);
    return rc;
}
