/* CPU masks as the program sees them: sched_getaffinity / sched_setaffinity,
 * inheritance by a child, errors, the Cpus_allowed lines of /proc/self/status.
 * Prints the same lines natively, under `scribe record` (which binds itself
 * and the program to one CPU) and under replay.
 * "wait" mode: say "ready" and keep making syscalls, for a test that looks
 * at the real mask. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void show(const char *who) {
    cpu_set_t s;
    CPU_ZERO(&s);
    if (sched_getaffinity(0, sizeof s, &s) != 0) {
        printf("%s getaffinity errno=%d\n", who, errno);
        return;
    }
    printf("%s count=%d cpus=", who, CPU_COUNT(&s));
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &s)) printf("%d,", c);
    printf("\n");
}

static void status_lines(const char *who) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "Cpus_allowed", 12) == 0) printf("%s %s", who, line);
    if (f) fclose(f);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "wait") == 0) {
        /* Busy with system calls for 3 s (a task that mostly computes or
         * sleeps may float to any CPU: virt/tracer.py). */
        printf("ready\n");
        fflush(stdout);
        time_t end = time(NULL) + 3;
        while (time(NULL) < end) getppid();
        return 0;
    }
    show("start");
    status_lines("start");
    long raw[16];
    long n = syscall(SYS_sched_getaffinity, 0, sizeof raw, raw);
    printf("raw_getaffinity=%ld\n", n);
    n = syscall(SYS_sched_getaffinity, 0, 1, raw);  /* not a multiple of long */
    printf("short_getaffinity=%ld errno=%d\n", n, n < 0 ? errno : 0);
    n = syscall(SYS_sched_getaffinity, 99, sizeof raw, raw);  /* no such process */
    printf("other_getaffinity=%ld errno=%d\n", n, n < 0 ? errno : 0);

    cpu_set_t s;
    CPU_ZERO(&s);
    int r = sched_setaffinity(0, sizeof s, &s);
    printf("set_empty=%d errno=%d\n", r, r ? errno : 0);
    n = syscall(SYS_sched_setaffinity, 0, sizeof s, (void *)8);
    printf("set_fault=%ld errno=%d\n", n, n ? errno : 0);
    n = syscall(SYS_sched_setaffinity, 99, sizeof s, &s);
    printf("set_other=%ld errno=%d\n", n, n ? errno : 0);
    /* The highest CPU we may use: a real choice that differs from the default. */
    int last = -1;
    cpu_set_t now;
    sched_getaffinity(0, sizeof now, &now);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &now)) last = c;
    CPU_SET(last, &s);
    printf("set_last=%d\n", sched_setaffinity(0, sizeof s, &s));
    show("after_set");
    status_lines("after_set");
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        show("child");
        cpu_set_t all;
        CPU_ZERO(&all);
        for (int c = 0; c <= last; c++) CPU_SET(c, &all);
        printf("child_set_all=%d\n", sched_setaffinity(0, sizeof all, &all));
        show("child_after");
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(child, &st, 0);
    show("parent_after_child");
    return 0;
}
