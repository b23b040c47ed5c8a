/* jail's native helper: the mechanics Python cannot do safely or quickly.
 *
 * Two halves:
 *  - spawn: clone the shim (pid 1 of a fresh pid namespace, or a subreaper
 *    when no namespace can be had), which forks the agent; the agent sets
 *    no_new_privs, Landlock and the seccomp filter, hands the listener to the
 *    shim, which passes it to jail over a socket, then execs the command.
 *    Everything between clone and execve is async-signal-safe C.
 *  - notifications: receive, read target memory, check the id, answer with an
 *    errno or a value, inject an fd and answer in one step.
 *
 * Every function returns a negative errno on failure, never sets errno only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jail_native.h"

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* Setup stages, reported to jail when the agent cannot be started. Keep in
 * step with SETUP_STAGES in jail/native.py. */
enum {
    STAGE_SHIM = 1,
    STAGE_PROC = 2,
    STAGE_CHDIR = 3,
    STAGE_CREDS = 4,
    STAGE_NNP = 5,
    STAGE_LANDLOCK = 6,
    STAGE_SECCOMP = 7,
    STAGE_HANDOVER = 8,
    STAGE_EXEC = 9,
    STAGE_CTTY = 10,
};

struct ll_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net;
    uint64_t scoped;
};

struct ll_path_beneath_attr {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

#define LANDLOCK_RULE_PATH_BENEATH 1
#define LANDLOCK_CREATE_RULESET_VERSION (1U << 0)

struct open_how_compat {
    uint64_t flags;
    uint64_t mode;
    uint64_t resolve;
};

static int neg_errno(void) { return errno ? -errno : -EIO; }

/* ---------------------------------------------------------------- spawn */

static void report(int fd, int stage, int err)
{
    struct jl_setup_error e = {stage, err};
    ssize_t n;
    do {
        n = write(fd, &e, sizeof e);
    } while (n < 0 && errno == EINTR);
}

static int full_read(int fd, void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = read(fd, (char *)buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n < 0 ? -1 : 0;
}

static int apply_landlock(const struct jl_spawn_cfg *cfg)
{
    struct ll_ruleset_attr attr = {cfg->ll_handled_fs, 0, cfg->ll_scoped};
    size_t size = cfg->ll_abi >= 6 ? sizeof attr : sizeof(uint64_t);
    if (cfg->ll_abi >= 4 && cfg->ll_abi < 6)
        size = 2 * sizeof(uint64_t);
    int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
    if (ruleset < 0)
        return -1;
    for (int i = 0; i < cfg->ll_nrules; i++) {
        int fd = open(cfg->ll_rules[i].path, O_PATH | O_CLOEXEC);
        if (fd < 0)
            continue; /* a writable place that does not exist grants nothing */
        struct ll_path_beneath_attr rule = {cfg->ll_rules[i].access, fd};
        int rc = (int)syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
        int saved = errno;
        close(fd);
        if (rc < 0) {
            close(ruleset);
            errno = saved;
            return -1;
        }
    }
    int rc = (int)syscall(SYS_landlock_restrict_self, ruleset, 0);
    int saved = errno;
    close(ruleset);
    errno = saved;
    return rc;
}

/* jail's own pty for the agent: a session of its own whose controlling
 * terminal is the pty slave, so the pty's line discipline signals the agent's
 * foreground group and jail's terminal stays jail's. */
static int take_terminal(int fd)
{
    if (setsid() < 0 || ioctl(fd, TIOCSCTTY, 0) < 0)
        return -1;
    for (int std = 0; std < 3; std++) {
        if (dup2(fd, std) < 0)
            return -1;
    }
    if (fd > 2)
        close(fd);
    return 0;
}

/* The agent: runs in the forked child of the shim and never returns. */
static void agent_main(const struct jl_spawn_cfg *cfg, int errfd, int hand_w, int go_r)
{
    sigset_t none;
    sigemptyset(&none);
    for (int sig = 1; sig < 65; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
        signal(sig, (cfg->ignored_signals >> (sig - 1)) & 1 ? SIG_IGN : SIG_DFL);
    }
    sigprocmask(SIG_SETMASK, &none, NULL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* The shim is not dumpable and fork copied that; the shim must be able to
     * copy our listener out (pidfd_getfd), and execve resets it anyway. */
    prctl(PR_SET_DUMPABLE, 1);

    if (cfg->ctty_fd >= 0 && take_terminal(cfg->ctty_fd) < 0) {
        report(errfd, STAGE_CTTY, errno);
        _exit(127);
    }
    if (chdir(cfg->cwd) < 0) {
        report(errfd, STAGE_CHDIR, errno);
        _exit(127);
    }
    if (cfg->gid >= 0 || cfg->uid >= 0) {
        if ((cfg->ngroups >= 0 && syscall(SYS_setgroups, cfg->ngroups, cfg->groups) < 0) ||
            (cfg->gid >= 0 && setresgid(cfg->gid, cfg->gid, cfg->gid) < 0) ||
            (cfg->uid >= 0 && setresuid(cfg->uid, cfg->uid, cfg->uid) < 0)) {
            report(errfd, STAGE_CREDS, errno);
            _exit(127);
        }
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        report(errfd, STAGE_NNP, errno);
        _exit(127);
    }
    if (cfg->ll_handled_fs && apply_landlock(cfg) < 0) {
        report(errfd, STAGE_LANDLOCK, errno);
        _exit(127);
    }
    struct sock_fprog prog = {cfg->bpf_len, (struct sock_filter *)cfg->bpf};
    int listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                                SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
                                &prog);
    if (listener < 0) {
        report(errfd, STAGE_SECCOMP, errno);
        _exit(127);
    }
    /* From here on only untrapped calls until execve: write, read, close,
     * close_range. The shim copies the listener out with pidfd_getfd. */
    char go;
    if (write(hand_w, &listener, sizeof listener) != sizeof listener || full_read(go_r, &go, 1) < 0) {
        report(errfd, STAGE_HANDOVER, errno);
        _exit(127);
    }
    close(listener);
    close(hand_w);
    close(go_r);
    /* Nothing of jail's leaks into the agent; errfd closes on a successful exec. */
    syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
    execve(cfg->path, cfg->argv, cfg->envp);
    report(errfd, STAGE_EXEC, errno);
    _exit(127);
}

static int send_msg(int sock, char kind, int value, int fd)
{
    char payload[1 + sizeof(int)];
    payload[0] = kind;
    memcpy(payload + 1, &value, sizeof value);
    struct iovec iov = {payload, sizeof payload};
    union {
        struct cmsghdr hdr;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct msghdr msg = {0};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (fd >= 0) {
        memset(&ctl, 0, sizeof ctl);
        msg.msg_control = ctl.buf;
        msg.msg_controllen = sizeof ctl.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    ssize_t n;
    do {
        n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -1 : 0;
}

/* Kill every descendant: orphans reparent to us (subreaper), so repeat until
 * no child is left. */
static void kill_descendants(void)
{
    char path[64], buf[4096];
    for (;;) {
        int self = getpid();
        int n = 0;
        int fd;
        /* snprintf with %d does not allocate. */
        snprintf(path, sizeof path, "/proc/%d/task/%d/children", self, self);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            ssize_t len = read(fd, buf, sizeof buf - 1);
            close(fd);
            if (len > 0) {
                buf[len] = 0;
                for (char *p = buf; *p;) {
                    long pid = strtol(p, &p, 10);
                    if (pid > 0) {
                        kill((pid_t)pid, SIGKILL);
                        n++;
                    }
                    while (*p == ' ' || *p == '\n')
                        p++;
                }
            }
        }
        pid_t reaped = waitpid(-1, NULL, n ? 0 : WNOHANG);
        if (reaped < 0 && errno == ECHILD)
            return;
        if (reaped == 0 && n == 0)
            return;
    }
}

/* The shim: pid 1 of the sandbox's pid namespace (or a subreaper). It is not
 * under the filter; it forwards jail's signals, reaps, reports the agent's
 * exit status, and takes every sandboxed process down with it. */
static void shim_main(const struct jl_spawn_cfg *cfg, int ctl, int errfd, pid_t jail_pid)
{
    char go;
    /* In a pid namespace jail's death kills pid 1 and so the namespace;
     * without one, a real-time signal tells us to kill everything. */
    int death_signal = cfg->use_pidns ? SIGKILL : SIGRTMAX;
    prctl(PR_SET_PDEATHSIG, death_signal);
    if (full_read(ctl, &go, 1) < 0)
        _exit(1); /* jail is gone */
    prctl(PR_SET_DUMPABLE, 0);
    if (cfg->use_pidns) {
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
            report(errfd, STAGE_PROC, errno);
            _exit(1);
        }
    } else {
        prctl(PR_SET_CHILD_SUBREAPER, 1);
    }

    int hand[2], gop[2];
    if (pipe2(hand, O_CLOEXEC) < 0 || pipe2(gop, O_CLOEXEC) < 0) {
        report(errfd, STAGE_SHIM, errno);
        _exit(1);
    }
    pid_t agent = fork();
    if (agent < 0) {
        report(errfd, STAGE_SHIM, errno);
        _exit(1);
    }
    if (agent == 0) {
        close(ctl);
        close(hand[0]);
        close(gop[1]);
        agent_main(cfg, errfd, hand[1], gop[0]);
    }
    close(hand[1]);
    close(gop[0]);
    if (cfg->ctty_fd > 2)
        close(cfg->ctty_fd); /* the pty hangs up once the sandbox's processes are gone */

    int remote = -1;
    if (full_read(hand[0], &remote, sizeof remote) == 0) {
        int pidfd = (int)syscall(SYS_pidfd_open, agent, 0);
        int listener = pidfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pidfd, remote, 0);
        if (listener >= 0 && send_msg(ctl, 'L', agent, listener) == 0 && write(gop[1], "g", 1) == 1) {
            close(listener);
        } else {
            report(errfd, STAGE_HANDOVER, errno);
            kill(agent, SIGKILL);
        }
        if (pidfd >= 0)
            close(pidfd);
    }
    close(errfd);
    close(hand[0]);
    close(gop[1]);

    sigset_t set;
    sigfillset(&set);
    siginfo_t info;
    for (;;) {
        int sig = sigwaitinfo(&set, &info);
        if (sig < 0)
            continue;
        if (sig == SIGCHLD) {
            int status;
            pid_t pid;
            while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
                if (pid == agent) {
                    send_msg(ctl, 'X', status, -1);
                    if (!cfg->use_pidns)
                        kill_descendants();
                    _exit(0); /* pid 1 exiting takes the namespace down */
                }
            }
            continue;
        }
        if (sig == death_signal) {
            kill_descendants();
            _exit(1);
        }
        /* Forward what jail sends; a terminal's signals (SI_KERNEL) already
         * reached the agent's process group, and sandboxed processes may not
         * steer us. */
        int from_jail = cfg->use_pidns ? info.si_pid == 0 : info.si_pid == jail_pid;
        if ((info.si_code == SI_USER || info.si_code == SI_QUEUE) && from_jail)
            kill(agent, sig);
    }
}

int jl_spawn(const struct jl_spawn_cfg *cfg, struct jl_spawn_result *res)
{
    int sp[2], errp[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
        return neg_errno();
    if (pipe2(errp, O_CLOEXEC) < 0) {
        int e = neg_errno();
        close(sp[0]);
        close(sp[1]);
        return e;
    }
    pid_t jail_pid = getpid();
    unsigned long flags = SIGCHLD;
    if (cfg->use_pidns)
        flags |= CLONE_NEWPID | CLONE_NEWNS;
    if (cfg->use_userns)
        flags |= CLONE_NEWUSER;

    /* The shim waits for signals with sigwaitinfo: block them all across the
     * clone so none is lost before it starts waiting. */
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    long pid = syscall(SYS_clone, flags, NULL, NULL, NULL, 0);
    if (pid == 0) {
        close(sp[0]);
        close(errp[0]);
        shim_main(cfg, sp[1], errp[1], jail_pid);
        _exit(1);
    }
    int saved = errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(sp[1]);
    close(errp[1]);
    if (pid < 0) {
        close(sp[0]);
        close(errp[0]);
        return -saved;
    }
    if (cfg->use_userns) {
        char path[64], map[64];
        snprintf(path, sizeof path, "/proc/%ld/setgroups", pid);
        write_file(path, "deny");
        snprintf(map, sizeof map, "%d %d 1\n", cfg->outer_uid, cfg->outer_uid);
        snprintf(path, sizeof path, "/proc/%ld/uid_map", pid);
        int rc = write_file(path, map);
        snprintf(map, sizeof map, "%d %d 1\n", cfg->outer_gid, cfg->outer_gid);
        snprintf(path, sizeof path, "/proc/%ld/gid_map", pid);
        rc |= write_file(path, map);
        if (rc < 0) {
            int e = neg_errno();
            kill((pid_t)pid, SIGKILL);
            waitpid((pid_t)pid, NULL, 0);
            close(sp[0]);
            close(errp[0]);
            return e;
        }
    }
    if (write(sp[0], "g", 1) != 1) {
        int e = neg_errno();
        close(sp[0]);
        close(errp[0]);
        return e;
    }
    res->shim_pid = (int)pid;
    res->control = sp[0];
    res->errpipe = errp[0];
    return 0;
}

static int recv_msg(int sock, char *kind, int *value, int *fd)
{
    char payload[1 + sizeof(int)];
    struct iovec iov = {payload, sizeof payload};
    union {
        struct cmsghdr hdr;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct msghdr msg = {0};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl.buf;
    msg.msg_controllen = sizeof ctl.buf;
    ssize_t n;
    do {
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return neg_errno();
    if (n == 0)
        return -EPIPE; /* the shim is gone */
    if (n != sizeof payload)
        return -EPROTO;
    *kind = payload[0];
    memcpy(value, payload + 1, sizeof *value);
    *fd = -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
        memcpy(fd, CMSG_DATA(c), sizeof *fd);
    return 0;
}

int jl_recv_listener(int control, int *agent_pid)
{
    char kind;
    int fd;
    int rc = recv_msg(control, &kind, agent_pid, &fd);
    if (rc < 0)
        return rc;
    if (kind != 'L' || fd < 0) {
        if (fd >= 0)
            close(fd);
        return -EPROTO;
    }
    return fd;
}

int jl_recv_exit(int control, int *status)
{
    char kind;
    int fd;
    int rc = recv_msg(control, &kind, status, &fd);
    if (rc < 0)
        return rc;
    if (fd >= 0)
        close(fd);
    return kind == 'X' ? 0 : -EPROTO;
}

/* -------------------------------------------------------- notifications */

int jl_set_sync_wakeup(int listener)
{
    return ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) < 0
               ? neg_errno() : 0;
}

int jl_recv(int listener, int stopfd, struct jl_notif *out)
{
    struct pollfd fds[2] = {{listener, POLLIN, 0}, {stopfd, POLLIN, 0}};
    for (;;) {
        int n = poll(fds, stopfd >= 0 ? 2 : 1, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return neg_errno();
        if (stopfd >= 0 && fds[1].revents)
            return -ECANCELED;
        if (fds[0].revents & POLLIN)
            break;
        if (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL))
            return -EPIPE; /* no sandboxed task is left */
    }
    struct seccomp_notif req;
    memset(&req, 0, sizeof req); /* the kernel insists on a zeroed buffer */
    int rc;
    do {
        rc = ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return neg_errno(); /* ENOENT: the task went away before we took it */
    out->id = req.id;
    out->pid = req.pid;
    out->flags = req.flags;
    out->nr = req.data.nr;
    out->arch = req.data.arch;
    out->ip = req.data.instruction_pointer;
    for (int i = 0; i < 6; i++)
        out->args[i] = req.data.args[i];
    return 0;
}

int jl_id_valid(int listener, uint64_t id)
{
    return ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) < 0 ? neg_errno() : 0;
}

int jl_respond(int listener, uint64_t id, int64_t val, int32_t error, uint32_t flags)
{
    struct seccomp_notif_resp resp = {id, val, error, flags};
    int rc;
    do {
        rc = ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
    } while (rc < 0 && errno == EINTR);
    return rc < 0 ? neg_errno() : 0;
}

int jl_addfd_send(int listener, uint64_t id, int srcfd, uint32_t newfd_flags)
{
    struct seccomp_notif_addfd addfd = {0};
    addfd.id = id;
    addfd.flags = SECCOMP_ADDFD_FLAG_SEND;
    addfd.srcfd = (uint32_t)srcfd;
    addfd.newfd_flags = newfd_flags;
    int rc;
    do {
        rc = ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd);
    } while (rc < 0 && errno == EINTR);
    return rc < 0 ? neg_errno() : rc;
}

/* ------------------------------------------------------- target memory */

int64_t jl_read_mem(int pid, uint64_t addr, void *buf, size_t len)
{
    struct iovec local = {buf, len};
    struct iovec remote = {(void *)(uintptr_t)addr, len};
    ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (n < 0)
        return neg_errno();
    return n == (ssize_t)len ? n : -EFAULT;
}

/* Write into the target's memory (an emulated syscall's out-parameter). */
int64_t jl_write_mem(int pid, uint64_t addr, const void *buf, size_t len)
{
    struct iovec local = {(void *)buf, len};
    struct iovec remote = {(void *)(uintptr_t)addr, len};
    ssize_t n = process_vm_writev(pid, &local, 1, &remote, 1, 0);
    if (n < 0)
        return neg_errno();
    return n == (ssize_t)len ? n : -EFAULT;
}

/* Read a NUL-terminated string page by page: one unmapped page after the
 * terminator must not fail the read. Returns the length without the NUL,
 * -ENAMETOOLONG when cap bytes hold no NUL. */
int64_t jl_read_string(int pid, uint64_t addr, char *buf, size_t cap)
{
    const uint64_t page = 4096;
    size_t done = 0;
    while (done < cap) {
        uint64_t at = addr + done;
        size_t chunk = (size_t)(page - (at % page));
        if (chunk > cap - done)
            chunk = cap - done;
        struct iovec local = {buf + done, chunk};
        struct iovec remote = {(void *)(uintptr_t)at, chunk};
        ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
        if (n <= 0)
            return n < 0 ? neg_errno() : -EFAULT;
        char *nul = memchr(buf + done, 0, (size_t)n);
        if (nul)
            return nul - buf;
        done += (size_t)n;
    }
    return -ENAMETOOLONG;
}

/* ------------------------------------------------------------ syscalls */

int jl_pidfd_open(int pid, unsigned int flags)
{
    int fd = (int)syscall(SYS_pidfd_open, pid, flags);
    return fd < 0 ? neg_errno() : fd;
}

int jl_pidfd_getfd(int pidfd, int fd)
{
    int rc = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
    return rc < 0 ? neg_errno() : rc;
}

int jl_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve)
{
    struct open_how_compat how = {flags, mode, resolve};
    int fd;
    do {
        fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    } while (fd < 0 && errno == EINTR);
    return fd < 0 ? neg_errno() : fd;
}

int jl_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
                 unsigned int flags)
{
    return syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags) < 0 ? neg_errno() : 0;
}

/* Filesystem credentials are per thread in the kernel; glibc's wrappers for
 * setgroups broadcast to every thread, so use the raw calls. */
int jl_set_fscreds(int uid, int gid, int ngroups, const uint32_t *groups)
{
    if (ngroups >= 0 && syscall(SYS_setgroups, ngroups, groups) < 0)
        return neg_errno();
    syscall(SYS_setfsgid, gid);
    syscall(SYS_setfsuid, uid);
    if ((int)syscall(SYS_setfsuid, -1) != uid || (int)syscall(SYS_setfsgid, -1) != gid)
        return -EPERM;
    return 0;
}

int jl_landlock_abi(void)
{
    int abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    return abi < 0 ? neg_errno() : abi;
}

/* chown the object an O_PATH fd refers to, symlinks included. */
int jl_fchownat_empty(int fd, int uid, int gid)
{
    return fchownat(fd, "", (uid_t)uid, (gid_t)gid, AT_EMPTY_PATH) < 0 ? neg_errno() : 0;
}

/* Set times on the object behind an O_PATH fd; times is struct timespec[2]
 * (UTIME_NOW and UTIME_OMIT included) or NULL for "now". */
int jl_utimensat_fd(int fd, const void *times)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return utimensat(AT_FDCWD, path, (const struct timespec *)times, 0) < 0 ? neg_errno() : 0;
}

int jl_unshare_fs(void)
{
    return unshare(CLONE_FS) < 0 ? neg_errno() : 0;
}

/* A signalfd for SIGCHLD, which every jail thread keeps blocked: the exec
 * gate's tracer thread polls it to learn about ptrace stops without polling
 * waitpid in a loop. */
int jl_signalfd_sigchld(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    return fd < 0 ? neg_errno() : fd;
}

/* connect with a sockaddr exactly as copied from the agent; EINPROGRESS and
 * the rest are the agent's own answer. */
int jl_connect(int fd, const void *addr, uint32_t len)
{
    return connect(fd, (const struct sockaddr *)addr, len) < 0 ? neg_errno() : 0;
}
