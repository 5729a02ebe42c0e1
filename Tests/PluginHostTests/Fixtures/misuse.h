/*
 * misuse.h - what the misbehaving fixtures (misuse_single.c, misuse_multi.c,
 * misuse_event.c) do to the host: every host function called wrongly, one
 * request line at a time. Each abuse answers with the values the host
 * returned, so the test sees the refusals and that the same process still
 * serves. The host must refuse each call with a logged error and go on.
 *
 * Requests (one line each):
 *   done      client_done on the current client, twice
 *   stale     client_fd and client_done on the previous connection's handle
 *   forged    client_fd on a made-up handle and on NULL
 *   badfd     watch_read on the status channel (5), a listener (6), -1 and a
 *             descriptor that is not open; unwatch(5); watch_read, NULL callback
 *   badlen    log with a NULL text and with length (size_t)-1, param_string
 *             with a NULL name, send_trigger with NULL data
 *   timer     timer with a NULL callback
 * Anything else is echoed. Every answer is "<pid>:<request>:<values>\n".
 */
#ifndef MISUSE_H
#define MISUSE_H

#include <stdio.h>
#include <stdlib.h>
#include "fixture.h"

static mh_send_trigger_fn mu_send_trigger;
static mh_timer_fn mu_timer;
static mh_client *mu_previous;   /* the handle of the connection served before */

static int mu_init(mh_host *host, const mh_function *fns, void **state)
{
    if (fx_init(host, fns, state) < 0)
        return -1;
    mu_send_trigger = (mh_send_trigger_fn) mh_lookup(fns, MH_HOST_SEND_TRIGGER);
    mu_timer = (mh_timer_fn) mh_lookup(fns, MH_HOST_TIMER);
    return (fx_watch_read && fx_unwatch && fx_client_done && mu_send_trigger && mu_timer) ? 0 : -1;
}

static void mu_nothing(void *ctx, int fd) { (void) ctx; (void) fd; }

/* Performs the request in `line` for `client` and writes the answer to fd. */
static void mu_abuse(mh_host *host, mh_client *client, int fd, const char *line)
{
    char answer[256];
    if (strncmp(line, "done", 4) == 0) {
        fx_client_done(host, client);
        fx_client_done(host, client);
        snprintf(answer, sizeof(answer), "%d:done:%d\n", (int) getpid(), fx_client_fd(client));
    } else if (strncmp(line, "stale", 5) == 0) {
        int stale_fd = fx_client_fd(mu_previous);
        fx_client_done(host, mu_previous);
        snprintf(answer, sizeof(answer), "%d:stale:%d\n", (int) getpid(), stale_fd);
    } else if (strncmp(line, "forged", 6) == 0) {
        snprintf(answer, sizeof(answer), "%d:forged:%d,%d\n", (int) getpid(),
                 fx_client_fd((mh_client *) (long) 0x1234), fx_client_fd(0));
    } else if (strncmp(line, "badfd", 5) == 0) {
        int results[6] = {
            fx_watch_read(host, 5, mu_nothing, 0), fx_watch_read(host, 6, mu_nothing, 0),
            fx_watch_read(host, -1, mu_nothing, 0), fx_watch_read(host, 1000000, mu_nothing, 0),
            fx_watch_read(host, fd, 0, 0), 0 };
        fx_unwatch(host, 5);
        snprintf(answer, sizeof(answer), "%d:badfd:%d,%d,%d,%d,%d\n", (int) getpid(),
                 results[0], results[1], results[2], results[3], results[4]);
    } else if (strncmp(line, "badlen", 6) == 0) {
        char value[8];
        mh_str null_name = { 0, 5 };
        fx_log(host, MH_LOG_INFO, 0, 10);
        fx_log(host, MH_LOG_INFO, "x", (size_t) -1);
        size_t length = fx_param_string(host, null_name, MH_STR("dflt"), value, sizeof(value));
        int sent = mu_send_trigger(host, MH_STR("public/pickup"), 0, 3);
        snprintf(answer, sizeof(answer), "%d:badlen:%zu,%d\n", (int) getpid(), length, sent);
    } else if (strncmp(line, "timer", 5) == 0) {
        snprintf(answer, sizeof(answer), "%d:timer:%d\n", (int) getpid(), mu_timer(host, 10, 0, 0));
    } else {
        snprintf(answer, sizeof(answer), "%d:echo:%s", (int) getpid(), line);
    }
    fx_write_all(fd, answer, strlen(answer));
}

/* Reads one line (up to 127 bytes) from fd; returns its length, 0 at EOF. */
static ssize_t mu_read_line(int fd, char *line, size_t size)
{
    ssize_t n;
    do {
        n = read(fd, line, size - 1);
    } while (n < 0 && errno == EINTR);
    line[n > 0 ? n : 0] = 0;
    return n > 0 ? n : 0;
}

#endif
