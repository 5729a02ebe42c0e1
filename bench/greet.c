/*
 * greet.c - the responder bench/plugins measures, one logic in two builds:
 *
 *   cc -shared -fPIC -DGREET_PLUGIN -I Sources/PluginAPI/CABI/include -o greet.so greet.c
 *       a single-model plugin: SERVE runs respond() on the client descriptor;
 *   cc -o greet-cmd greet.c
 *       a program for stock spawn(8): respond() on standard input/output.
 *
 * respond() writes its first line at once, then echoes what it reads until
 * EOF (at most 1000 reads), so connect-to-first-byte measures only how fast
 * the service gets a process to run this code.
 */
#include <errno.h>
#include <unistd.h>

static const char greeting[] = "220 greet\r\n";

static int write_all(int fd, const char *buf, size_t len)
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

static int respond(int in, int out)
{
    char buf[4096];
    if (write_all(out, greeting, sizeof(greeting) - 1) < 0)
        return -1;
    for (int reads = 0; reads < 1000; reads++) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        if (write_all(out, buf, (size_t) n) < 0)
            return -1;
    }
    return 0;
}

#ifdef GREET_PLUGIN
#include "mailhost_plugin.h"

static mh_client_fd_fn client_fd;

static int init(mh_host *host, const mh_function *fns, void **state)
{
    (void) host;
    client_fd = (mh_client_fd_fn) mh_lookup(fns, MH_HOST_CLIENT_FD);
    *state = 0;
    return client_fd ? 0 : -1;
}

static int serve(mh_host *host, void *state, mh_client *client)
{
    (void) host;
    (void) state;
    int fd = client_fd(client);
    return respond(fd, fd);
}

static const mh_function callbacks[] = {
    { MH_PLUGIN_INIT, (mh_fn) init }, { MH_PLUGIN_SERVE, (mh_fn) serve }, { 0, 0 } };

static const mh_plugin_descriptor descriptor = {
    MH_PLUGIN_MAGIC, MH_ABI_MAJOR, MH_ABI_MINOR, sizeof(mh_plugin_descriptor),
    MH_MODEL_SINGLE, MH_STR("greet"), MH_STR("1"), { "", 0 }, 0, callbacks };

const mh_plugin_descriptor *mailhost_plugin_entry(void) { return &descriptor; }
#else
int main(void)
{
    return respond(0, 1) < 0 ? 1 : 0;
}
#endif
