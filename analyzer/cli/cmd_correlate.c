/* cmd_correlate.c - `natlens correlate`: pair flows across captures taken
 * client side first, print egress addresses, source changes, the paired
 * flows and findings (text), or the contract's JSON document.
 *
 *   natlens correlate [--json] [--fail-on-findings] [--max-flows N]
 *                     FILE_NEAR FILE_FAR [FILE...]
 *   natlens correlate [options] DIR
 *
 * DIR: every *.pcap, *.pcapng and *.cap file in it, ordered by role: the
 * role natlens-capture recorded in the file's host metadata (--role), else
 * the file name: client* first, then fw* / firewall*, then any other name,
 * server* last (alphabetical inside a role); the files of one host are one
 * capture point (cli_dir.c). A FILE may be A+B, one point (trace.h).
 *
 * Exit: 0 ok; 1 findings with --fail-on-findings; 2 bad usage or a capture
 * that cannot be read (the message names the file).
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <netinet/in.h>

#include "natlens/correlate.h"
#include "natlens/diagnose.h"
#include "natlens/hostmeta.h"
#include "natlens/flow_out.h"
#include "natlens/json.h"
#include "natlens/redact.h"
#include "natlens/trace.h"
#include "natlens/trace_out.h"
#include "cli.h"

/* ------------------------------------------------------------------ */
/* arguments and inputs                                                */

static void usage(FILE *f)
{
    fprintf(f,
        "usage: natlens correlate [--json|--csv] [--fail-on-findings] [--strict] [--all] [--top N]\n"
        "                         [--max-flows N] [--format NAME] [--community-id-seed N] [--redact]\n"
        "                         [--tunnel-port KIND=PORT]... [--tunnel-depth N]\n"
        "                         [-q] [-n] [-f EXPR] [-r FILE]...\n"
        "                         FILE_NEAR[+FILE...] FILE_FAR[+FILE...] [FILE...] [-- BPF expression]\n"
        "       natlens correlate [options] DIR [-- BPF expression]\n"
        "  Captures are given client side first. DIR takes every .pcap/.pcapng/.cap\n"
        "  file in it, ordered by the role recorded by natlens-capture, else by name:\n"
        "  client*, fw*/firewall*, others, server*. A FILE may be a record file (conntrack,\n"
        "  Cloud NAT / flow logs, Zeek conn.log), detected from its content.\n"
        "  A+B[+C...]: several files of one host (one per interface) are one capture\n"
        "  point, merged by time like mergecap (a file whose name holds '+' is still\n"
        "  that file); frames are cited with their file. DIR mode groups a host's\n"
        "  files into one point: same host in natlens-capture's host context, else the\n"
        "  name before the last '-' (server-eth0, server-eth1: server); it says so.\n"
        "  --json              one JSON document (natlens(1), OUTPUT)\n"
        "  --csv               one CSV row per connection followed or seen at one capture\n"
        "  --fail-on-findings  exit 1 when a warning or error was found\n"
        "  --strict            exit 3 when an input was damaged, cut or read only in part\n"
        "  --all               text: every egress row and every flow\n"
        "  --top N             text: N egress rows and N flows (default 20 and 40, problems first)\n"
        "  --max-flows N       cap live flows per capture; least recently used are evicted\n"
        "  --format NAME       read every file that is not a capture with this record reader\n"
        "  --redact            for sharing: inner addresses, MACs, host and file names become\n"
        "                      stable placeholders (inner-1, mac-1, capture-1.pcap...);\n"
        "                      egress addresses stay\n"
        "  --community-id-seed N  Community ID seed of the flows in JSON, 0..65535\n"
        "  -q, --quiet         no progress on stderr\n"
        "  -r FILE             a capture (as tcpdump; may repeat), before the others\n"
        "  -f EXPR             BPF filter for every capture; so are the words after --\n"
        "  -n                  accepted (natlens never resolves names)\n"
        CLI_TUNNEL_USAGE);
}

static int has_capture_ext(const char *n)
{
    static const char *const ext[] = { ".pcap", ".pcapng", ".cap" };
    /* compressed captures too: natlens reads them by content */
    static const char *const zext[] = { "", ".gz", ".zst", ".xz", ".lz4" };
    size_t ln = strlen(n);
    for (size_t z = 0; z < sizeof zext / sizeof zext[0]; z++)
        for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
            size_t le = strlen(ext[i]), lz = strlen(zext[z]);
            if (ln > le + lz && strcasecmp(n + ln - lz, zext[z]) == 0 &&
                strncasecmp(n + ln - lz - le, ext[i], le) == 0)
                return 1;
        }
    return 0;
}

/* The role natlens-capture recorded in the file (--role), else the name. */
static int file_rank(const char *path)
{
    char err[512], role[64];
    const char *base = strrchr(path, '/');
    int rank = cli_role_rank(base ? base + 1 : path);
    char *meta = hostmeta_read(path, err);
    if (meta && hostmeta_get_str(meta, "role", role, sizeof role) == 0 && role[0])
        rank = cli_role_rank(role);
    free(meta);
    return rank;
}

typedef struct dir_entry {
    char *path;
    int   rank;
} dir_entry;

static int dir_entry_cmp(const void *a, const void *b)
{
    const dir_entry *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank - y->rank;
    return strcmp(x->path, y->path);
}

/* Capture files of a directory in role order. Returns the count, -1 on
 * error (message printed). *out is malloc'd, entries too. */
static int list_dir(const char *dir, char ***out)
{
    DIR *d = opendir(dir);
    if (!d) {
        cli_eprintf("natlens correlate: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    dir_entry *v = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !has_capture_ext(e->d_name))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            dir_entry *nv = realloc(v, (size_t)cap * sizeof *nv);
            if (!nv)
                break;
            v = nv;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        v[n].path = malloc(len);
        if (!v[n].path)
            break;
        snprintf(v[n].path, len, "%s/%s", dir, e->d_name);
        v[n].rank = file_rank(v[n].path);
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(v, (size_t)n, sizeof *v, dir_entry_cmp);
    char **paths = malloc(((size_t)n + 1) * sizeof *paths);
    if (!paths) {
        for (int i = 0; i < n; i++)
            free(v[i].path);
        free(v);
        return -1;
    }
    for (int i = 0; i < n; i++)
        paths[i] = v[i].path;
    free(v);
    *out = paths;
    return n;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int env_utf8(void)
{
    const char *vars[] = { "LC_ALL", "LC_CTYPE", "LANG" };
    for (size_t i = 0; i < 3; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return strcasestr(v, "utf-8") || strcasestr(v, "utf8");
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* FINDINGS: the single place where findings are produced. The diagnose
 * module (diagnose.h) reads the finished nl_correlation; text and JSON
 * writers below only print what it returned. Failing to diagnose (out of
 * memory) leaves an empty list rather than no report. */

static nl_findings *findings_make(const nl_correlation *c)
{
    nl_findings *fs = diagnose_new();
    if (fs && diagnose_correlation(fs, c) < 0)
        cli_eprintf("natlens correlate: warning: findings incomplete (out of memory)\n");
    return fs;
}

/* What --fail-on-findings counts: warnings and errors, not notes. */
static size_t findings_count(const nl_findings *fs)
{
    return fs ? diagnose_count_at_least(fs, NL_SEV_WARNING) : 0;
}

static void findings_json(nl_json *j, const nl_findings *fs)
{
    if (fs) {
        diagnose_json(j, "findings", fs);
        return;
    }
    json_arr_begin(j, "findings");
    json_arr_end(j);
}

/* ------------------------------------------------------------------ */
/* JSON                                                                */

static void json_report(FILE *out, const nl_correlation *c,
                        const nl_findings *fs, nl_trace **tr, uint16_t cid_seed)
{
    nl_json j;
    json_init(&j, out, 1);
    j.community_id_seed = cid_seed;
    json_obj_begin(&j, NULL);
    json_schema(&j);
    correlate_json(&j, c);
    findings_json(&j, fs);
    trace_out_json_probes(&j, "probes", tr, c->ncaps);
    json_obj_end(&j);
    json_finish(&j);
}

/* ------------------------------------------------------------------ */

int cmd_correlate(int argc, char **argv)
{
    int as_json = 0, as_csv = 0, fail_on = 0, rc = 2, all = 0, strict = 0, redact = 0;
    unsigned long top = 0;
    unsigned long max_flows = 0;
    const char *rec_format = NULL;
    const char **files = NULL;
    int nfiles = 0;
    char **dir_files = NULL;
    int ndir = 0, npoints = 0;
    char **points = NULL;
    cli_common cc = {NULL, 0, NULL, 0};
    char *after_dashes = cli_take_filter(&argc, argv), *bpf = NULL;
    int oom;
    nl_tunnel_conf tconf;

    tunnel_conf_default(&tconf);

    files = calloc((size_t)argc + 1, sizeof *files);
    if (!files)
        return 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_common_arg(&cc, argc, argv, &i)) {
            /* -r -n -f --community-id-seed, shared with report and tui */
        } else if (cli_tunnel_arg(&tconf, argc, argv, &i)) {
            continue;
        } else if (strcmp(a, "--json") == 0) {
            as_json = 1;
        } else if (strcmp(a, "--csv") == 0) {
            as_csv = 1;
        } else if (strcmp(a, "--fail-on-findings") == 0) {
            fail_on = 1;
        } else if (strcmp(a, "--all") == 0) {
            all = 1;
        } else if (strcmp(a, "--strict") == 0) {
            strict = 1;
        } else if (strcmp(a, "--redact") == 0) {
            redact = 1;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            cli_quiet = 1;
        } else if (strcmp(a, "--top") == 0 || strncmp(a, "--top=", 6) == 0) {
            const char *val = a[5] == '=' ? a + 6 : (i + 1 < argc ? argv[++i] : NULL);
            top = cli_parse_count("--top", val);
        } else if (strcmp(a, "--max-flows") == 0 ||
                   strncmp(a, "--max-flows=", 12) == 0) {
            const char *val = a[11] == '=' ? a + 12 : (i + 1 < argc ? argv[++i] : NULL);
            max_flows = cli_parse_count("--max-flows", val);
            if (max_flows > UINT32_MAX)
                max_flows = UINT32_MAX;
        } else if (strcmp(a, "--format") == 0 || strncmp(a, "--format=", 9) == 0) {
            rec_format = a[8] == '=' ? a + 9 : (i + 1 < argc ? argv[++i] : NULL);
            if (!rec_format) {
                fprintf(stderr, "natlens correlate: --format needs a record format name\n");
                goto out;
            }
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            rc = 0;
            goto out;
        } else if (a[0] == '-' && a[1]) {
            cli_eprintf("natlens correlate: unknown option %s\n", a);
            usage(stderr);
            goto out;
        } else {
            files[nfiles++] = a;
        }
    }
    bpf = cli_filter_and(cc.filter_f, after_dashes, &oom);
    if (oom)
        goto out;
    if (cc.nfiles) {
        /* -r files come first, in their order */
        memmove(files + cc.nfiles, files, (size_t)nfiles * sizeof *files);
        memcpy(files, cc.files, (size_t)cc.nfiles * sizeof *files);
        nfiles += cc.nfiles;
    }
    if (nfiles == 1 && is_dir(files[0])) {
        ndir = list_dir(files[0], &dir_files);
        if (ndir < 0)
            goto out;
        if (ndir < 2) {
            cli_eprintf("natlens correlate: %s: needs at least two capture "
                    "files (*.pcap, *.pcapng, *.cap), found %d\n", files[0], ndir);
            goto out;
        }
        /* the files of one host are one capture point, not hops */
        if ((npoints = cli_dir_points(dir_files, ndir, &points)) < 0)
            goto out;
        if (npoints < 2) {
            cli_eprintf("natlens correlate: %s: its files are one capture point; correlate "
                        "needs two\n", files[0]);
            goto out;
        }
        const char **nf = realloc(files, ((size_t)npoints + 1) * sizeof *nf);
        if (!nf)
            goto out;
        files = nf;
        for (nfiles = 0; nfiles < npoints; nfiles++)
            files[nfiles] = points[nfiles];
    }
    if (nfiles < 2) {
        usage(stderr);
        goto out;
    }
    if (cli_stdin_once("correlate", files, nfiles) < 0)
        goto out;

    nl_trace **tr = calloc((size_t)nfiles, sizeof *tr);
    if (!tr)
        goto out;
    nl_trace_opts topt;
    memset(&topt, 0, sizeof topt);
    /* records only for the flows the findings need and a bounded sample:
     * pairing keys live in the summary (nl_flow.sig), and where a flow
     * kept no records the ladder says "not known here", never "not seen"
     * (flow_table.h) - so memory is bounded by flows, not packets */
    topt.keep_packets = 1;
    topt.keep_policy = NL_KEEP_NEEDED;
    topt.max_flows = (uint32_t)max_flows;
    topt.bpf = bpf;
    topt.format = rec_format;   /* record files only; captures stay captures */
    topt.tunnels = &tconf;
    int loaded = 1;
    for (int i = 0; i < nfiles; i++)
        if (is_dir(files[i])) {
            cli_eprintf("natlens correlate: %s: is a directory (give one "
                    "directory alone, or files)\n", files[i]);
            loaded = 0;
        }
    /* names the file on error */
    if (loaded && cli_load_traces(files, (size_t)nfiles, &topt, tr) < 0)
        loaded = 0;
    if (loaded) {
        char err[256] = "";
        cli_stage("pairing the captures' connections");
        nl_correlation *c = correlate_traces(tr, (size_t)nfiles, NULL, err);
        cli_stage(NULL);
        if (!c) {
            cli_eprintf("natlens correlate: %s\n", err);
        } else {
            cli_stage("looking for problems");
            nl_findings *fs = findings_make(c);
            cli_stage(NULL);
            /* --redact: every presenter writes through the redaction filter */
            nl_redact *rd = redact ? redact_new() : NULL;
            FILE *out = stdout;
            if (redact && (!rd || redact_learn_correlation(rd, c) < 0 ||
                           !(out = redact_fopen(rd, stdout, as_json || as_csv ? 0 : NL_REDACT_COLUMNS)))) {
                fprintf(stderr, "natlens correlate: out of memory\n");
                out = NULL;
            } else if (as_csv) {
                cli_correlate_csv(out, c);
            } else if (as_json) {
                json_report(out, c, fs, tr, cc.cid_seed);
            } else {
                cli_correlate_view v = { out, cli_use_color(stdout), env_utf8(), all,
                                         top ? top : 20, top ? top : 40, c, fs };
                cli_correlate_text(&v);
                trace_out_text_probes(out, tr, c->ncaps);
            }
            if (out && out != stdout)
                fclose(out);
            redact_free(rd);
            fflush(stdout);
            rc = !out ? CLI_USAGE : fail_on && findings_count(fs) > 0 ? CLI_FINDINGS : CLI_OK;
            if (strict && cli_partial)
                rc = CLI_PARTIAL;
            diagnose_free(fs);           /* borrows flows: before the traces */
            correlate_free(c);
        }
    }
    for (int i = 0; i < nfiles; i++)
        if (tr[i])
            trace_free(tr[i]);
    free(tr);
out:
    for (int i = 0; i < ndir; i++)
        free(dir_files[i]);
    free(dir_files);
    for (int i = 0; i < npoints; i++)
        free(points[i]);
    free(points);
    free(files);
    free(cc.files);
    free(bpf);
    free(after_dashes);
    return rc;
}
