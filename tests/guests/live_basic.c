/* Live debugging guest: a string written to memory, a helper frame under
 * main (compile with -O0 -fno-omit-frame-pointer for the rbp chain), a
 * failed open of a marker path, and a raw syscall made from the binary. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

char message[64];

__attribute__((noinline)) static long raw_getppid(void) {
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"((long)SYS_getppid) : "rcx", "r11", "memory");
    return ret;
}

__attribute__((noinline)) static void say(const char *text) {
    strcpy(message, text);
    write(1, message, strlen(message));
}

int main(void) {
    raw_getppid();
    say("hello from live\n");
    int fd = open("/nonexistent/live-marker", O_RDONLY);
    getpid();
    if (fd >= 0) close(fd);
    say("bye\n");
    return 3;
}
