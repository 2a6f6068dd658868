/* fleet_ch.c - clickhouse-client as a child process for `natlens fleet`.
 *
 * No shell: the client gets an argv of fixed words (the SQL text is a
 * constant of this program; data goes only through its standard input as
 * FORMAT JSONEachRow), the host and port are checked words. Its stderr is
 * collected in a temporary file and shown escaped, since error messages
 * may quote data.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "natlens/json.h"
#include "natlens/text_safe.h"
#include "fleet.h"

extern char **environ;

#define FLEET_MAX_ARGS 32

int fleet_ch_target(fleet_ch *c, const char *spec)
{
    const char *colon, *h = spec;
    size_t hl;
    char *end;
    unsigned long port = 9000;
    if (spec[0] == '[') {                       /* [2001:db8::1]:9000 */
        const char *rb = strchr(spec, ']');
        if (!rb)
            goto bad;
        h = spec + 1;
        hl = (size_t)(rb - h);
        colon = rb[1] == ':' ? rb + 1 : NULL;
        if (rb[1] && !colon)
            goto bad;
    } else {
        colon = strrchr(spec, ':');
        if (colon && strchr(spec, ':') != colon)
            colon = NULL;                       /* a bare IPv6 address */
        hl = colon ? (size_t)(colon - spec) : strlen(spec);
    }
    if (hl == 0 || hl >= sizeof c->host || h[0] == '-')
        goto bad;
    for (size_t i = 0; i < hl; i++) {
        char ch = h[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '-' || ch == ':'))
            goto bad;
    }
    if (colon) {
        errno = 0;
        port = strtoul(colon + 1, &end, 10);
        if (errno || *end || colon[1] == '\0' || port == 0 || port > 65535)
            goto bad;
    }
    memcpy(c->host, h, hl);
    c->host[hl] = '\0';
    snprintf(c->port, sizeof c->port, "%lu", port);
    return 0;
bad:
    fprintf(stderr, "natlens fleet: bad server address (HOST:PORT with a host of letters, "
                    "digits, '.', '-' or an [IPv6] address)\n");
    return -1;
}

/* Feed one file into fd; 0, or -1 (message printed). */
static int fleet_ch_feed_file(int fd, const char *path)
{
    char buf[1 << 16];
    ssize_t n;
    int in = open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        text_safe_fprintf(stderr, "natlens fleet: %s: %s\n", path, strerror(errno));
        return -1;
    }
    while ((n = read(in, buf, sizeof buf)) > 0) {
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(fd, buf + off, (size_t)(n - off));
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                close(in);
                return -1;
            }
            off += w;
        }
    }
    close(in);
    return n < 0 ? -1 : 0;
}

static int fleet_ch_feed_text(int fd, const char *s)
{
    size_t len = strlen(s);
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, s + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        off += (size_t)w;
    }
    return 0;
}

/* The child's stderr, escaped, line by line. */
static void fleet_ch_show_err(FILE *err)
{
    char line[1024], esc[4096];
    rewind(err);
    while (fgets(line, sizeof line, err)) {
        size_t n = strcspn(line, "\n");
        json_escape_text((const uint8_t *)line, n, esc, sizeof esc);
        fprintf(stderr, "clickhouse-client: %s\n", esc);
    }
}

int fleet_ch_run(const fleet_ch *c, const char *const *args, const char *in_text,
                 const char *const *in_paths, size_t npaths, FILE *out)
{
    const char *argv[FLEET_MAX_ARGS];
    int inp[2] = { -1, -1 }, outp[2] = { -1, -1 }, st = 0, feed_bad = 0;
    size_t na = 0;
    posix_spawn_file_actions_t fa;
    FILE *err = tmpfile();
    pid_t pid;
    void (*old_pipe)(int);

    argv[na++] = "clickhouse-client";
    argv[na++] = "--host";
    argv[na++] = c->host;
    argv[na++] = "--port";
    argv[na++] = c->port;
    for (size_t i = 0; args[i] && na < FLEET_MAX_ARGS - 1; i++)
        argv[na++] = args[i];
    argv[na] = NULL;
    if (!err || pipe2(inp, O_CLOEXEC) < 0 || pipe2(outp, O_CLOEXEC) < 0) {
        fprintf(stderr, "natlens fleet: cannot make pipes: %s\n", strerror(errno));
        if (err)
            fclose(err);
        return -1;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, inp[0], 0);
    posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fileno(err), 2);
    if (posix_spawnp(&pid, "clickhouse-client", &fa, NULL, (char *const *)argv, environ) != 0) {
        fprintf(stderr, "natlens fleet: cannot run clickhouse-client (Debian: apt-get install "
                        "clickhouse-client)\n");
        pid = -1;
    }
    posix_spawn_file_actions_destroy(&fa);
    close(inp[0]);
    close(outp[1]);
    old_pipe = signal(SIGPIPE, SIG_IGN);   /* a client that dies says so by its status */
    if (pid > 0) {
        /* queries print little and only after their input ended: feed
         * everything, then read */
        if (in_text)
            feed_bad |= fleet_ch_feed_text(inp[1], in_text) < 0;
        for (size_t i = 0; i < npaths && !feed_bad; i++)
            feed_bad |= fleet_ch_feed_file(inp[1], in_paths[i]) < 0;
    }
    close(inp[1]);
    if (pid > 0) {
        char buf[1 << 16];
        ssize_t n;
        while ((n = read(outp[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
            if (n > 0 && out)
                fwrite(buf, 1, (size_t)n, out);
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
    }
    close(outp[0]);
    signal(SIGPIPE, old_pipe);
    fleet_ch_show_err(err);
    fclose(err);
    if (pid < 0)
        return -1;
    if (feed_bad && !(WIFEXITED(st) && WEXITSTATUS(st) != 0))
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
