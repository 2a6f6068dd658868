/* cap_meta.c - collect the capturing host's context as one JSON document.
 *
 * iproute2's own JSON output (`ip -j ...`) is stored verbatim: it is the
 * format engineers already read, it covers every table and rule type, and
 * it is validated (hostmeta_json_valid) before being embedded so a broken
 * tool can never break the document. Commands run without a shell, with a
 * time limit and an output cap; a missing tool or permission becomes null
 * plus a line in "errors". Interfaces are also listed from getifaddrs(), so
 * the ifindex -> name map (needed for `-i any`) exists even without ip.
 * The tools are the system's (/usr/sbin, /sbin, /usr/bin, /bin, in that
 * order), never looked up through PATH: natlens-capture runs as root. */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/timex.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "natlens/hostmeta.h"
#include "cap.h"

#ifndef NATLENS_VERSION
#define NATLENS_VERSION "dev"
#endif
#define META_CMD_MAX_OUT  (8u << 20)
#define META_CMD_TIMEOUT_MS 3000

/* ------------------------------------------------------- string builder */

void cap_sb_raw(cap_sb *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 4096;
        char *np;
        while (nc < b->n + n + 1)
            nc *= 2;
        np = realloc(b->p, nc);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

void cap_sb_puts(cap_sb *b, const char *s)
{
    cap_sb_raw(b, s, strlen(s));
}

void cap_sb_printf(cap_sb *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        cap_sb_raw(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void cap_sb_str(cap_sb *b, const char *s, size_t n)
{
    cap_sb_raw(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            cap_sb_raw(b, esc, 2);
        } else if (c == '\n') {
            cap_sb_raw(b, "\\n", 2);
        } else if (c == '\t') {
            cap_sb_raw(b, "\\t", 2);
        } else if (c < 0x20 || c == 0x7f || c >= 0x80) {
            /* Bytes >= 0x80 as \u00XX too: never emit invalid UTF-8. */
            snprintf(esc, sizeof esc, "\\u%04x", c);
            cap_sb_raw(b, esc, 6);
        } else {
            cap_sb_raw(b, (const char *)&c, 1);
        }
    }
    cap_sb_raw(b, "\"", 1);
}

static void sb_key(cap_sb *b, const char *k)
{
    cap_sb_raw(b, ",", 1);
    cap_sb_str(b, k, strlen(k));
    cap_sb_raw(b, ":", 1);
}

static void sb_kstr(cap_sb *b, const char *k, const char *v)
{
    sb_key(b, k);
    if (v)
        cap_sb_str(b, v, strlen(v));
    else
        cap_sb_puts(b, "null");
}

uint64_t cap_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------- commands */

/* The system's own copy of a tool, never one found through PATH:
 * natlens-capture runs as root, and an inherited PATH (a user's ~/bin, a
 * tool manager's shims) must not choose what root executes. The first of
 * the fixed candidates that is an executable regular file, or NULL. */
static const char *meta_tool(const char *name, char *buf, size_t len)
{
    static const char *const dirs[] = {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"};
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        struct stat st;
        snprintf(buf, len, "%s%s", dirs[d], name);
        if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
            return buf;
    }
    return NULL;
}

/* Run argv (no shell, argv[0] looked up by meta_tool()), stdout into *out
 * (malloc'd, NUL-terminated). Returns the exit status (0 = success), 127
 * when the tool is not installed, -1 on spawn failure / timeout. Safe to
 * call from a thread: the child only calls async-signal-safe functions
 * before execve (its environment is made here, not with setenv). */
static int meta_run(const char *const argv[], char **out, size_t *outlen)
{
    int pfd[2], status = 0, timed_out = 0;
    pid_t pid;
    cap_sb b = {0};
    uint64_t deadline = cap_now_ns() + (uint64_t)META_CMD_TIMEOUT_MS * 1000000u;

    /* plain C locale: stable, parseable output; a fixed PATH for what the
     * tool itself may run */
    static char env_lc[] = "LC_ALL=C", env_path[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
    static char *const envp[] = {env_lc, env_path, NULL};
    char toolbuf[64];
    const char *tool = meta_tool(argv[0], toolbuf, sizeof toolbuf);

    *out = NULL;
    *outlen = 0;
    if (!tool)
        return 127;
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return -1;
    pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        dup2(pfd[1], STDOUT_FILENO);
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
            dup2(devnull, STDERR_FILENO);
        }
        execve(tool, (char *const *)argv, envp);
        _exit(127);
    }
    close(pfd[1]);
    for (;;) {
        char buf[8192];
        struct pollfd p = {.fd = pfd[0], .events = POLLIN};
        int64_t left = (int64_t)(deadline - cap_now_ns()) / 1000000;
        ssize_t r;
        if ((int64_t)(deadline - cap_now_ns()) <= 0) {
            timed_out = 1;
            break;
        }
        if (poll(&p, 1, (int)(left > 0 ? left : 1)) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        r = read(pfd[0], buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (b.n + (size_t)r > META_CMD_MAX_OUT) {
            timed_out = 1;   /* runaway output: treat like a hang */
            break;
        }
        cap_sb_raw(&b, buf, (size_t)r);
    }
    close(pfd[0]);
    if (timed_out)
        kill(pid, SIGKILL);   /* our own child, by pid */
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (timed_out || b.oom || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        free(b.p);
        return timed_out ? -1 : (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    *out = b.p ? b.p : strdup("");
    *outlen = b.n;
    return 0;
}

/* Embed `ip -j ...` output under key, or null with an error line. */
static void meta_json_cmd(cap_sb *b, cap_sb *errs, const char *key,
                          const char *const argv[])
{
    char *out;
    size_t n;
    int rc = meta_run(argv, &out, &n);
    sb_key(b, key);
    while (rc == 0 && n && (out[n - 1] == '\n' || out[n - 1] == ' '))
        n--;
    if (rc == 0 && n && hostmeta_json_valid(out, n)) {
        cap_sb_raw(b, out, n);
    } else {
        char msg[160];
        cap_sb_puts(b, "null");
        snprintf(msg, sizeof msg, "%s: %s", key,
                 rc == 0 ? "output is not JSON" :
                 rc == 127 ? "command not found" :
                 rc < 0 ? "timed out or could not run" : "command failed");
        cap_sb_raw(errs, ",", 1);
        cap_sb_str(errs, msg, strlen(msg));
    }
    free(out);
}

static void meta_text_cmd(cap_sb *b, cap_sb *errs, const char *key,
                          const char *const argv[])
{
    char *out;
    size_t n;
    int rc = meta_run(argv, &out, &n);
    sb_key(b, key);
    if (rc == 0) {
        cap_sb_str(b, out, n);
    } else {
        char msg[160];
        cap_sb_puts(b, "null");
        snprintf(msg, sizeof msg, "%s: %s", key,
                 rc == 127 ? "command not found" :
                 rc < 0 ? "timed out or could not run" :
                 "not readable (needs root / CAP_NET_ADMIN?)");
        cap_sb_raw(errs, ",", 1);
        cap_sb_str(errs, msg, strlen(msg));
    }
    free(out);
}

/* ------------------------------------------------------- getifaddrs */

static void meta_ifaces(cap_sb *b)
{
    struct if_nameindex *ni = if_nameindex(), *it;
    struct ifaddrs *ifa = NULL;
    int first = 1;

    sb_key(b, "ifaces");
    cap_sb_puts(b, "[");
    if (getifaddrs(&ifa) != 0)
        ifa = NULL;
    for (it = ni; it && it->if_index; it++) {
        int afirst = 1;
        char mac[32] = "";
        cap_sb_puts(b, first ? "{" : ",{");
        first = 0;
        cap_sb_printf(b, "\"index\":%u,\"name\":", it->if_index);
        cap_sb_str(b, it->if_name, strlen(it->if_name));
        for (struct ifaddrs *a = ifa; a; a = a->ifa_next)
            if (a->ifa_addr && a->ifa_addr->sa_family == AF_PACKET &&
                strcmp(a->ifa_name, it->if_name) == 0) {
                const struct sockaddr_ll *ll = (const void *)a->ifa_addr;
                if (ll->sll_halen == 6)
                    snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x",
                             ll->sll_addr[0], ll->sll_addr[1], ll->sll_addr[2],
                             ll->sll_addr[3], ll->sll_addr[4], ll->sll_addr[5]);
            }
        cap_sb_puts(b, ",\"mac\":");
        if (mac[0])
            cap_sb_str(b, mac, strlen(mac));
        else
            cap_sb_puts(b, "null");
        cap_sb_puts(b, ",\"addrs\":[");
        for (struct ifaddrs *a = ifa; a; a = a->ifa_next) {
            char txt[INET6_ADDRSTRLEN] = "";
            if (!a->ifa_addr || strcmp(a->ifa_name, it->if_name) != 0)
                continue;
            if (a->ifa_addr->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)a->ifa_addr)->sin_addr,
                          txt, sizeof txt);
            else if (a->ifa_addr->sa_family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)a->ifa_addr)->sin6_addr,
                          txt, sizeof txt);
            if (!txt[0])
                continue;
            if (!afirst)
                cap_sb_puts(b, ",");
            afirst = 0;
            cap_sb_str(b, txt, strlen(txt));
        }
        cap_sb_puts(b, "]}");
    }
    cap_sb_puts(b, "]");
    if (ifa)
        freeifaddrs(ifa);
    if (ni)
        if_freenameindex(ni);
}

/* adjtimex(2): what the kernel knows about clock discipline (NTP/chrony
 * both steer it), without depending on which daemon is installed. */
static void meta_clock(cap_sb *b)
{
    struct timex tx;
    int st;
    static const char *const names[] = {"TIME_OK", "TIME_INS", "TIME_DEL",
                                        "TIME_OOP", "TIME_WAIT", "TIME_ERROR"};
    memset(&tx, 0, sizeof tx);
    st = adjtimex(&tx);
    sb_key(b, "clock");
    if (st < 0) {
        cap_sb_puts(b, "null");
        return;
    }
    cap_sb_printf(b, "{\"synced\":%s,\"state\":\"%s\",\"status\":%d,"
                     "\"maxerror_us\":%ld,\"esterror_us\":%ld,\"offset\":%ld,"
                     "\"source\":\"adjtimex\"}",
                  (tx.status & STA_UNSYNC) || st == TIME_ERROR ? "false" : "true",
                  st >= 0 && st <= 5 ? names[st] : "unknown", tx.status,
                  (long)tx.maxerror, (long)tx.esterror, (long)tx.offset);
}

char *cap_meta_collect(const cap_meta_opts *o)
{
    static const char *const ip_addr[] = {"ip", "-j", "addr", "show", NULL};
    static const char *const ip_route[] = {"ip", "-j", "-4", "route", "show", "table", "all", NULL};
    static const char *const ip_route6[] = {"ip", "-j", "-6", "route", "show", "table", "all", NULL};
    static const char *const ip_rule[] = {"ip", "-j", "-4", "rule", "show", NULL};
    static const char *const ip_rule6[] = {"ip", "-j", "-6", "rule", "show", NULL};
    static const char *const ipt_nat[] = {"iptables-save", "-t", "nat", NULL};
    cap_sb b = {0}, errs = {0};
    char host[256] = "";
    struct utsname u;
    char kernel[4 * 65 + 8] = "";
    struct timespec ts;

    gethostname(host, sizeof host - 1);
    if (uname(&u) == 0)
        snprintf(kernel, sizeof kernel, "%s %s %s %s", u.sysname, u.release,
                 u.version, u.machine);
    clock_gettime(CLOCK_REALTIME, &ts);

    cap_sb_puts(&b, "{\"natlens_hostmeta\":1");
    sb_kstr(&b, "tool", CAP_PROG " " NATLENS_VERSION);
    sb_kstr(&b, "hostname", host);
    sb_kstr(&b, "role", o->role);
    sb_kstr(&b, "session", o->session);
    sb_kstr(&b, "kernel", kernel);
    sb_key(&b, "start_ts");
    cap_sb_printf(&b, "%llu.%09llu", (unsigned long long)(o->start_ns / 1000000000u),
                  (unsigned long long)(o->start_ns % 1000000000u));
    sb_key(&b, "collected_ts");
    cap_sb_printf(&b, "%lld.%09ld", (long long)ts.tv_sec, ts.tv_nsec);
    sb_kstr(&b, "capture_iface", o->iface);
    sb_key(&b, "snaplen");
    cap_sb_printf(&b, "%d", o->snaplen);
    sb_key(&b, "linktype");
    cap_sb_printf(&b, "%d", o->linktype);
    if (o->file_index != CAP_META_NO_INDEX) {
        sb_key(&b, "file_index");
        cap_sb_printf(&b, "%u", o->file_index);
    }
    sb_kstr(&b, "filter", o->filter);
    sb_key(&b, "uid");
    cap_sb_printf(&b, "%u", (unsigned)geteuid());
    meta_ifaces(&b);
    meta_json_cmd(&b, &errs, "addr", ip_addr);
    meta_json_cmd(&b, &errs, "route", ip_route);
    meta_json_cmd(&b, &errs, "route6", ip_route6);
    meta_json_cmd(&b, &errs, "rule", ip_rule);
    meta_json_cmd(&b, &errs, "rule6", ip_rule6);
    meta_text_cmd(&b, &errs, "nat_rules", ipt_nat);
    meta_clock(&b);
    sb_key(&b, "errors");
    cap_sb_puts(&b, "[");
    if (errs.p)
        cap_sb_raw(&b, errs.p + 1, errs.n - 1);   /* skip leading comma */
    cap_sb_puts(&b, "]}");
    free(errs.p);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}
