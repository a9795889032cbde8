/* Load: N system calls in a child while the parent waits for it (the parent's
 * next event is N events away: the replayer's lookahead must stay bounded). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    pid_t p = fork();
    if (p == 0) {
        struct timespec ts;
        unsigned long acc = 0;
        for (long i = 0; i < n; i++) {
            if (i & 1) { clock_gettime(CLOCK_REALTIME, &ts); acc += ts.tv_nsec & 0xff; }
            else acc += syscall(SYS_getppid);
        }
        printf("child calls=%ld acc=%lu\n", n, acc);
        return 0;
    }
    int st;
    waitpid(p, &st, 0);
    printf("parent status=%d\n", WEXITSTATUS(st));
    return 0;
}
