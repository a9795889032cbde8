/* Threads under the VEE: 100 threads with virtual tids in creation order;
 * glibc's cached tid (used by pthread_kill and raise) is virtual; exec from a
 * non-leader thread keeps the process's pid and retires the thread's tid.
 * Usage: vee_threads threads | exec_thread */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define N 100
static pid_t tids[N];
static pid_t got_kill[N], got_raise[N];
static int raise_ret[N];
static __thread volatile pid_t usr1_in, usr2_in;

static pid_t gettid_(void) { return (pid_t)syscall(SYS_gettid); }
static void on_usr1(int s) { (void)s; usr1_in = gettid_(); }
static void on_usr2(int s) { (void)s; usr2_in = gettid_(); }

static void *worker(void *arg) {
    int i = (int)(long)arg;
    tids[i] = gettid_();
    sigset_t none;
    sigemptyset(&none);
    while (!usr1_in) sigsuspend(&none);   /* SIGUSR1 comes from pthread_kill */
    got_kill[i] = usr1_in;
    raise_ret[i] = raise(SIGUSR2);         /* raise uses the cached tid */
    got_raise[i] = usr2_in;
    return NULL;
}

static int threads(void) {
    signal(SIGUSR1, on_usr1);
    signal(SIGUSR2, on_usr2);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    pthread_t th[N];
    for (int i = 0; i < N; i++)
        if (pthread_create(&th[i], NULL, worker, (void *)(long)i)) { perror("pthread_create"); return 2; }
    int kill_err = 0;
    for (int i = 0; i < N; i++) {
        int e = pthread_kill(th[i], SIGUSR1);
        if (e) { if (!kill_err) fprintf(stderr, "pthread_kill %d: %s\n", i, strerror(e)); kill_err++; }
    }
    for (int i = 0; i < N; i++) pthread_join(th[i], NULL);
    int in_order = 1, ok_kill = 0, ok_raise = 0;
    for (int i = 0; i < N; i++) {
        if (tids[i] != i + 2) in_order = 0;
        if (got_kill[i] == tids[i]) ok_kill++;
        if (raise_ret[i] == 0 && got_raise[i] == tids[i]) ok_raise++;
    }
    printf("threads=%d first_tid=%d last_tid=%d in_order=%d pthread_kill_errors=%d ok_kill=%d ok_raise=%d\n",
           N, tids[0], tids[N - 1], in_order, kill_err, ok_kill, ok_raise);
    return 0;
}

static char self_path[4096];

static void *exec_from_thread(void *arg) {
    (void)arg;
    printf("before_exec pid=%d thread_tid=%d\n", getpid(), gettid_());
    execl(self_path, self_path, "after_exec", (char *)NULL);
    perror("execl");
    _exit(2);
}

static void *report(void *arg) { *(pid_t *)arg = gettid_(); return NULL; }

static int after_exec(void) {
    pthread_t t;
    pid_t tid = 0;
    pthread_create(&t, NULL, report, &tid);
    pthread_join(t, NULL);
    pid_t c = fork();
    if (c == 0) { printf("child pid=%d ppid=%d\n", getpid(), getppid()); _exit(0); }
    int st;
    pid_t w = waitpid(c, &st, 0);
    printf("after_exec pid=%d tid=%d ppid=%d new_thread_tid=%d fork=%d waited=%d\n",
           getpid(), gettid_(), getppid(), tid, c, w);
    return 4;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *m = argc > 1 ? argv[1] : "";
    if (!strcmp(m, "threads")) return threads();
    if (!strcmp(m, "after_exec")) return after_exec();
    if (!strcmp(m, "exec_thread")) {
        ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
        if (n <= 0) return 2;
        pthread_t t;
        pthread_create(&t, NULL, exec_from_thread, NULL);
        for (;;) pause();
    }
    fprintf(stderr, "unknown mode %s\n", m);
    return 2;
}
