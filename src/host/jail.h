/* The --jail of `popek run`: chroot into a prepared directory and drop to an
 * unprivileged user before anything is opened, as Firecracker's jailer does. */
#ifndef POPEK_JAIL_H
#define POPEK_JAIL_H

#include "popek/types.h"

/* Where the jail passes a /dev/kvm opened before the chroot to the KVM
 * engine: the descriptor's number, read by kvm_open_dev() (src/cpu/kvm). */
#define JAIL_KVM_FD_ENV "POPEK_KVM_FD"

/*
 * Enters the jail, in this order:
 *  1. refuses unless running as root (chroot needs CAP_SYS_CHROOT) and dir
 *     is a directory;
 *  2. closes every inherited descriptor above stderr (an open directory
 *     outside the jail would be a way out of it);
 *  3. with keep_kvm, opens /dev/kvm (or $POPEK_KVM_DEVICE) now, since the
 *     jail has no /dev, and names it in $POPEK_KVM_FD; a missing device is
 *     not an error here (the engine choice reports it);
 *  4. chdir(dir), chroot("."), chdir("/"): from here on every path is
 *     resolved inside dir;
 *  5. setgroups(0), setresgid(gid), setresuid(uid), PR_SET_NO_NEW_PRIVS,
 *     and checks that the drop took (setuid(0) and setgid(0) fail).
 * Call it from main while the process has a single thread (setresuid and
 * setenv act on the calling thread and the environment). Logs one line and
 * returns -errno on failure; the process must then exit, being possibly
 * half-way in.
 */
int jail_enter(const char *dir, u32 uid, u32 gid, bool keep_kvm);

#endif
