/* Pokes at its tracer: reads TracerPid from /proc/self/status. */
#include <stdio.h>
#include <string.h>
int main(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) { perror("open"); return 1; }
    char line[256];
    int found = 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "TracerPid:", 10) == 0) { fputs(line, stdout); found = 1; }
    fclose(f);
    return found ? 0 : 2;
}
