/* abi11_event.c - event model: the ABI 1.1 host functions, one request line
 * at a time on the client connection; each answer is one line.
 *
 *   pair      a socket pair driven through watch/watch_mask with masks:
 *             "pair: write=W read=R both=B hup=H after=N" (the events each
 *             callback saw; N callbacks after unwatch, which must be 0)
 *   timers    three timers (300, 100, 200 ms), the 200 ms one cancelled twice:
 *             "timers: ids=I1,I2,I3 cancel=C1,C2 order=O late=L" once the
 *             300 ms timer has run (O the order they ran in, L what cancelling
 *             it then returns)
 *   hook N    sets a loop hook that returns N (ms; -1 none); "hook: 0"
 *   nohook    removes the hook; "nohook: 0"
 *   count     "count: N" loop hook calls so far
 *   misuse    every 1.1 function with bad input; "misuse: v1,v2,..."
 *   params    param_checked: "params: ..." (see the test)
 *   hang      a timer callback that never returns (watchdog)
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include "abi11.h"

static mh_host *the_host;
static int client;

static void answer(const char *format, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, format);
    vsnprintf(line, sizeof(line) - 1, format, ap);
    va_end(ap);
    strcat(line, "\n");
    fx_write_all(client, line, strlen(line));
}

/* pair */
static int pair[2], step, after;
static unsigned seen[4];

static void pair_done(void *ctx, uint64_t id)
{
    (void) ctx; (void) id;
    close(pair[0]);
    answer("pair: write=0x%x read=0x%x both=0x%x hup=0x%x after=%d", seen[0], seen[1], seen[2], seen[3], after);
}

static void pair_event(void *ctx, int fd, uint32_t events)
{
    char byte;
    (void) ctx;
    if (step < 4)
        seen[step] = events;
    switch (step++) {
    case 0: /* watched for WRITE only: now READ only, and the peer writes */
        watch_mask(the_host, fd, MH_EVENT_READ);
        fx_write_all(pair[1], "x", 1);
        break;
    case 1: /* readable: watch again, both directions, data still unread */
        watch(the_host, fd, MH_EVENT_READ | MH_EVENT_WRITE, pair_event, 0);
        break;
    case 2: /* read it, back to READ, and the peer hangs up */
        if (read(fd, &byte, 1) != 1)
            answer("pair: read failed");
        watch_mask(the_host, fd, MH_EVENT_READ);
        close(pair[1]);
        break;
    case 3: /* hang-up seen: unwatch; nothing may come after */
        fx_unwatch(the_host, fd);
        timer_start(the_host, 300, pair_done, 0);
        break;
    default:
        after++;
    }
}

static void start_pair(void)
{
    step = after = 0;
    memset(seen, 0, sizeof(seen));
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) < 0) {
        answer("pair: socketpair failed");
        return;
    }
    watch(the_host, pair[0], MH_EVENT_WRITE, pair_event, 0);
}

/* timers */
static uint64_t ids[3];
static int cancels[2];
static char order[8];

static void timer_ran(void *ctx, uint64_t id)
{
    const char *name = ctx;
    strncat(order, name, sizeof(order) - strlen(order) - 1);
    if (id != ids[0])
        return;
    answer("timers: ids=%llu,%llu,%llu cancel=%d,%d order=%s late=%d", (unsigned long long) ids[0],
           (unsigned long long) ids[1], (unsigned long long) ids[2], cancels[0], cancels[1], order,
           timer_cancel(the_host, id));
}

static void start_timers(void)
{
    order[0] = 0;
    ids[0] = timer_start(the_host, 300, timer_ran, "1");
    ids[1] = timer_start(the_host, 100, timer_ran, "2");
    ids[2] = timer_start(the_host, 200, timer_ran, "3");
    cancels[0] = timer_cancel(the_host, ids[2]);
    cancels[1] = timer_cancel(the_host, ids[2]);
}

/* the loop hook */
static long long hook_calls;
static int64_t hook_wait;

static int64_t hook(void *ctx)
{
    (void) ctx;
    hook_calls++;
    return hook_wait;
}

static void nothing(void *ctx, int fd, uint32_t events) { (void) ctx; (void) fd; (void) events; }
static void no_timer(void *ctx, uint64_t id) { (void) ctx; (void) id; }

static void misuse(void)
{
    int64_t value = 0;
    char error[64];
    answer("misuse: %d,%d,%d,%d,%d,%d,%d,%d,%d,%llu,%llu,%d,%d,%d,%d,%d,%d",
           watch(the_host, 5, MH_EVENT_READ, nothing, 0),          /* the status channel */
           watch(the_host, 6, MH_EVENT_READ, nothing, 0),          /* the listener */
           watch(the_host, -1, MH_EVENT_READ, nothing, 0),
           watch(the_host, 1000000, MH_EVENT_READ, nothing, 0),    /* not open */
           watch(the_host, client, 0, nothing, 0),                 /* empty mask */
           watch(the_host, client, MH_EVENT_HUP, nothing, 0),      /* not a watchable event */
           watch(the_host, client, MH_EVENT_READ, 0, 0),           /* NULL callback */
           watch_mask(the_host, 0, MH_EVENT_READ),                 /* not watched */
           watch_mask(the_host, 5, MH_EVENT_READ),
           (unsigned long long) timer_start(the_host, 10, 0, 0),
           (unsigned long long) timer_start(the_host, -5, no_timer, 0),
           timer_cancel(the_host, 0),
           timer_cancel(the_host, 999999),
           declare(the_host, 0x80),
           set_watchdog(the_host, 0),
           param_checked(the_host, 9, MH_STR("max_idle"), MH_STR("1"), 0, 0, &value, error, sizeof(error)),
           param_checked(the_host, MH_PARAM_INT, MH_STR("max_idle"), MH_STR("1"), 0, 0, 0, error, sizeof(error)));
}

/* params: fx_int, fx_time, fx_bool are set by the test's -o options. */
static void params(void)
{
    int64_t a = -7, b = -7, c = -7, d = -7, e = -7, f = -7;
    char ea[128] = "", eb[128] = "", ed[128] = "", ee[128] = "";
    int ra = param_checked(the_host, MH_PARAM_INT, MH_STR("fx_int"), MH_STR("1"), 0, 0, &a, ea, sizeof(ea));
    int rb = param_checked(the_host, MH_PARAM_TIME, MH_STR("fx_time"), MH_STR("1s"), 10, 0, &b, eb, sizeof(eb));
    int rc = param_checked(the_host, MH_PARAM_BOOL, MH_STR("fx_bool"), MH_STR("no"), 0, 0, &c, 0, 0);
    int rd = param_checked(the_host, MH_PARAM_INT, MH_STR("fx_small"), MH_STR("1"), 5, 9, &d, ed, sizeof(ed));
    int re = param_checked(the_host, MH_PARAM_TIME, MH_STR("fx_unset"), MH_STR("2m"), 0, 60, &e, ee, sizeof(ee));
    int rf = param_checked(the_host, MH_PARAM_TIME, MH_STR("fx_unset"), MH_STR("2m"), 0, 0, &f, 0, 0);
    answer("params: %d,%lld,[%s] %d,%lld,[%s] %d,%lld %d,%lld,[%s] %d,%lld,[%s] %d,%lld", ra, (long long) a, ea,
           rb, (long long) b, eb, rc, (long long) c, rd, (long long) d, ed, re, (long long) e, ee, rf, (long long) f);
}

static void hang(void *ctx, uint64_t id)
{
    (void) ctx; (void) id;
    for (;;)
        pause();
}

static void request(void *ctx, int fd, uint32_t events)
{
    char line[128];
    ssize_t n;
    (void) events;
    do {
        n = read(fd, line, sizeof(line) - 1);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
        fx_unwatch(the_host, fd);
        fx_client_done(the_host, (mh_client *) ctx);
        return;
    }
    line[n] = 0;
    if (strncmp(line, "pair", 4) == 0)
        start_pair();
    else if (strncmp(line, "timers", 6) == 0)
        start_timers();
    else if (strncmp(line, "hook ", 5) == 0) {
        hook_wait = atoll(line + 5);
        answer("hook: %d", loop_hook(the_host, hook, 0));
    } else if (strncmp(line, "nohook", 6) == 0)
        answer("nohook: %d", loop_hook(the_host, 0, 0));
    else if (strncmp(line, "count", 5) == 0)
        answer("count: %lld", hook_calls);
    else if (strncmp(line, "misuse", 6) == 0)
        misuse();
    else if (strncmp(line, "params", 6) == 0)
        params();
    else if (strncmp(line, "hang", 4) == 0)
        timer_start(the_host, 10, hang, 0);
    else
        answer("unknown: %s", line);
}

static int accept_client(mh_host *host, void *state, mh_client *c)
{
    (void) state;
    the_host = host;
    client = fx_client_fd(c);
    return watch(host, client, MH_EVENT_READ, request, c);
}

static int init(mh_host *host, const mh_function *fns, void **state)
{
    char seconds[16] = "";
    if (fx_init(host, fns, state) < 0 || fx11_lookup(fns) < 0 || !(fx_unwatch && fx_client_done && fx_param_string))
        return -1;
    /* fixture_watchdog (seconds), when set, replaces the watchdog time. */
    fx_param_string(host, MH_STR("fixture_watchdog"), MH_STR(""), seconds, sizeof(seconds));
    return seconds[0] ? set_watchdog(host, atoll(seconds)) : 0;
}

static const mh_function callbacks[] = {
    { MH_PLUGIN_INIT, (mh_fn) init }, { MH_PLUGIN_ACCEPT, (mh_fn) accept_client }, { 0, 0 } };
static const mh_plugin_descriptor descriptor = {
    MH_PLUGIN_MAGIC, MH_ABI_MAJOR, MH_ABI_MINOR, sizeof(mh_plugin_descriptor),
    MH_MODEL_EVENT, MH_STR("abi11_event"), MH_STR("1"), { "", 0 },
    MH_CAP_PARAMETERS | MH_CAP_LOGGING | MH_CAP_EVENTS | MH_CAP_LIFECYCLE, callbacks };
FX_ENTRY(descriptor)
