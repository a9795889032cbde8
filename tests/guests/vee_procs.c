/* Process shapes real programs have: orphans, daemons, vfork, deaths by
 * signal, stop/continue from the parent, /proc/<vpid>/status.
 * Usage: vee_procs MODE; prints key=value lines. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void nap(long ms) { struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L}; nanosleep(&ts, NULL); }

static int orphan(void) {
    int p[2];
    pipe(p);
    pid_t c = fork();
    if (c == 0) {
        pid_t g = fork();
        if (g == 0) {
            char x;
            close(p[1]);
            read(p[0], &x, 1);  /* EOF once the middle process and main are gone */
            /* The parent died: reparented to scribe (a subreaper outside the VEE). */
            for (int i = 0; i < 2000 && getppid() != 0; i++) nap(1);
            printf("orphan pid=%d ppid=%d\n", getpid(), getppid());
            return 0;
        }
        printf("middle pid=%d grandchild=%d\n", getpid(), g);
        _exit(0);
    }
    close(p[0]);
    waitpid(c, NULL, 0);
    printf("main exits\n");
    return 5;  /* our exit closes the pipe: the orphan goes on without us */
}

static int daemonize(void) {
    int p[2];
    pipe(p);
    pid_t c = fork();
    if (c == 0) {
        pid_t sid = setsid();
        pid_t d = fork();
        if (d == 0) {
            char x;
            close(p[1]);
            read(p[0], &x, 1);  /* EOF once main is gone: outlive it for sure */
            for (int i = 0; i < 2000 && getppid() != 0; i++) nap(1);
            printf("daemon pid=%d ppid=%d sid=%d pgrp=%d getsid_leader=%d\n",
                   getpid(), getppid(), getsid(0), getpgrp(), getsid(sid));
            return 0;
        }
        printf("session leader pid=%d setsid=%d getsid=%d child=%d\n", getpid(), sid, getsid(0), d);
        _exit(0);
    }
    close(p[0]);
    int st;
    waitpid(c, &st, 0);
    printf("main done\n");
    return 0;
}

static int do_vfork(void) {
    volatile pid_t seen = 0, seen_ppid = -1;
    pid_t c = vfork();
    if (c == 0) {
        seen = getpid();
        seen_ppid = getppid();
        _exit(9);
    }
    int st;
    pid_t w = waitpid(c, &st, 0);
    printf("vfork=%d child_getpid=%d child_getppid=%d waitpid=%d status=%d\n",
           c, seen, seen_ppid, w, WEXITSTATUS(st));
    c = vfork();
    if (c == 0) {
        execl("/bin/sh", "sh", "-c", "echo exec_child_pid=$$", (char *)NULL);
        _exit(127);
    }
    waitpid(c, &st, 0);
    printf("vfork_exec=%d status=%d\n", c, WEXITSTATUS(st));
    return 0;
}

static void *spin(void *a) { (void)a; for (;;) pause(); return NULL; }

static int killed(void) {
    struct rlimit rl = {0, 0};
    setrlimit(RLIMIT_CORE, &rl);
    pid_t c = fork();
    if (c == 0) { kill(getpid(), SIGKILL); _exit(0); }
    int st;
    pid_t w = waitpid(c, &st, 0);
    printf("self_kill child=%d waited=%d sig=%d\n", c, w, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    c = fork();
    if (c == 0) { volatile int *z = NULL; *z = 1; _exit(0); }
    w = waitpid(c, &st, 0);
    printf("segv child=%d waited=%d sig=%d\n", c, w, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    int ready[2], never[2];
    pipe(ready);
    pipe(never);
    c = fork();
    if (c == 0) {
        /* A thread group killed from outside while a thread blocks in a call
         * (on a pipe of its own: reading the ready pipe, it could take its
         * own byte before the parent does, and the parent would wait on). */
        pthread_t t;
        extern int pthread_create(pthread_t *, const void *, void *(*)(void *), void *);
        pthread_create(&t, NULL, spin, NULL);
        write(ready[1], "r", 1);
        char x;
        read(never[0], &x, 1);
        _exit(0);
    }
    char x;
    read(ready[0], &x, 1);
    kill(c, SIGTERM);
    w = waitpid(c, &st, 0);
    printf("threaded child=%d waited=%d sig=%d\n", c, w, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return 0;
}

static int stopcont(void) {
    volatile long *counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t c = fork();
    if (c == 0) {
        for (;;) { (*counter)++; nap(1); }
    }
    while (*counter < 3) nap(1);
    kill(c, SIGSTOP);
    int st = 0;
    pid_t w = waitpid(c, &st, WUNTRACED);
    printf("stopped waited=%d is_stopped=%d stopsig=%d\n", w, WIFSTOPPED(st), WIFSTOPPED(st) ? WSTOPSIG(st) : 0);
    long before = *counter;
    nap(100);
    long after = *counter;
    printf("really_stopped=%s\n", before == after ? "yes" : "no");
    char path[64], buf[512] = {0};
    snprintf(path, sizeof path, "/proc/%d/stat", c);
    FILE *f = fopen(path, "r");
    if (f) { fread(buf, 1, sizeof buf - 1, f); fclose(f); }
    char *rp = strrchr(buf, ')');
    printf("proc_state=%c\n", rp ? rp[2] : '?');
    kill(c, SIGCONT);
    w = waitpid(c, &st, WCONTINUED);
    printf("continued waited=%d is_continued=%d\n", w, WIFCONTINUED(st));
    int moved = 0;
    for (int i = 0; i < 5000 && !moved; i++) { if (*counter != after) moved = 1; else nap(1); }
    printf("runs_again=%s\n", moved ? "yes" : "no");
    kill(c, SIGTERM);
    w = waitpid(c, &st, 0);
    printf("terminated waited=%d sig=%d\n", w, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return 0;
}

static int procstatus(void) {
    int p[2];
    pipe(p);
    pid_t c = fork();
    if (c == 0) {
        prctl(PR_SET_NAME, "vee-kid");
        write(p[1], "r", 1);
        pause();
        _exit(0);
    }
    char x;
    read(p[0], &x, 1);
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", c);
    FILE *f = fopen(path, "r");
    if (!f) { printf("status_open=%s\n", strerror(errno)); return 1; }
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "Name:", 5) == 0) printf("status_name=%s", line + 6);
    fclose(f);
    snprintf(path, sizeof path, "/proc/%d/task/%d/comm", c, c);
    f = fopen(path, "r");
    if (f && fgets(line, sizeof line, f)) printf("task_comm=%s", line);
    if (f) fclose(f);
    snprintf(path, sizeof path, "/proc/%d/status", 4000000);
    printf("unknown_vpid=%s\n", access(path, R_OK) == 0 ? "ok" : strerror(errno));
    kill(c, SIGKILL);
    waitpid(c, NULL, 0);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *m = argc > 1 ? argv[1] : "";
    if (!strcmp(m, "orphan")) return orphan();
    if (!strcmp(m, "daemon")) return daemonize();
    if (!strcmp(m, "vfork")) return do_vfork();
    if (!strcmp(m, "killed")) return killed();
    if (!strcmp(m, "stopcont")) return stopcont();
    if (!strcmp(m, "procstatus")) return procstatus();
    fprintf(stderr, "unknown mode %s\n", m);
    return 2;
}
