/* misuse_single.c - single model: each connection's first line is a misuse
 * request (misuse.h); the answer is written before the host ends the
 * connection. */
#include "misuse.h"

static int serve(mh_host *host, void *state, mh_client *client)
{
    char line[128];
    int fd = fx_client_fd(client);
    (void) state;
    if (mu_read_line(fd, line, sizeof(line)) > 0)
        mu_abuse(host, client, fd, line);
    mu_previous = client;
    return 0;
}

static const mh_function callbacks[] = {
    { MH_PLUGIN_INIT, (mh_fn) mu_init }, { MH_PLUGIN_SERVE, (mh_fn) serve }, { 0, 0 } };
FX_DESCRIPTOR(descriptor, "misuse_single", MH_MODEL_SINGLE, callbacks);
FX_ENTRY(descriptor)
