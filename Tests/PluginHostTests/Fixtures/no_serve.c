/* no_serve.c - refused: single model without MH_PLUGIN_SERVE; carries an
 * unknown id (999), which the host must ignore rather than refuse. */
#include "fixture.h"

static void unknown(void) {}
static const mh_function callbacks[] = {
    { MH_PLUGIN_INIT, (mh_fn) fx_init }, { 999, (mh_fn) unknown }, { 0, 0 } };
FX_DESCRIPTOR(descriptor, "no_serve", MH_MODEL_SINGLE, callbacks);
FX_ENTRY(descriptor)
