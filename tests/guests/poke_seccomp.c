/* Pokes at its tracer: installs its own seccomp filter (getppid -> EPERM,
 * uname -> SECCOMP_RET_TRACE with data, everything else allowed). */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    struct sock_filter prog[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_uname, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | 0x1234),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog fprog = { sizeof prog / sizeof prog[0], prog };
    printf("before getppid=%d\n", getppid());
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) { perror("no_new_privs"); return 1; }
    long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog);
    printf("seccomp=%ld\n", r);
    errno = 0;
    long pp = syscall(SYS_getppid);
    printf("after getppid=%ld errno=%s\n", pp, pp < 0 ? strerror(errno) : "0");
    struct utsname u;
    printf("uname=%d sysname=%s\n", uname(&u), u.sysname);
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        errno = 0;
        long c = syscall(SYS_getppid);
        printf("child getppid=%ld errno=%s pid=%d\n", c, c < 0 ? strerror(errno) : "0", getpid());
        fflush(stdout);
        _exit(5);
    }
    int st;
    waitpid(p, &st, 0);
    printf("child exit=%d\n", WEXITSTATUS(st));
    return 0;
}
