/* Micro-benchmark guest: run one operation N times, then exit 0.
 *
 *   micro OP N
 *
 * The runner times this program end to end for two loop counts and takes
 * (T(N2) - T(N1)) / (N2 - N1), so start-up (exec, dynamic loading, the
 * tracer's own start) cancels.  Every operation goes to the kernel through
 * syscall(2) or a thin libc wrapper that never caches, so each iteration is
 * exactly the system call(s) named.
 *
 * OPs: getpid getppid getpgid getsid fork execve shmget shmat read4k write4k
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
    fprintf(stderr, "micro: %s: %s\n", what, strerror(errno));
    exit(2);
}

/* A SysV key unlikely to collide with a concurrent run. */
static key_t fresh_key(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (key_t)((ts.tv_nsec ^ (ts.tv_sec << 20) ^ ((long)syscall(SYS_getpid) << 8)) & 0x7fffffff) | 1;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: micro OP N\n");
        return 2;
    }
    const char *op = argv[1];
    long n = atol(argv[2]);
    long acc = 0;

    if (!strcmp(op, "getpid")) {
        for (long i = 0; i < n; i++) acc += syscall(SYS_getpid);
    } else if (!strcmp(op, "getppid")) {
        for (long i = 0; i < n; i++) acc += syscall(SYS_getppid);
    } else if (!strcmp(op, "getpgid")) {
        for (long i = 0; i < n; i++) acc += syscall(SYS_getpgid, 0);
    } else if (!strcmp(op, "getsid")) {
        for (long i = 0; i < n; i++) acc += syscall(SYS_getsid, 0);
    } else if (!strcmp(op, "fork")) {
        /* fork + _exit + wait: one process life cycle per iteration. */
        for (long i = 0; i < n; i++) {
            pid_t p = fork();
            if (p < 0) die("fork");
            if (p == 0) _exit(0);
            int st;
            if (waitpid(p, &st, 0) != p) die("waitpid");
        }
    } else if (!strcmp(op, "execve")) {
        /* A chain of n execs of this same binary (argv[0] must be a path). */
        if (n > 0) {
            char next[32];
            snprintf(next, sizeof next, "%ld", n - 1);
            char *args[] = {argv[0], (char *)"execve", next, NULL};
            execv(argv[0], args);
            die("execv");
        }
    } else if (!strcmp(op, "shmget")) {
        /* Look up an existing segment by key: one shmget per iteration. */
        key_t key;
        int id;
        for (;;) {
            key = fresh_key();
            id = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);
            if (id >= 0) break;
            if (errno != EEXIST) die("shmget create");
        }
        for (long i = 0; i < n; i++) {
            int j = shmget(key, 4096, 0600);
            if (j < 0) die("shmget");
            acc += j;
        }
        shmctl(id, IPC_RMID, NULL);
    } else if (!strcmp(op, "shmat")) {
        /* shmat + shmdt of one segment per iteration. */
        int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
        if (id < 0) die("shmget");
        for (long i = 0; i < n; i++) {
            void *p = shmat(id, NULL, 0);
            if (p == (void *)-1) die("shmat");
            if (shmdt(p) < 0) die("shmdt");
        }
        shmctl(id, IPC_RMID, NULL);
    } else if (!strcmp(op, "read4k")) {
        /* read(2) of 4 KiB from /dev/zero: the kernel writes 4 KiB into us. */
        static char buf[4096];
        int fd = open("/dev/zero", O_RDONLY);
        if (fd < 0) die("open /dev/zero");
        for (long i = 0; i < n; i++)
            if (read(fd, buf, sizeof buf) != sizeof buf) die("read");
        close(fd);
    } else if (!strcmp(op, "write4k")) {
        /* write(2) of 4 KiB to /dev/null. */
        static char buf[4096];
        memset(buf, 'x', sizeof buf);
        int fd = open("/dev/null", O_WRONLY);
        if (fd < 0) die("open /dev/null");
        for (long i = 0; i < n; i++)
            if (write(fd, buf, sizeof buf) != sizeof buf) die("write");
        close(fd);
    } else {
        fprintf(stderr, "micro: unknown op %s\n", op);
        return 2;
    }
    return acc == 42 ? 1 : 0; /* use acc so the loop is not optimised away */
}
