/* Maps 128 KiB of the file argv[1] names, from offset 64 KiB, and prints a
 * hash of the mapped bytes: replay must show the recorded bytes whatever
 * the file holds by then. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#define LEN (128 << 10)

int main(int argc, char **argv) {
    if (argc < 2) return 1;
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) return 2;
    const unsigned char *p = mmap(NULL, LEN, PROT_READ, MAP_PRIVATE, fd, 64 << 10);
    if (p == MAP_FAILED) return 3;
    close(fd);
    unsigned long h = 1469598103934665603UL;
    for (size_t i = 0; i < LEN; i++) h = (h ^ p[i]) * 1099511628211UL;
    printf("%016lx %02x %02x\n", h, p[0], p[LEN - 1]);
    return 0;
}
