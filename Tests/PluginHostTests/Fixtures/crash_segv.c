/* crash_segv.c - single model that dies of SIGSEGV on its first request. */
#include "fixture.h"

static int serve(mh_host *host, void *state, mh_client *client)
{
    volatile int *nowhere = 0;
    *nowhere = 1;
    return 0;
}

static const mh_function callbacks[] = {
    { MH_PLUGIN_INIT, (mh_fn) fx_init }, { MH_PLUGIN_SERVE, (mh_fn) serve }, { 0, 0 } };
FX_DESCRIPTOR(descriptor, "crash_segv", MH_MODEL_SINGLE, callbacks);
FX_ENTRY(descriptor)
