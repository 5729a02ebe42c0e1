/*
 * abi11.h - the ABI 1.1 host functions the abi11_* fixtures call, resolved
 * at INIT by fx11_lookup(), which fails (-1) if the host lacks any of them.
 */
#ifndef ABI11_H
#define ABI11_H

#include "fixture.h"

static mh_watch_fn watch;
static mh_watch_mask_fn watch_mask;
static mh_timer_start_fn timer_start;
static mh_timer_cancel_fn timer_cancel;
static mh_loop_hook_fn loop_hook;
static mh_declare_fn declare;
static mh_set_watchdog_fn set_watchdog;
static mh_param_checked_fn param_checked;

static int fx11_lookup(const mh_function *fns)
{
    watch = (mh_watch_fn) mh_lookup(fns, MH_HOST_WATCH);
    watch_mask = (mh_watch_mask_fn) mh_lookup(fns, MH_HOST_WATCH_MASK);
    timer_start = (mh_timer_start_fn) mh_lookup(fns, MH_HOST_TIMER_START);
    timer_cancel = (mh_timer_cancel_fn) mh_lookup(fns, MH_HOST_TIMER_CANCEL);
    loop_hook = (mh_loop_hook_fn) mh_lookup(fns, MH_HOST_LOOP_HOOK);
    declare = (mh_declare_fn) mh_lookup(fns, MH_HOST_DECLARE);
    set_watchdog = (mh_set_watchdog_fn) mh_lookup(fns, MH_HOST_SET_WATCHDOG);
    param_checked = (mh_param_checked_fn) mh_lookup(fns, MH_HOST_PARAM_CHECKED);
    return (watch && watch_mask && timer_start && timer_cancel && loop_hook && declare && set_watchdog
            && param_checked) ? 0 : -1;
}

#endif
