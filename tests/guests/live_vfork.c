/* Live debugging guest: a vfork child runs while its parent sleeps in the
 * kernel (inside vfork), so a stop in the child has a parent that is not at
 * a tracer stop. */
#define _GNU_SOURCE
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    pid_t kid = vfork();
    if (kid == 0) {
        getppid();
        getpid();
        _exit(2);
    }
    int st;
    waitpid(kid, &st, 0);
    return WEXITSTATUS(st);
}
