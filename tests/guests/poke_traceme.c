/* Pokes at its tracer: PTRACE_TRACEME fails (EPERM) under any tracer. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    errno = 0;
    long r = ptrace(PTRACE_TRACEME, 0, 0, 0);
    printf("traceme=%ld errno=%s\n", r, r < 0 ? strerror(errno) : "0");
    /* A child trying the same, and trying to attach to its parent. */
    pid_t p = fork();
    if (p == 0) {
        errno = 0;
        long c = ptrace(PTRACE_TRACEME, 0, 0, 0);
        printf("child traceme=%ld errno=%s\n", c, c < 0 ? strerror(errno) : "0");
        errno = 0;
        long a = ptrace(PTRACE_ATTACH, getppid(), 0, 0);
        printf("child attach parent=%ld errno=%s\n", a, a < 0 ? strerror(errno) : "0");
        fflush(stdout);
        _exit(3);
    }
    int st;
    waitpid(p, &st, 0);
    printf("child status=%d pid=%d\n", WEXITSTATUS(st), p);
    return 0;
}
