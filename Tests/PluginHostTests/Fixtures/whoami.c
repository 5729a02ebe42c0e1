/* whoami.c - single model: tells the client who and where its worker is:
 * "uid=U gid=G jailed=yes|no\n", where jailed means the file chroot-marker,
 * which the test puts in the queue directory, is visible at "/". */
#include <stdio.h>
#include "fixture.h"

static int serve(mh_host *host, void *state, mh_client *client)
{
    char line[128];
    int jailed = access("/chroot-marker", F_OK) == 0;
    int n = snprintf(line, sizeof(line), "uid=%u gid=%u jailed=%s\n",
                     (unsigned) getuid(), (unsigned) getgid(), jailed ? "yes" : "no");
    return fx_write_all(fx_client_fd(client), line, (size_t) n);
}

static const mh_function callbacks[] = {
    { MH_PLUGIN_INIT, (mh_fn) fx_init }, { MH_PLUGIN_SERVE, (mh_fn) serve }, { 0, 0 } };
FX_DESCRIPTOR(descriptor, "whoami", MH_MODEL_SINGLE, callbacks);
FX_ENTRY(descriptor)
