/* Guest program: single-step (TF) across SYSCALL and SYSRET, and INT1
 * (ICEBP) from ring 3 (Intel SDM Vol. 3B 18.3.1.4; Vol. 2B SYSCALL,
 * SYSRET, INT1; Vol. 3A 6.12.1.1). */
#include "guest.h"

#define DR6_BS (1UL << 14)

/* Every #DB: where it came from, its CS, RFLAGS and DR6. */
static volatile u64 db_count, db_rip[16], db_cs[16], db_fl[16], db_dr6[16];

static void on_db(struct trap_frame *f)
{
	u64 dr6;

	asm volatile("mov %%dr6, %0" : "=r"(dr6));
	if (db_count < 16) {
		db_rip[db_count] = f->rip;
		db_cs[db_count] = f->cs;
		db_fl[db_count] = f->rflags;
		db_dr6[db_count] = dr6;
	}
	db_count++;
	asm volatile("mov %0, %%dr6" ::"r"(0xffff0ff0UL));
}

extern char sys_entry[], u_tf[], u_sys[], u_ret[], u_icebp[], u_after_icebp[], u_int1[],
    u_after_int1[];

/* The kernel's side: SYSRET at once (RCX and R11 as SYSCALL left them).
 * The user's side (ring3_run): TF on, a NOP, SYSCALL, a NOP, TF off. */
asm(".text\n"
    "sys_entry:\n\t"
    "sysretq\n"
    ".section .user.text, \"ax\"\n"
    "u_tf:\n\t"
    "pushfq\n\torq $0x100, (%rsp)\n\tpopfq\n\tnop\n"
    "u_sys:\n\t"
    "syscall\n"
    "u_ret:\n\t"
    "nop\n\tpushfq\n\tandq $~0x100, (%rsp)\n\tpopfq\n\t"
    "jmp ring3_exit\n"
    /* INT1 and INT 1 at CPL 3 with the #DB gate's DPL 0. */
    "u_icebp:\n\t"
    ".byte 0xf1\n"
    "u_after_icebp:\n\t"
    "jmp ring3_exit\n"
    "u_int1:\n\t"
    "int $1\n"
    "u_after_int1:\n\t"
    "jmp ring3_exit\n"
    ".text\n");

static void db_reset(void)
{
	db_count = 0;
	asm volatile("mov %0, %%dr6" ::"r"(0xffff0ff0UL));
}

static bool trap_is(unsigned i, u64 rip, bool user, bool tf)
{
	bool ok = db_rip[i] == rip && (db_cs[i] & 3) == (user ? 3u : 0u) &&
		  !!(db_fl[i] & RFLAGS_TF) == tf && (db_dr6[i] & 0x600f) == DR6_BS;

	if (!ok)
		printf("# trap %u: rip %#lx (want %#lx) cs %#lx rflags %#lx dr6 %#lx\n", i,
		       db_rip[i], rip, db_cs[i], db_fl[i], db_dr6[i]);
	return ok;
}

/* SFMASK clears TF (as Linux's does): the trap after SYSCALL is taken at
 * the entry, CPL 0, with the RFLAGS SYSCALL made (TF clear); the kernel
 * then runs untraced, and SYSRET setting TF from R11 traps only after the
 * next user instruction, as POPF setting it does. */
static void syscall_masked(void)
{
	wrmsr(MSR_SFMASK, RFLAGS_IF | RFLAGS_TF | RFLAGS_DF);
	db_reset();
	ring3_run(u_tf, 0);
	check_eq("SFMASK with TF: traps after nop, syscall, nop, pushf, and, popf", db_count, 6);
	check(trap_is(0, (u64)u_sys, true, true), "the first after the NOP, at the SYSCALL");
	check(trap_is(1, (u64)sys_entry, false, false),
	      "SYSCALL with TF: the trap at LSTAR, CPL 0, RFLAGS.TF cleared by SFMASK, DR6.BS");
	check(trap_is(2, (u64)u_ret + 1, true, true),
	      "SYSRET setting TF: no trap after it, one after the next instruction");
}

/* SFMASK leaves TF: the kernel's SYSRET runs with TF set, and traps after
 * itself, at the user's RIP in CPL 3. */
static void syscall_unmasked(void)
{
	wrmsr(MSR_SFMASK, RFLAGS_IF | RFLAGS_DF);
	db_reset();
	ring3_run(u_tf, 0);
	check_eq("SFMASK without TF: traps after nop, syscall, sysret, nop, pushf, and, popf",
		 db_count, 7);
	check(trap_is(1, (u64)sys_entry, false, true),
	      "SYSCALL with TF kept: the trap at LSTAR, RFLAGS.TF still set");
	check(trap_is(2, (u64)u_ret, true, true),
	      "SYSRET begun with TF set: a trap after it, at the user's RIP, CPL 3");
	check(trap_is(3, (u64)u_ret + 1, true, true), "... and after the next instruction");
}

/* INT1 is no INT n: the gate's DPL is not checked (SDM Vol. 3A 6.12.1.1),
 * so ring 3 reaches a DPL 0 #DB gate; INT 1 (CD 01) gets #GP. */
static void int1_ring3(void)
{
	db_reset();
	ring3_run(u_icebp, 0);
	check(db_count == 1 && db_rip[0] == (u64)u_after_icebp && (db_cs[0] & 3) == 3,
	      "INT1 at CPL 3: #DB past the DPL 0 gate, a trap after it (%lu, rip %#lx)", db_count,
	      db_rip[0]);
	db_reset();
	trap_reset();
	trap_resume = (u64)u_after_int1;
	ring3_run(u_int1, 0);
	check(db_count == 0 && last_trap.count == 1 && last_trap.vector == 13 &&
		  last_trap.error == (1 << 3 | 2) && last_trap.rip == (u64)u_int1,
	      "INT 1 at CPL 3: #GP(IDT 1) at it (%lu #DB, vector %lu, error %#lx)", db_count,
	      last_trap.vector, last_trap.error);
}

void test_main(void)
{
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	/* SYSCALL: CS = STAR[47:32], SS = +8; SYSRET: CS = STAR[63:48] + 16,
	 * SS = +8 (Intel SDM Vol. 2B SYSCALL, SYSRET). */
	wrmsr(MSR_STAR, (u64)SEL_UCODE32 << 48 | (u64)SEL_KCODE << 32);
	wrmsr(MSR_LSTAR, (u64)sys_entry);
	trap_set_handler(1, on_db);
	syscall_masked();
	syscall_unmasked();
	int1_ring3();
}
