/* crash_abort.c - single model that calls abort() on its first request. */
#include <stdlib.h>
#include "fixture.h"

static int serve(mh_host *host, void *state, mh_client *client)
{
    abort();
}

static const mh_function callbacks[] = {
    { MH_PLUGIN_INIT, (mh_fn) fx_init }, { MH_PLUGIN_SERVE, (mh_fn) serve }, { 0, 0 } };
FX_DESCRIPTOR(descriptor, "crash_abort", MH_MODEL_SINGLE, callbacks);
FX_ENTRY(descriptor)
