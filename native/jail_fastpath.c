/* The fast path: answers in C the notifications whose answer Python has
 * already given, so that a repeated question never waits for the GIL.
 *
 * jl_serve() receives like jl_recv() and hands a notification to Python only
 * when it cannot answer it here. It answers two kinds:
 *
 *  - open/openat of an existing object that Python already allowed and found
 *    clean: the path is resolved exactly as jail/supervisor/resolve.py's fast
 *    path does (openat2 with RESOLVE_NO_MAGICLINKS, relative to the agent's
 *    cwd or dirfd, with this worker thread's fs credentials), and the object
 *    opened must match an entry of the verdict table on everything Python
 *    decided on: device, inode, access, its canonical path, and its size,
 *    mtime, ctime, mode, owner and link count (any change to the file or its
 *    name changes one of them). Then the id is checked, the object reopened
 *    and the fd injected. Anything else (procfs, /dev, devices, FIFOs,
 *    symlinks, O_CREAT, O_PATH, O_TMPFILE, openat2, a miss) goes up unchanged.
 *  - fstat of an fd (fstat, and newfstatat/statx with AT_EMPTY_PATH and an
 *    empty path): answered "continue" unless the fd lives on the device of
 *    memfds, where jail's redacted copies live; those go up.
 *
 * Python fills the table (jl_fast_remember) and stays the source of truth: an
 * entry only repeats a decision Python made and recorded in the audit log.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "jail_native.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef RESOLVE_NO_MAGICLINKS
#define RESOLVE_NO_MAGICLINKS 0x02
#endif
#ifndef __O_TMPFILE
#define __O_TMPFILE 020000000
#endif
#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

#define NR_OPEN 2
#define NR_OPENAT 257
#define NR_FSTAT 5
#define NR_NEWFSTATAT 262
#define NR_STATX 332
#define MAX_PROC_DEVS 4
#define TABLE_SLOTS (1u << 18)        /* a power of two; 2 MiB of pointers */
#define TABLE_LIMIT (TABLE_SLOTS / 2) /* cleared when this full: probes stay short */
#define DELETED_SUFFIX " (deleted)"

enum { UP = 0, ANSWERED = 1 };

struct verdict {
    uint64_t dev, ino;
    int64_t size, mtime_ns, ctime_ns;
    uint32_t mode, uid, gid, nlink;
    uint32_t access;  /* 0 read, 1 write, as Python's Access */
    char path[];      /* the canonical path Python decided on */
};

struct jl_fast {
    pthread_rwlock_t lock;
    struct verdict **slots;  /* open addressing; NULL = free */
    uint32_t count;
    uint64_t proc_devs[MAX_PROC_DEVS];
    int nproc_devs;
    uint64_t memfd_dev;
    /* counters, updated atomically: what the audit log's summary reports */
    uint64_t opens_served, opens_failed, stats_continued, passed_up;
};

static int is_proc_dev(const struct jl_fast *f, uint64_t dev)
{
    for (int i = 0; i < f->nproc_devs; i++)
        if (f->proc_devs[i] == dev)
            return 1;
    return 0;
}

static uint32_t slot_of(uint64_t dev, uint64_t ino, uint32_t access)
{
    uint64_t h = (dev * 0x9E3779B97F4A7C15ull) ^ (ino * 0xC2B2AE3D27D4EB4Full) ^ access;
    h ^= h >> 29;
    return (uint32_t)h & (TABLE_SLOTS - 1);
}

struct jl_fast *jl_fast_new(const uint64_t *proc_devs, int nproc_devs, uint64_t memfd_dev)
{
    if (nproc_devs < 0 || nproc_devs > MAX_PROC_DEVS)
        return NULL;
    struct jl_fast *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->slots = calloc(TABLE_SLOTS, sizeof *f->slots);  /* untouched pages cost no memory */
    if (!f->slots || pthread_rwlock_init(&f->lock, NULL) != 0) {
        free(f->slots);
        free(f);
        return NULL;
    }
    memcpy(f->proc_devs, proc_devs, sizeof *proc_devs * (size_t)nproc_devs);
    f->nproc_devs = nproc_devs;
    f->memfd_dev = memfd_dev;
    return f;
}

static void clear_locked(struct jl_fast *f)
{
    for (uint32_t i = 0; i < TABLE_SLOTS; i++) {
        free(f->slots[i]);
        f->slots[i] = NULL;
    }
    f->count = 0;
}

/* Forget every verdict (a policy that changed, or the end of the session). */
void jl_fast_clear(struct jl_fast *f)
{
    pthread_rwlock_wrlock(&f->lock);
    clear_locked(f);
    pthread_rwlock_unlock(&f->lock);
}

void jl_fast_stats(struct jl_fast *f, uint64_t *out4)
{
    out4[0] = __atomic_load_n(&f->opens_served, __ATOMIC_RELAXED);
    out4[1] = __atomic_load_n(&f->opens_failed, __ATOMIC_RELAXED);
    out4[2] = __atomic_load_n(&f->stats_continued, __ATOMIC_RELAXED);
    out4[3] = __atomic_load_n(&f->passed_up, __ATOMIC_RELAXED);
}

static int same_key(const struct verdict *v, uint64_t dev, uint64_t ino, uint32_t access)
{
    return v->dev == dev && v->ino == ino && v->access == access;
}

static int unchanged(const struct verdict *v, const struct stat *st, const char *path)
{
    return v->size == st->st_size &&
           v->mtime_ns == (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec &&
           v->ctime_ns == (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec &&
           v->mode == st->st_mode && v->uid == st->st_uid && v->gid == st->st_gid &&
           v->nlink == st->st_nlink && strcmp(v->path, path) == 0;
}

/* Python allowed `access` to this object at this canonical path and found it
 * clean. st is the stat Python decided on. Returns 0, or -ENOMEM. */
int jl_fast_remember(struct jl_fast *f, uint32_t access, uint64_t dev, uint64_t ino, int64_t size,
                     int64_t mtime_ns, int64_t ctime_ns, uint32_t mode, uint32_t uid, uint32_t gid,
                     uint32_t nlink, const char *path)
{
    size_t len = strlen(path);
    struct verdict *v = malloc(sizeof *v + len + 1);
    if (!v)
        return -ENOMEM;
    *v = (struct verdict){dev, ino, size, mtime_ns, ctime_ns, mode, uid, gid, nlink, access};
    memcpy(v->path, path, len + 1);
    pthread_rwlock_wrlock(&f->lock);
    if (f->count >= TABLE_LIMIT)
        clear_locked(f);
    uint32_t i = slot_of(dev, ino, access);
    while (f->slots[i] && !same_key(f->slots[i], dev, ino, access))
        i = (i + 1) & (TABLE_SLOTS - 1);
    if (f->slots[i])
        free(f->slots[i]);  /* the same object again: the newer decision replaces it */
    else
        f->count++;
    f->slots[i] = v;
    pthread_rwlock_unlock(&f->lock);
    return 0;
}

static int allowed(struct jl_fast *f, const struct stat *st, uint32_t access, const char *path)
{
    int hit = 0;
    pthread_rwlock_rdlock(&f->lock);
    for (uint32_t i = slot_of(st->st_dev, st->st_ino, access); f->slots[i];
         i = (i + 1) & (TABLE_SLOTS - 1)) {
        if (same_key(f->slots[i], st->st_dev, st->st_ino, access)) {
            hit = unchanged(f->slots[i], st, path);
            break;
        }
    }
    pthread_rwlock_unlock(&f->lock);
    return hit;
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

static int answer_error(struct jl_fast *f, int listener, uint64_t id, int err)
{
    jl_respond(listener, id, 0, -err, 0);
    __atomic_add_fetch(&f->opens_failed, 1, __ATOMIC_RELAXED);
    return ANSWERED;
}

/* Where a relative path starts, as resolve.Resolver.base_fd: an O_PATH fd,
 * AT_FDCWD for an absolute path, or a negative errno. */
static int base_fd(uint32_t tid, int dirfd, const char *path)
{
    char proc[64];
    if (path[0] == '/')
        return AT_FDCWD;
    if (dirfd == AT_FDCWD)
        snprintf(proc, sizeof proc, "/proc/%u/cwd", tid);
    else
        snprintf(proc, sizeof proc, "/proc/%u/fd/%d", tid, dirfd);
    int fd = open(proc, O_PATH | O_CLOEXEC);
    if (fd >= 0)
        return fd;
    return errno == ENOENT && dirfd != AT_FDCWD ? -EBADF : -EAGAIN;
}

static int fast_open(struct jl_fast *f, int listener, const struct jl_notif *n)
{
    int dirfd = AT_FDCWD;
    uint64_t addr = n->args[0];
    uint32_t flags = (uint32_t)n->args[1];
    if (n->nr == NR_OPENAT) {
        dirfd = (int)(uint32_t)n->args[0];
        addr = n->args[1];
        flags = (uint32_t)n->args[2];
    }
    if (flags & (O_CREAT | __O_TMPFILE | O_PATH))
        return UP;
    char path[4096];
    if (addr == 0 || jl_read_string((int)n->pid, addr, path, sizeof path) <= 0)
        return UP;  /* Python gives the exact error */
    int context = starts_with(path, "/proc/") || starts_with(path, "/dev/");
    if (context)
        return UP;  /* names that depend on who asks: Python's careful walk */

    int base = base_fd(n->pid, dirfd, path);
    if (base == -EBADF)
        return answer_error(f, listener, n->id, EBADF);
    if (base < 0 && base != AT_FDCWD)
        return UP;
    int obj = jl_openat2(base, path, O_PATH | O_CLOEXEC | (flags & O_NOFOLLOW), 0, RESOLVE_NO_MAGICLINKS);
    if (base != AT_FDCWD)
        close(base);
    if (obj == -ELOOP || obj == -EXDEV)
        return UP;  /* a magic link: Python walks it */
    if (obj < 0)
        return answer_error(f, listener, n->id, -obj);  /* ENOENT and the like, as Python answers */

    int result = UP;
    struct stat st;
    char self[64], canonical[4096];
    snprintf(self, sizeof self, "/proc/self/fd/%d", obj);
    if (fstat(obj, &st) < 0 || is_proc_dev(f, st.st_dev) || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
        goto out;
    ssize_t len = readlink(self, canonical, sizeof canonical - 1);
    if (len <= 0 || len >= (ssize_t)sizeof canonical - 1)
        goto out;
    canonical[len] = 0;
    if (ends_with(canonical, (size_t)len, DELETED_SUFFIX))
        goto out;
    uint32_t accmode = flags & O_ACCMODE;
    uint32_t access = (flags & O_TRUNC) || accmode == O_WRONLY || accmode == O_RDWR;
    if (!allowed(f, &st, access, canonical))
        goto out;
    /* Everything above read memory the agent may still change; the decision
     * rests on the object opened. The id must still be valid before acting. */
    result = ANSWERED;
    if (jl_id_valid(listener, n->id) < 0)
        goto out;  /* withdrawn: answer nothing */
    int reopen = (int)((flags & ~(uint32_t)(O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC)) | O_CLOEXEC | O_NOCTTY);
    int fd = open(self, reopen);
    if (fd < 0) {
        answer_error(f, listener, n->id, errno);
        goto out;
    }
    int rc = jl_addfd_send(listener, n->id, fd, (flags & O_CLOEXEC) ? O_CLOEXEC : 0);
    close(fd);
    if (rc < 0 && rc != -ENOENT && rc != -ESRCH) {
        /* Not installed (EMFILE: the agent's fd table is full): the syscall
         * still needs its answer, as Python gives it. */
        answer_error(f, listener, n->id, -rc);
        goto out;
    }
    __atomic_add_fetch(&f->opens_served, 1, __ATOMIC_RELAXED);
out:
    close(obj);
    return result;
}

/* The fd a stat call is about, or -1 when it names a path (not ours to answer). */
static int stat_target_fd(const struct jl_notif *n)
{
    if (n->nr == NR_FSTAT)
        return (int)(uint32_t)n->args[0];
    uint64_t flags = n->nr == NR_NEWFSTATAT ? n->args[3] : n->args[2];
    if (!(flags & AT_EMPTY_PATH))
        return -1;
    if (n->args[1] != 0) {
        char first;
        if (jl_read_mem((int)n->pid, n->args[1], &first, 1) < 0 || first != 0)
            return -1;
    }
    return (int)(uint32_t)n->args[0];
}

static int fast_fdstat(struct jl_fast *f, int listener, const struct jl_notif *n)
{
    int target = stat_target_fd(n);
    if (target < 0)
        return UP;
    /* stat through the thread's fd link: what the fd refers to, in one call
     * (pidfd_open + pidfd_getfd + fstat + two closes cost ~2 µs more) */
    char link[64];
    struct stat st;
    snprintf(link, sizeof link, "/proc/%u/fd/%d", n->pid, target);
    if (stat(link, &st) < 0)
        return UP;  /* a bad fd: Python lets the kernel give the agent its EBADF */
    if (S_ISREG(st.st_mode) && st.st_dev == f->memfd_dev)
        return UP;  /* a memfd may be one of jail's redacted copies: Python knows */
    jl_respond(listener, n->id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
    __atomic_add_fetch(&f->stats_continued, 1, __ATOMIC_RELAXED);
    return ANSWERED;
}

static int answer(struct jl_fast *f, int listener, const struct jl_notif *n)
{
    if (n->arch != 0xC000003E)  /* AUDIT_ARCH_X86_64; the filter kills the rest */
        return UP;
    switch (n->nr) {
    case NR_OPEN:
    case NR_OPENAT:
        return fast_open(f, listener, n);
    case NR_FSTAT:
    case NR_NEWFSTATAT:
    case NR_STATX:
        return fast_fdstat(f, listener, n);
    default:
        return UP;
    }
}

/* jl_recv, answering here what the fast path can: returns 0 with a
 * notification for Python in *out, or jl_recv's negative errno. */
int jl_serve(int listener, int stopfd, struct jl_notif *out, struct jl_fast *f)
{
    for (;;) {
        int rc = jl_recv(listener, stopfd, out);
        if (rc < 0)
            return rc;
        if (f == NULL || answer(f, listener, out) == UP) {
            if (f != NULL)
                __atomic_add_fetch(&f->passed_up, 1, __ATOMIC_RELAXED);
            return 0;
        }
    }
}
