/* Load: N short-lived processes (forked in waves of 10), every status checked. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    long sum = 0, pids = 0;
    for (int i = 0; i < n; i += 10) {
        pid_t kids[10];
        for (int j = 0; j < 10 && i + j < n; j++) {
            kids[j] = fork();
            if (kids[j] < 0) { perror("fork"); return 1; }
            if (kids[j] == 0) _exit((i + j) % 200);
            pids += kids[j];
        }
        for (int j = 0; j < 10 && i + j < n; j++) {
            int st;
            if (waitpid(kids[j], &st, 0) != kids[j] || !WIFEXITED(st)) { perror("waitpid"); return 1; }
            sum += WEXITSTATUS(st);
        }
    }
    printf("procs=%d sum=%ld pids=%ld\n", n, sum, pids);
    return 0;
}
