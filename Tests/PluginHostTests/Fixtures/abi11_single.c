/* abi11_single.c - single model: each connection answers one line with what
 * the ABI 1.1 functions return here. The event functions must be refused
 * (no MH_CAP_EVENTS in this model); declare and set_watchdog
 * (MH_CAP_LIFECYCLE) work in every model:
 *   "<watch>,<watch_mask>,<timer_start>,<timer_cancel>,<loop_hook>,<declare>,<set_watchdog>\n"
 */
#include <stdio.h>
#include "abi11.h"

static void nothing(void *ctx, int fd, uint32_t events) { (void) ctx; (void) fd; (void) events; }
static void no_timer(void *ctx, uint64_t id) { (void) ctx; (void) id; }
static int64_t no_hook(void *ctx) { (void) ctx; return -1; }

static int serve(mh_host *host, void *state, mh_client *client)
{
    char line[128];
    int fd = fx_client_fd(client);
    (void) state;
    snprintf(line, sizeof(line), "%d,%d,%llu,%d,%d,%d,%d\n",
             watch(host, fd, MH_EVENT_READ, nothing, 0), watch_mask(host, fd, MH_EVENT_READ),
             (unsigned long long) timer_start(host, 10, no_timer, 0), timer_cancel(host, 1),
             loop_hook(host, no_hook, 0), declare(host, MH_DECLARE_LONG_LIVED), set_watchdog(host, 60));
    return fx_write_all(fd, line, strlen(line));
}

static int init(mh_host *host, const mh_function *fns, void **state)
{
    return (fx11_lookup(fns) < 0) ? -1 : fx_init(host, fns, state);
}

static const mh_function callbacks[] = {
    { MH_PLUGIN_INIT, (mh_fn) init }, { MH_PLUGIN_SERVE, (mh_fn) serve }, { 0, 0 } };
FX_DESCRIPTOR(descriptor, "abi11_single", MH_MODEL_SINGLE, callbacks);
FX_ENTRY(descriptor)
