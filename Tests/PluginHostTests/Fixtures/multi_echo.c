/* multi_echo.c - multi model: each request (one readable event) is read and
 * echoed back prefixed with this process id, so a test can see that one
 * process serves several clients; EOF closes the connection. */
#include <stdio.h>
#include "fixture.h"

static int serve(mh_host *host, void *state, mh_client *client)
{
    char buf[4096], out[4200];
    int fd = fx_client_fd(client);
    ssize_t n;
    do {
        n = read(fd, buf, sizeof(buf) - 1);
    } while (n < 0 && errno == EINTR);
    if (n <= 0)
        return -1;
    int len = snprintf(out, sizeof(out), "%ld:%.*s", (long) getpid(), (int) n, buf);
    return fx_write_all(fd, out, (size_t) len) < 0 ? -1 : 0;
}

static const mh_function callbacks[] = {
    { MH_PLUGIN_INIT, (mh_fn) fx_init }, { MH_PLUGIN_SERVE, (mh_fn) serve }, { 0, 0 } };
FX_DESCRIPTOR(descriptor, "multi_echo", MH_MODEL_MULTI, callbacks);
FX_ENTRY(descriptor)
