/* An argv-swap race on execve: child processes exec a program while a
 * sibling thread of the parent (sharing memory through vfork) flips one
 * argument between an allowed word and a forbidden one. A gate that decided
 * on the argv it read at the notification would be fooled; one that decides
 * at the exec event, on the kernel's copy, is not. Prints nothing itself:
 * the exec'd program reports what it really got. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char word[16] = "plan";
static volatile int done;

static void *flipper(void *arg)
{
    (void)arg;
    while (!done) {
        memcpy(word, "destroy", 8);
        __asm__ volatile("" ::: "memory"); /* keep both stores */
        memcpy(word, "plan\0\0\0", 8);
        __asm__ volatile("" ::: "memory");
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    int n = atoi(argv[2]);
    pthread_t t;
    pthread_create(&t, NULL, flipper, NULL);
    for (int i = 0; i < n; i++) {
        char *args[] = {argv[1], word, NULL};
        pid_t pid = vfork();
        if (pid == 0) {
            execv(argv[1], args);
            _exit(127);
        }
        waitpid(pid, NULL, 0);
    }
    done = 1;
    pthread_join(t, NULL);
    return 0;
}
