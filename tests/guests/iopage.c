/* File reads through the time page's I/O path (glibc's read, pread64,
 * lseek, fstat and close, once their call sites are rewritten). Every byte
 * read and every result goes into a digest that is printed, so record and
 * replay must print the same text.
 *
 *   iopage FILE [OTHER]   read FILE in 1000-byte pieces (PIECE from the sixth
 *                         read of its copy on), with fstat, lseek
 *                         and pread64 between; a dup2'd copy of its fd; a
 *                         pipe and /proc/self/status (read with stops); a
 *                         forked child reading the same open file; readlink
 *                         of FILE.lnk (made here) and of /proc/self; stat
 *                         of FILE, of the link, of FILE's name in its
 *                         directory (data.txt, STATLAST its last letter), of a missing file and of
 *                         /proc/self/status; then OTHER, if given, read whole
 *   iopage pipes FILE     a child reads what its parent writes through a pipe;
 *                         a child blocked in a pipe read gets a signal whose
 *                         handler writes the byte it waits for; a child
 *                         writes to a pipe no one reads, then to FILE whether
 *                         its SIGPIPE handler ran (FILE must hold "01")
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t digest = 1469598103934665603ull;

static void mix(const void *p, size_t n) {
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) {
        digest ^= c[i];
        digest *= 1099511628211ull;
    }
}

static void mixn(long v) { mix(&v, sizeof v); }

#ifndef PIECE
#define PIECE 1000
#endif
#ifndef STATLAST
#define STATLAST 't'                /* the last letter of the name stat'd in FILE's directory */
#endif

/* read to the end: `piece` bytes at a time, `later` from the sixth read on */
static long read_all(int fd, size_t piece, size_t later) {
    char buf[4096];
    long total = 0, n;
    for (int i = 0; (n = read(fd, buf, i < 5 ? piece : later)) > 0; i++) {
        mix(buf, (size_t)n);
        total += n;
    }
    mixn(n);
    return total;
}

static int wake[2];
static volatile sig_atomic_t got_pipe;

static void on_pipe(int sig) {
    (void)sig;
    got_pipe = 1;
}

static void on_usr1(int sig) {
    (void)sig;
    write(wake[1], "w", 1);
}

static int pipes(const char *file) {
    int p[2];
    char buf[4096];
    if (pipe(p) != 0)
        return 1;
    pid_t child = fork();
    if (child == 0) {               /* the reader */
        close(p[1]);
        long got = read_all(p[0], 4096, 4096);
        printf("child got %ld\n", got);
        _exit(0);
    }
    close(p[0]);
    for (int i = 0; i < 200; i++) {
        memset(buf, 'a' + i % 26, 1000);
        mixn(write(p[1], buf, 1000));
    }
    close(p[1]);
    int ws;
    waitpid(child, &ws, 0);

    if (pipe(wake) != 0)
        return 1;
    write(wake[1], "rr", 2);
    child = fork();
    if (child == 0) {               /* blocked in a read until its signal's handler writes */
        struct sigaction sa = {0};
        sa.sa_handler = on_usr1;
        sa.sa_flags = SA_RESTART;
        sigaction(SIGUSR1, &sa, NULL);
        read(wake[0], buf, 1);      /* with a stop: its copy of libc's read site is rewritten */
        read(wake[0], buf, 1);      /* with a stop too: it gets a slot of the page */
        long n = read(wake[0], buf, 1);
        printf("woken: %ld %.1s\n", n, buf);
        _exit(0);
    }
    usleep(200000);                 /* it is blocked in its read by now */
    kill(child, SIGUSR1);
    waitpid(child, &ws, 0);
    printf("woken child: %d\n", WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);

    if (pipe(p) != 0)
        return 1;
    child = fork();
    if (child == 0) {               /* SIGPIPE's handler runs as its write returns */
        struct sigaction sa = {0};
        sa.sa_handler = on_pipe;
        sigaction(SIGPIPE, &sa, NULL);
        close(p[0]);
        int fd = open(file, O_WRONLY | O_TRUNC);
        write(fd, "0", 1);          /* the child's first call through the page: it gets a slot */
        write(p[1], "x", 1);        /* EPIPE */
        int seen = got_pipe;        /* no call between: set only if the handler ran at the write */
        write(fd, seen ? "1" : "0", 1);
        _exit(3);
    }
    close(p[0]);
    close(p[1]);
    waitpid(child, &ws, 0);
    printf("writer: %s %d\n", WIFSIGNALED(ws) ? "signal" : "exit",
           WIFSIGNALED(ws) ? WTERMSIG(ws) : WEXITSTATUS(ws));
    printf("digest %016llx\n", (unsigned long long)digest);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 2 && strcmp(argv[1], "pipes") == 0)
        return pipes(argv[2]);
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) {
        perror("open");
        return 1;
    }
    struct stat st;
    char buf[4096];
    fstat(fd, &st);
    mixn((long)st.st_size);
    long first = read(fd, buf, 1000);
    mix(buf, 1000);
    mixn(lseek(fd, 0, SEEK_CUR));
    mixn(pread(fd, buf, 100, 5));
    mix(buf, 100);
    mixn(read(-1, buf, 10));          /* a bad fd: with a stop */
    int copy = dup2(fd, 10);          /* a copy of a known fd is known too */
    long rest = read_all(copy, 1000, PIECE);
    mixn(lseek(fd, 0, SEEK_SET));
    printf("read %ld + %ld of %ld bytes\n", first, rest, (long)st.st_size);

    int p[2];
    if (pipe(p) != 0)
        return 1;
    write(p[1], "through a pipe", 14);
    close(p[1]);
    mixn(read_all(p[0], 100, 100));
    close(p[0]);

    int status_fd = open("/proc/self/status", O_RDONLY);
    long n = read(status_fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    char *pid = strstr(buf, "\nPid:");
    printf("status %.*s\n", pid ? (int)strcspn(pid + 1, "\n") : 0, pid ? pid + 1 : "");
    close(status_fd);

    pid_t child = fork();
    if (child == 0) {
        long got = read_all(fd, 2048, 2048);
        printf("child read %ld\n", got);
        fflush(stdout);
        _exit(0);
    }
    int ws;
    waitpid(child, &ws, 0);
    mixn(read(fd, buf, 10));          /* the child read to the end of the shared offset */
    mixn(close(fd));
    mixn(close(copy));
    mixn(read(fd, buf, 10));          /* closed: EBADF, with a stop */
    char link[4096];
    snprintf(link, sizeof link, "%s.lnk", argv[1]);
    unlink(link);
    symlink(argv[1], link);
    for (int i = 0; i < 3; i++) {   /* an absolute path: without a stop, from the second on */
        long got = readlink(link, buf, sizeof buf);
        mixn(got);
        mix(buf, got > 0 ? (size_t)got : 0);
    }
    n = readlink("/proc/self", buf, 64);  /* /proc: with a stop (the VEE answers it) */
    printf("self %.*s\n", n > 0 ? (int)n : 0, buf);
    char dirname[4096];
    snprintf(dirname, sizeof dirname, "%s", argv[1]);
    char *slash = strrchr(dirname, '/');
    if (slash)
        *slash = 0;
    int dir = open(slash ? dirname : ".", O_RDONLY | O_DIRECTORY);
    struct stat ls;
    char name[] = "data.txt";
    name[7] = STATLAST;
    for (int i = 0; i < 3; i++) {   /* stat of a path: without a stop */
        mixn(stat(argv[1], &st));
        mixn((long)st.st_size);
        mixn((long)st.st_mtime);
        mixn(lstat(link, &ls));
        mixn((long)S_ISLNK(ls.st_mode));
        mixn(fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW));
        mixn((long)st.st_ino);
        mixn(stat("/no/such/file", &st));
    }
    close(dir);
    printf("stat %ld %d\n", (long)st.st_size, stat("/proc/self/status", &st));  /* /proc: with a stop */
    if (argc > 2) {
        int other = open(argv[2], O_RDONLY);
        printf("other %ld\n", read_all(other, 4096, 4096));
        close(other);
    }
    printf("digest %016llx\n", (unsigned long long)digest);
    return 0;
}
