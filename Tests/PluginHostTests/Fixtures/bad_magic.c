/* bad_magic.c - refused: magic 0x12345678 instead of MH_PLUGIN_MAGIC. */
#include "fixture.h"

static const mh_function callbacks[] = { { MH_PLUGIN_INIT, (mh_fn) fx_init }, { 0, 0 } };
static const mh_plugin_descriptor descriptor = {
    0x12345678U, MH_ABI_MAJOR, MH_ABI_MINOR, sizeof(mh_plugin_descriptor),
    MH_MODEL_SINGLE, MH_STR("bad_magic"), MH_STR("1"), { "", 0 }, 0, callbacks };
FX_ENTRY(descriptor)
