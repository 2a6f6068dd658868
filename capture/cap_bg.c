/* cap_bg.c - the slow work of a rotation, off the capture loop.
 *
 * Measured: with --rotate-size 1 the loop spent each rotation in fsync()
 * of the old file and in five `ip` runs plus iptables-save for the new
 * file's host context (tens to hundreds of ms); the kernel ring overflowed
 * meanwhile and bursts right after each rotation were lost. Here one
 * thread does both: it fsyncs and closes finished files, and keeps a fresh
 * host-context document ready, collected while the loop captures. The loop
 * never waits for it: a rotation takes the newest complete document (its
 * "collected_ts" says when it was taken; "file_index" is set for the file)
 * and asks for the next one.
 *
 * Bounds: at most CAP_BG_MAX_FDS files waiting for fsync (past that the
 * loop closes one itself, as before); one document kept. Signals are
 * blocked in the thread: SIGINT/SIGTERM reach the capture loop.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "natlens/text_safe.h"
#include "cap.h"

#define CAP_BG_MAX_FDS 64

struct cap_bg {
    pthread_t       th;
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    cap_meta_opts   mo;
    char           *role, *session, *iface, *filter;   /* copies for mo */
    char           *ready;      /* newest document without "file_index" */
    int             want;       /* collect a new document */
    int             fds[CAP_BG_MAX_FDS];
    int             nfds;
    int             stop;
};

static void *cap_bg_main(void *arg)
{
    cap_bg *b = arg;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        if (b->nfds) {
            int fd = b->fds[--b->nfds];
            pthread_mutex_unlock(&b->mu);
            /* what the loop wrote is flushed already; this only waits
             * for the disk (EINVAL/EROFS: a pipe or a read-only place) */
            if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
                text_safe_fprintf(stderr, CAP_PROG ": warning: fsync: %s\n", strerror(errno));
            close(fd);
            pthread_mutex_lock(&b->mu);
            continue;
        }
        if (b->want && !b->stop) {
            char *doc;
            b->want = 0;
            pthread_mutex_unlock(&b->mu);
            doc = cap_meta_collect(&b->mo);
            pthread_mutex_lock(&b->mu);
            if (doc) {
                free(b->ready);
                b->ready = doc;
            }
            continue;
        }
        if (b->stop)
            break;
        pthread_cond_wait(&b->cv, &b->mu);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

static char *cap_bg_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

cap_bg *cap_bg_start(const cap_meta_opts *mo, char *first_doc)
{
    cap_bg *b = calloc(1, sizeof *b);
    sigset_t all, old;
    if (!b)
        return NULL;
    b->mo = *mo;
    b->mo.role = b->role = cap_bg_strdup(mo->role);
    b->mo.session = b->session = cap_bg_strdup(mo->session);
    b->mo.iface = b->iface = cap_bg_strdup(mo->iface);
    b->mo.filter = b->filter = cap_bg_strdup(mo->filter);
    b->mo.file_index = CAP_META_NO_INDEX;
    b->ready = first_doc;
    b->want = 1;           /* the next file's document, collected now */
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    if (pthread_create(&b->th, NULL, cap_bg_main, b) != 0) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        free(b->role);
        free(b->session);
        free(b->iface);
        free(b->filter);
        free(b);
        return NULL;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return b;
}

char *cap_bg_meta(cap_bg *b, unsigned file_index)
{
    char *doc = NULL;
    pthread_mutex_lock(&b->mu);
    if (b->ready && b->ready[0] == '{') {
        /* after the marker key: readers look for "natlens_hostmeta" in
         * the first bytes of the SHB comment */
        static const char mark[] = "{\"natlens_hostmeta\":1,";
        size_t n = strlen(b->ready) + 32, k = strncmp(b->ready, mark, sizeof mark - 1) ? 1
                                                                                   : sizeof mark - 1;
        if ((doc = malloc(n)))
            snprintf(doc, n, "%.*s\"file_index\":%u%s%s", (int)k, b->ready, file_index,
                     b->ready[k] == '}' ? "" : ",", b->ready + k);
    }
    b->want = 1;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
    return doc;
}

int cap_bg_retire(cap_bg *b, int fd)
{
    int queued = 0;
    pthread_mutex_lock(&b->mu);
    if (b->nfds < CAP_BG_MAX_FDS) {
        b->fds[b->nfds++] = fd;
        queued = 1;
        pthread_cond_signal(&b->cv);
    }
    pthread_mutex_unlock(&b->mu);
    return queued ? 0 : -1;
}

void cap_bg_stop(cap_bg *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&b->mu);
    b->stop = 1;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->th, NULL);   /* pending fsyncs are done before it ends */
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    free(b->ready);
    free(b->role);
    free(b->session);
    free(b->iface);
    free(b->filter);
    free(b);
}
