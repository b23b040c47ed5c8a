/* floor: the smallest seccomp user-notification supervisor, the mechanism's
 * limit that jail is measured against.
 *
 *   floor [--threads N] [--poll] MODE PROGRAM [ARGS...]
 *
 * Forks PROGRAM under a filter that traps open and openat (everything else is
 * allowed; foreign architectures and x32 are killed, as any real filter
 * must), takes the listener, sets SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP and
 * answers every notification in one thread with a blocking RECV loop:
 *
 *   continue       SECCOMP_USER_NOTIF_FLAG_CONTINUE (unsafe for a real
 *                  sandbox: the kernel re-reads the path; shown as the
 *                  round trip's own cost)
 *   emulate        read the path with process_vm_readv, check the id is still
 *                  valid, openat it here, inject it with ADDFD|SEND
 *   emulate-check  emulate, plus the two calls a supervisor needs to decide
 *                  on the object it opened: fstat and readlink /proc/self/fd/N
 *
 * By default one thread waits in a blocking RECV. --threads N runs N such
 * threads; --poll makes each wait in poll(2) before RECV: together they give
 * the shape of a supervisor with a pool of workers (jail: 4 threads, poll),
 * to tell the mechanism's cost of that shape from the cost of its code.
 *
 * Exit status: PROGRAM's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

enum { MODE_CONTINUE, MODE_EMULATE, MODE_EMULATE_CHECK };

static void die(const char *what)
{
    fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
    exit(125);
}

static int install_filter(void)
{
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1), /* x32 */
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 1, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_open, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof code / sizeof code[0], code};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -1;
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
}

static void send_fd(int sock, int fd)
{
    char byte = 0;
    struct iovec iov = {&byte, 1};
    char cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof cbuf);
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                         .msg_controllen = sizeof cbuf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    if (sendmsg(sock, &msg, 0) != 1)
        _exit(125);
}

static int recv_fd(int sock)
{
    char byte;
    struct iovec iov = {&byte, 1};
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                         .msg_controllen = sizeof cbuf};
    if (recvmsg(sock, &msg, 0) != 1)
        return -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_type != SCM_RIGHTS)
        return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof(int));
    return fd;
}

/* Read a NUL-terminated string from the target, never across an unmapped page. */
static int read_path(pid_t pid, uint64_t addr, char *buf, size_t cap)
{
    size_t got = 0;
    while (got < cap) {
        size_t chunk = 4096 - ((addr + got) & 4095);
        if (chunk > cap - got)
            chunk = cap - got;
        struct iovec local = {buf + got, chunk};
        struct iovec remote = {(void *)(uintptr_t)(addr + got), chunk};
        ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
        if (n <= 0)
            return -EFAULT;
        if (memchr(buf + got, 0, (size_t)n))
            return 0;
        got += (size_t)n;
    }
    return -ENAMETOOLONG;
}

static int listener_fd = -1;
static volatile int child_gone;
static volatile int workers_left;
static pthread_t workers[64];
static volatile int worker_done[64];
static int nworkers = 1;
static int use_poll;
static int mode;
static pid_t child;
static int child_status;

static void on_usr1(int sig) { (void)sig; }

static void *reaper(void *arg)
{
    (void)arg;
    while (waitpid(child, &child_status, 0) < 0 && errno == EINTR)
        ;
    child_gone = 1;
    /* Poke the RECV loops until they notice (a single signal could land just
     * before one blocks). */
    while (workers_left) {
        for (int i = 0; i < nworkers; i++)
            if (!worker_done[i])
                pthread_kill(workers[i], SIGUSR1);
        usleep(1000);
    }
    return NULL;
}

static void respond(uint64_t id, int64_t val, int32_t error, uint32_t flags)
{
    struct seccomp_notif_resp resp = {.id = id, .val = val, .error = error, .flags = flags};
    if (ioctl(listener_fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT)
        die("SECCOMP_IOCTL_NOTIF_SEND");
}

static void emulate(const struct seccomp_notif *req, int check)
{
    const __u64 *a = req->data.args;
    int is_openat = req->data.nr == SYS_openat;
    int dirfd = is_openat ? (int)a[0] : AT_FDCWD;
    uint64_t addr = is_openat ? a[1] : a[0];
    int flags = (int)(is_openat ? a[2] : a[1]);
    mode_t mode = (mode_t)(is_openat ? a[3] : a[2]);
    char path[4096];
    int rc = read_path(req->pid, addr, path, sizeof path);
    if (rc < 0) {
        respond(req->id, 0, rc, 0);
        return;
    }
    int base = -1;
    if (path[0] != '/') { /* relative: the target's cwd or its dirfd */
        char proc[64];
        if (dirfd == AT_FDCWD)
            snprintf(proc, sizeof proc, "/proc/%d/cwd", req->pid);
        else
            snprintf(proc, sizeof proc, "/proc/%d/fd/%d", req->pid, dirfd);
        base = open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (base < 0) {
            respond(req->id, 0, -errno, 0);
            return;
        }
    }
    if (ioctl(listener_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) < 0) {
        if (base >= 0)
            close(base);
        return; /* the request is gone: answer nothing */
    }
    int fd = openat(base >= 0 ? base : AT_FDCWD, path, flags | O_CLOEXEC, mode);
    int err = errno;
    if (base >= 0)
        close(base);
    if (fd < 0) {
        respond(req->id, 0, -err, 0);
        return;
    }
    if (check) {
        struct stat st;
        char proc[64], target[4096];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        if (fstat(fd, &st) < 0 || readlink(proc, target, sizeof target) < 0) {
            close(fd);
            respond(req->id, 0, -EACCES, 0);
            return;
        }
    }
    struct seccomp_notif_addfd addfd = {
        .id = req->id,
        .flags = SECCOMP_ADDFD_FLAG_SEND,
        .srcfd = (uint32_t)fd,
        .newfd = 0,
        .newfd_flags = (uint32_t)(flags & O_CLOEXEC),
    };
    if (ioctl(listener_fd, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd) < 0 && errno != ENOENT)
        die("SECCOMP_IOCTL_NOTIF_ADDFD");
    close(fd);
}

static void *worker(void *arg)
{
    int self = (int)(intptr_t)arg;
    struct seccomp_notif req;
    for (;;) {
        if (use_poll) {
            struct pollfd pfd = {listener_fd, POLLIN, 0};
            int n = poll(&pfd, 1, -1);
            if (n < 0 && errno != EINTR)
                die("poll");
            if (child_gone)
                break;
            if (n <= 0 || !(pfd.revents & POLLIN))
                continue;
        }
        memset(&req, 0, sizeof req);
        if (ioctl(listener_fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
            /* EINTR: the reaper's poke. ENOENT: a request withdrawn, or (at
             * once and forever) no task is left under the filter. */
            if (errno == EINTR || errno == ENOENT) {
                if (child_gone)
                    break;
                continue;
            }
            die("SECCOMP_IOCTL_NOTIF_RECV");
        }
        if (mode == MODE_CONTINUE)
            respond(req.id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
        else
            emulate(&req, mode == MODE_EMULATE_CHECK);
    }
    worker_done[self] = 1;
    __sync_fetch_and_sub(&workers_left, 1);
    return NULL;
}

int main(int argc, char **argv)
{
    int a = 1;
    while (a < argc && strncmp(argv[a], "--", 2) == 0) {
        if (strcmp(argv[a], "--threads") == 0 && a + 1 < argc) {
            nworkers = atoi(argv[a + 1]);
            a += 2;
        } else if (strcmp(argv[a], "--poll") == 0) {
            use_poll = 1;
            a += 1;
        } else {
            break;
        }
    }
    if (argc - a < 2 || nworkers < 1 || nworkers > 64) {
        fprintf(stderr, "usage: floor [--threads N] [--poll] continue|emulate|emulate-check PROGRAM [ARGS...]\n");
        return 2;
    }
    if (strcmp(argv[a], "continue") == 0)
        mode = MODE_CONTINUE;
    else if (strcmp(argv[a], "emulate") == 0)
        mode = MODE_EMULATE;
    else if (strcmp(argv[a], "emulate-check") == 0)
        mode = MODE_EMULATE_CHECK;
    else {
        fprintf(stderr, "floor: unknown mode %s\n", argv[a]);
        return 2;
    }
    char **program = argv + a + 1;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        die("socketpair");
    child = fork();
    if (child < 0)
        die("fork");
    if (child == 0) {
        close(sv[0]);
        int fd = install_filter();
        if (fd < 0) {
            perror("floor: seccomp");
            _exit(125);
        }
        send_fd(sv[1], fd);
        close(fd);
        char ack;
        if (read(sv[1], &ack, 1) != 1) /* the supervisor is ready */
            _exit(125);
        close(sv[1]);
        execvp(program[0], program);
        _exit(127);
    }
    close(sv[1]);
    listener_fd = recv_fd(sv[0]);
    if (listener_fd < 0)
        die("receive the listener");
    uint64_t sync_flags = SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP;
    if (ioctl(listener_fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, sync_flags) < 0)
        die("SECCOMP_IOCTL_NOTIF_SET_FLAGS");

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1; /* no SA_RESTART: RECV returns EINTR */
    sigaction(SIGUSR1, &sa, NULL);
    workers[0] = pthread_self();
    workers_left = nworkers;
    for (int i = 1; i < nworkers; i++)
        if (pthread_create(&workers[i], NULL, worker, (void *)(intptr_t)i) != 0)
            die("pthread_create");
    pthread_t tid;
    if (pthread_create(&tid, NULL, reaper, NULL) != 0)
        die("pthread_create");
    if (write(sv[0], "", 1) != 1)
        die("start the child");
    worker((void *)(intptr_t)0);
    for (int i = 1; i < nworkers; i++)
        pthread_join(workers[i], NULL);
    pthread_join(tid, NULL);
    if (WIFEXITED(child_status))
        return WEXITSTATUS(child_status);
    return 128 + WTERMSIG(child_status);
}
