/* Checkpoint guest: one process whose state lives in memory and registers
 * across many system calls (the clock and its pid go into an accumulator
 * that becomes the exit status), and which signals its own process group
 * with kill(0) so that a copy left in the group would be hit too. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile int hits;

static void on_usr1(int sig) {
    (void)sig;
    hits++;
}

int main(void) {
    signal(SIGUSR1, on_usr1);
    unsigned long acc = 1;
    char buf[64];
    for (int i = 0; i < 300; i++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        acc = acc * 6364136223846793005UL + (unsigned long)getpid() + (unsigned long)ts.tv_nsec;
        if (i % 50 == 0)
            kill(0, SIGUSR1);
        int n = snprintf(buf, sizeof buf, "%d %lu\n", i, acc % 1000);
        write(1, buf, (size_t)n);
    }
    printf("hits %d\n", hits);
    return (int)(acc % 100);
}
