/* SCM_CREDENTIALS over a socketpair: the pid sent and received is virtual. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    int sv[2], on = 1;
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
    pid_t kid = fork();
    if (kid == 0) {
        struct ucred cr = {getpid(), getuid(), getgid()};
        char cbuf[CMSG_SPACE(sizeof cr)];
        char data = 'x';
        struct iovec iov = {&data, 1};
        struct msghdr m = {0};
        m.msg_iov = &iov; m.msg_iovlen = 1; m.msg_control = cbuf; m.msg_controllen = sizeof cbuf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_CREDENTIALS; c->cmsg_len = CMSG_LEN(sizeof cr);
        memcpy(CMSG_DATA(c), &cr, sizeof cr);
        if (sendmsg(sv[0], &m, 0) < 0) { perror("sendmsg"); _exit(1); }
        printf("child sent pid=%d\n", cr.pid);
        fflush(stdout);
        _exit(0);
    }
    char data, cbuf[CMSG_SPACE(sizeof(struct ucred))];
    struct iovec iov = {&data, 1};
    struct msghdr m = {0};
    m.msg_iov = &iov; m.msg_iovlen = 1; m.msg_control = cbuf; m.msg_controllen = sizeof cbuf;
    if (recvmsg(sv[1], &m, 0) < 0) { perror("recvmsg"); return 1; }
    struct ucred cr;
    memcpy(&cr, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof cr);
    waitpid(kid, NULL, 0);
    printf("received pid=%d fork=%d\n", cr.pid, kid);
    return 0;
}
