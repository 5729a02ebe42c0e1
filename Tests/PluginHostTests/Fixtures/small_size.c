/* small_size.c - refused: declares a descriptor of 16 bytes, smaller than
 * ABI 1.0's (the fields after server_model would be missing). */
#include "fixture.h"

static int serve(mh_host *h, void *s, mh_client *c) { return 0; }
static const mh_function callbacks[] = {
    { MH_PLUGIN_INIT, (mh_fn) fx_init }, { MH_PLUGIN_SERVE, (mh_fn) serve }, { 0, 0 } };
static const mh_plugin_descriptor descriptor = {
    MH_PLUGIN_MAGIC, MH_ABI_MAJOR, MH_ABI_MINOR, 16,
    MH_MODEL_SINGLE, MH_STR("small_size"), MH_STR("1"), { "", 0 }, 0, callbacks };
FX_ENTRY(descriptor)
