/* A thread dies holding a robust mutex: the next locker must get EOWNERDEAD
 * (the kernel recognises the owner by its tid, which glibc keeps virtual). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t mu;

static void *die_holding(void *arg) {
    (void)arg;
    pthread_mutex_lock(&mu);
    return NULL;  /* exits without unlocking */
}

int main(void) {
    pthread_mutexattr_t at;
    pthread_mutexattr_init(&at);
    pthread_mutexattr_setrobust(&at, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&mu, &at);
    pthread_t th;
    pthread_create(&th, NULL, die_holding, NULL);
    pthread_join(th, NULL);
    int r = pthread_mutex_lock(&mu);
    printf("lock after owner died: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : r == 0 ? "0" : "other");
    if (r == EOWNERDEAD) pthread_mutex_consistent(&mu);
    pthread_mutex_unlock(&mu);
    return 0;
}
