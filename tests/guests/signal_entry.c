/* Signals from another process reach a parent that computes between its
 * system calls: each is delivered at the parent's next syscall, and what the
 * handler saw (the iteration it came in) must replay. The child makes calls
 * of its own meanwhile, so its events lie between the parent's. The signal
 * is a real-time one: those queue, where two SIGUSR1 sent before the parent
 * ran again (a busy CPU) would merge into one and the count would fall short. */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 3000
static volatile unsigned long count;
static unsigned long seen[64];
static volatile int nseen;

static void handler(int s) {
    (void)s;
    if (nseen < 64) seen[nseen++] = count;
}

int main(void) {
    signal(SIGRTMIN, handler);
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < 20; i++) {
            struct timespec ts = {0, 2 * 1000 * 1000};
            for (int j = 0; j < 20; j++) getppid();
            nanosleep(&ts, NULL);
            kill(parent, SIGRTMIN);
        }
        _exit(0);
    }
    volatile unsigned long x = 0;
    for (int i = 0; i < ROUNDS; i++) {
        for (int j = 0; j < 20000; j++) x += j;  /* user code, no syscall */
        count++;
        getppid();
    }
    int st;
    waitpid(child, &st, 0);
    printf("signals=%d child=%d\n", nseen, WEXITSTATUS(st));
    for (int i = 0; i < nseen; i++) printf("%lu ", seen[i]);
    printf("\n");
    return 0;
}
