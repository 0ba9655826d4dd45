/* Measures how fast this host's KVM runs guest code, so that `--engine auto`
 * can tell hardware virtualization from a trapping nested implementation. */
#include "cpu/kvm/kvm.h"
#include "popek/clock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define SPEED_MEM_SIZE   (16 * KiB)
#define SPEED_LOOP_GPA   0x1000
#define SPEED_EXIT_GPA   0x2000
#define SPEED_PORT       0xe0
#define SPEED_LOOP_SHORT 10000U
#define SPEED_LOOP_LONG  1000000U
#define SPEED_EXITS      200U

/* 32-bit code. Loop: `1: dec ecx; jnz 1b; out 0xe0, al; jmp $`.
 * Exits: `1: out 0xe0, al; jmp 1b`. */
static const u8 speed_loop_code[] = {0x49, 0x75, 0xfd, 0xe6, SPEED_PORT, 0xeb, 0xfe};
static const u8 speed_exit_code[] = {0xe6, SPEED_PORT, 0xeb, 0xfc};

struct speed_vm {
	int kvm_fd, vm_fd, vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	u8 *mem;
};

static void speed_vm_destroy(struct speed_vm *s)
{
	if (s->run)
		munmap(s->run, s->run_size);
	if (s->vcpu_fd >= 0)
		close(s->vcpu_fd);
	if (s->vm_fd >= 0)
		close(s->vm_fd);
	if (s->kvm_fd >= 0)
		close(s->kvm_fd);
	if (s->mem)
		munmap(s->mem, SPEED_MEM_SIZE);
}

/* A VM with no irqchip, 16 KiB of RAM at 0 and one vCPU in flat 32-bit
 * protected mode (Intel SDM Vol. 3A 9.9.1: PE set, no paging). */
static int speed_vm_create(struct speed_vm *s, char *why, size_t whylen)
{
	struct kvm_userspace_memory_region r = {.slot = 0, .memory_size = SPEED_MEM_SIZE};
	struct kvm_segment code = {
	    .limit = 0xffffffff,
	    .selector = 8,
	    .type = 11,
	    .present = 1,
	    .s = 1,
	    .db = 1,
	    .g = 1,
	};
	struct kvm_segment data = code;
	struct kvm_sregs sregs;
	const char *what;
	int size;

	memset(s, 0, sizeof(*s));
	s->vm_fd = s->vcpu_fd = -1;
	s->kvm_fd = kvm_open_dev(why, whylen);
	if (s->kvm_fd < 0)
		return s->kvm_fd;
	s->mem =
	    mmap(NULL, SPEED_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s->mem == MAP_FAILED) {
		s->mem = NULL;
		what = "mmap";
		goto fail;
	}
	memcpy(s->mem + SPEED_LOOP_GPA, speed_loop_code, sizeof(speed_loop_code));
	memcpy(s->mem + SPEED_EXIT_GPA, speed_exit_code, sizeof(speed_exit_code));
	r.userspace_addr = (u64)(uintptr_t)s->mem;

	what = "KVM_CREATE_VM";
	s->vm_fd = ioctl(s->kvm_fd, KVM_CREATE_VM, 0);
	if (s->vm_fd < 0)
		goto fail;
	what = "KVM_SET_TSS_ADDR";
	if (ioctl(s->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0)
		goto fail;
	what = "KVM_SET_USER_MEMORY_REGION";
	if (ioctl(s->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		goto fail;
	what = "KVM_CREATE_VCPU";
	s->vcpu_fd = ioctl(s->vm_fd, KVM_CREATE_VCPU, 0);
	if (s->vcpu_fd < 0)
		goto fail;
	what = "KVM_GET_VCPU_MMAP_SIZE";
	size = ioctl(s->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(struct kvm_run))
		goto fail;
	s->run_size = (size_t)size;
	what = "mmap of the run area";
	s->run = mmap(NULL, s->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, s->vcpu_fd, 0);
	if (s->run == MAP_FAILED) {
		s->run = NULL;
		goto fail;
	}
	what = "KVM_GET_SREGS";
	if (ioctl(s->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		goto fail;
	data.selector = 0x10;
	data.type = 3;
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.cr0 |= 1; /* PE */
	what = "KVM_SET_SREGS";
	if (ioctl(s->vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		goto fail;
	return 0;
fail:
	if (why && whylen)
		snprintf(why, whylen, "KVM speed check: %s: %s", what,
			 errno ? strerror(errno) : "failed");
	speed_vm_destroy(s);
	return errno ? -errno : -EIO;
}

/* Runs from rip with ECX = ecx until the OUT to SPEED_PORT; *ns is the time. */
static int speed_run(struct speed_vm *s, u64 rip, u64 ecx, u64 *ns, char *why, size_t whylen)
{
	struct kvm_regs regs = {.rip = rip, .rcx = ecx, .rflags = 2};
	u64 t0;
	int rc;

	if (ioctl(s->vcpu_fd, KVM_SET_REGS, &regs) < 0) {
		rc = -errno;
		snprintf(why, whylen, "KVM speed check: KVM_SET_REGS: %s", strerror(-rc));
		return rc;
	}
	t0 = clock_now_ns();
	rc = ioctl(s->vcpu_fd, KVM_RUN, 0);
	*ns = clock_now_ns() - t0;
	if (rc < 0 || s->run->exit_reason != KVM_EXIT_IO || s->run->io.port != SPEED_PORT) {
		snprintf(why, whylen, "KVM speed check: unexpected exit (rc %d, reason %u)", rc,
			 s->run->exit_reason);
		return -EIO;
	}
	return 0;
}

/* Loop cost in picoseconds per iteration, from the fastest of tries runs of
 * iters iterations minus a one-iteration run (entry and exit overhead). */
static int speed_loop(struct speed_vm *s, u32 iters, unsigned tries, u64 *ps, char *why,
		      size_t whylen)
{
	u64 base = ~0ULL, best = ~0ULL, t;
	int rc;

	for (unsigned i = 0; i < tries; i++) {
		rc = speed_run(s, SPEED_LOOP_GPA, 1, &t, why, whylen);
		if (rc < 0)
			return rc;
		base = MIN(base, t);
		rc = speed_run(s, SPEED_LOOP_GPA, iters, &t, why, whylen);
		if (rc < 0)
			return rc;
		best = MIN(best, t);
	}
	best = best > base ? best - base : 0;
	*ps = best * 1000 / (iters - 1);
	return 0;
}

int kvm_measure_speed(struct kvm_speed *out, char *why, size_t whylen)
{
	struct speed_vm s;
	u64 t, t0;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = speed_vm_create(&s, why, whylen);
	if (rc < 0)
		return rc;
	/* Warm up: the first entry builds KVM's page tables for the code page. */
	rc = speed_run(&s, SPEED_LOOP_GPA, 1, &t, why, whylen);
	if (rc < 0)
		goto out;
	/* A short loop first (~20 ms where each instruction traps), twice to
	 * ride out a host preemption; a long one only where that looked fast. */
	rc = speed_loop(&s, SPEED_LOOP_SHORT, 2, &out->loop_ps, why, whylen);
	if (rc < 0)
		goto out;
	if (out->loop_ps <= KVM_SPEED_MAX_LOOP_PS) {
		rc = speed_loop(&s, SPEED_LOOP_LONG, 1, &out->loop_ps, why, whylen);
		if (rc < 0)
			goto out;
	}
	/* Exits: each KVM_RUN runs `out` once and comes back to us. */
	rc = speed_run(&s, SPEED_EXIT_GPA, 0, &t, why, whylen);
	if (rc < 0)
		goto out;
	t0 = clock_now_ns();
	for (unsigned i = 0; i < SPEED_EXITS; i++) {
		if (ioctl(s.vcpu_fd, KVM_RUN, 0) < 0 || s.run->exit_reason != KVM_EXIT_IO) {
			snprintf(why, whylen, "KVM speed check: unexpected exit in the exit loop");
			rc = -EIO;
			goto out;
		}
	}
	out->exit_ns = (clock_now_ns() - t0) / SPEED_EXITS;
out:
	speed_vm_destroy(&s);
	return rc;
}

bool kvm_speed_verdict(const struct kvm_speed *sp, char *why, size_t whylen)
{
	if (sp->loop_ps > KVM_SPEED_MAX_LOOP_PS) {
		snprintf(why, whylen,
			 "KVM too slow: %llu ns per loop iteration (limit %llu ns), "
			 "likely a KVM without hardware support that emulates every instruction",
			 (unsigned long long)(sp->loop_ps / 1000),
			 (unsigned long long)(KVM_SPEED_MAX_LOOP_PS / 1000));
		return false;
	}
	if (sp->exit_ns > KVM_SPEED_MAX_EXIT_NS) {
		snprintf(why, whylen, "KVM too slow: %llu ns per I/O exit (limit %llu ns)",
			 (unsigned long long)sp->exit_ns, (unsigned long long)KVM_SPEED_MAX_EXIT_NS);
		return false;
	}
	if (why && whylen)
		snprintf(why, whylen, "KVM usable: %llu ps per loop iteration, %llu ns per exit",
			 (unsigned long long)sp->loop_ps, (unsigned long long)sp->exit_ns);
	return true;
}

bool kvm_engine_usable(char *why, size_t whylen)
{
	struct kvm_speed sp;
	char buf[160];

	if (!kvm_engine_ops.probe(why, whylen))
		return false;
	if (kvm_measure_speed(&sp, buf, sizeof(buf)) < 0) {
		snprintf(why, whylen, "%s", buf);
		return false;
	}
	return kvm_speed_verdict(&sp, why, whylen);
}
