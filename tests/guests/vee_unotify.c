/* A seccomp user-notification supervisor sees the pid of the notifying task. */
#define _GNU_SOURCE
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {4, f};
    int sv[2];
    pipe(sv);
    pid_t kid = fork();
    if (kid == 0) {
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        int lfd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
        if (lfd < 0) { perror("seccomp"); _exit(2); }
        /* the supervisor is a second child sharing the listener fd */
        pid_t helper = fork();
        if (helper == 0) {
            struct seccomp_notif req; struct seccomp_notif_resp resp;
            memset(&req, 0, sizeof req);
            if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) { perror("recv"); _exit(2); }
            printf("notified by pid=%u\n", req.pid);
            fflush(stdout);
            memset(&resp, 0, sizeof resp);
            resp.id = req.id; resp.val = 77;
            ioctl(lfd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
            _exit(0);
        }
        long r = syscall(SYS_getppid);
        printf("getppid answered %ld by pid %d\n", r, getpid());
        fflush(stdout);
        waitpid(helper, NULL, 0);
        _exit(0);
    }
    waitpid(kid, NULL, 0);
    return 0;
}
