/* bad_major.c - refused: ABI major one above the host's. */
#include "fixture.h"

static int serve(mh_host *h, void *s, mh_client *c) { return 0; }
static const mh_function callbacks[] = {
    { MH_PLUGIN_INIT, (mh_fn) fx_init }, { MH_PLUGIN_SERVE, (mh_fn) serve }, { 0, 0 } };
static const mh_plugin_descriptor descriptor = {
    MH_PLUGIN_MAGIC, MH_ABI_MAJOR + 1, 0, sizeof(mh_plugin_descriptor),
    MH_MODEL_SINGLE, MH_STR("bad_major"), MH_STR("1"), { "", 0 }, 0, callbacks };
FX_ENTRY(descriptor)
