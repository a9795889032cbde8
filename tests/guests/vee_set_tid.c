/* clone3 with set_tid (CRIU-style): the child gets the pid asked for, in the
 * VEE's numbering; pidfd PIDFD_GET_INFO reports virtual ids too. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct info { uint64_t mask, cgroupid; uint32_t pid, tgid, ppid, rest[10]; };

static pid_t spawn_with(pid_t want) {
    pid_t tid[1] = {want};
    struct clone_args a;
    memset(&a, 0, sizeof a);
    a.exit_signal = SIGCHLD;
    a.set_tid = (uint64_t)(uintptr_t)tid;
    a.set_tid_size = 1;
    return syscall(SYS_clone3, &a, sizeof a);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t c = spawn_with(500);
    if (c == 0) { printf("child getpid=%d\n", getpid()); _exit(0); }
    if (c < 0) { printf("clone3 failed errno=%d\n", errno); return 1; }
    waitpid(c, NULL, 0);
    printf("clone3 set_tid=500 -> %d\n", c);
    pid_t again = spawn_with(1);
    printf("taken pid -> %d errno=%d\n", again, errno);
    pid_t n = fork();
    if (n == 0) _exit(0);
    waitpid(n, NULL, 0);
    printf("next fork -> %d\n", n);
    int pfd = syscall(SYS_pidfd_open, getpid(), 0);
    struct info inf;
    memset(&inf, 0, sizeof inf);
    inf.mask = 1;
    int r = ioctl(pfd, _IOWR(0xFF, 11, struct info), &inf);
    printf("pidfd_info rc=%d pid=%u tgid=%u ppid=%u\n", r, inf.pid, inf.tgid, inf.ppid);
    return 0;
}
