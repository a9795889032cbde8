/* Children that exit at different times, reaped by polling with
 * waitpid(WNOHANG) and waitid(WNOHANG) in a loop, between waits for SIGCHLD
 * that unblock it only for the duration of the call (as make -j does with
 * pselect). argv[1] chooses that wait: pselect, ppoll, epoll_pwait,
 * sigsuspend, or sleep (SIGCHLD stays blocked; the loop only polls).
 * The last child exits only once the first poll has found it alive, so at
 * least one wait is certain to be cut short by SIGCHLD, however the
 * children are scheduled. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { KIDS = 5 };

static volatile sig_atomic_t handled;
static void on_chld(int s) { (void)s; handled++; }

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "pselect";
    setvbuf(stdout, NULL, _IONBF, 0);
    sigset_t chld, old, during;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);
    during = old;
    sigdelset(&during, SIGCHLD);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_chld;  /* no SA_RESTART: the wait ends with EINTR */
    sigaction(SIGCHLD, &sa, NULL);
    int p[2];
    if (pipe(p) != 0) return 1;  /* never written: only signals end a wait */
    int ep = epoll_create1(0);
    struct epoll_event ee = {.events = EPOLLIN};
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ee);

    int go[2];
    if (pipe(go) != 0) return 1;
    for (int i = 0; i < KIDS; i++) {
        pid_t kid = fork();
        if (kid == 0) {
            char c;
            if (i == KIDS - 1 && read(go[0], &c, 1) != 1) _exit(1);
            struct timespec d = {0, (long)((i * 3) % KIDS + 1) * 10000000L};
            nanosleep(&d, NULL);
            _exit(10 + i);
        }
        printf("forked %d\n", kid);
    }
    int left = KIDS, polls = 0, empty = 0, interrupted = 0;
    while (left > 0) {
        for (;;) {  /* reap every child that is dead by now */
            pid_t got;
            int status;
            if (polls++ % 2 == 0) {
                int st;
                got = waitpid(-1, &st, WNOHANG);
                status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
            } else {
                siginfo_t si;
                si.si_pid = 0;
                got = waitid(P_ALL, 0, &si, WEXITED | WNOHANG) == 0 ? si.si_pid : -1;
                status = si.si_status;
            }
            if (got <= 0) {
                empty++;
                break;
            }
            printf("reaped %d status %d\n", got, status);
            left--;
        }
        if (left == 0) break;
        if (go[1] >= 0) {  /* the first poll is over: the last child may go */
            if (write(go[1], "g", 1) != 1) return 1;
            close(go[1]);
            go[1] = -1;
        }
        int r;
        if (strcmp(mode, "pselect") == 0) {
            fd_set rd;
            FD_ZERO(&rd);
            FD_SET(p[0], &rd);
            r = pselect(p[0] + 1, &rd, NULL, NULL, NULL, &during);
        } else if (strcmp(mode, "ppoll") == 0) {
            struct pollfd pf = {.fd = p[0], .events = POLLIN};
            r = ppoll(&pf, 1, NULL, &during);
        } else if (strcmp(mode, "epoll_pwait") == 0) {
            struct epoll_event out;
            r = epoll_pwait(ep, &out, 1, -1, &during);
        } else if (strcmp(mode, "sigsuspend") == 0) {
            r = sigsuspend(&during);
        } else {
            struct timespec d = {0, 3000000L};
            r = nanosleep(&d, NULL);
        }
        if (r < 0 && errno == EINTR) interrupted++;
        else if (r != 0) printf("wait returned %d (%s)\n", r, r < 0 ? strerror(errno) : "ready");
    }
    printf("all reaped: %d signals handled, %d interrupted waits, %d empty polls\n",
           (int)handled, interrupted, empty);
    return 0;
}
