/* Interfaces that carry ids in memory or that bypass interposition.
 * Usage: vee_misc refused | pifutex | ids | killgroup */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long int80(long nr) {
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr) : "memory");
    return ret;
}

static int refused(void) {
    char params[120];
    memset(params, 0, sizeof params);
    long r = syscall(425, 8, params);  /* io_uring_setup */
    printf("io_uring_setup=%ld errno=%d\n", r, r < 0 ? errno : 0);
    char area[64] __attribute__((aligned(32)));
    memset(area, 0, sizeof area);
    r = syscall(334, area, 32, 0, 0x53053053);  /* rseq */
    printf("rseq=%ld errno=%d\n", r, r < 0 ? errno : 0);
    printf("int80_getpid=%ld\n", int80(20));  /* i386 getpid */
    r = syscall(0x40000000 | 39);              /* x32 getpid */
    printf("x32_getpid=%ld errno=%d\n", r, r < 0 ? errno : 0);
    printf("getpid=%d\n", getpid());
    return 0;
}

static int pifutex(void) {
    unsigned int word = 0;
    long r = syscall(SYS_futex, &word, FUTEX_LOCK_PI, 0, NULL, NULL, 0);
    printf("lock_pi=%ld errno=%d word=%u\n", r, r < 0 ? errno : 0, word);
    return 0;
}

static volatile int ready;

static int ids(void) {
    /* rt_sigtimedwait and signalfd: si_pid / ssi_pid of a child's kill. */
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigaddset(&s, SIGUSR2);
    sigprocmask(SIG_BLOCK, &s, NULL);
    pid_t parent = getpid();
    pid_t c = fork();
    if (c == 0) { kill(parent, SIGUSR1); kill(parent, SIGUSR2); _exit(0); }
    siginfo_t si;
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, SIGUSR1);
    struct timespec ts = {10, 0};
    int sig = sigtimedwait(&one, &si, &ts);
    printf("child=%d sigtimedwait=%d si_pid=%d\n", c, sig, si.si_pid);
    int sfd = signalfd(-1, &s, 0);
    struct signalfd_siginfo ssi;
    ssize_t n = read(sfd, &ssi, sizeof ssi);
    printf("signalfd_read=%zd ssi_signo=%u ssi_pid=%u\n", n, ssi.ssi_signo, ssi.ssi_pid);
    close(sfd);
    waitpid(c, NULL, 0);

    /* SO_PEERCRED over a socketpair: the creator's pid, seen from a child. */
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    c = fork();
    if (c == 0) {
        struct ucred cr;
        socklen_t len = sizeof cr;
        int r = getsockopt(sv[1], SOL_SOCKET, SO_PEERCRED, &cr, &len);
        printf("peercred=%d pid=%d\n", r, cr.pid);
        _exit(0);
    }
    waitpid(c, NULL, 0);

    /* F_GETLK: the parent holds a write lock on the file. */
    char tmpl[] = "/tmp/vee-lock-XXXXXX";
    int fd = mkstemp(tmpl);
    unlink(tmpl);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
    fcntl(fd, F_SETLK, &fl);
    c = fork();
    if (c == 0) {
        struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
        int r = fcntl(fd, F_GETLK, &q);
        printf("getlk=%d type_unlck=%d l_pid=%d\n", r, q.l_type == F_UNLCK, q.l_pid);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    return 0;
}

static volatile sig_atomic_t got;
static void on_usr1(int s) { (void)s; got++; }

static int killgroup(void) {
    /* kill(0) and kill(-pgid) reach the VEE's own processes only. */
    signal(SIGUSR1, on_usr1);
    sigset_t s, old;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigprocmask(SIG_BLOCK, &s, &old);
    int p[2];
    pipe(p);
    pid_t c = fork();
    if (c == 0) {
        while (!got) sigsuspend(&old);
        printf("child got=%d\n", (int)got);
        _exit(0);
    }
    int r0 = kill(0, SIGUSR1);   /* the first process's own group: us and c */
    while (!got) sigsuspend(&old);
    int st;
    waitpid(c, &st, 0);
    printf("pgrp=%d kill0=%d parent_got=%d\n", getpgrp(), r0, (int)got);

    /* A new group of two, signalled by -pgid from outside it. */
    c = fork();
    if (c == 0) {
        setpgid(0, 0);
        got = 0;
        pid_t g = fork();
        if (g == 0) {
            write(p[1], "g", 1);
            while (!got) sigsuspend(&old);
            printf("grandchild pgrp=%d got=%d\n", getpgrp(), (int)got);
            _exit(0);
        }
        while (!got) sigsuspend(&old);
        waitpid(g, &st, 0);
        printf("group leader pgrp=%d got=%d\n", getpgrp(), (int)got);
        _exit(0);
    }
    char x;
    read(p[0], &x, 1);
    got = 0;
    int r1 = kill(-c, SIGUSR1);
    waitpid(c, &st, 0);
    printf("killpg=%d leader=%d parent_got_after=%d\n", r1, c, (int)got);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *m = argc > 1 ? argv[1] : "";
    if (!strcmp(m, "refused")) return refused();
    if (!strcmp(m, "pifutex")) return pifutex();
    if (!strcmp(m, "ids")) return ids();
    if (!strcmp(m, "killgroup")) return killgroup();
    fprintf(stderr, "unknown mode %s\n", m);
    return 2;
}
