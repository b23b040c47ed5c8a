/* A path-swap race: one thread opens a buffer that another thread flips
 * between an allowed file and a secret one of the same length. Prints how
 * many opens returned the secret's content; a sound supervisor allows 0. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[4096];
static char allowed[4096], secret[4096];
static volatile int done;

static void *flipper(void *arg)
{
    (void)arg;
    while (!done) {
        memcpy(path, secret, strlen(secret) + 1);
        __asm__ volatile("" ::: "memory"); /* keep both stores */
        memcpy(path, allowed, strlen(allowed) + 1);
        __asm__ volatile("" ::: "memory");
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: race_open ALLOWED SECRET MARKER N\n");
        return 2;
    }
    strcpy(allowed, argv[1]);
    strcpy(secret, argv[2]);
    strcpy(path, allowed);
    int n = atoi(argv[4]), leaked = 0, opened = 0;
    pthread_t t;
    pthread_create(&t, NULL, flipper, NULL);
    for (int i = 0; i < n; i++) {
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            continue;
        opened++;
        char buf[256] = {0};
        ssize_t got = read(fd, buf, sizeof buf - 1);
        if (got > 0 && strstr(buf, argv[3]))
            leaked++;
        close(fd);
    }
    done = 1;
    pthread_join(t, NULL);
    printf("opened=%d leaked=%d\n", opened, leaked);
    return 0;
}
