/* abi11_trigger.c - trigger model with the ABI 1.1 additions, shaped like
 * qmgr(8): a wakeup-driven service that also does asynchronous I/O.
 *
 * master.cf argument 1: "long" declares the service solitary and long-lived
 * (MH_HOST_DECLARE) and sets the watchdog from the parameter
 * fixture_daemon_timeout (default 1000s, as qmgr_daemon_timeout), read with
 * param_checked; anything else declares nothing. Every line goes to the file
 * named by fixture_trigger_file as "<pid> <text>".
 *
 * Triggers (the first byte):
 *   p  "<pid> p"                          (which process serves)
 *   w  a socket pair and timers, asynchronously, after the trigger returned:
 *      a 50 ms timer writes to one end, a watch on the other reads it, a
 *      200 ms timer cancelled before it runs; "<pid> w read=0x1 cancelled=0"
 *      then, 400 ms later, "<pid> w done late=0" (the cancelled one never ran)
 *   c  "<pid> c hook=N" loop hook calls so far
 *   h  a timer callback that never returns (watchdog)
 *   s  TRIGGER itself sleeps 3 seconds, then "<pid> s slept"
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include "abi11.h"

static mh_host *the_host;
static char path[1024];
static long long hook_calls;
static int pair[2], late;
static uint64_t doomed;

static void note(const char *format, ...)
{
    char line[256];
    int n = snprintf(line, sizeof(line), "%d ", (int) getpid());
    va_list ap;
    va_start(ap, format);
    vsnprintf(line + n, sizeof(line) - (size_t) n - 1, format, ap);
    va_end(ap);
    strcat(line, "\n");
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd >= 0) {
        fx_write_all(fd, line, strlen(line));
        close(fd);
    }
}

static void never(void *ctx, uint64_t id) { (void) ctx; (void) id; late = 1; }
static void finish(void *ctx, uint64_t id) { (void) ctx; (void) id; note("w done late=%d", late); }

static void readable(void *ctx, int fd, uint32_t events)
{
    char byte;
    (void) ctx;
    if (read(fd, &byte, 1) != 1)
        return;
    fx_unwatch(the_host, fd);
    close(pair[0]);
    close(pair[1]);
    note("w read=0x%x cancelled=%d", events, timer_cancel(the_host, doomed));
    timer_start(the_host, 400, finish, 0);
}

static void send_byte(void *ctx, uint64_t id) { (void) ctx; (void) id; fx_write_all(pair[1], "x", 1); }

static void hang(void *ctx, uint64_t id)
{
    (void) ctx; (void) id;
    for (;;)
        pause();
}

static int trigger(mh_host *host, void *state, const char *data, size_t len)
{
    (void) state;
    the_host = host;
    if (len == 0)
        return 0;
    switch (data[0]) {
    case 'p':
        note("p");
        break;
    case 'w':
        late = 0;
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) < 0 || watch(host, pair[0], MH_EVENT_READ, readable, 0) < 0)
            note("w failed");
        timer_start(host, 50, send_byte, 0);
        doomed = timer_start(host, 200, never, 0);
        break;
    case 'c':
        note("c hook=%lld", hook_calls);
        break;
    case 'h':
        timer_start(host, 10, hang, 0);
        break;
    case 's':
        sleep(3);
        note("s slept");
        break;
    }
    return 0;
}

static int64_t hook(void *ctx)
{
    (void) ctx;
    hook_calls++;
    return -1;
}

static int init(mh_host *host, const mh_function *fns, void **state)
{
    char mode[16] = "";
    mh_arg_fn arg = (mh_arg_fn) mh_lookup(fns, MH_HOST_ARG);

    if (fx_init(host, fns, state) < 0 || fx11_lookup(fns) < 0 || !fx_param_string || !arg || !fx_log)
        return -1;
    size_t n = fx_param_string(host, MH_STR("fixture_trigger_file"), MH_STR(""), path, sizeof(path));
    if (n == 0 || n >= sizeof(path))
        return -1;
    loop_hook(host, hook, 0);
    arg(host, 0, mode, sizeof(mode));
    if (strcmp(mode, "long") == 0) {
        int64_t seconds;
        char error[256];
        if (param_checked(host, MH_PARAM_TIME, MH_STR("fixture_daemon_timeout"), MH_STR("1000s"), 1, 0,
                          &seconds, error, sizeof(error)) < 0) {
            fx_log(host, MH_LOG_FATAL, error, strlen(error));
            return -1;
        }
        if (declare(host, MH_DECLARE_SOLITARY | MH_DECLARE_LONG_LIVED) < 0 || set_watchdog(host, seconds) < 0)
            return -1;
    }
    note("init %s", mode);
    return 0;
}

static const mh_function callbacks[] = {
    { MH_PLUGIN_INIT, (mh_fn) init }, { MH_PLUGIN_TRIGGER, (mh_fn) trigger }, { 0, 0 } };
static const mh_plugin_descriptor descriptor = {
    MH_PLUGIN_MAGIC, MH_ABI_MAJOR, MH_ABI_MINOR, sizeof(mh_plugin_descriptor),
    MH_MODEL_TRIGGER, MH_STR("abi11_trigger"), MH_STR("1"), { "", 0 },
    MH_CAP_PARAMETERS | MH_CAP_LOGGING | MH_CAP_EVENTS | MH_CAP_LIFECYCLE, callbacks };
FX_ENTRY(descriptor)
