/* seccomp-bpf allowlists (libseccomp) for popek's thread roles, installed
 * once set-up is done: anything outside a role's list kills the process. */
#ifndef POPEK_SECCOMP_H
#define POPEK_SECCOMP_H

#include "popek/types.h"

/*
 * The roles and what each may do (src/host/seccomp.c has the lists):
 * - SECCOMP_ROLE_IO: the main thread (event loop: console, slirp, tap,
 *   vsock, timers) and the device threads (disk, network, vsock back-ends).
 *   The widest list: sockets, reads of existing files (no O_CREAT, no
 *   writing opens), new threads but never new processes (clone needs
 *   CLONE_THREAD; clone3 answers ENOSYS so glibc falls back to clone).
 * - SECCOMP_ROLE_VCPU: a vCPU thread, which also runs device callbacks
 *   (MMIO/PIO) and so may read/write/signal existing descriptors and
 *   madvise guest memory (balloon), but opens nothing (openat fails with
 *   EACCES) and makes no sockets.
 * - SECCOMP_ROLE_API: the API server thread: accept/read/write on its
 *   sockets, epoll, writes to the already open metrics file, and tgkill
 *   (the kvm engine kicks a vCPU with a signal when pausing); openat fails
 *   with EACCES.
 * Never allowed anywhere: execve, fork, ptrace, mount, chroot, module and
 * kexec calls, and everything else not on a list. Filters stack: a thread
 * made after a filter was installed inherits it, and its own list can only
 * narrow it. Builds with AddressSanitizer add what its runtime needs at exit
 * (the leak checker's ptrace of the process's own threads).
 *
 * POPEK_SECCOMP_SELFTEST=<role name> ("vcpu", "io", "api") in the
 * environment makes a thread of that role call execve right after its
 * filter is on: the process must die with SIGSYS (tests/e2e/test_seccomp.sh).
 */
enum seccomp_role { SECCOMP_ROLE_VCPU, SECCOMP_ROLE_IO, SECCOMP_ROLE_API };

/* Installs role's filter on the calling thread, or with all_threads on
 * every thread of the process (SECCOMP_FILTER_FLAG_TSYNC). Logs one line
 * and returns -errno on failure. */
int seccomp_apply(enum seccomp_role role, bool all_threads);

const char *seccomp_role_name(enum seccomp_role role);

#endif
