/* misuse_multi.c - multi model: every request line is a misuse request
 * (misuse.h); the connection stays open until the client closes it. */
#include "misuse.h"

static int serve(mh_host *host, void *state, mh_client *client)
{
    char line[128];
    int fd = fx_client_fd(client);
    (void) state;
    if (mu_read_line(fd, line, sizeof(line)) == 0) {
        mu_previous = client;
        return -1;
    }
    mu_abuse(host, client, fd, line);
    return 0;
}

static const mh_function callbacks[] = {
    { MH_PLUGIN_INIT, (mh_fn) mu_init }, { MH_PLUGIN_SERVE, (mh_fn) serve }, { 0, 0 } };
FX_DESCRIPTOR(descriptor, "misuse_multi", MH_MODEL_MULTI, callbacks);
FX_ENTRY(descriptor)
