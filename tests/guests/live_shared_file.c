/* Checkpoint guest: a file mapped shared and writable, by its absolute path
 * (replay maps a file of its own for it), unmapped, and removed later. While
 * the file has its name no checkpoint is possible, mapped or not: replay's
 * file holds its latest state, not the state of an earlier moment. Once it
 * is removed nothing can map it again by name: checkpoints again. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
    char path[64], buf[32];
    snprintf(path, sizeof path, "/dev/shm/scribe-live-%d", getpid());
    for (int i = 0; i < 20; i++) {
        int n = snprintf(buf, sizeof buf, "before %d\n", i);
        write(1, buf, (size_t)n);
    }
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, 4096) != 0)
        return 1;
    char *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (shared == MAP_FAILED)
        return 2;
    close(fd);
    shared[0] = 'x';
    munmap(shared, 4096);
    for (int i = 0; i < 20; i++) {
        int n = snprintf(buf, sizeof buf, "between %d\n", i);
        write(1, buf, (size_t)n);
    }
    unlink(path);
    for (int i = 0; i < 20; i++) {
        int n = snprintf(buf, sizeof buf, "after %d\n", i);
        write(1, buf, (size_t)n);
    }
    return 0;
}
