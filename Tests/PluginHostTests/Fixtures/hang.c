/* hang.c - single model: never answers (the daemon_timeout watchdog test). */
#include "fixture.h"

static int serve(mh_host *host, void *state, mh_client *client)
{
    for (;;)
        pause();
    return 0;
}

static const mh_function callbacks[] = {
    { MH_PLUGIN_INIT, (mh_fn) fx_init }, { MH_PLUGIN_SERVE, (mh_fn) serve }, { 0, 0 } };
FX_DESCRIPTOR(descriptor, "hang", MH_MODEL_SINGLE, callbacks);
FX_ENTRY(descriptor)
