/* A thread spins in user code, with no syscall, until another thread sets a
 * flag: recording must preempt the spinner or it never ends. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static volatile int flag;
static volatile unsigned long spins;

static void *setter(void *arg) {
    (void)arg;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    flag = 1;
    return NULL;
}

int main(void) {
    pthread_t th;
    pthread_create(&th, NULL, setter, NULL);
    unsigned long n = 0;
    while (!flag) n++;
    pthread_join(th, NULL);
    spins = n;
    printf("spun, flag=%d\n", flag);
    return 0;
}
