/* events_in_single.c - a single-model plugin that requires MH_CAP_EVENTS,
 * which the host offers in the event and trigger models only: refused at
 * validation. */
#include "fixture.h"

static int serve(mh_host *host, void *state, mh_client *client) { return 0; }

static const mh_function callbacks[] = {
    { MH_PLUGIN_INIT, (mh_fn) fx_init }, { MH_PLUGIN_SERVE, (mh_fn) serve }, { 0, 0 } };
static const mh_plugin_descriptor descriptor = {
    MH_PLUGIN_MAGIC, MH_ABI_MAJOR, MH_ABI_MINOR, sizeof(mh_plugin_descriptor),
    MH_MODEL_SINGLE, MH_STR("events_in_single"), MH_STR("1"), { "", 0 },
    MH_CAP_PARAMETERS | MH_CAP_LOGGING | MH_CAP_EVENTS, callbacks };
FX_ENTRY(descriptor)
