/* misuse_event.c - event model: requests arrive through watch_read; the
 * misuse requests of misuse.h, and, when the service's first master.cf
 * argument is "done-then-fail", ACCEPT itself ends the connection with
 * client_done and then returns -1 (the host must not end it a second time). */
#include "misuse.h"

static mh_host *the_host;
static mh_arg_fn arg;

static void readable(void *ctx, int fd)
{
    char line[128];
    mh_client *client = (mh_client *) ctx;
    if (mu_read_line(fd, line, sizeof(line)) > 0) {
        mu_abuse(the_host, client, fd, line);
        return;
    }
    fx_unwatch(the_host, fd);
    fx_client_done(the_host, client);
    mu_previous = client;
}

static int accept_client(mh_host *host, void *state, mh_client *client)
{
    char first[32] = "";
    (void) state;
    the_host = host;
    arg(host, 0, first, sizeof(first));
    if (strcmp(first, "done-then-fail") == 0) {
        fx_write_all(fx_client_fd(client), "bye\n", 4);
        fx_client_done(host, client);
        mu_previous = client;
        return -1;
    }
    return fx_watch_read(host, fx_client_fd(client), readable, client);
}

static int init(mh_host *host, const mh_function *fns, void **state)
{
    arg = (mh_arg_fn) mh_lookup(fns, MH_HOST_ARG);
    return arg ? mu_init(host, fns, state) : -1;
}

static const mh_function callbacks[] = {
    { MH_PLUGIN_INIT, (mh_fn) init }, { MH_PLUGIN_ACCEPT, (mh_fn) accept_client }, { 0, 0 } };
static const mh_plugin_descriptor descriptor = {
    MH_PLUGIN_MAGIC, MH_ABI_MAJOR, MH_ABI_MINOR, sizeof(mh_plugin_descriptor),
    MH_MODEL_EVENT, MH_STR("misuse_event"), MH_STR("1"), { "", 0 },
    MH_CAP_PARAMETERS | MH_CAP_LOGGING | MH_CAP_EVENTS, callbacks };
FX_ENTRY(descriptor)
