/* trigger_forward.c - single model: each connection sends one line
 * "<service> <data>"; the plugin passes <data> to send_trigger(<service>)
 * and answers with its result ("0\n" or "-1\n"). */
#include <stdio.h>
#include "fixture.h"

static mh_send_trigger_fn send_trigger;

static int init(mh_host *host, const mh_function *fns, void **state)
{
    send_trigger = (mh_send_trigger_fn) mh_lookup(fns, MH_HOST_SEND_TRIGGER);
    return (send_trigger && fx_init(host, fns, state) == 0) ? 0 : -1;
}

static int serve(mh_host *host, void *state, mh_client *client)
{
    char line[512], answer[16];
    int fd = fx_client_fd(client);
    ssize_t n = read(fd, line, sizeof(line) - 1);
    (void) state;
    if (n <= 0)
        return 0;
    line[n] = 0;
    char *space = strchr(line, ' '), *end = strchr(line, '\n');
    if (space == 0 || end == 0)
        return -1;
    mh_str service = { line, (size_t) (space - line) };
    int rc = send_trigger(host, service, space + 1, (size_t) (end - space - 1));
    snprintf(answer, sizeof(answer), "%d\n", rc);
    return fx_write_all(fd, answer, strlen(answer));
}

static const mh_function callbacks[] = {
    { MH_PLUGIN_INIT, (mh_fn) init }, { MH_PLUGIN_SERVE, (mh_fn) serve }, { 0, 0 } };
FX_DESCRIPTOR(descriptor, "trigger_forward", MH_MODEL_SINGLE, callbacks);
FX_ENTRY(descriptor)
