/* single_echo.c - single model: echoes bytes back until the client closes. */
#include "fixture.h"

static int serve(mh_host *host, void *state, mh_client *client)
{
    char buf[4096];
    int fd = fx_client_fd(client);
    for (int rounds = 0; rounds < 100000; rounds++) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        if (fx_write_all(fd, buf, (size_t) n) < 0)
            return -1;
    }
    return 0;
}

static const mh_function callbacks[] = {
    { MH_PLUGIN_INIT, (mh_fn) fx_init }, { MH_PLUGIN_SERVE, (mh_fn) serve }, { 0, 0 } };
FX_DESCRIPTOR(descriptor, "single_echo", MH_MODEL_SINGLE, callbacks);
FX_ENTRY(descriptor)
