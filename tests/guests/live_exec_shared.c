/* Checkpoint guest: a program that execs itself, then maps shared memory.
 * Before the exec and after it (until the shared mapping) the replay can be
 * checkpointed; a restored process must go through the exec again; with
 * the shared mapping no checkpoint is possible (a copy would share it). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
    char buf[32];
    for (int i = 0; i < 20; i++) {
        int n = snprintf(buf, sizeof buf, "%s %d\n", argc > 1 ? "after" : "before", i);
        write(1, buf, (size_t)n);
    }
    if (argc == 1) {
        execl("/proc/self/exe", argv[0], "again", (char *)NULL);
        return 1;
    }
    char *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED)
        return 2;
    for (int i = 0; i < 20; i++) {
        shared[i] = (char)('a' + i);
        getpid();
    }
    return shared[3];
}
