/* trigger_append.c - trigger model: appends each trigger's bytes and a
 * newline to the file named by the parameter fixture_trigger_file. */
#include <fcntl.h>
#include "fixture.h"

static char path[1024];

static int init(mh_host *host, const mh_function *fns, void **state)
{
    if (fx_init(host, fns, state) < 0 || fx_param_string == 0)
        return -1;
    size_t n = fx_param_string(host, MH_STR("fixture_trigger_file"), MH_STR(""), path, sizeof(path));
    return (n > 0 && n < sizeof(path)) ? 0 : -1;
}

static int trigger(mh_host *host, void *state, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0)
        return -1;
    int rc = fx_write_all(fd, data, len) | fx_write_all(fd, "\n", 1);
    close(fd);
    return rc;
}

static const mh_function callbacks[] = {
    { MH_PLUGIN_INIT, (mh_fn) init }, { MH_PLUGIN_TRIGGER, (mh_fn) trigger }, { 0, 0 } };
FX_DESCRIPTOR(descriptor, "trigger_append", MH_MODEL_TRIGGER, callbacks);
FX_ENTRY(descriptor)
