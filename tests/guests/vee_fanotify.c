/* fanotify events name the process that caused them: a virtual pid. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/fanotify.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int fan = fanotify_init(FAN_CLASS_NOTIF, O_RDONLY);
    if (fan < 0) { perror("fanotify_init"); return 2; }
    if (fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN, AT_FDCWD, argv[1]) < 0) { perror("mark"); return 2; }
    pid_t kid = fork();
    if (kid == 0) { close(open(argv[1], O_RDONLY)); _exit(0); }
    waitpid(kid, NULL, 0);
    char buf[4096];
    ssize_t n = read(fan, buf, sizeof buf);
    struct fanotify_event_metadata *m = (void *)buf;
    if (n < (ssize_t)sizeof *m) { perror("read"); return 2; }
    close(m->fd);
    printf("child=%d event pid=%d\n", kid, m->pid);
    return 0;
}
