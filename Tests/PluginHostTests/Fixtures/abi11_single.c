/* abi11_single.c - single model: each connection answers one line with what
 * the ABI 1.1 functions return here. The event functions must be refused
 * (no MH_CAP_EVENTS in this model); declare and set_watchdog
 * (MH_CAP_LIFECYCLE) work in every model:
 *   "<watch>,<watch_mask>,<timer_start>,<timer_cancel>,<loop_hook>,<declare>,<set_watchdog>\n"
 */
#include <stdio.h>
#include "fixture.h"

static mh_watch_fn watch;
static mh_watch_mask_fn watch_mask;
static mh_timer_start_fn timer_start;
static mh_timer_cancel_fn timer_cancel;
static mh_loop_hook_fn loop_hook;
static mh_declare_fn declare;
static mh_set_watchdog_fn set_watchdog;

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
    watch = (mh_watch_fn) mh_lookup(fns, MH_HOST_WATCH);
    watch_mask = (mh_watch_mask_fn) mh_lookup(fns, MH_HOST_WATCH_MASK);
    timer_start = (mh_timer_start_fn) mh_lookup(fns, MH_HOST_TIMER_START);
    timer_cancel = (mh_timer_cancel_fn) mh_lookup(fns, MH_HOST_TIMER_CANCEL);
    loop_hook = (mh_loop_hook_fn) mh_lookup(fns, MH_HOST_LOOP_HOOK);
    declare = (mh_declare_fn) mh_lookup(fns, MH_HOST_DECLARE);
    set_watchdog = (mh_set_watchdog_fn) mh_lookup(fns, MH_HOST_SET_WATCHDOG);
    if (!(watch && watch_mask && timer_start && timer_cancel && loop_hook && declare && set_watchdog))
        return -1;
    return fx_init(host, fns, state);
}

static const mh_function callbacks[] = {
    { MH_PLUGIN_INIT, (mh_fn) init }, { MH_PLUGIN_SERVE, (mh_fn) serve }, { 0, 0 } };
FX_DESCRIPTOR(descriptor, "abi11_single", MH_MODEL_SINGLE, callbacks);
FX_ENTRY(descriptor)
