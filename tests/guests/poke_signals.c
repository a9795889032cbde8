/* Pokes at its tracer: signals to its process group (0 and -pgrp) and to
 * every process (-1, SIGWINCH: ignored by anyone it might escape to). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
static volatile sig_atomic_t usr1, winch;
static void on(int s) { if (s == SIGUSR1) usr1++; else winch++; }
int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGWINCH, &sa, NULL);
    int ready[2];
    pipe(ready);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGWINCH);
    sigprocmask(SIG_BLOCK, &block, &old);
    pid_t p = fork();
    if (p == 0) {
        write(ready[1], "r", 1);
        while (!(usr1 && winch)) sigsuspend(&old);
        _exit(10 * (usr1 > 0) + winch);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    char c;
    read(ready[0], &c, 1);
    int r0 = kill(0, SIGUSR1);
    int rg = kill(-getpgrp(), SIGUSR1);
    int ra = kill(-1, SIGWINCH);
    int st;
    waitpid(p, &st, 0);
    printf("kill0=%d killpg=%d killall=%d parent usr1>0=%d winch=%d child=%d exit=%d\n",
           r0, rg, ra, usr1 > 0, winch, p, WEXITSTATUS(st));
    return 0;
}
