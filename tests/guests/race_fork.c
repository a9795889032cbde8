/* PID init race: many forks whose child calls getpid at once and writes it to
 * a pipe, while the parent compares it with fork's result.  Half the forks
 * are done by a grandchild of the tracer, where the child's first stop often
 * reaches the tracer before the parent's fork event.
 *
 * Prints "forks=N bad=M first=F last=L" per forking process; bad counts
 * children whose getpid/getppid disagree with the parent, or whose pid is not
 * the next one in creation order. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int do_forks(const char *who, int n, pid_t expected) {
    int bad = 0;
    pid_t me = getpid(), first = 0, last = 0;
    for (int i = 0; i < n; i++) {
        int p[2];
        if (pipe(p) < 0) { perror("pipe"); exit(2); }
        pid_t c = fork();
        if (c < 0) { perror("fork"); exit(2); }
        if (c == 0) {
            pid_t ids[3] = {getpid(), (pid_t)syscall(SYS_gettid), getppid()};
            if (write(p[1], ids, sizeof ids) != sizeof ids) _exit(3);
            _exit(0);
        }
        close(p[1]);
        pid_t ids[3] = {0, 0, 0};
        if (read(p[0], ids, sizeof ids) != sizeof ids) bad++;
        close(p[0]);
        int st = 0;
        if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0) bad++;
        if (ids[0] != c || ids[1] != c || ids[2] != me || c != expected) {
            if (bad < 5) fprintf(stderr, "%s: fork=%d getpid=%d gettid=%d getppid=%d expected=%d\n",
                                 who, c, ids[0], ids[1], ids[2], expected);
            bad++;
        }
        if (i == 0) first = c;
        last = c;
        expected = c + 1;
    }
    printf("%s forks=%d bad=%d first=%d last=%d\n", who, n, bad, first, last);
    fflush(stdout);
    return bad;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 500;
    int bad = do_forks("parent", n, getpid() + 1);
    pid_t g = fork();
    if (g == 0) _exit(do_forks("grandchild", n, getpid() + 1) ? 1 : 0);
    int st = 0;
    waitpid(g, &st, 0);
    printf("forker=%d status=%d\n", g, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    return bad || !WIFEXITED(st) || WEXITSTATUS(st) ? 1 : 0;
}
