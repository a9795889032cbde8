/* fork/exec/wait, pipes, signals, time and rand: the first acceptance workload. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int usr1;
static void on_usr1(int s) { (void)s; usr1++; }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    srand((unsigned)(ts.tv_nsec ^ getpid()));
    printf("time=%ld.%09ld rand=%d pid=%d\n", (long)ts.tv_sec, ts.tv_nsec, rand(), getpid());
    signal(SIGRTMIN + 1, on_usr1);  /* real-time: three sends, three deliveries */

    int p[2];
    if (pipe(p) != 0) return 1;
    pid_t kid = fork();
    if (kid == 0) {
        close(p[0]);
        dup2(p[1], 1);
        execlp("sh", "sh", "-c", "echo from-exec $$; date +%N", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char buf[256];
    ssize_t n, total = 0;
    while ((n = read(p[0], buf + total, sizeof buf - 1 - total)) > 0) total += n;
    buf[total] = 0;
    int st;
    waitpid(kid, &st, 0);
    printf("child %d said: %s", kid, buf);
    printf("child status %d\n", WEXITSTATUS(st));

    pid_t sig_kid = fork();
    if (sig_kid == 0) {
        for (int i = 0; i < 3; i++) kill(getppid(), SIGRTMIN + 1);
        _exit(0);
    }
    waitpid(sig_kid, &st, 0);
    while (usr1 < 3) pause();
    printf("usr1=%d\n", usr1);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    usleep(1000);
    printf("tv=%ld rand=%d time=%ld\n", (long)tv.tv_usec, rand(), (long)time(NULL));
    return 0;
}
