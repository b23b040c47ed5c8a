/* The interface of jail's native helper. This file is read by cffi's cdef, so it
 * holds only declarations cffi understands: no macros with values, no includes. */

struct jl_notif {
    uint64_t id;
    uint32_t pid;       /* thread id, in jail's pid namespace */
    uint32_t flags;
    int32_t nr;
    uint32_t arch;
    uint64_t ip;
    uint64_t args[6];
};

struct jl_ll_rule {
    const char *path;
    uint64_t access;
};

struct jl_spawn_cfg {
    const char *path;            /* the executable, already resolved */
    char *const *argv;
    char *const *envp;
    const char *cwd;
    const void *bpf;             /* struct sock_filter[bpf_len] */
    unsigned short bpf_len;
    int use_pidns;               /* new pid + mount namespace with a fresh /proc */
    int use_userns;              /* ... inside a new user namespace (unprivileged jail) */
    int outer_uid, outer_gid;    /* mapped into the user namespace */
    int uid, gid;                /* switch the agent to these; -1 keeps jail's */
    int ngroups;
    const uint32_t *groups;
    uint64_t ll_handled_fs;      /* Landlock: 0 = no ruleset */
    uint64_t ll_scoped;
    int ll_abi;
    int ll_nrules;
    const struct jl_ll_rule *ll_rules;
    uint64_t ignored_signals;    /* bit (n-1) set: signal n stays ignored in the agent */
    int ctty_fd;                 /* >= 0: the agent's stdio and controlling terminal (a pty
                                    slave), in a session of its own; -1: jail's stdio as is */
};

struct jl_spawn_result {
    int shim_pid;
    int control;                 /* seqpacket socket to the shim */
    int errpipe;                 /* read end: a setup failure report, or EOF once the agent execs */
};

struct jl_setup_error {
    int32_t stage;
    int32_t err;
};

int jl_spawn(const struct jl_spawn_cfg *cfg, struct jl_spawn_result *res);
int jl_recv_listener(int control, int *agent_pid);
int jl_recv_exit(int control, int *status);

int jl_set_sync_wakeup(int listener);
int jl_recv(int listener, int stopfd, struct jl_notif *out);
int jl_id_valid(int listener, uint64_t id);
int jl_respond(int listener, uint64_t id, int64_t val, int32_t error, uint32_t flags);
int jl_addfd_send(int listener, uint64_t id, int srcfd, uint32_t newfd_flags);

int64_t jl_read_mem(int pid, uint64_t addr, void *buf, size_t len);
int64_t jl_write_mem(int pid, uint64_t addr, const void *buf, size_t len);
int64_t jl_read_string(int pid, uint64_t addr, char *buf, size_t cap);

int jl_pidfd_open(int pid, unsigned int flags);
int jl_pidfd_getfd(int pidfd, int fd);
int jl_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve);
int jl_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
                 unsigned int flags);
int jl_set_fscreds(int uid, int gid, int ngroups, const uint32_t *groups);
int jl_landlock_abi(void);
int jl_fchownat_empty(int fd, int uid, int gid);
int jl_utimensat_fd(int fd, const void *times);
int jl_unshare_fs(void);
int jl_signalfd_sigchld(void);
int jl_connect(int fd, const void *addr, uint32_t len);

/* The fast path (jail_fastpath.c): answers repeated questions without Python. */
struct jl_fast;
struct jl_fast *jl_fast_new(const uint64_t *proc_devs, int nproc_devs, uint64_t memfd_dev);
int jl_fast_remember(struct jl_fast *f, uint32_t access, uint64_t dev, uint64_t ino, int64_t size,
                     int64_t mtime_ns, int64_t ctime_ns, uint32_t mode, uint32_t uid, uint32_t gid,
                     uint32_t nlink, const char *path);
void jl_fast_clear(struct jl_fast *f);
void jl_fast_stats(struct jl_fast *f, uint64_t *out4);
int jl_serve(int listener, int stopfd, struct jl_notif *out, struct jl_fast *f);
