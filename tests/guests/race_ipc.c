/* IPC reuse race. A's msgsnd on queue q0 is translated and in flight when
 * the parent removes q0 and creates q1, which the test harness makes take
 * q0's old real id (msg_next_id). If A's stale call ran after that, its
 * message would land in q1. Then: a msgrcv blocked on q2 must be woken with
 * EIDRM by IPC_RMID (the removal is never delayed), and creating a queue
 * afterwards must not hang. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct msg { long type; char text[16]; };

/* Wait until `pid` is in syscall `nr` and in scheduler state `state`
 * ('t': held by the tracer at the call's entry; 'S': blocked in the kernel). */
static int wait_in_syscall(pid_t pid, int nr, char state) {
    char path[64], buf[512];
    for (int i = 0; i < 20000; i++) {
        snprintf(path, sizeof path, "/proc/%d/syscall", pid);
        FILE *f = fopen(path, "r");
        int in_nr = 0;
        if (f) {
            size_t n = fread(buf, 1, sizeof buf - 1, f);
            fclose(f);
            buf[n] = 0;
            in_nr = n > 0 && buf[0] != 'r' && atoi(buf) == nr;
        }
        if (in_nr) {
            snprintf(path, sizeof path, "/proc/%d/stat", pid);
            f = fopen(path, "r");
            if (f) {
                size_t n = fread(buf, 1, sizeof buf - 1, f);
                fclose(f);
                buf[n] = 0;
                char *rp = strrchr(buf, ')');
                if (rp && rp[1] == ' ' && rp[2] == state) return 1;
            }
        }
        struct timespec ts = {0, 500000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    int q0 = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    pid_t a = fork();
    if (a == 0) {
        struct msg m = {1, "stale"};
        int r = msgsnd(q0, &m, sizeof m.text, IPC_NOWAIT);
        _exit(r == 0 ? 0 : 100 + errno);
    }
    if (!wait_in_syscall(a, 69, 't')) { printf("A never reached msgsnd\n"); return 3; }
    if (msgctl(q0, IPC_RMID, NULL) != 0) { perror("IPC_RMID"); return 2; }
    int q1 = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    int sa = 0;
    waitpid(a, &sa, 0);
    struct msg got;
    memset(&got, 0, sizeof got);
    ssize_t n = msgrcv(q1, &got, sizeof got.text, 0, IPC_NOWAIT);
    printf("q0=%d q1=%d a_exit=%d q1_has=%s\n", q0, q1, WIFEXITED(sa) ? WEXITSTATUS(sa) : -1,
           n >= 0 ? got.text : (errno == ENOMSG ? "nothing" : strerror(errno)));
    msgctl(q1, IPC_RMID, NULL);

    /* A receiver blocked in the kernel on q2, woken by the removal. */
    int q2 = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    pid_t d = fork();
    if (d == 0) {
        ssize_t r = msgrcv(q2, &got, sizeof got.text, 0, 0);
        _exit(r < 0 && errno == EIDRM ? 0 : 1);
    }
    if (!wait_in_syscall(d, 70, 'S')) { printf("D never blocked in msgrcv\n"); return 3; }
    int rm = msgctl(q2, IPC_RMID, NULL);
    int sd = 0;
    waitpid(d, &sd, 0);
    int q3 = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    printf("q2=%d rmid=%d d_eidrm=%s q3=%d\n", q2, rm,
           WIFEXITED(sd) && WEXITSTATUS(sd) == 0 ? "yes" : "no", q3);
    msgctl(q3, IPC_RMID, NULL);
    return 0;
}
