/* stat, lstat, fstat, newfstatat, readlink and readlinkat on the tree the
 * test made in the working directory: every result, errno and stat field
 * that does not move by itself is printed, so native, record and replay
 * print the same (but for /proc/self, which names the virtual pid).
 *
 *   lookups         as the user it was started as, then a child that
 *                   becomes nobody (when started as root) asks again
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char cwd[2048];

static void show_stat(const char *what, const char *path, long r, const struct stat *st, int proc) {
    if (r < 0) {
        printf("%s %s = -1 %s\n", what, path, strerror(errno));
    } else if (proc) {  /* /proc and /dev inodes differ between processes */
        printf("%s %s = %ld mode=%o\n", what, path, r, st->st_mode);
    } else {
        printf("%s %s = %ld dev=%lx ino=%lu mode=%o nlink=%lu uid=%u size=%ld\n", what, path, r,
               (unsigned long)st->st_dev, (unsigned long)st->st_ino, st->st_mode,
               (unsigned long)st->st_nlink, st->st_uid, (long)st->st_size);
    }
}

static void show_link(const char *what, const char *path, long r, const char *buf) {
    if (r < 0)
        printf("%s %s = -1 %s\n", what, path, strerror(errno));
    else
        printf("%s %s = %ld \"%.*s\"\n", what, path, r, (int)r, buf);
}

static void ask(const char *rel, int proc) {
    char path[4096];
    struct stat st;
    char buf[256];
    if (rel[0] == '/' || rel[0] == '.' || strchr(rel, ':'))
        snprintf(path, sizeof path, "%s", rel[0] == ':' ? rel + 1 : rel);
    else
        snprintf(path, sizeof path, "%s/%s", cwd, rel);
    memset(&st, 0, sizeof st);
    show_stat("stat", rel, syscall(SYS_stat, path, &st), &st, proc);
    memset(&st, 0, sizeof st);
    show_stat("lstat", rel, syscall(SYS_lstat, path, &st), &st, proc);
    memset(&st, 0, sizeof st);
    show_stat("fstatat", rel, syscall(SYS_newfstatat, AT_FDCWD, path, &st, 0), &st, proc);
    memset(&st, 0, sizeof st);
    show_stat("fstatat-nofollow", rel, syscall(SYS_newfstatat, AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW), &st, proc);
    memset(buf, '#', sizeof buf);
    show_link("readlink", rel, syscall(SYS_readlink, path, buf, sizeof buf), buf);
    memset(buf, '#', sizeof buf);
    show_link("readlinkat", rel, syscall(SYS_readlinkat, AT_FDCWD, path, buf, sizeof buf), buf);
    memset(buf, '#', sizeof buf);
    long r = syscall(SYS_readlink, path, buf, 3);  /* cut short: 3 bytes, the rest untouched */
    show_link("readlink/3", rel, r, buf);
    printf("  after: %.6s\n", buf);
}

static const char *const PATHS[] = {
    "d", "d/f", "d/l", "d/abs", "d/dangling", "d/f/x", "d/nothing", "d/l/", "d//f", "priv", "priv/x",
    "d/../d/f", "/", "//", ":/proc/self/exe", ":/proc/self", ":/dev/stdin", ":/dev/null", "d/loop",
    "./d/f", ":", NULL,
};

static void ask_all(int proc_too) {
    for (int i = 0; PATHS[i]; i++) {
        int proc = strncmp(PATHS[i], ":/proc", 6) == 0 || strncmp(PATHS[i], ":/dev", 5) == 0;
        if (proc && !proc_too)
            continue;
        ask(PATHS[i], proc);
    }
}

int main(void) {
    if (!getcwd(cwd, sizeof cwd))
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    ask_all(1);

    /* fstat and newfstatat(fd, "", AT_EMPTY_PATH) on fds of every kind. */
    struct stat st;
    int fds[5];
    char dpath[4096];
    snprintf(dpath, sizeof dpath, "%s/d", cwd);
    fds[0] = open("d/f", O_RDONLY);
    fds[1] = open("d", O_RDONLY | O_DIRECTORY);
    fds[2] = open("d/l", O_PATH | O_NOFOLLOW);
    if (pipe(fds + 3) != 0)
        return 2;
    for (int i = 0; i < 5; i++) {
        char what[32];
        snprintf(what, sizeof what, "fd%d", i);
        memset(&st, 0, sizeof st);
        long r = syscall(SYS_fstat, fds[i], &st);
        show_stat("fstat", what, r, &st, i >= 3);
        memset(&st, 0, sizeof st);
        r = syscall(SYS_newfstatat, fds[i], "", &st, AT_EMPTY_PATH);
        show_stat("fstatat-empty", what, r, &st, i >= 3);
    }
    show_stat("fstat", "bad fd", syscall(SYS_fstat, 999, &st), &st, 0);
    show_stat("fstatat-empty", "cwd", syscall(SYS_newfstatat, AT_FDCWD, "", &st, AT_EMPTY_PATH), &st, 0);
    show_stat("fstatat", "dirfd-relative", syscall(SYS_newfstatat, fds[1], "f", &st, 0), &st, 0);

    /* Memory the program may not write: the kernel says EFAULT. */
    char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    show_stat("stat", "read-only buffer", syscall(SYS_stat, dpath, (struct stat *)ro), &st, 0);
    char lpath[4096];
    snprintf(lpath, sizeof lpath, "%s/d/l", cwd);
    show_link("readlink", "read-only buffer", syscall(SYS_readlink, lpath, ro, 64), ro);
    show_link("readlink", "size 0", syscall(SYS_readlink, lpath, dpath, 0), dpath);
    show_stat("stat", "bad path pointer", syscall(SYS_stat, (char *)16, &st), &st, 0);
    printf("read-only page still zero: %d\n", ro[0] == 0);

    /* Someone else asks: a child that became nobody is refused priv/x. */
    if (getuid() == 0) {
        pid_t p = fork();
        if (p == 0) {
            if (setgid(65534) != 0 || setuid(65534) != 0)
                _exit(3);
            printf("-- as nobody\n");
            ask_all(0);
            _exit(0);
        }
        int status;
        waitpid(p, &status, 0);
        printf("child status %d\n", WEXITSTATUS(status));
    }
    return 0;
}
