/* Live debugging guest: a parent and a child process, each with syscalls. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

char child_note[32];

int main(void) {
    pid_t kid = fork();
    if (kid == 0) {
        strcpy(child_note, "child here\n");
        write(1, child_note, strlen(child_note));
        getppid();
        _exit(5);
    }
    int st;
    write(1, "parent\n", 7);
    waitpid(kid, &st, 0);
    getpid();
    return WEXITSTATUS(st);
}
