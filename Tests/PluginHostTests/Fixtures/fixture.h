/*
 * fixture.h - shared bits of the test fixture plugins: the host functions a
 * fixture uses (resolved at INIT), a bounded write-all, and a descriptor
 * macro. Fixtures are deliberately tiny; each .c file is one plugin.
 */
#ifndef FIXTURE_H
#define FIXTURE_H

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "mailhost_plugin.h"

static mh_log_fn fx_log;
static mh_client_fd_fn fx_client_fd;
static mh_param_string_fn fx_param_string;
static mh_watch_read_fn fx_watch_read;
static mh_unwatch_fn fx_unwatch;
static mh_client_done_fn fx_client_done;

static int fx_init(mh_host *host, const mh_function *fns, void **state)
{
    fx_log = (mh_log_fn) mh_lookup(fns, MH_HOST_LOG);
    fx_client_fd = (mh_client_fd_fn) mh_lookup(fns, MH_HOST_CLIENT_FD);
    fx_param_string = (mh_param_string_fn) mh_lookup(fns, MH_HOST_PARAM_STRING);
    fx_watch_read = (mh_watch_read_fn) mh_lookup(fns, MH_HOST_WATCH_READ);
    fx_unwatch = (mh_unwatch_fn) mh_lookup(fns, MH_HOST_UNWATCH);
    fx_client_done = (mh_client_done_fn) mh_lookup(fns, MH_HOST_CLIENT_DONE);
    *state = 0;
    if (fx_log)
        fx_log(host, MH_LOG_INFO, "fixture init", 12);
    return (fx_client_fd != 0) ? 0 : -1;
}

__attribute__((unused)) static int fx_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t) n;
    }
    return 0;
}

#define FX_DESCRIPTOR(var, plugin_name, model, table) \
    static const mh_plugin_descriptor var = { \
        MH_PLUGIN_MAGIC, MH_ABI_MAJOR, MH_ABI_MINOR, sizeof(mh_plugin_descriptor), \
        (model), MH_STR(plugin_name), MH_STR("1"), { "", 0 }, \
        MH_CAP_PARAMETERS | MH_CAP_LOGGING, (table) }

#define FX_ENTRY(var) \
    const mh_plugin_descriptor *mailhost_plugin_entry(void) { return &(var); }

#endif
