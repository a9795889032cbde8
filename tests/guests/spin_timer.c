/* A program that spins until its interval timer has ticked 20 times, the
 * timer (1 ms) much faster than the recorder's 50 ms slice. Each SIGALRM
 * stops it at the tracer while it spins; the slice must still end (the
 * recording hung: every stop put the next tick off), and the SIGALRMs that
 * came meanwhile count as one, as the kernel keeps one pending: "ticks 20"
 * (21 when one more comes before the timer is stopped, at that call). */
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>

static volatile sig_atomic_t ticks;

static void tick(int s) {
    (void)s;
    ticks++;
}

int main(void) {
    signal(SIGALRM, tick);
    struct itimerval on = {{0, 1000}, {0, 1000}}, off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &on, NULL);
    volatile unsigned long spin = 0;
    while (ticks < 20)
        spin++;
    setitimer(ITIMER_REAL, &off, NULL);
    printf("ticks %d\n", (int)ticks);
    return 0;
}
