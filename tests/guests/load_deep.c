/* Load: a chain of processes DEPTH deep, each waiting for its child. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int depth = argc > 1 ? atoi(argv[1]) : 50;
    int level = 0;
    for (;;) {
        if (level == depth - 1) {
            printf("bottom level=%d pid=%d ppid=%d\n", level, getpid(), getppid());
            fflush(stdout);
            return 7;
        }
        pid_t p = fork();
        if (p < 0) { perror("fork"); return 1; }
        if (p == 0) { level++; continue; }
        int st;
        if (waitpid(p, &st, 0) != p) { perror("waitpid"); return 1; }
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 100;
        printf("level=%d pid=%d child=%d status=%d\n", level, getpid(), p, code);
        fflush(stdout);
        return level == 0 ? (code == 7 ? 0 : 1) : code;
    }
}
