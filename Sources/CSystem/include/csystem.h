/*
 * csystem.h - the few system interfaces the host reaches through C.
 *
 * Swift cannot install async-signal-safe handlers, call variadic syslog(3),
 * build SCM_RIGHTS control messages, or portably address the packed
 * struct epoll_event. Each helper here does one of those things and nothing
 * more; none of them allocates after fork().
 */
#ifndef CSYSTEM_H
#define CSYSTEM_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/epoll.h>   /* epoll_create1 and the EPOLL* constants for Swift */

/* One readiness event from cs_epoll_wait(). */
typedef struct {
    uint64_t token;
    uint32_t events;
} cs_event;

int cs_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t token);
int cs_epoll_wait(int epfd, cs_event *out, int max, int timeout_ms);

/*
 * Signal handling by self-pipe: the handler records the signal number and
 * writes one byte to write_fd; the event loop reads the pipe and calls
 * cs_signal_take() to learn which signals arrived since the last call.
 */
int cs_signal_catch(int signo, int write_fd, int restart);
int cs_signal_take(int signo);
int cs_signal_default(int signo);
int cs_signal_ignore(int signo);

/*
 * Synchronous faults (SIGSEGV, SIGBUS, SIGILL: a Swift trap is SIGILL) cannot
 * wait for the event loop: the handler terminates the process group the way
 * the stock master does and then dies by the same signal.
 */
int cs_signal_fault(int signo);

/*
 * The plugin worker's watchdog: SIGALRM (armed with alarm(2)) calls `action`
 * (which logs stock's "watchdog timeout") and ends the process with status 1;
 * a hung action is ended by SIGALRM's default action 5 seconds later.
 */
int cs_watchdog_install(void (*action)(void));

/* syslog(3) with a preformatted message. */
void cs_openlog(const char *ident, int facility);
void cs_syslog(int priority, const char *message);
void cs_closelog(void);

/* Send one descriptor over a UNIX-domain socket (pass-type wakeups). */
int cs_send_fd(int sock, int fd);

/* The process environment, for spawning children. */
char **cs_environ(void);

/* Closes every descriptor >= lowfd (close_range(2) or a loop). */
void cs_close_from(int lowfd);

/* prctl(PR_SET_NAME): what ps and /proc/PID/comm show for a forked worker. */
void cs_set_process_name(const char *name);

/* accept4(2) with SOCK_CLOEXEC; needs _GNU_SOURCE. */
int cs_accept_cloexec(int fd);

/* pipe2(2), which needs _GNU_SOURCE. */
int cs_pipe2(int fds[2], int flags);

/*
 * fork() for every child of the master: signals are blocked across the fork
 * and the child starts with default actions for every signal the master
 * catches (see csystem.c), so no signal can be lost in between.
 * _exit() wrapper: Swift marks fork unavailable on some platforms.
 */
pid_t cs_fork(void);
void cs_exit_now(int status) __attribute__((noreturn));

/* Status-code decoding for waitpid(). */
int cs_wifexited(int status);
int cs_wexitstatus(int status);
int cs_wifsignaled(int status);
int cs_wtermsig(int status);
int cs_wifstopped(int status);
int cs_wstopsig(int status);

#endif
