/* Load: N threads at once, each doing a few syscalls and a mutex-protected sum. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t bar;
static long total, tids;
static void *work(void *arg) {
    long i = (long)arg;
    pthread_barrier_wait(&bar);
    struct timespec ts;
    for (int k = 0; k < 20; k++) clock_gettime(CLOCK_MONOTONIC, &ts);
    pthread_mutex_lock(&mu);
    total += i;
    tids += syscall(SYS_gettid);
    pthread_mutex_unlock(&mu);
    return NULL;
}
int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 100;
    pthread_t *th = calloc(n, sizeof *th);
    pthread_barrier_init(&bar, NULL, n);
    for (long i = 0; i < n; i++)
        if (pthread_create(&th[i], NULL, work, (void *)i)) { perror("pthread_create"); return 1; }
    for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
    printf("threads=%d total=%ld tids=%ld\n", n, total, tids);
    return 0;
}
