/* no_entry.c - refused: a well-formed descriptor, but exported under another
 * name, so mailhost_plugin_entry is missing. */
#include "fixture.h"

static int serve(mh_host *h, void *s, mh_client *c) { return 0; }
static const mh_function callbacks[] = {
    { MH_PLUGIN_INIT, (mh_fn) fx_init }, { MH_PLUGIN_SERVE, (mh_fn) serve }, { 0, 0 } };
FX_DESCRIPTOR(descriptor, "no_entry", MH_MODEL_SINGLE, callbacks);
const mh_plugin_descriptor *mailhost_plugin_entry_misspelled(void) { return &descriptor; }
