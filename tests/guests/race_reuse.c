/* PID reuse race. A calls kill(B, SIGUSR1); meanwhile B exits, is reaped,
 * and C is forked (the test harness makes C take B's old real pid). If A's
 * translated kill ran after that, it would kill C. The harness holds A right
 * after its entry was translated; this program only arranges the cast and
 * reports what happened to C. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Wait until `pid` sits in syscall `nr` (read through /proc/<vpid>/syscall). */
static int wait_in_syscall(pid_t pid, int nr) {
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/syscall", pid);
    for (int i = 0; i < 20000; i++) {
        FILE *f = fopen(path, "r");
        if (f) {
            size_t n = fread(buf, 1, sizeof buf - 1, f);
            fclose(f);
            buf[n] = 0;
            if (n > 0 && atoi(buf) == nr && buf[0] != 'r') return 1;
        }
        struct timespec ts = {0, 500000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    int pb[2], pc[2];
    if (pipe(pb) || pipe(pc)) return 2;
    pid_t b = fork();
    if (b == 0) { char x; read(pb[0], &x, 1); _exit(0); }
    pid_t a = fork();
    if (a == 0) {
        int r = kill(b, SIGUSR1);
        _exit(r == 0 ? 0 : 100 + errno);
    }
    if (!wait_in_syscall(a, 62)) { printf("A never reached kill\n"); return 3; }
    write(pb[1], "x", 1);
    int st = 0;
    if (waitpid(b, &st, 0) != b) { perror("waitpid B"); return 2; }
    pid_t c = fork();
    if (c == 0) { char x; read(pc[0], &x, 1); _exit(0); }
    int sa = 0, sc = 0;
    waitpid(a, &sa, 0);
    write(pc[1], "x", 1);
    waitpid(c, &sc, 0);
    printf("b=%d a=%d c=%d a_exit=%d c_status=%s%d\n", b, a, c,
           WIFEXITED(sa) ? WEXITSTATUS(sa) : -1,
           WIFSIGNALED(sc) ? "signal" : "exit",
           WIFSIGNALED(sc) ? WTERMSIG(sc) : WEXITSTATUS(sc));
    return 0;
}
