/* Live debugging guest: two threads, each making its own syscalls. */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>
#include <unistd.h>

static void *worker(void *arg) {
    const char *name = arg;
    for (int i = 0; i < 3; i++) {
        write(1, name, strlen(name));
        getppid();
    }
    return NULL;
}

int main(void) {
    pthread_t t;
    pthread_create(&t, NULL, worker, "thread\n");
    for (int i = 0; i < 3; i++) {
        getpid();
        write(1, "main\n", 5);
    }
    pthread_join(t, NULL);
    return 0;
}
