/*
 * counter.c - an example mail host plugin in C: a multi-model service that
 * answers every request with the number of requests this process has served,
 * starting from the main.cf (or -o) parameter counter_start.
 *
 *   $ printf 'hi\n' | nc -U /var/spool/postfix/private/counter
 *   count 1 (pid 4242, service counter)
 *
 * What it shows: the entry point and descriptor, the {id, function} tables in
 * both directions, parameters, logging, the per-request SERVE of the multi
 * model, and PRE_EXIT. It includes nothing from the host but the ABI header.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mailhost_plugin.h"

/* Host functions, looked up once in INIT. */
static mh_log_fn host_log;
static mh_client_fd_fn host_client_fd;
static mh_service_name_fn host_service_name;

struct counter {
    long long count;
    char service[256];
};
static struct counter the_counter; /* one service per process */

static void log_text(mh_host *host, int level, const char *text)
{
    if (host_log)
        host_log(host, level, text, strlen(text));
}

/* INIT: required. Runs after the privilege drop, before the first client. */
static int counter_init(mh_host *host, const mh_function *fns, void **state)
{
    mh_param_int_fn param_int = (mh_param_int_fn) mh_lookup(fns, MH_HOST_PARAM_INT);

    host_log = (mh_log_fn) mh_lookup(fns, MH_HOST_LOG);
    host_client_fd = (mh_client_fd_fn) mh_lookup(fns, MH_HOST_CLIENT_FD);
    host_service_name = (mh_service_name_fn) mh_lookup(fns, MH_HOST_SERVICE_NAME);
    if (host_client_fd == 0 || param_int == 0) {
        log_text(host, MH_LOG_ERROR, "counter: host lacks client_fd or param_int");
        return -1;
    }
    the_counter.count = param_int(host, MH_STR("counter_start"), 0);
    if (host_service_name == 0
        || host_service_name(host, the_counter.service, sizeof(the_counter.service)) >= sizeof(the_counter.service))
        strcpy(the_counter.service, "?");
    *state = &the_counter;
    log_text(host, MH_LOG_INFO, "counter: ready");
    return 0;
}

/* SERVE: one request per call. 0 keeps the connection, -1 closes it. */
static int counter_serve(mh_host *host, void *state, mh_client *client)
{
    struct counter *c = state;
    char buf[1024], reply[400];
    int fd = host_client_fd(client);
    ssize_t n;

    (void) host;

    do {
        n = read(fd, buf, sizeof(buf));
    } while (n < 0 && errno == EINTR);
    if (n <= 0)
        return -1; /* EOF or error: the host closes the connection */
    c->count++;
    int len = snprintf(reply, sizeof(reply), "count %lld (pid %ld, service %s)\n",
                       c->count, (long) getpid(), c->service);
    if (len < 0 || write(fd, reply, (size_t) len) != len)
        return -1;
    return 0;
}

/* PRE_EXIT: optional, before an orderly exit (max_idle, max_use). */
static void counter_pre_exit(mh_host *host, void *state)
{
    char text[128];
    snprintf(text, sizeof(text), "counter: exiting after %lld requests", ((struct counter *) state)->count);
    log_text(host, MH_LOG_INFO, text);
}

static const mh_function counter_callbacks[] = {
    { MH_PLUGIN_INIT, (mh_fn) counter_init },
    { MH_PLUGIN_SERVE, (mh_fn) counter_serve },
    { MH_PLUGIN_PRE_EXIT, (mh_fn) counter_pre_exit },
    { 0, 0 }
};

static const mh_plugin_descriptor counter_descriptor = {
    .magic = MH_PLUGIN_MAGIC,
    .abi_major = MH_ABI_MAJOR,
    .abi_minor = MH_ABI_MINOR,
    .size = sizeof(mh_plugin_descriptor),
    .server_model = MH_MODEL_MULTI,
    .name = MH_STR("counter"),
    .version = MH_STR("1.0"),
    .swift_runtime = { "", 0 }, /* C plugin: no Swift runtime */
    .required_capabilities = MH_CAP_PARAMETERS | MH_CAP_LOGGING,
    .callbacks = counter_callbacks,
};

/* The one exported symbol. */
const mh_plugin_descriptor *MH_PLUGIN_ENTRY_SYMBOL(void)
{
    return &counter_descriptor;
}
