/* A parent and its child both compute (no system calls) at the same time.
 * "private": they share no memory, so recording lets them run side by side;
 * "shared": a MAP_SHARED page mapped before the fork is written by both, so
 * one runs user code at a time and the recorder preempts the other.
 * "rofile": a file mapped MAP_SHARED without PROT_WRITE (glibc maps its
 * gconv cache so) before the fork; neither can write it: side by side.
 * "rwfile": a file mapped MAP_SHARED and writable, and the page both write:
 * one at a time; replay shares it between them too.
 * The result (the shared page's final count, the loop counters) replays. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define SPIN 300000000UL

int main(int argc, char **argv) {
    int shared = argc > 1 && strcmp(argv[1], "shared") == 0;
    volatile unsigned long *page = (volatile unsigned long *)mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                                        (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
    if (argc > 1 && strstr(argv[1], "file")) {
        int writable = strcmp(argv[1], "rwfile") == 0;
        int fd = writable ? open("domains.tmp", O_RDWR | O_CREAT | O_TRUNC, 0600)
                          : open("/proc/self/exe", O_RDONLY);
        if (fd < 0 || (writable && ftruncate(fd, 4096) != 0)) return 1;
        void *file = mmap(NULL, 4096, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
        if (file == MAP_FAILED)
            return 1;
        if (writable)
            page = file;
        close(fd);
    }
    pid_t child = fork();
    unsigned long n = 0;
    for (unsigned long i = 0; i < SPIN; i++) n += i & 3;
    __atomic_fetch_add(&page[0], 1, __ATOMIC_SEQ_CST);  /* both write the page */
    if (child == 0) {
        printf("child n=%lu\n", n);
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(child, &st, 0);
    printf("parent n=%lu page=%lu\n", n, page[0]);
    return 0;
}
