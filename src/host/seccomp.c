/* seccomp-bpf allowlists per thread role, built with libseccomp (seccomp(2),
 * Documentation/userspace-api/seccomp_filter.rst). */
#include "host/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "popek/log.h"

/* What any thread of popek needs once running: memory, time, futexes,
 * signals for itself, ending. */
static const char *const seccomp_common[] = {
    "read",         "write",        "readv",         "writev",          "close",
    "futex",        "futex_waitv",  "clock_gettime", "clock_nanosleep", "nanosleep",
    "gettimeofday", "clock_getres", "rt_sigreturn",  "rt_sigprocmask",  "restart_syscall",
    "sched_yield",  "exit",         "exit_group",    "gettid",          "getpid",
    "tgkill",       "mmap",         "munmap",        "mremap",          "mprotect",
    "brk",          "madvise",      "rseq",          "eventfd2",        "getrandom",
    "fcntl",        "lseek",        "fstat",         "newfstatat",      NULL,
};

/* vCPU threads: device callbacks write to disk images, descriptors and
 * sockets that exist; KVM's run and state calls are ioctls. */
static const char *const seccomp_vcpu[] = {
    "ioctl",    "pread64", "pwrite64",  "preadv",    "pwritev", "preadv2",
    "pwritev2", "fsync",   "fdatasync", "sendto",    "sendmsg", "recvfrom",
    "recvmsg",  "poll",    "ppoll",     "epoll_ctl", NULL,
};

/* The event loop and device threads. */
static const char *const seccomp_io[] = {
    "ioctl",
    "pread64",
    "pwrite64",
    "preadv",
    "pwritev",
    "preadv2",
    "pwritev2",
    "fsync",
    "fdatasync",
    "msync", /* a virtio-pmem flush */
    "fallocate",
    "ftruncate",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_ctl",
    "poll",
    "ppoll",
    "select",
    "pselect6",
    "socket",
    "socketpair",
    "connect",
    "bind",
    "listen",
    "accept",
    "accept4",
    "getsockname",
    "getpeername",
    "setsockopt",
    "getsockopt",
    "shutdown",
    "sendto",
    "sendmsg",
    "sendmmsg",
    "recvfrom",
    "recvmsg",
    "recvmmsg",
    "pipe2",
    "dup",
    "dup3",
    "timerfd_create",
    "timerfd_settime",
    "timerfd_gettime",
    "signalfd4",
    "statx",
    "access",
    "faccessat",
    "faccessat2",
    "unlink",
    "unlinkat",
    "uname",
    "sysinfo",
    "getrlimit",
    "prlimit64",
    "sched_getaffinity",
    "set_robust_list",
    "sigaltstack",
    "rt_sigaction",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "umask",
    NULL,
};

/* The API server thread; it also writes snapshots (PUT /snapshot/create)
 * and sends the VM away (PUT /migrate: connect, name lookups for tcp:). */
static const char *const seccomp_api[] = {
    "epoll_wait", "epoll_pwait", "epoll_ctl",  "accept",   "accept4",   "recvfrom",
    "recvmsg",    "sendto",      "sendmsg",    "shutdown", "getsockopt", "setsockopt",
    "pwrite64",   "pread64",     "ftruncate",  "fdatasync", "socket",   "connect",
    "poll",       "ppoll",       "bind",       "getsockname", "getpeername", "uname",
    NULL,
};

/* openat flags, masked by OPEN_MASK, that create a snapshot's files
 * (src/vmm/snapshot_create.c): write-only truncated, read-write. */
#define OPEN_MASK (O_ACCMODE | O_CREAT | O_TRUNC)

static int seccomp_open_for_snapshot(scmp_filter_ctx ctx)
{
	int err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
				   SCMP_A2(SCMP_CMP_MASKED_EQ, OPEN_MASK, O_WRONLY | O_CREAT | O_TRUNC));

	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
				       SCMP_A2(SCMP_CMP_MASKED_EQ, OPEN_MASK, O_RDWR | O_CREAT));
	return err;
}

/* PATCH /drives path_on_host (src/host/disk.c on the API thread): an
 * existing image opened read-write, or read-only for a read-only drive
 * (the caller allows that), sized with BLKGETSIZE64 if it is a device. */
static int seccomp_open_for_drive(scmp_filter_ctx ctx, bool read_only_too)
{
	int err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
				   SCMP_A2(SCMP_CMP_MASKED_EQ, OPEN_MASK, O_RDWR));

	if (!err && read_only_too)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
				       SCMP_A2(SCMP_CMP_MASKED_EQ, OPEN_MASK, O_RDONLY));
	if (!err && read_only_too)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				       SCMP_A1(SCMP_CMP_EQ, BLKGETSIZE64, 0));
	return err;
}

#ifdef __SANITIZE_ADDRESS__
/* AddressSanitizer's runtime at exit: LeakSanitizer stops the threads with
 * ptrace from a helper task made by clone (not a thread), and reads /proc. */
static const char *const seccomp_sanitizer[] = {
    "clone",
    "ptrace",
    "wait4",
    "waitid",
    "prctl",
    "sched_getaffinity",
    "sigaltstack",
    "rt_sigaction",
    "openat",
    "open",
    "getdents",
    "getdents64",
    "readlink",
    "readlinkat",
    "pipe2",
    "getppid",
    "kill",
    "process_vm_readv",
    "unlink",
    "getrlimit",
    "prlimit64",
    "set_robust_list",
    "sched_getparam",
    "sched_getscheduler",
    "dup2",
    "dup3",
    NULL,
};
#endif

const char *seccomp_role_name(enum seccomp_role role)
{
	switch (role) {
	case SECCOMP_ROLE_VCPU:
		return "vcpu";
	case SECCOMP_ROLE_IO:
		return "io";
	case SECCOMP_ROLE_API:
		return "api";
	}
	return "?";
}

static int seccomp_allow_list(scmp_filter_ctx ctx, const char *const *names)
{
	for (unsigned i = 0; names[i]; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);
		int err;
		if (nr == __NR_SCMP_ERROR)
			continue; /* not a system call on this architecture */
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (err < 0) {
			log_error("seccomp: cannot allow %s: %s", names[i], strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Rules with argument checks, for the I/O role. */
static int seccomp_io_rules(scmp_filter_ctx ctx)
{
	int err;

	/* Threads only: a clone without CLONE_THREAD would be a new process. */
	err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
			       SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	/* clone3 passes its flags in memory, which a filter cannot read:
	 * ENOSYS makes glibc fall back to clone. */
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	/* Opening existing files for reading (slirp rereads resolv.conf), and
	 * a snapshot's files (the API thread runs under this filter too). */
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
				       SCMP_A2(SCMP_CMP_MASKED_EQ, OPEN_MASK, O_RDONLY));
	if (!err)
		err = seccomp_open_for_snapshot(ctx);
	if (!err)
		err = seccomp_open_for_drive(ctx, false);
	/* The vCPU and API threads install their own, narrower filters after
	 * this one is on (libseccomp sets no_new_privs first); a filter can
	 * only take permissions away. Threads may name themselves. */
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(seccomp), 1,
				       SCMP_A0(SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER, 0));
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				       SCMP_A0(SCMP_CMP_EQ, PR_SET_NO_NEW_PRIVS, 0));
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				       SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME, 0));
	if (err < 0)
		log_error("seccomp: cannot add the I/O rules: %s", strerror(-err));
	return err;
}

/* Hidden test hook: a forbidden system call once the filter is on. */
static void seccomp_selftest(enum seccomp_role role)
{
	const char *want = getenv("POPEK_SECCOMP_SELFTEST");
	char *const argv[] = {"sh", "-c", "exit 99", NULL};

	if (!want || strcmp(want, seccomp_role_name(role)))
		return;
	log_warn("seccomp self-test: calling execve from a %s thread", want);
	execve("/bin/sh", argv, NULL);
	log_error("seccomp self-test: execve was not stopped: %s", strerror(errno));
}

int seccomp_apply(enum seccomp_role role, bool all_threads)
{
	const char *const *list = role == SECCOMP_ROLE_VCPU ? seccomp_vcpu
				  : role == SECCOMP_ROLE_IO ? seccomp_io
							    : seccomp_api;
#ifdef POPEK_SECCOMP_DISCOVER
	/* A developer build (-DPOPEK_SECCOMP_DISCOVER) lets everything through
	 * (SCMP_ACT_LOG), to find with strace what a new code path needs. */
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_LOG);
#else
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
#endif
	int err;

	if (!ctx) {
		log_error("seccomp: cannot create the %s filter", seccomp_role_name(role));
		return -ENOMEM;
	}
	err = seccomp_allow_list(ctx, seccomp_common);
	if (!err)
		err = seccomp_allow_list(ctx, list);
	if (!err && role == SECCOMP_ROLE_IO)
		err = seccomp_io_rules(ctx);
	/* glibc's malloc may look at /proc/sys/vm/overcommit_memory once when
	 * it trims a thread's arena; a refused open is fine there, and vCPU
	 * threads read no file. The API thread creates a snapshot's files and
	 * opens a drive's new image (PATCH /drives). */
	if (!err && role == SECCOMP_ROLE_VCPU)
		err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
	if (!err && role == SECCOMP_ROLE_API)
		err = seccomp_open_for_snapshot(ctx);
	if (!err && role == SECCOMP_ROLE_API)
		err = seccomp_open_for_drive(ctx, true);
#ifdef __SANITIZE_ADDRESS__
	if (!err)
		err = seccomp_allow_list(ctx, seccomp_sanitizer);
#endif
	if (!err && all_threads)
		err = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (!err) {
		err = seccomp_load(ctx);
		if (err < 0)
			log_error("seccomp: cannot install the %s filter: %s",
				  seccomp_role_name(role), strerror(-err));
	}
	seccomp_release(ctx);
	if (!err) {
		log_debug("seccomp: %s filter on thread %d%s", seccomp_role_name(role), gettid(),
			  all_threads ? " and all others" : "");
		seccomp_selftest(role);
	}
	return err;
}
