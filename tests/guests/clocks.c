/* Time calls the recorder answers itself at the seccomp stop, and the ones it
 * leaves to the kernel: every result and errno is printed, so record and
 * replay must print the same text.
 *
 *   clocks          shared clocks, CPU clocks, NULL / read-only pointers
 *   clocks timens   a child in a new time namespace (offset +1000 s) sees
 *                   its own CLOCK_MONOTONIC: prints "timens ok" or why not
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x80
#endif

static long sys_clock(long clock, void *tp) { return syscall(SYS_clock_gettime, clock, tp); }

static void show(const char *what, long r, const struct timespec *ts) {
    if (r < 0)
        printf("%s = -1 %s\n", what, strerror(errno));
    else
        printf("%s = %ld {%lld, %ld}\n", what, r, (long long)ts->tv_sec, ts->tv_nsec);
}

static int timens(void) {
    struct timespec before, after;
    if (unshare(CLONE_NEWTIME) != 0) {
        printf("timens unavailable: %s\n", strerror(errno));
        return 0;
    }
    int fd = open("/proc/self/timens_offsets", O_WRONLY);
    if (fd < 0 || write(fd, "monotonic 1000 0", 16) != 16) {
        printf("timens unavailable: offsets: %s\n", strerror(errno));
        return 0;
    }
    close(fd);
    sys_clock(CLOCK_MONOTONIC, &before);
    pid_t p = fork();
    if (p == 0) {
        sys_clock(CLOCK_MONOTONIC, &after);
        long d = (long)(after.tv_sec - before.tv_sec);
        printf(d >= 999 ? "timens ok\n" : "timens wrong: child is %ld s ahead\n", d);
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(p, &st, 0);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "timens"))
        return timens();
    static const struct { const char *name; long id; } clocks[] = {
        {"REALTIME", CLOCK_REALTIME}, {"MONOTONIC", CLOCK_MONOTONIC},
        {"MONOTONIC_RAW", CLOCK_MONOTONIC_RAW}, {"REALTIME_COARSE", CLOCK_REALTIME_COARSE},
        {"MONOTONIC_COARSE", CLOCK_MONOTONIC_COARSE}, {"BOOTTIME", CLOCK_BOOTTIME},
        {"TAI", CLOCK_TAI}, {"PROCESS_CPUTIME", CLOCK_PROCESS_CPUTIME_ID},
        {"THREAD_CPUTIME", CLOCK_THREAD_CPUTIME_ID},
    };
    struct timespec ts;
    char name[64];
    for (unsigned i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
        memset(&ts, 0, sizeof ts);
        snprintf(name, sizeof name, "clock_gettime(%s)", clocks[i].name);
        show(name, sys_clock(clocks[i].id, &ts), &ts);
    }
    show("clock_gettime(MONOTONIC, NULL)", sys_clock(CLOCK_MONOTONIC, NULL), &ts);
    show("clock_gettime(42)", sys_clock(42, &ts), &ts);
    void *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    show("clock_gettime(MONOTONIC, read-only)", sys_clock(CLOCK_MONOTONIC, ro), &ts);

    struct timeval tv;
    struct timezone tz;
    long r = syscall(SYS_gettimeofday, &tv, NULL);
    printf("gettimeofday(tv, NULL) = %ld {%lld, %ld}\n", r, (long long)tv.tv_sec, (long)tv.tv_usec);
    r = syscall(SYS_gettimeofday, &tv, &tz);
    printf("gettimeofday(tv, tz) = %ld {%lld, %ld} {%d, %d}\n", r, (long long)tv.tv_sec, (long)tv.tv_usec,
           tz.tz_minuteswest, tz.tz_dsttime);
    printf("gettimeofday(NULL, NULL) = %ld\n", syscall(SYS_gettimeofday, NULL, NULL));
    r = syscall(SYS_gettimeofday, ro, NULL);
    printf("gettimeofday(read-only, NULL) = %ld %s\n", r, r < 0 ? strerror(errno) : "");

    time_t t = 0;
    long now = syscall(SYS_time, NULL);
    long now2 = syscall(SYS_time, &t);
    printf("time(NULL) = %ld, time(&t) = %ld t=%lld\n", now, now2, (long long)t);
    r = syscall(SYS_time, ro);
    printf("time(read-only) = %ld %s\n", r, r < 0 ? strerror(errno) : "");

    /* Answered and kernel-run readings interleave: still monotonic. */
    struct timespec prev = {0, 0}, cur, cpu;
    int ok = 1;
    for (int i = 0; i < 2000; i++) {
        sys_clock(CLOCK_MONOTONIC, &cur);
        if (cur.tv_sec < prev.tv_sec || (cur.tv_sec == prev.tv_sec && cur.tv_nsec < prev.tv_nsec))
            ok = 0;
        prev = cur;
        if (i % 7 == 0)
            sys_clock(CLOCK_PROCESS_CPUTIME_ID, &cpu);
    }
    printf("monotonic %s\n", ok ? "ok" : "went back");
    return 0;
}
