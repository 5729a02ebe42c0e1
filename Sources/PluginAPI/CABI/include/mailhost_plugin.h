/*
 * mailhost_plugin.h - the mail host plugin ABI, version 1.1.
 *
 * A plugin is a shared library that implements one master.cf service. The
 * host (our master(8)) loads it with GNU libltdl in a child process, never in
 * the master itself, and runs it under a server skeleton that speaks the
 * Postfix master-to-child protocol for it. A plugin may be written in C or in
 * Swift (through the PluginAPI Swift SDK); nothing but the C types declared
 * here crosses the boundary.
 *
 * Rules of the ABI
 *  - Entry point: the plugin exports MH_PLUGIN_ENTRY_SYMBOL, a function that
 *    takes no argument and returns a pointer to a constant descriptor that
 *    stays valid for the life of the process.
 *  - The descriptor starts with a magic number, the ABI major and minor it was
 *    built against, and its own size in bytes. The host refuses a plugin
 *    whose major differs from its own or whose minor is higher than its own;
 *    the size lets later minors append fields: the host reads only fields
 *    that lie within `size`, and treats missing trailing fields as zero.
 *  - Functions travel as tables of {id, function} pairs ended by {0, NULL},
 *    in both directions: the plugin's callbacks in the descriptor, the host's
 *    services in the table passed to the init callback. Unknown ids are
 *    ignored; a missing required id makes the other side refuse, naming it.
 *  - The host's state is reached only through opaque handles (mh_host,
 *    mh_client) and accessor functions; no host struct layout is exposed.
 *  - Strings cross as UTF-8 pointer plus length (mh_str); neither side keeps
 *    or frees memory it did not allocate. Strings the host returns are
 *    copied into a caller-supplied buffer (see MH_HOST_PARAM_STRING).
 *  - Callbacks return 0 for success and a negative value for failure; no
 *    exception, Swift error or longjmp may cross the boundary.
 *  - Host functions never trust their arguments: a client handle that is not
 *    live (ended, made up, NULL), a descriptor the host needs (status channel,
 *    listeners), a NULL buffer with a length or a length over 1 MiB, or an
 *    event function called in a model without MH_CAP_EVENTS, is refused with
 *    "error: plugin called <function>: <reason> -- refused" in the log and
 *    the function's failure value (-1, 0 or nothing), and the process goes
 *    on. A parameter whose value Postfix would reject ends the process with
 *    Postfix's fatal message, as it ends a stock daemon, when it is read with
 *    the 1.0 MH_HOST_PARAM_INT/BOOL/TIME; MH_HOST_PARAM_CHECKED (1.1) returns
 *    that message instead. That is the only 1.0 host function that ends the
 *    process on a condition a caller could recover from (MH_HOST_EXIT and
 *    MH_LOG_FATAL end it on purpose).
 *  - Callbacks are bounded by a watchdog, as Postfix daemons are: a plugin
 *    callback (INIT and PRE_INIT excepted) that runs longer than the
 *    watchdog time ends the process with "fatal: watchdog timeout". The time
 *    is daemon_timeout in the SINGLE and MULTI models and 1000 seconds in the
 *    TRIGGER and EVENT models (stock's skeletons do the same), unless the
 *    plugin sets its own with MH_HOST_SET_WATCHDOG (1.1).
 *
 * Versioning: the ABI version (MH_ABI_MAJOR.MH_ABI_MINOR) is independent of
 * the product version. Adding ids, capability bits or appending descriptor
 * fields is a minor change; anything else is a major change. A 1.1 host runs
 * every 1.0 plugin unchanged; a 1.0 host refuses a 1.1 plugin at validation
 * ("ABI minor 1 (host 0)", and "required capabilities ..." for a 1.1 bit).
 * Everything added in 1.1 is marked "1.1" below; nothing of 1.0 changed
 * except that MH_CAP_EVENTS is now offered in the TRIGGER model too and the
 * TRIGGER and EVENT watchdogs follow stock (see above).
 */
#ifndef MAILHOST_PLUGIN_H
#define MAILHOST_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MH_PLUGIN_MAGIC 0x4d48504cU /* "MHPL" */
#define MH_ABI_MAJOR 1
#define MH_ABI_MINOR 1

/* The one symbol a plugin exports. */
#define MH_PLUGIN_ENTRY_SYMBOL mailhost_plugin_entry
#define MH_PLUGIN_ENTRY_NAME "mailhost_plugin_entry"

/* A UTF-8 string that is not necessarily NUL-terminated. */
typedef struct mh_str {
    const char *ptr;
    size_t len;
} mh_str;

/* One entry of a function table; a table ends with {0, NULL}. */
typedef void (*mh_fn)(void);
typedef struct mh_function {
    uint32_t id;
    mh_fn fn;
} mh_function;

/* Opaque host handles. */
typedef struct mh_host mh_host;     /* the service process */
typedef struct mh_client mh_client; /* one client connection */

/*
 * Server models, as Postfix's skeletons:
 *  SINGLE  - one client at a time; the connection is closed when SERVE returns.
 *  MULTI   - many clients per process; SERVE is called once per request
 *            (whenever a client connection is readable) and returns 0 to
 *            keep the connection or a negative value to close it.
 *  TRIGGER - one-shot requests such as wakeups; TRIGGER gets the bytes read.
 *            1.1: the plugin may also watch its own descriptors and set
 *            timers (MH_CAP_EVENTS), as qmgr(8) does between wakeups; those
 *            callbacks run outside any request (no status change).
 *  EVENT   - long-lived; ACCEPT hands the plugin the connection, which it
 *            drives with the host's watch and timer functions and ends with
 *            MH_HOST_CLIENT_DONE.
 */
typedef enum mh_server_model {
    MH_MODEL_SINGLE = 1,
    MH_MODEL_MULTI = 2,
    MH_MODEL_TRIGGER = 3,
    MH_MODEL_EVENT = 4
} mh_server_model;

/* Host capabilities a plugin may require (descriptor.required_capabilities).
 * The host refuses, at validation, a plugin that requires a capability it
 * does not offer in the plugin's server model: MH_CAP_EVENTS is offered in
 * the EVENT and (1.1) TRIGGER models; the others in every model. A host
 * refuses a bit it does not know, so a plugin that sets a 1.1 bit is refused
 * by a 1.0 host by name. */
#define MH_CAP_PARAMETERS 0x1ULL  /* MH_HOST_PARAM_*, 1.1: MH_HOST_PARAM_CHECKED */
#define MH_CAP_LOGGING    0x2ULL  /* MH_HOST_LOG */
#define MH_CAP_TRIGGERS   0x4ULL  /* MH_HOST_SEND_TRIGGER */
#define MH_CAP_EVENTS     0x8ULL  /* MH_HOST_WATCH_READ, MH_HOST_UNWATCH, MH_HOST_TIMER;
                                   * 1.1: MH_HOST_WATCH, MH_HOST_WATCH_MASK,
                                   * MH_HOST_TIMER_START, MH_HOST_TIMER_CANCEL,
                                   * MH_HOST_LOOP_HOOK */
#define MH_CAP_LIFECYCLE  0x10ULL /* 1.1: MH_HOST_DECLARE, MH_HOST_SET_WATCHDOG */
#define MH_CAP_KNOWN_1_0  0xfULL  /* every capability ABI 1.0 knows */
#define MH_CAP_KNOWN      0x1fULL /* every capability this header knows */

/* The descriptor returned by the entry point. */
typedef struct mh_plugin_descriptor {
    uint32_t magic;            /* MH_PLUGIN_MAGIC */
    uint16_t abi_major;        /* MH_ABI_MAJOR the plugin was built against */
    uint16_t abi_minor;        /* MH_ABI_MINOR the plugin was built against */
    uint32_t size;             /* sizeof(mh_plugin_descriptor) at build time */
    uint32_t server_model;     /* mh_server_model */
    mh_str name;               /* plugin name, e.g. "echo" */
    mh_str version;            /* plugin version, free form */
    mh_str swift_runtime;      /* Swift compiler version for Swift plugins; empty for C */
    uint64_t required_capabilities; /* MH_CAP_* bits */
    const mh_function *callbacks;   /* MH_PLUGIN_* ids, ended by {0, NULL} */
} mh_plugin_descriptor;

typedef const mh_plugin_descriptor *(*mh_plugin_entry_fn)(void);

/*
 * Plugin callbacks (ids in descriptor.callbacks). "state" is whatever INIT
 * stored; the host passes it back unchanged.
 */
enum {
    /* int init(mh_host *host, const mh_function *host_functions, void **state)
     * Required. Called in the child after privileges are dropped and the
     * chroot is entered, before the first client. */
    MH_PLUGIN_INIT = 1,
    /* int serve(mh_host *host, void *state, mh_client *client)  SINGLE, MULTI: required. */
    MH_PLUGIN_SERVE = 2,
    /* int trigger(mh_host *host, void *state, const char *data, size_t len)  TRIGGER: required. */
    MH_PLUGIN_TRIGGER = 3,
    /* int accept(mh_host *host, void *state, mh_client *client)  EVENT: required. */
    MH_PLUGIN_ACCEPT = 4,
    /* void pre_exit(mh_host *host, void *state)  Optional, before an orderly exit. */
    MH_PLUGIN_PRE_EXIT = 5,
    /* int pre_init(mh_host *host, const mh_function *host_functions, void **state)
     * Optional. Called as root before privileges are dropped. */
    MH_PLUGIN_PRE_INIT = 6
};

typedef int (*mh_init_fn)(mh_host *, const mh_function *, void **);
typedef int (*mh_serve_fn)(mh_host *, void *, mh_client *);
typedef int (*mh_trigger_fn)(mh_host *, void *, const char *, size_t);
typedef int (*mh_accept_fn)(mh_host *, void *, mh_client *);
typedef void (*mh_pre_exit_fn)(mh_host *, void *);

/* Log levels for MH_HOST_LOG. */
typedef enum mh_log_level {
    MH_LOG_INFO = 0,
    MH_LOG_WARNING = 1,
    MH_LOG_ERROR = 2,
    MH_LOG_FATAL = 3 /* logs, then the process exits with status 1 */
} mh_log_level;

/*
 * Host functions (ids in the table passed to INIT and PRE_INIT). EVENTS,
 * LIFECYCLE: the function is offered only in the models that offer that
 * capability (see MH_CAP_*); elsewhere it is refused. EVENT: the EVENT model
 * only. Parameter lookups see main.cf with the service's -o overrides
 * applied and $name expanded; the default is used when the parameter is not
 * set.
 */
enum {
    /* void log(mh_host *, int level, const char *text, size_t len) */
    MH_HOST_LOG = 1,
    /* size_t param_string(mh_host *, mh_str name, mh_str dflt, char *buf, size_t size)
     * Copies the value (NUL-terminated when it fits) and returns its length;
     * call again with a larger buffer when the result is >= size. */
    MH_HOST_PARAM_STRING = 2,
    /* int64_t param_int(mh_host *, mh_str name, int64_t dflt) */
    MH_HOST_PARAM_INT = 3,
    /* int param_bool(mh_host *, mh_str name, int dflt)  1 or 0 */
    MH_HOST_PARAM_BOOL = 4,
    /* int64_t param_time(mh_host *, mh_str name, mh_str dflt)  seconds; dflt like "100s" */
    MH_HOST_PARAM_TIME = 5,
    /* int send_trigger(mh_host *, mh_str service, const char *data, size_t len)
     * service is "public/qmgr", "private/x" (relative to the queue directory)
     * or the name of a master.cf inet service (field 1 as written, e.g.
     * "127.0.0.1:10026"); 0 when sent, -1 (with a warning logged) otherwise. */
    MH_HOST_SEND_TRIGGER = 6,
    /* size_t service_name(mh_host *, char *buf, size_t size)  as param_string */
    MH_HOST_SERVICE_NAME = 7,
    /* size_t service_type(mh_host *, char *buf, size_t size)  "unix", "inet", ... */
    MH_HOST_SERVICE_TYPE = 8,
    /* void exit(mh_host *, int status)  orderly exit (PRE_EXIT runs first) */
    MH_HOST_EXIT = 9,
    /* int client_fd(mh_client *)  the connection's descriptor, -1 when the handle is not live */
    MH_HOST_CLIENT_FD = 10,
    /* void client_done(mh_host *, mh_client *)  EVENT: the host ends the connection
     * (unwatches and closes it); the handle is dead afterwards. In SINGLE and
     * MULTI the host ends connections itself (SERVE returns, or returns < 0). */
    MH_HOST_CLIENT_DONE = 11,
    /* int watch_read(mh_host *, int fd, void (*cb)(void *ctx, int fd), void *ctx)  EVENTS
     * 0, or -1 (logged) when the descriptor cannot be watched. */
    MH_HOST_WATCH_READ = 12,
    /* void unwatch(mh_host *, int fd)  EVENTS; removes any plugin watch on fd */
    MH_HOST_UNWATCH = 13,
    /* int timer(mh_host *, int64_t milliseconds, void (*cb)(void *ctx), void *ctx)
     * EVENTS: one-shot, cannot be cancelled (1.1: MH_HOST_TIMER_START) */
    MH_HOST_TIMER = 14,
    /* size_t arg_count(mh_host *)  master.cf arguments after the command, -o pairs excluded */
    MH_HOST_ARG_COUNT = 15,
    /* size_t arg(mh_host *, size_t index, char *buf, size_t size)  as param_string */
    MH_HOST_ARG = 16,

    /* ---- 1.1 ---- Failure values: -1 (or 0 for TIMER_START) with the call
     * refused and logged, as for 1.0; see each function for others. */

    /* int watch(mh_host *, int fd, uint32_t mask, mh_watch_cb cb, void *ctx)
     * EVENTS. Watches fd for the MH_EVENT_READ and/or MH_EVENT_WRITE in mask
     * (nothing else may be set) and calls cb(ctx, fd, events) whenever any of
     * them holds, level-triggered; events are the MH_EVENT_* bits that hold,
     * MH_EVENT_HUP and MH_EVENT_ERROR included whatever the mask. Watching a
     * watched descriptor replaces its mask, callback and context. 0, or -1 for
     * a descriptor the host needs or cannot watch, a bad mask, a NULL cb. */
    MH_HOST_WATCH = 17,
    /* int watch_mask(mh_host *, int fd, uint32_t mask)  EVENTS
     * Changes the mask of a plugin watch (from WATCH or WATCH_READ), keeping
     * its callback. 0, or -1 for a descriptor the plugin does not watch or a
     * bad mask. Remove a watch with MH_HOST_UNWATCH. */
    MH_HOST_WATCH_MASK = 18,
    /* uint64_t timer_start(mh_host *, int64_t milliseconds, mh_timer_cb cb, void *ctx)
     * EVENTS. One-shot: cb(ctx, id) runs once, no earlier than milliseconds
     * (>= 0) from now, unless cancelled. Returns the timer's id, never 0 and
     * never reused within the process; 0 when refused (NULL cb, negative
     * time). */
    MH_HOST_TIMER_START = 19,
    /* int timer_cancel(mh_host *, uint64_t id)  EVENTS
     * 0: cancelled, cb will not run; 1: the timer has already run or been
     * cancelled (nothing done, nothing logged); -1: refused, the id was never
     * returned by TIMER_START in this process. */
    MH_HOST_TIMER_CANCEL = 20,
    /* int loop_hook(mh_host *, mh_loop_cb hook, void *ctx)  EVENTS
     * hook(ctx) runs once per event loop iteration, after the events and
     * timers of the previous iteration were handled and before the host waits
     * again (as Postfix's CA_MAIL_SERVER_LOOP). It returns the longest time in
     * milliseconds the host may wait for the next event: 0 not at all, < 0 as
     * long as it takes. A new hook replaces the old one; a NULL hook removes
     * it. 0. */
    MH_HOST_LOOP_HOOK = 21,
    /* int declare(mh_host *, uint32_t flags)  LIFECYCLE; call it from INIT.
     * MH_DECLARE_SOLITARY: the service must run with a process limit of 1; if
     * master.cf says otherwise the process ends with stock's fatal "service
     * <command> requires a process limit of 1". MH_DECLARE_LONG_LIVED: max_idle
     * and max_use no longer apply (both 0, as qmgr(8) sets them after start-up),
     * so the process exits only when the master goes away, on MH_HOST_EXIT or
     * a fatal error. 0, or -1 for an unknown flag. */
    MH_HOST_DECLARE = 22,
    /* int set_watchdog(mh_host *, int64_t seconds)  LIFECYCLE
     * Sets the watchdog time for every later callback (as Postfix's
     * CA_MAIL_SERVER_WATCHDOG; qmgr passes qmgr_daemon_timeout). 0, or -1 for
     * seconds < 1 or > 2^31. */
    MH_HOST_SET_WATCHDOG = 23,
    /* int param_checked(mh_host *, uint32_t kind, mh_str name, mh_str dflt,
     *                   int64_t min, int64_t max, int64_t *value,
     *                   char *error, size_t error_size)  PARAMETERS
     * Reads an MH_PARAM_INT, MH_PARAM_TIME (seconds; dflt like "100s") or
     * MH_PARAM_BOOL (1 or 0; dflt "yes" or "no") parameter as the 1.0
     * functions do, checks min and max as Postfix does (0: no bound; not
     * for BOOL), and stores it in *value. 0 on success; -1 when Postfix would
     * reject the value: *value is untouched and error receives Postfix's
     * message (copied as by param_string), the process goes on; -2 when the
     * call is refused (bad kind, NULL value, bad name or default). */
    MH_HOST_PARAM_CHECKED = 24
};

/* 1.1: event bits of MH_HOST_WATCH masks and callbacks. */
#define MH_EVENT_READ  0x1U /* readable (or end of file) */
#define MH_EVENT_WRITE 0x2U /* writable */
#define MH_EVENT_HUP   0x4U /* the peer hung up (with READ watched: also a half-close) */
#define MH_EVENT_ERROR 0x8U /* an error is pending on the descriptor */

/* 1.1: MH_HOST_DECLARE flags. */
#define MH_DECLARE_SOLITARY  0x1U
#define MH_DECLARE_LONG_LIVED 0x2U

/* 1.1: MH_HOST_PARAM_CHECKED kinds. */
#define MH_PARAM_INT  1U
#define MH_PARAM_TIME 2U
#define MH_PARAM_BOOL 3U

typedef void (*mh_log_fn)(mh_host *, int, const char *, size_t);
typedef size_t (*mh_param_string_fn)(mh_host *, mh_str, mh_str, char *, size_t);
typedef int64_t (*mh_param_int_fn)(mh_host *, mh_str, int64_t);
typedef int (*mh_param_bool_fn)(mh_host *, mh_str, int);
typedef int64_t (*mh_param_time_fn)(mh_host *, mh_str, mh_str);
typedef int (*mh_send_trigger_fn)(mh_host *, mh_str, const char *, size_t);
typedef size_t (*mh_service_name_fn)(mh_host *, char *, size_t);
typedef void (*mh_exit_fn)(mh_host *, int);
typedef int (*mh_client_fd_fn)(mh_client *);
typedef void (*mh_client_done_fn)(mh_host *, mh_client *);
typedef int (*mh_watch_read_fn)(mh_host *, int, void (*)(void *, int), void *);
typedef void (*mh_unwatch_fn)(mh_host *, int);
typedef int (*mh_timer_fn)(mh_host *, int64_t, void (*)(void *), void *);
typedef size_t (*mh_arg_count_fn)(mh_host *);
typedef size_t (*mh_arg_fn)(mh_host *, size_t, char *, size_t);

/* 1.1 */
typedef void (*mh_watch_cb)(void *ctx, int fd, uint32_t events);
typedef void (*mh_timer_cb)(void *ctx, uint64_t id);
typedef int64_t (*mh_loop_cb)(void *ctx);
typedef int (*mh_watch_fn)(mh_host *, int, uint32_t, mh_watch_cb, void *);
typedef int (*mh_watch_mask_fn)(mh_host *, int, uint32_t);
typedef uint64_t (*mh_timer_start_fn)(mh_host *, int64_t, mh_timer_cb, void *);
typedef int (*mh_timer_cancel_fn)(mh_host *, uint64_t);
typedef int (*mh_loop_hook_fn)(mh_host *, mh_loop_cb, void *);
typedef int (*mh_declare_fn)(mh_host *, uint32_t);
typedef int (*mh_set_watchdog_fn)(mh_host *, int64_t);
typedef int (*mh_param_checked_fn)(mh_host *, uint32_t, mh_str, mh_str, int64_t, int64_t,
                                   int64_t *, char *, size_t);

/* Looks up a function by id in a {0, NULL}-terminated table; NULL if absent. */
static inline mh_fn mh_lookup(const mh_function *table, uint32_t id)
{
    for (; table && table->id != 0; table++)
        if (table->id == id)
            return table->fn;
    return (mh_fn) 0;
}

#define MH_STR(literal) ((mh_str) { (literal), sizeof(literal) - 1 })

#ifdef __cplusplus
}
#endif
#endif /* MAILHOST_PLUGIN_H */
