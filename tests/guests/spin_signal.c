/* Asynchronous signals that arrive while the program runs user code, with no
 * system call to deliver them at: a timer's SIGALRM ends a spin loop, and a
 * child's kill() reaches its spinning parent. The loop counters live in
 * registers; their exact values (where the signal came) must replay. */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t flag;

static void handler(int s) {
    (void)s;
    flag = 1;
}

int main(void) {
    signal(SIGALRM, handler);
    signal(SIGUSR1, handler);
    alarm(1);
    unsigned long n = 0;
    while (!flag) n++;
    printf("alarm: spun=%d n=%lu\n", n > 1000, n);
    fflush(stdout);

    flag = 0;
    unsigned long m = 0;
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    while (!flag) m++;
    int st;
    waitpid(child, &st, 0);
    printf("kill: spun=%d child=%d m=%lu\n", m > 1000, WEXITSTATUS(st), m);
    return 0;
}
