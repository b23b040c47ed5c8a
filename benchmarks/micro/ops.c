/* ops: time N iterations of one operation and print microseconds per op.
 *
 *   ops OP N [PATH]
 *
 * OP is one of
 *   open_cached   openat(PATH) + close, the same file every time
 *   open_missing  openat of a name that does not exist (ENOENT expected)
 *   open_fresh    openat(PATH/f<i>) + close for i in 0..N-1: every file once
 *   stat          stat(PATH): not trapped by jail, shows the filter's own cost
 *   exec          fork + execve("/bin/true") + waitpid
 *   connect       socket + connect to a loopback TCP listener + accept + close
 *
 * The loop times itself (CLOCK_MONOTONIC), so whatever starts this program
 * (jail, a floor supervisor, nothing) is not part of the figure. A few
 * untimed iterations run first. Output: one line "OP <us_per_op>".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void die(const char *what)
{
    fprintf(stderr, "ops: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void open_close(const char *path)
{
    int fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die(path);
    close(fd);
}

static void open_missing(const char *path)
{
    int fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 || errno != ENOENT)
        die("open of a missing file did not fail with ENOENT");
}

static void do_stat(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        die(path);
}

static void do_exec(void)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        char *argv[] = {"true", NULL};
        char *envp[] = {NULL};
        execve("/bin/true", argv, envp);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("/bin/true did not exit 0");
}

static int listener = -1;
static struct sockaddr_in listen_addr;

static void setup_listener(void)
{
    listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener < 0)
        die("socket");
    memset(&listen_addr, 0, sizeof listen_addr);
    listen_addr.sin_family = AF_INET;
    listen_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof listen_addr;
    if (bind(listener, (struct sockaddr *)&listen_addr, sizeof listen_addr) < 0 ||
        listen(listener, 64) < 0 || getsockname(listener, (struct sockaddr *)&listen_addr, &len) < 0)
        die("listen");
}

static void do_connect(void)
{
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c < 0)
        die("socket");
    if (connect(c, (struct sockaddr *)&listen_addr, sizeof listen_addr) < 0)
        die("connect");
    int a = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (a < 0)
        die("accept");
    close(a);
    close(c);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: ops OP N [PATH]\n");
        return 2;
    }
    const char *op = argv[1];
    long n = atol(argv[2]);
    const char *path = argc > 3 ? argv[3] : "/etc/hostname";
    char name[4096];
    int warm = n < 100 ? 2 : 10;

    if (strcmp(op, "connect") == 0)
        setup_listener();
    /* Warm-up: page cache, dcache, libc lazy binding; never for open_fresh,
     * whose point is the first open of each file. */
    for (int i = 0; i < warm; i++) {
        if (strcmp(op, "open_cached") == 0)
            open_close(path);
        else if (strcmp(op, "open_missing") == 0)
            open_missing(path);
        else if (strcmp(op, "stat") == 0)
            do_stat(path);
        else if (strcmp(op, "exec") == 0)
            do_exec();
        else if (strcmp(op, "connect") == 0)
            do_connect();
    }

    double t0 = now_us();
    if (strcmp(op, "open_cached") == 0) {
        for (long i = 0; i < n; i++)
            open_close(path);
    } else if (strcmp(op, "open_missing") == 0) {
        for (long i = 0; i < n; i++)
            open_missing(path);
    } else if (strcmp(op, "open_fresh") == 0) {
        for (long i = 0; i < n; i++) {
            snprintf(name, sizeof name, "%s/f%ld", path, i);
            open_close(name);
        }
    } else if (strcmp(op, "stat") == 0) {
        for (long i = 0; i < n; i++)
            do_stat(path);
    } else if (strcmp(op, "exec") == 0) {
        for (long i = 0; i < n; i++)
            do_exec();
    } else if (strcmp(op, "connect") == 0) {
        for (long i = 0; i < n; i++)
            do_connect();
    } else {
        fprintf(stderr, "ops: unknown op %s\n", op);
        return 2;
    }
    double t1 = now_us();
    printf("%s %.3f\n", op, (t1 - t0) / (double)n);
    return 0;
}
