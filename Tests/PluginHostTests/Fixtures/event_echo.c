/* event_echo.c - event model: ACCEPT watches the connection with watch_read;
 * each readable event echoes what arrived; EOF unwatches and hands the
 * connection back with client_done. Up to 64 connections at once. */
#include "fixture.h"

static mh_host *the_host;
static struct { int fd; mh_client *client; } conns[64];

static void readable(void *ctx, int fd)
{
    char buf[4096];
    long slot = (long) ctx;
    ssize_t n;
    do {
        n = read(fd, buf, sizeof(buf));
    } while (n < 0 && errno == EINTR);
    if (n > 0 && fx_write_all(fd, buf, (size_t) n) == 0)
        return;
    fx_unwatch(the_host, fd);
    fx_client_done(the_host, conns[slot].client);
    conns[slot].client = 0;
}

static int accept_client(mh_host *host, void *state, mh_client *client)
{
    the_host = host;
    for (long slot = 0; slot < 64; slot++) {
        if (conns[slot].client == 0) {
            conns[slot].client = client;
            conns[slot].fd = fx_client_fd(client);
            return fx_watch_read(host, conns[slot].fd, readable, (void *) slot);
        }
    }
    return -1;
}

static int init(mh_host *host, const mh_function *fns, void **state)
{
    if (fx_init(host, fns, state) < 0)
        return -1;
    return (fx_watch_read && fx_unwatch && fx_client_done) ? 0 : -1;
}

static const mh_function callbacks[] = {
    { MH_PLUGIN_INIT, (mh_fn) init }, { MH_PLUGIN_ACCEPT, (mh_fn) accept_client }, { 0, 0 } };
static const mh_plugin_descriptor descriptor = {
    MH_PLUGIN_MAGIC, MH_ABI_MAJOR, MH_ABI_MINOR, sizeof(mh_plugin_descriptor),
    MH_MODEL_EVENT, MH_STR("event_echo"), MH_STR("1"), { "", 0 },
    MH_CAP_PARAMETERS | MH_CAP_LOGGING | MH_CAP_EVENTS, callbacks };
FX_ENTRY(descriptor)
