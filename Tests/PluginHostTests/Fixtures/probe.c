/*
 * probe.c - single model plugin whose library constructor reports what the
 * process loading it looks like, before any host code sees the plugin:
 * its open descriptors, and how long the constructor took. When the file
 * PROBE_DIR/sleep holds a number N, the constructor sleeps N seconds (a
 * slow or hanging plugin at validation). Each run appends one line to
 * PROBE_DIR/records:
 *
 *     <name> <pid> <start ns> <end ns> <fd>=<link target> ...
 *
 * with CLOCK_MONOTONIC times. PROBE_DIR and PROBE_NAME are given with -D
 * when the test compiles the fixture.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "fixture.h"

#ifndef PROBE_DIR
#error "compile with -DPROBE_DIR=\"/path\""
#endif
#ifndef PROBE_NAME
#define PROBE_NAME "probe"
#endif

static long long monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Appends " fd=target" for every open descriptor but the listing's own. */
static size_t list_descriptors(char *out, size_t size)
{
    size_t used = 0;
    DIR *dir = opendir("/proc/self/fd");
    if (dir == 0)
        return (size_t) snprintf(out, size, " cannot-list=%d", errno);
    struct dirent *entry;
    while ((entry = readdir(dir)) != 0 && used + 600 < size) {
        if (entry->d_name[0] == '.' || atoi(entry->d_name) == dirfd(dir))
            continue;
        char link[300], target[512];
        snprintf(link, sizeof(link), "/proc/self/fd/%s", entry->d_name);
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        target[n > 0 ? n : 0] = 0;
        used += (size_t) snprintf(out + used, size - used, " %s=%s", entry->d_name, target);
    }
    closedir(dir);
    return used;
}

static int sleep_seconds(void)
{
    char text[32] = "";
    int fd = open(PROBE_DIR "/sleep", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, text, sizeof(text) - 1);
    close(fd);
    text[n > 0 ? n : 0] = 0;
    return atoi(text);
}

__attribute__((constructor)) static void probe(void)
{
    long long start = monotonic_ns();
    char descriptors[16384];
    /* First: opening anything below would add a descriptor of our own. */
    list_descriptors(descriptors, sizeof(descriptors));
    struct timespec rest = { sleep_seconds(), 0 };
    while (nanosleep(&rest, &rest) < 0 && errno == EINTR)
        continue;
    char line[17000];
    int len = snprintf(line, sizeof(line), "%s %d %lld %lld%s\n", PROBE_NAME, (int) getpid(), start,
                       monotonic_ns(), descriptors);
    int fd = open(PROBE_DIR "/records", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
        (void) fx_write_all(fd, line, (size_t) (len < (int) sizeof(line) ? len : (int) sizeof(line) - 1));
        close(fd);
    }
}

/* The tests never connect: the probe is about loading. */
static int serve(mh_host *host, void *state, mh_client *client)
{
    return 0;
}

static const mh_function callbacks[] = {
    { MH_PLUGIN_INIT, (mh_fn) fx_init }, { MH_PLUGIN_SERVE, (mh_fn) serve }, { 0, 0 } };
FX_DESCRIPTOR(descriptor, "probe", MH_MODEL_SINGLE, callbacks);
FX_ENTRY(descriptor)
