/*
 * csystem.c - implementation of the C shims declared in csystem.h.
 *
 * Guarantees: signal handlers only touch sig_atomic_t flags and write(2) to a
 * non-blocking pipe, so they are async-signal-safe; errno is preserved. The
 * one exception is the watchdog's handler, which ends the process (see
 * cs_watchdog_install).
 */
#define _GNU_SOURCE
#include "csystem.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <sys/prctl.h>

extern char **environ;

int cs_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t token)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.events = events;
    ev.data.u64 = token;
    return epoll_ctl(epfd, op, fd, &ev);
}

int cs_epoll_wait(int epfd, cs_event *out, int max, int timeout_ms)
{
    struct epoll_event evs[64];
    if (max > 64)
        max = 64;
    int n = epoll_wait(epfd, evs, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        out[i].token = evs[i].data.u64;
        out[i].events = evs[i].events;
    }
    return n;
}

#define CS_NSIG 65
static volatile sig_atomic_t pending[CS_NSIG];
static volatile sig_atomic_t wakeup_fd = -1;

static void on_signal(int signo)
{
    int saved = errno;
    if (signo > 0 && signo < CS_NSIG)
        pending[signo] = 1;
    if (wakeup_fd >= 0) {
        char byte = (char) signo;
        ssize_t ignored = write(wakeup_fd, &byte, 1);
        (void) ignored;
    }
    errno = saved;
}

int cs_signal_catch(int signo, int write_fd, int restart)
{
    struct sigaction sa;
    wakeup_fd = write_fd;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_signal;
    sa.sa_flags = (restart ? SA_RESTART : 0) | (signo == SIGCHLD ? SA_NOCLDSTOP : 0);
    return sigaction(signo, &sa, NULL);
}

int cs_signal_take(int signo)
{
    if (signo <= 0 || signo >= CS_NSIG || !pending[signo])
        return 0;
    pending[signo] = 0;
    return 1;
}

static int set_disposition(int signo, void (*how)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = how;
    return sigaction(signo, &sa, NULL);
}

static void on_fault(int signo)
{
    signal(SIGTERM, SIG_IGN);
    if (getpgrp() == getpid())
        kill(-getpid(), SIGTERM);
    signal(signo, SIG_DFL);
    raise(signo);
}

int cs_signal_fault(int signo) { return set_disposition(signo, on_fault); }

/*
 * The watchdog's SIGALRM: the process is stuck in plugin code, so the only
 * way to say so is from the handler. As Postfix's watchdog does, the handler
 * first makes sure the process ends within 5 seconds even if saying so
 * hangs (SIGALRM back to its default action, unblocked, alarm(5)), then
 * calls the action (which logs) and ends the process with status 1.
 */
static void (*watchdog_action)(void);

static void on_watchdog(int signo)
{
    sigset_t unblock;
    set_disposition(signo, SIG_DFL);
    sigemptyset(&unblock);
    sigaddset(&unblock, SIGALRM);
    sigprocmask(SIG_UNBLOCK, &unblock, NULL);
    alarm(5);
    if (watchdog_action)
        watchdog_action();
    _exit(1);
}

int cs_watchdog_install(void (*action)(void))
{
    watchdog_action = action;
    return set_disposition(SIGALRM, on_watchdog);
}

int cs_signal_default(int signo) { return set_disposition(signo, SIG_DFL); }
int cs_signal_ignore(int signo) { return set_disposition(signo, SIG_IGN); }

/* openlog(3) keeps the ident pointer, so it must outlive the call. */
void cs_openlog(const char *ident, int facility)
{
    static char *kept;
    char *copy = strdup(ident);
    if (copy == NULL)
        return;
    openlog(copy, LOG_PID | LOG_NDELAY, facility);
    free(kept);
    kept = copy;
}
void cs_syslog(int priority, const char *message) { syslog(priority, "%s", message); }
void cs_closelog(void) { closelog(); }

int cs_send_fd(int sock, int fd)
{
    char byte = 0;
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    memset(&control, 0, sizeof(control));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof(control.buf);
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
    return sendmsg(sock, &msg, 0) < 0 ? -1 : 0;
}

char **cs_environ(void) { return environ; }
void cs_close_from(int lowfd)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned) lowfd, ~0U, 0) == 0)
        return;
#endif
    long max = sysconf(_SC_OPEN_MAX);
    for (int fd = lowfd; fd < max && fd < 65536; fd++)
        (void) close(fd);
}

void cs_set_process_name(const char *name) { (void) prctl(PR_SET_NAME, name, 0, 0, 0); }

int cs_accept_cloexec(int fd) { return accept4(fd, NULL, NULL, SOCK_CLOEXEC); }

int cs_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }
/*
 * A child must never run the master's handlers: until exec (or, for a plugin
 * worker, for its whole life) a caught signal would write into the master's
 * self-pipe and be lost, so a process-group SIGTERM arriving just after fork
 * would be swallowed. Every signal is blocked across fork(); the child puts
 * each caught signal back to its default action (ignored ones stay ignored,
 * as execve would leave them), forgets the self-pipe, and only then restores
 * the mask, so a signal that arrived in between takes its default effect.
 */
pid_t cs_fork(void)
{
    sigset_t all, saved;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &saved);
    pid_t pid = fork();
    if (pid == 0) {
        wakeup_fd = -1;
        for (int signo = 1; signo < NSIG; signo++) {
            struct sigaction current;
            if (sigaction(signo, NULL, &current) == 0
                && current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN)
                (void) set_disposition(signo, SIG_DFL);
        }
        for (int signo = 1; signo < CS_NSIG; signo++)
            pending[signo] = 0;
    }
    int saved_errno = errno;
    sigprocmask(SIG_SETMASK, &saved, NULL);
    errno = saved_errno;
    return pid;
}
void cs_exit_now(int status) { _exit(status); }

int cs_wifexited(int status) { return WIFEXITED(status); }
int cs_wexitstatus(int status) { return WEXITSTATUS(status); }
int cs_wifsignaled(int status) { return WIFSIGNALED(status); }
int cs_wtermsig(int status) { return WTERMSIG(status); }
int cs_wifstopped(int status) { return WIFSTOPPED(status); }
int cs_wstopsig(int status) { return WSTOPSIG(status); }
