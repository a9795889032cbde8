/* Clock reads through the vDSO (under scribe record: the time page). Every
 * value read goes into a digest that is printed, with each result and errno,
 * so record and replay must print the same text.
 *
 *   timepage reads    clock_gettime, gettimeofday and time, with NULL pointers
 *                     where the call allows them and odd clocks; a burst longer than the
 *                     page's buffer; a forked child's reads; reads after a
 *                     posix_spawn (vfork); a thread's reads
 *   timepage signal   a loop that only reads the clock until SIGALRM's
 *                     handler sets a flag
 *   timepage threads  12 threads (more than the page has slots) read the
 *                     clock at once; each prints its own digest
 *
 * Each mode starts with 20 getppid calls: the loader's file reads go through
 * the page too, and its thread gives its slot back after 16 stops that find
 * it empty, so the first clock read gets it again (with a stop).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
static uint64_t digest = 1469598103934665603ull;

static void mix(uint64_t v) {
    for (int i = 0; i < 8; i++) {
        digest ^= (v >> (8 * i)) & 0xff;
        digest *= 1099511628211ull;
    }
}

static void show(const char *what, long r) {
    if (r < 0)
        printf("%s = -1 %s\n", what, strerror(errno));
    else
        printf("%s = %ld\n", what, r);
}

static void mono_reads(int n) {
    struct timespec ts;
    for (int i = 0; i < n; i++) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        mix((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
    }
}

static void *thread_reads(void *arg) {
    (void)arg;
    mono_reads(5);
    return NULL;
}

static int reads(void) {
    struct timespec ts;
    struct timeval tv;
    struct timezone tz;
    time_t t = 0;
    clockid_t cpu;

    mono_reads(3);
    show("realtime", clock_gettime(CLOCK_REALTIME, &ts));
    mix((uint64_t)ts.tv_sec ^ (uint64_t)ts.tv_nsec);
    show("thread cputime", clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts));
    mix((uint64_t)ts.tv_nsec);
    show("gettimeofday", gettimeofday(&tv, NULL));
    mix((uint64_t)tv.tv_sec ^ (uint64_t)tv.tv_usec);
    show("gettimeofday tz", gettimeofday(&tv, &tz));
    mix((uint64_t)tv.tv_usec);
    show("gettimeofday NULL", gettimeofday(NULL, NULL));
    mix((uint64_t)time(NULL));
    show("time tloc", time(&t) == t);
    mix((uint64_t)t);
    show("clock 10", clock_gettime(10, &ts));
    show("clock 99", clock_gettime(99, &ts));
    if (clock_getcpuclockid(0, &cpu) == 0) {
        show("own cpu clock", clock_gettime(cpu, &ts));
        mix((uint64_t)ts.tv_nsec);
    }
    mono_reads(1000);  /* more than the page holds between two stops */
    printf("burst done\n");

    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        mono_reads(10);
        printf("child digest %016llx\n", (unsigned long long)digest);
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(p, &st, 0);
    mono_reads(2);

    char *argv[] = {"true", NULL};
    pid_t sp;
    show("posix_spawn", posix_spawn(&sp, "/bin/true", NULL, NULL, argv, environ) ? -1 : 0);
    waitpid(sp, &st, 0);
    mono_reads(4);

    pthread_t th;
    pthread_create(&th, NULL, thread_reads, NULL);
    pthread_join(th, NULL);
    mono_reads(3);
    printf("digest %016llx\n", (unsigned long long)digest);
    return 0;
}

static volatile sig_atomic_t rang;

static void on_alarm(int sig) {
    (void)sig;
    rang = 1;
}

static int signal_loop(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, 100000}};  /* long enough for the loop to be running */
    setitimer(ITIMER_REAL, &it, NULL);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long loops = 0;
    while (!rang) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        mix((uint64_t)now.tv_nsec);
        loops++;
        if (now.tv_sec - start.tv_sec > 20) {
            printf("no signal after 20 s\n");
            return 1;
        }
    }
    printf("signal after some reads: %s\n", loops > 0 ? "yes" : "no");
    printf("digest %016llx loops %ld\n", (unsigned long long)digest, loops);
    return 0;
}

#define WORKERS 12
static pthread_barrier_t all_there;

static void *worker(void *arg) {
    uint64_t d = 1469598103934665603ull;
    struct timespec ts;
    pthread_barrier_wait(&all_there);
    for (int round = 0; round < 40; round++) {
        for (int i = 0; i < 5; i++) {
            clock_gettime(CLOCK_MONOTONIC, &ts);
            d = (d ^ (uint64_t)ts.tv_nsec) * 1099511628211ull;
        }
        getppid();  /* a stop: the buffer is read there */
    }
    *(uint64_t *)arg = d;
    return NULL;
}

static int threads(void) {
    pthread_t th[WORKERS];
    uint64_t digests[WORKERS];
    pthread_barrier_init(&all_there, NULL, WORKERS);
    for (int i = 0; i < WORKERS; i++)
        pthread_create(&th[i], NULL, worker, &digests[i]);
    for (int i = 0; i < WORKERS; i++) {
        pthread_join(th[i], NULL);
        printf("worker %d digest %016llx\n", i, (unsigned long long)digests[i]);
    }
    return 0;
}

int main(int argc, char **argv) {
    for (int i = 0; i < 20; i++)
        getppid();
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "signal") == 0)
        return signal_loop();
    if (argc > 1 && strcmp(argv[1], "threads") == 0)
        return threads();
    return reads();
}
