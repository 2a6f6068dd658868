/* cli_dir.c - `correlate DIR`: the files of one host form one capture
 * point (FILE+FILE, trace.h) instead of successive hops.
 *
 * Which files belong to one host: natlens-capture's host context says it
 * (the same hostname and session in the pcapng section header), else the
 * name does: the part before the last '-' (server-eth0.pcap and
 * server-eth1.pcap are host "server"). A file named for the host alone
 * (server.pcap) next to per-interface files is, when it is an all-interface
 * capture (Linux "cooked" link type, what `tcpdump -i any` writes), the
 * host's whole traffic: it stands for the host and the per-interface files
 * are left out, since merging them would count every packet twice.
 * Everything grouped or left out is said on stderr. Bounds: the files of
 * the directory (already listed), NL_POINT_MAX_FILES per point.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pcap/pcap.h>
#include "natlens/frame_ref.h"
#include "natlens/hostmeta.h"
#include "natlens/source.h"
#include "cli.h"

typedef struct dir_file {
    const char *path;
    char key[200];       /* the host it belongs to */
    int  bare;           /* named for the host alone (no '-') */
    int  from_meta;      /* key from the host context */
    int  point;          /* its group, -1 left out */
} dir_file;

static const char *dir_base(const char *p)
{
    const char *b = strrchr(p, '/');
    return b && b[1] ? b + 1 : p;
}

/* The host a file belongs to: hostname/session from the host context,
 * else its name before the last '-' (the name without extensions when it
 * has no '-'). */
static void dir_key(dir_file *f)
{
    char err[512], host[128] = "", sess[64] = "", stem[160];
    char *meta = hostmeta_read(f->path, err);
    const char *dash;
    size_t n;
    if (meta && hostmeta_get_str(meta, "hostname", host, sizeof host) == 0 && host[0]) {
        if (hostmeta_get_str(meta, "session", sess, sizeof sess) != 0)
            sess[0] = '\0';
        snprintf(f->key, sizeof f->key, "host %s%s%s", host, sess[0] ? ", session " : "", sess);
        f->from_meta = 1;
        free(meta);
        return;
    }
    free(meta);
    n = strcspn(dir_base(f->path), ".");
    snprintf(stem, sizeof stem, "%.*s", (int)(n < sizeof stem ? n : sizeof stem - 1),
             dir_base(f->path));
    dash = strrchr(stem, '-');
    if (dash && dash > stem) {
        snprintf(f->key, sizeof f->key, "%.*s", (int)(dash - stem), stem);
    } else {
        snprintf(f->key, sizeof f->key, "%s", stem);
        f->bare = 1;
    }
}

/* Is it an all-interface capture (LINUX_SLL / SLL2)? Read through the
 * library, so compressed files answer too; 0 when it cannot be read. */
static int dir_all_interfaces(const char *path)
{
    char err[512];
    nl_source *s = source_open(path, NULL, err);
    int lt;
    if (!s)
        return 0;
    lt = source_linktype(s);
    source_close(s);
    return lt == DLT_LINUX_SLL || lt == DLT_LINUX_SLL2;
}

/* Join the paths of group g with '+' (malloc'd). */
static char *dir_join(const dir_file *v, int n, int g)
{
    size_t len = 1;
    char *j;
    for (int i = 0; i < n; i++)
        if (v[i].point == g)
            len += strlen(v[i].path) + 1;
    if (!(j = malloc(len)))
        return NULL;
    j[0] = '\0';
    for (int i = 0; i < n; i++)
        if (v[i].point == g) {
            if (j[0])
                strcat(j, "+");
            strcat(j, v[i].path);
        }
    return j;
}

/* Decide the groups of files sharing f[i]'s key: one point, or the bare
 * all-interface file alone. Returns the number of files in the point. */
static int dir_group(dir_file *v, int n, int i, int g)
{
    int members = 0, bare = -1;
    for (int k = i; k < n; k++)
        if (v[k].point == -2 && !strcmp(v[k].key, v[i].key)) {
            members++;
            if (v[k].bare && !v[k].from_meta && bare < 0)
                bare = k;
        }
    if (members > 1 && bare >= 0 && dir_all_interfaces(v[bare].path)) {
        for (int k = i; k < n; k++)
            if (v[k].point == -2 && !strcmp(v[k].key, v[i].key))
                v[k].point = k == bare ? g : -1;
        cli_eprintf("natlens correlate: %s is an all-interface capture of host %s: it stands "
                    "for that host; left out", dir_base(v[bare].path), v[i].key);
        for (int k = i; k < n; k++)
            if (v[k].point == -1 && !strcmp(v[k].key, v[i].key))
                cli_eprintf(" %s", dir_base(v[k].path));
        cli_eprintf(" (give them as FILE+FILE to use them instead)\n");
        return 1;
    }
    if (members > NL_POINT_MAX_FILES) {
        v[i].point = g;    /* too many for one point: each is its own */
        return 1;
    }
    for (int k = i; k < n; k++)
        if (v[k].point == -2 && !strcmp(v[k].key, v[i].key))
            v[k].point = g;
    return members;
}

int cli_dir_points(char **paths, int n, char ***out)
{
    dir_file *v = calloc((size_t)(n ? n : 1), sizeof *v);
    char **pts = calloc((size_t)n + 1, sizeof *pts);
    int np = 0;
    if (!v || !pts) {
        free(v);
        free(pts);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        v[i].path = paths[i];
        v[i].point = -2;     /* not decided */
        /* a '+' in a path would split it again: such a file stays alone */
        if (strchr(paths[i], '+'))
            snprintf(v[i].key, sizeof v[i].key, "\n%d", i);
        else
            dir_key(&v[i]);
    }
    /* points in the order of their first file (the role order) */
    for (int i = 0; i < n; i++) {
        if (v[i].point != -2)
            continue;
        int members = dir_group(v, n, i, np);
        if (!(pts[np] = dir_join(v, n, np)))
            break;
        if (members > 1) {
            cli_eprintf("natlens correlate: one capture point for %s%s:", v[i].from_meta ?
                        "" : "host ", v[i].key);
            for (int k = 0; k < n; k++)
                if (v[k].point == np)
                    cli_eprintf(" %s", dir_base(v[k].path));
            cli_eprintf(" (merged by time; %s)\n", v[i].from_meta ?
                        "same host in natlens-capture's host context" : "by the file names");
        }
        np++;
    }
    free(v);
    *out = pts;
    return np;
}
