/* A sleep that a stop and a continue cut short: the kernel resumes it with
 * restart_syscall (ERESTART_RESTARTBLOCK), which replay must see as the
 * sleep itself. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("sleeping\n");
    struct timespec d = {0, 600000000L};
    int r = nanosleep(&d, NULL);
    printf("woke %d\n", r);
    return 0;
}
