/* cmd_fleet.c - `natlens fleet`: the flow records of many machines joined
 * by ClickHouse.
 *
 *   natlens fleet [--server HOST:PORT] [--init] [--json] [DIR]
 *
 * DIR is a tree of `natlens flows --ndjson` files (*.ndjson). Each folder
 * holding records is one path (a site): its files are its capture points,
 * ordered client side first by the same rule as `correlate DIR` (the
 * point name: client*, fw* / firewall*, others, server*; then the file
 * name). Every file is read with natlens's own reader first; a file it
 * refuses or finds bad lines in is not loaded (said on stderr). Files
 * already loaded (same capture id) are skipped, so a second run adds only
 * what is new. Then the pairing and egress SQL (analyzer/sql/clickhouse/)
 * runs on the server and the fleet's egress table and source changes are
 * printed (--json: with every pair).
 *
 * --init creates the schema on that server (run it once on every server
 * of the cluster natlens_fleet; the Distributed tables span them).
 * Nothing from a file becomes SQL text: records go through INSERT ...
 * FORMAT JSONEachRow on clickhouse-client's standard input, placements are
 * JSON lines of checked words; names reach the terminal escaped.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "natlens/flow_out.h"
#include "natlens/json.h"
#include "natlens/reader_ndjson.h"
#include "natlens/trace.h"
#include "cli.h"
#include "fleet.h"

#define FLEET_MAX_FILES  (1u << 20)
#define FLEET_MAX_DEPTH  16
#define FLEET_PATH_MAX   200

typedef struct fleet_file {
    char *file;                 /* as found under DIR */
    char *path;                 /* folder relative to DIR: the site */
    char  id[65];
    char  point[NL_NDJSON_POINT_MAX + 1];
    int   rank;
    int   hop;
    int   skip;                 /* unusable: neither loaded nor placed */
    int   loaded;               /* its records are in the tables already */
    int   placed;               /* its (capture, path) placement too */
} fleet_file;

typedef struct fleet_set {
    fleet_file *v;
    size_t      n, cap;
} fleet_set;

static void fleet_usage(FILE *f)
{
    fprintf(f, "usage: natlens fleet [--server HOST:PORT] [--init] [--json] [DIR]\n"
               "  DIR            a tree of `natlens flows --ndjson` files; each folder is one path,\n"
               "                 its files the capture points (client*, fw*, others, server*)\n"
               "  --server H:P   the ClickHouse server (clickhouse-client's native port; 127.0.0.1:9000)\n"
               "  --init         create the schema there first (once on every server of the cluster)\n"
               "  --json         egress, source changes and every pair as one JSON document\n");
}

/* ---- finding and checking the files ---- */

static int fleet_word_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > FLEET_PATH_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("._/@+-", c)))
            return 0;
    }
    return 1;
}

static void fleet_escaped(FILE *f, const char *s)
{
    char esc[1024];
    json_escape_text((const uint8_t *)s, strlen(s), esc, sizeof esc);
    fputs(esc, f);
}

static int fleet_add(fleet_set *s, const char *file, const char *rel)
{
    fleet_file *x;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        fleet_file *nv;
        if (nc > FLEET_MAX_FILES || !(nv = realloc(s->v, nc * sizeof *nv)))
            return -1;
        s->v = nv;
        s->cap = nc;
    }
    x = &s->v[s->n];
    memset(x, 0, sizeof *x);
    if (!(x->file = strdup(file)) || !(x->path = strdup(rel[0] ? rel : "."))) {
        free(x->file);
        return -1;
    }
    s->n++;
    return 0;
}

static int fleet_has_ext(const char *n)
{
    size_t l = strlen(n);
    return l > 7 && !strcmp(n + l - 7, ".ndjson");
}

/* Every *.ndjson under dir; rel is the folder relative to the root. */
static int fleet_walk(fleet_set *s, const char *dir, const char *rel, int depth)
{
    DIR *d;
    struct dirent *e;
    int rc = 0;
    if (depth > FLEET_MAX_DEPTH)
        return 0;
    if (!(d = opendir(dir))) {
        fprintf(stderr, "natlens fleet: ");
        fleet_escaped(stderr, dir);
        fprintf(stderr, ": %s\n", strerror(errno));
        return -1;
    }
    while (rc == 0 && (e = readdir(d))) {
        char p[4096], r[4096];
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (lstat(p, &st) != 0)             /* no symlinks: no loops */
            continue;
        if (S_ISDIR(st.st_mode)) {
            snprintf(r, sizeof r, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
            rc = fleet_walk(s, p, r, depth + 1);
        } else if (S_ISREG(st.st_mode) && fleet_has_ext(e->d_name)) {
            rc = fleet_add(s, p, rel);
        }
    }
    closedir(d);
    return rc;
}

/* Read each file with natlens's reader: only clean files are loaded. */
static void fleet_check(fleet_set *s)
{
    char err[512];
    nl_trace_opts o;
    memset(&o, 0, sizeof o);
    for (size_t i = 0; i < s->n; i++) {
        fleet_file *x = &s->v[i];
        nl_trace *t;
        if (!fleet_word_ok(x->path)) {
            fprintf(stderr, "natlens fleet: skipped ");
            fleet_escaped(stderr, x->file);
            fprintf(stderr, ": its folder name is not a usable path name "
                            "(letters, digits, . _ / @ + -)\n");
            x->skip = 1;
            continue;
        }
        if (reader_ndjson_identity(x->file, x->id, x->point, err) < 0 ||
            !(t = trace_load(x->file, &o, err))) {
            fprintf(stderr, "natlens fleet: skipped: ");
            fleet_escaped(stderr, err);
            fputc('\n', stderr);
            x->skip = 1;
            continue;
        }
        if (t->bad_records || t->warning) {
            fprintf(stderr, "natlens fleet: skipped ");
            fleet_escaped(stderr, x->file);
            fprintf(stderr, ": %llu bad lines%s (first: ", (unsigned long long)t->bad_records,
                    t->warning ? ", cut or damaged" : "");
            fleet_escaped(stderr, t->bad_records ? t->bad_first[0] : t->warning);
            fprintf(stderr, ")\n");
            x->skip = 1;
        }
        trace_free(t);
        x->rank = cli_role_rank(x->point);
    }
}

static int fleet_file_cmp(const void *a, const void *b)
{
    const fleet_file *x = a, *y = b;
    int r = strcmp(x->path, y->path);
    if (r)
        return r;
    if (x->rank != y->rank)
        return x->rank - y->rank;
    return strcmp(x->file, y->file);
}

/* Hops along each path in order. A capture may sit on several paths (one
 * server seen by many clients): its records are loaded once, placed on
 * each path; twice on one path it is placed once. */
static void fleet_order(fleet_set *s)
{
    int hop = 0;
    if (s->n > 1)               /* s->v is NULL when the directory held none */
        qsort(s->v, s->n, sizeof *s->v, fleet_file_cmp);
    for (size_t i = 0; i < s->n; i++) {
        fleet_file *x = &s->v[i];
        if (x->skip)
            continue;
        for (size_t k = 0; k < i; k++) {
            if (s->v[k].skip || strcmp(s->v[k].id, x->id))
                continue;
            x->loaded = 1;
            if (!strcmp(s->v[k].path, x->path)) {
                fprintf(stderr, "natlens fleet: skipped ");
                fleet_escaped(stderr, x->file);
                fprintf(stderr, ": the same capture as ");
                fleet_escaped(stderr, s->v[k].file);
                fputc('\n', stderr);
                x->skip = 1;
                break;
            }
        }
        if (x->skip)
            continue;
        if (i == 0 || strcmp(s->v[i - 1].path, x->path))
            hop = 0;
        x->hop = hop++;
    }
}

/* ---- talking to ClickHouse ---- */

/* Split one TSV line into at most max fields (in place). */
static size_t fleet_fields(char *line, char **f, size_t max)
{
    size_t n = 0;
    char *p = line;
    while (n < max) {
        f[n++] = p;
        if (!(p = strchr(p, '\t')))
            break;
        *p++ = '\0';
    }
    return n;
}


/* What the fleet tables hold already: records of a capture, placements of
 * a capture on a path. A second run adds only what is new. */
static void fleet_skip_loaded(const fleet_ch *c, fleet_set *s)
{
    static const char *const q[] = { "--query",
        "SELECT 'c', capture_id, '' FROM natlens.captures UNION ALL "
        "SELECT 'p', capture_id, path FROM natlens.placements FORMAT TabSeparated", NULL };
    char *buf = NULL, *line, *save, *f[4];
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out)
        return;
    if (fleet_ch_run(c, q, NULL, NULL, 0, out) != 0) {
        fclose(out);
        free(buf);
        return;
    }
    fclose(out);
    for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (fleet_fields(line, f, 4) != 3)
            continue;
        for (size_t i = 0; i < s->n; i++) {
            fleet_file *x = &s->v[i];
            if (x->skip || strcmp(x->id, f[1]))
                continue;
            if (f[0][0] == 'c')
                x->loaded = 1;
            else if (!strcmp(x->path, f[2]))
                x->placed = 1;
        }
    }
    free(buf);
}

static int fleet_load(const fleet_ch *c, fleet_set *s, size_t *loaded)
{
    static const char *const ins[] = {
        "--input_format_skip_unknown_fields=1", "--insert_distributed_sync=1",
        "--query", "INSERT INTO natlens.ingest_all FORMAT JSONEachRow", NULL };
    static const char *const place[] = {
        "--insert_distributed_sync=1",
        "--query", "INSERT INTO natlens.placements FORMAT JSONEachRow", NULL };
    const char **paths = calloc(s->n ? s->n : 1, sizeof *paths);
    char *pl = NULL;
    size_t pll = 0, n = 0, np = 0;
    FILE *pf = open_memstream(&pl, &pll);
    int rc = -1;
    if (!paths || !pf)
        goto out;
    for (size_t i = 0; i < s->n; i++) {
        const fleet_file *x = &s->v[i];
        if (x->skip)
            continue;
        if (!x->loaded)
            paths[n++] = x->file;
        if (x->placed)
            continue;
        /* every word was checked: id hex, path [A-Za-z0-9._/@+-] */
        fprintf(pf, "{\"capture_id\":\"%s\",\"path\":\"%s\",\"hop\":%d}\n", x->id, x->path, x->hop);
        np++;
    }
    fclose(pf);
    pf = NULL;
    *loaded = n;
    if ((n && fleet_ch_run(c, ins, NULL, paths, n, NULL) != 0) ||
        (np && fleet_ch_run(c, place, pl, NULL, 0, NULL) != 0)) {
        fprintf(stderr, "natlens fleet: loading into %s:%s failed\n", c->host, c->port);
        goto out;
    }
    rc = 0;
out:
    if (pf)
        fclose(pf);
    free(pl);
    free(paths);
    return rc;
}

static int fleet_sql(const fleet_ch *c, const char *text, const char *what)
{
    static const char *const multi[] = { "--multiquery", NULL };
    if (fleet_ch_run(c, multi, text, NULL, 0, NULL) != 0) {
        fprintf(stderr, "natlens fleet: %s failed on %s:%s\n", what, c->host, c->port);
        return -1;
    }
    return 0;
}

/* The rows of one SELECT as TabSeparated text (malloc'd), or NULL. */
static char *fleet_select(const fleet_ch *c, const char *query)
{
    const char *q[] = { "--query", query, NULL };
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out)
        return NULL;
    if (fleet_ch_run(c, q, NULL, NULL, 0, out) != 0) {
        fclose(out);
        free(buf);
        return NULL;
    }
    fclose(out);
    return buf;
}

/* ---- printing ---- */

#define FLEET_EGRESS_Q \
    "SELECT path, inner_ip, dest_ip, dest_port, proto, egress_ip, first_ns, last_ns, flows, " \
    "seen_at FROM natlens.w_egress ORDER BY path, inner_ip, dest_ip, dest_port, proto, " \
    "first_ns FORMAT TabSeparated"
#define FLEET_CHANGES_Q \
    "SELECT path, inner_ip, dest_ip, has_port, dest_port, proto, from_ip, to_ip, at_ns, " \
    "prev_ns FROM natlens.w_changes ORDER BY path, inner_ip, dest_ip, at_ns, has_port, " \
    "dest_port FORMAT TabSeparated"
#define FLEET_MATCHES_Q \
    "SELECT path, near_hop, near_cap, near_id, far_cap, far_id, how, flip FROM natlens.w_matches " \
    "ORDER BY path, near_hop, near_id FORMAT TabSeparated"

static const char *fleet_proto(const char *num, char *buf, size_t len)
{
    return flow_proto_name((uint8_t)strtoul(num, NULL, 10), buf, len);
}

static void fleet_json_rows(nl_json *j, const char *key, char *rows, const char *const *names,
                            size_t nf)
{
    char *save, *line, *f[16], pb[16];
    json_arr_begin(j, key);
    for (line = rows ? strtok_r(rows, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
        if (fleet_fields(line, f, 16) != nf)
            continue;
        int icmp = 0;
        for (size_t i = 0; i < nf; i++)
            if (!strcmp(names[i], "proto") && (!strcmp(f[i], "1") || !strcmp(f[i], "58")))
                icmp = 1;
        json_obj_begin(j, NULL);
        for (size_t i = 0; i < nf; i++) {
            const char *n = names[i];
            size_t l = strlen(n);
            if (!strcmp(n, "dest_port") && icmp)
                json_null(j, n);          /* as correlate: an ICMP id is no port */
            else if (!strcmp(n, "proto"))
                json_str(j, n, fleet_proto(f[i], pb, sizeof pb));
            else if (l > 3 && !strcmp(n + l - 3, "_ns"))
                json_ts(j, n, strtoull(f[i], NULL, 10));
            else if (strchr("0123456789", f[i][0]) && strspn(f[i], "0123456789") == strlen(f[i]) &&
                     strcmp(n, "path"))
                json_uint(j, n, strtoull(f[i], NULL, 10));
            else
                json_str(j, n, f[i]);
        }
        json_obj_end(j);
    }
    json_arr_end(j);
}

static void fleet_print_json(char *eg, char *ch, char *m)
{
    static const char *const egn[] = { "path", "inner_ip", "dest_ip", "dest_port", "proto",
        "egress_ip", "first_ns", "last_ns", "flows", "seen_at" };
    static const char *const chn[] = { "path", "inner_ip", "dest_ip", "has_port", "dest_port",
        "proto", "from_ip", "to_ip", "at_ns", "prev_ns" };
    static const char *const mn[] = { "path", "near_hop", "near_capture_id", "near_id",
        "far_capture_id", "far_id", "how", "flipped" };
    nl_json j;
    json_init(&j, stdout, 1);
    json_obj_begin(&j, NULL);
    fleet_json_rows(&j, "egress", eg, egn, 10);
    fleet_json_rows(&j, "ip_changes", ch, chn, 10);
    fleet_json_rows(&j, "matches", m, mn, 8);
    json_obj_end(&j);
    json_finish(&j);
}

static void fleet_print_text(char *eg, char *ch)
{
    char *save, *line, *f[16], pb[16], t0[32], t1[32];
    printf("EGRESS \xe2\x80\x94 the source address each destination saw, per path and inner host\n");
    printf("  %-16s %-15s %-21s %-5s %-15s %-15s %-15s %5s\n", "PATH", "INNER", "DESTINATION",
           "PROTO", "EGRESS", "FIRST (UTC)", "LAST (UTC)", "FLOWS");
    for (line = eg ? strtok_r(eg, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
        char dst[96];
        if (fleet_fields(line, f, 16) != 10)
            continue;
        if (!strcmp(f[4], "1") || !strcmp(f[4], "58"))   /* ICMP: the address alone */
            snprintf(dst, sizeof dst, "%s", f[2]);
        else
            snprintf(dst, sizeof dst, "%s:%s", f[2], f[3]);
        printf("  ");
        fleet_escaped(stdout, f[0]);
        printf("%*s %-15s %-21s %-5s %-15s %-15s %-15s %5s\n",
               (int)(strlen(f[0]) < 16 ? 16 - strlen(f[0]) : 0), "", f[1], dst,
               fleet_proto(f[4], pb, sizeof pb), f[5],
               flow_out_time(strtoull(f[6], NULL, 10), t0, sizeof t0, 0),
               flow_out_time(strtoull(f[7], NULL, 10), t1, sizeof t1, 0), f[8]);
    }
    printf("\nSOURCE CHANGES\n");
    for (line = ch ? strtok_r(ch, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
        if (fleet_fields(line, f, 16) != 10)
            continue;
        printf("  ");
        fleet_escaped(stdout, f[0]);
        printf(": %s \xe2\x86\x92 %s%s%s: %s became %s at %s UTC\n", f[1], f[2],
               f[3][0] == '1' ? ":" : "", f[3][0] == '1' ? f[4] : "", f[6], f[7],
               flow_out_time(strtoull(f[8], NULL, 10), t0, sizeof t0, 0));
    }
}

/* ---- the command ---- */

int cmd_fleet(int argc, char **argv)
{
    fleet_ch c;
    fleet_set s;
    const char *server = "127.0.0.1:9000", *dir = NULL;
    int init = 0, as_json = 0, rc = CLI_USAGE;
    size_t loaded = 0;
    char *eg = NULL, *ch = NULL, *m = NULL;

    memset(&s, 0, sizeof s);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--server") && i + 1 < argc)
            server = argv[++i];
        else if (!strncmp(a, "--server=", 9))
            server = a + 9;
        else if (!strcmp(a, "--init"))
            init = 1;
        else if (!strcmp(a, "--json"))
            as_json = 1;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fleet_usage(stdout);
            return CLI_OK;
        } else if (a[0] == '-' || dir) {
            fputs("natlens fleet: ", stderr);
            fleet_escaped(stderr, a);
            fprintf(stderr, ": %s\n", a[0] == '-' ? "unknown option or missing value" : "one DIR only");
            fleet_usage(stderr);
            return CLI_USAGE;
        } else
            dir = a;
    }
    if (fleet_ch_target(&c, server) < 0)
        return CLI_USAGE;
    if (init && fleet_sql(&c, fleet_sql_schema, "creating the schema") < 0)
        return CLI_USAGE;
    if (init && !dir)
        return CLI_OK;
    if (dir) {
        if (fleet_walk(&s, dir, "", 0) < 0)
            goto out;
        fleet_check(&s);
        fleet_order(&s);
        fleet_skip_loaded(&c, &s);
        if (fleet_load(&c, &s, &loaded) < 0)
            goto out;
        fprintf(stderr, "natlens fleet: loaded %zu capture files into %s:%s\n", loaded,
                c.host, c.port);
    }
    if (fleet_sql(&c, fleet_sql_pair, "pairing") < 0 ||
        fleet_sql(&c, fleet_sql_egress, "the egress queries") < 0)
        goto out;
    eg = fleet_select(&c, FLEET_EGRESS_Q);
    ch = fleet_select(&c, FLEET_CHANGES_Q);
    m = as_json ? fleet_select(&c, FLEET_MATCHES_Q) : NULL;
    if (!eg || !ch || (as_json && !m))
        goto out;
    if (as_json)
        fleet_print_json(eg, ch, m);
    else
        fleet_print_text(eg, ch);
    rc = CLI_OK;
out:
    free(eg);
    free(ch);
    free(m);
    for (size_t i = 0; i < s.n; i++) {
        free(s.v[i].file);
        free(s.v[i].path);
    }
    free(s.v);
    return rc;
}
