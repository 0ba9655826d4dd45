/* --jail: chroot into a prepared directory and run as an unprivileged user
 * (chroot(2), setgroups(2), setresuid(2), PR_SET_NO_NEW_PRIVS in prctl(2)). */
#include "host/jail.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "popek/log.h"

static int jail_check_dir(const char *dir)
{
	struct stat st;

	if (geteuid() != 0) {
		log_error("--jail needs root (chroot into '%s' and the switch to --uid/--gid "
			  "are privileged)",
			  dir);
		return -EPERM;
	}
	if (stat(dir, &st) < 0) {
		int err = -errno;
		log_error("--jail '%s': %s", dir, strerror(-err));
		return err;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_error("--jail '%s': not a directory", dir);
		return -ENOTDIR;
	}
	return 0;
}

/* Every descriptor but stdin, stdout and stderr: popek has opened nothing
 * yet, so anything else was inherited and could reach outside the jail. */
static void jail_close_inherited(void)
{
	if (close_range(3, ~0U, 0) == 0)
		return;
	for (int fd = 3; fd < 65536; fd++)
		close(fd);
}

/* /dev/kvm does not exist inside the jail: open it now and tell the KVM
 * engine which descriptor it is. */
static void jail_keep_kvm(void)
{
	const char *path = getenv("POPEK_KVM_DEVICE") ? getenv("POPEK_KVM_DEVICE") : "/dev/kvm";
	char num[16];
	int fd;

	unsetenv(JAIL_KVM_FD_ENV);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		log_debug("jail: %s not kept: %s", path, strerror(errno));
		return;
	}
	snprintf(num, sizeof(num), "%d", fd);
	if (setenv(JAIL_KVM_FD_ENV, num, 1) < 0)
		close(fd);
}

static int jail_chroot(const char *dir)
{
	const char *step = "chdir";

	/* chroot(".") after chdir(dir): the root is exactly the directory we
	 * stand in, whatever renames happen to dir's path meanwhile. */
	if (chdir(dir) == 0) {
		step = "chroot";
		if (chroot(".") == 0) {
			step = "chdir /";
			if (chdir("/") == 0)
				return 0;
		}
	}
	int err = -errno;
	log_error("--jail '%s': %s: %s", dir, step, strerror(-err));
	return err;
}

/* Groups first (setgid needs the privilege setuid gives up), then the
 * user; setres* sets the real, effective and saved ids together. */
static int jail_drop(u32 uid, u32 gid)
{
	const char *step = "setgroups";

	if (setgroups(0, NULL) == 0) {
		step = "setresgid";
		if (setresgid(gid, gid, gid) == 0) {
			step = "setresuid";
			if (setresuid(uid, uid, uid) == 0) {
				step = "PR_SET_NO_NEW_PRIVS";
				if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0)
					return 0;
			}
		}
	}
	int err = -errno;
	log_error("--jail: cannot switch to uid %u gid %u: %s: %s", uid, gid, step, strerror(-err));
	return err;
}

/* The drop must be irreversible: no id may still be 0 (or anything else),
 * no supplementary group left, and becoming root again must fail. */
static int jail_verify(u32 uid, u32 gid)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 || ru != uid ||
	    eu != uid || su != uid || rg != gid || eg != gid || sg != gid ||
	    getgroups(0, NULL) != 0 || (uid != 0 && setuid(0) == 0) ||
	    (uid != 0 && gid != 0 && setgid(0) == 0)) {
		log_error("--jail: the switch to uid %u gid %u did not take", uid, gid);
		return -EPERM;
	}
	return 0;
}

int jail_enter(const char *dir, u32 uid, u32 gid, bool keep_kvm)
{
	int err;

	err = jail_check_dir(dir);
	if (err < 0)
		return err;
	jail_close_inherited();
	if (keep_kvm)
		jail_keep_kvm();
	err = jail_chroot(dir);
	if (!err)
		err = jail_drop(uid, gid);
	if (!err)
		err = jail_verify(uid, gid);
	if (err < 0)
		return err;
	if (uid == 0)
		log_warn("--jail '%s' with --uid 0: popek stays root, and root can leave a chroot",
			 dir);
	log_info("jail: running in '%s' as uid %u gid %u", dir, uid, gid);
	return 0;
}
