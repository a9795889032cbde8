/* Gathers process ids from many interfaces and prints them, so a test can
 * check that they agree with one another and that no real id appears. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/shm.h>
#include <sys/sem.h>
#include <pthread.h>
#include <unistd.h>

static volatile pid_t sigchld_from;
static void on_chld(int s, siginfo_t *si, void *u) { (void)s; (void)u; sigchld_from = si->si_pid; }

static void *thread_main(void *arg) {
    (void)arg;
    printf("thread gettid=%ld\n", (long)syscall(SYS_gettid));
    return NULL;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("getpid=%d\n", getpid());
    printf("gettid=%ld\n", (long)syscall(SYS_gettid));
    printf("getppid=%d\n", getppid());
    printf("getpgrp=%d\n", getpgrp());
    printf("getpgid0=%d\n", getpgid(0));
    printf("getpgid_self=%d\n", getpgid(getpid()));
    char buf[64] = {0};
    ssize_t n = readlink("/proc/self", buf, sizeof buf - 1);
    printf("proc_self=%s\n", n > 0 ? buf : "?");
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", getpid());
    printf("proc_vpid_open=%s\n", access(path, R_OK) == 0 ? "ok" : strerror(errno));
    printf("kill_self0=%d\n", kill(getpid(), 0));
    { int kr = kill(4000000, 0); printf("kill_bogus=%d errno=%d\n", kr, errno); }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGCHLD, &sa, NULL);

    pid_t child = fork();
    if (child == 0) {
        printf("child getpid=%d getppid=%d\n", getpid(), getppid());
        _exit(7);
    }
    int st = 0;
    pid_t w = waitpid(child, &st, 0);
    printf("fork=%d waitpid=%d status=%d\n", child, w, WEXITSTATUS(st));
    while (sigchld_from == 0) usleep(1000);
    printf("sigchld_si_pid=%d\n", (int)sigchld_from);

    pid_t c2 = fork();
    if (c2 == 0) { pause(); _exit(0); }
    printf("fork2=%d getpgid_child=%d\n", c2, getpgid(c2));
    kill(c2, SIGTERM);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    waitid(P_PID, c2, &si, WEXITED);
    printf("waitid_si_pid=%d signo=%d\n", si.si_pid, si.si_status);

    pthread_t th;
    pthread_create(&th, NULL, thread_main, NULL);
    pthread_join(th, NULL);

    int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    struct { long t; char m[8]; } msg = {1, "hi"};
    msgsnd(q, &msg, sizeof msg.m, 0);
    struct msqid_ds ds;
    msgctl(q, IPC_STAT, &ds);
    printf("msgget=%d msg_lspid=%d\n", q, ds.msg_lspid);
    msgctl(q, IPC_RMID, NULL);
    int shm = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    struct shmid_ds sds;
    shmctl(shm, IPC_STAT, &sds);
    printf("shmget=%d shm_cpid=%d\n", shm, sds.shm_cpid);
    shmctl(shm, IPC_RMID, NULL);
    int sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    struct sembuf op = {0, 1, 0};
    semop(sem, &op, 1);
    printf("semget=%d sem_getpid=%d\n", sem, semctl(sem, 0, GETPID));
    semctl(sem, 0, IPC_RMID);
    printf("getsid0=%d\n", getsid(0));
    return 3;
}
