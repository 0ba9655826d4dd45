/* Guest program: the debug architecture (Intel SDM Vol. 3B ch. 18): execute
 * and data breakpoints of each length, DR6's B0-B3/BD/BS bits, DR7.GD,
 * single-step over POPF and MOV SS, RF in the frames of faults and traps,
 * INT1 (ICEBP). */
#include "guest.h"

#define RFLAGS_RF (1UL << 16)
#define DR6_B(n)  (1UL << (n))
#define DR6_BD    (1UL << 13)
#define DR6_BS    (1UL << 14)
#define DR7_GD    (1UL << 13)
/* DR7 for breakpoint n: local enable, R/W and LEN fields (SDM 18.2.4). */
#define DR7_L(n)        (1UL << (2 * (n)))
#define DR7_RW(n, rw)   ((u64)(rw) << (16 + 4 * (n)))
#define DR7_LEN(n, len) ((u64)(len) << (18 + 4 * (n)))
enum { RW_EXEC = 0, RW_WRITE = 1, RW_ACCESS = 3 };
enum { LEN1 = 0, LEN2 = 1, LEN8 = 2, LEN4 = 3 };

/* Every #DB: where it came from, DR6 at that point, the frame's RF. */
static volatile u64 db_count, db_rip, db_dr6, db_rf, db_dr7;
static volatile u64 db_rips[16];
static volatile u64 watched[4] __attribute__((aligned(32)));

#define SET_DR(n, v) asm volatile("mov %0, %%dr" #n ::"r"((u64)(v)) : "memory")
#define GET_DR(n, v) asm volatile("mov %%dr" #n ", %0" : "=r"(v))

static void on_db(struct trap_frame *f)
{
	u64 dr6, dr7;

	GET_DR(6, dr6);
	GET_DR(7, dr7);
	if (db_count < 16)
		db_rips[db_count] = f->rip;
	db_count++;
	db_rip = f->rip;
	db_dr6 = dr6;
	db_dr7 = dr7;
	db_rf = f->rflags & RFLAGS_RF;
	SET_DR(6, 0xffff0ff0UL); /* DR6 is sticky: the next check starts clean */
	/* An instruction breakpoint is a fault: resume with RF set, or the
	 * same breakpoint fires again (SDM 18.3.1.1). */
	for (unsigned n = 0; n < 4; n++)
		if ((dr6 & DR6_B(n)) && !((dr7 >> (16 + 4 * n)) & 3))
			f->rflags |= RFLAGS_RF;
	if (dr6 & DR6_BD)
		f->rip = catch_end; /* skip the MOV DR that faulted */
}

static void db_reset(void)
{
	db_count = db_rip = db_dr6 = db_rf = 0;
	SET_DR(6, 0xffff0ff0UL);
}

static volatile u64 target_runs;

__attribute__((noinline)) static void bp_target(void)
{
	target_runs++;
}

static void exec_breakpoint(void)
{
	db_reset();
	target_runs = 0;
	SET_DR(0, (u64)bp_target);
	SET_DR(7, DR7_L(0) | DR7_RW(0, RW_EXEC) | DR7_LEN(0, LEN1));
	bp_target();
	SET_DR(7, 0);
	check_eq("execute breakpoint: one #DB", db_count, 1);
	check_eq("execute breakpoint: a fault, RIP at the instruction", db_rip, (u64)bp_target);
	check_eq("execute breakpoint: DR6.B0 (B0-B3, BD, BS)", db_dr6 & 0x600f, DR6_B(0));
	check(!db_rf, "execute breakpoint: the frame's RF is clear (handlers set it)");
	check_eq("execute breakpoint: the instruction ran once after RF", target_runs, 1);

	/* Disabled (L0=0): no #DB. */
	db_reset();
	SET_DR(7, DR7_RW(0, RW_EXEC));
	bp_target();
	check_eq("a disabled breakpoint does not fire", db_count, 0);
	/* Enabled through G3 instead of L0; DR0 cleared, or its match could
	 * set B0 too (B0-B3 may report disabled breakpoints, SDM 18.2.3). */
	SET_DR(0, 0);
	SET_DR(3, (u64)bp_target);
	SET_DR(7, (2UL << 6) | DR7_RW(3, RW_EXEC));
	bp_target();
	SET_DR(7, 0);
	check_eq("breakpoint 3 enabled by G3: one #DB", db_count, 1);
	check_eq("breakpoint 3: DR6.B3", db_dr6 & 0x600f, DR6_B(3));
}

/* One data access of size bytes at addr with breakpoint 1 watching
 * watch/len/rw: the #DB count it caused, the RIP after the access insn. */
static u64 data_access(u64 addr, unsigned size, bool write, u64 *after)
{
	u64 v = 0;

	db_reset();
	if (write) {
		switch (size) {
		case 1:
			asm volatile("movb $1, (%1)\n1:\tlea 1b(%%rip), %0"
				     : "=r"(*after)
				     : "r"(addr)
				     : "memory");
			break;
		case 2:
			asm volatile("movw $1, (%1)\n1:\tlea 1b(%%rip), %0"
				     : "=r"(*after)
				     : "r"(addr)
				     : "memory");
			break;
		default:
			asm volatile("movq $1, (%1)\n1:\tlea 1b(%%rip), %0"
				     : "=r"(*after)
				     : "r"(addr)
				     : "memory");
		}
	} else {
		asm volatile("movb (%2), %b1\n1:\tlea 1b(%%rip), %0"
			     : "=r"(*after), "+r"(v)
			     : "r"(addr)
			     : "memory");
	}
	return db_count;
}

static void data_breakpoints(void)
{
	static const struct {
		unsigned len_code, len;
	} lens[] = {{LEN1, 1}, {LEN2, 2}, {LEN4, 4}, {LEN8, 8}};
	u64 base = (u64)&watched[1], after, after1;

	for (unsigned i = 0; i < 4; i++) {
		unsigned len = lens[i].len;
		SET_DR(1, base);
		SET_DR(7, DR7_L(1) | DR7_RW(1, RW_WRITE) | DR7_LEN(1, lens[i].len_code));
		u64 n = data_access(base + len - 1, 1, true, &after1);
		u64 rip = db_rip, dr6 = db_dr6, rf = db_rf;
		u64 below = data_access(base - 1, 1, true, &after);
		u64 above = data_access(base + len, 1, true, &after);
		u64 read = data_access(base, 1, false, &after);
		SET_DR(7, 0);
		check(n == 1 && dr6 == (0xffff0ff0UL | DR6_B(1)) && !rf,
		      "write breakpoint, length %u: a #DB on its last byte with DR6 = %#lx (got "
		      "%lu, DR6 %#lx, RF %lu)",
		      len, 0xffff0ff0UL | DR6_B(1), n, dr6, rf);
		check(rip == after1 || n != 1,
		      "write breakpoint, length %u: a trap after the store", len);
		check(
		    below == 0 && above == 0 && read == 0,
		    "write breakpoint, length %u: none for the bytes around it or a read (%lu %lu "
		    "%lu)",
		    len, below, above, read);
	}
	/* A wider store that overlaps the watched bytes fires too. */
	SET_DR(1, base + 4);
	SET_DR(7, DR7_L(1) | DR7_RW(1, RW_WRITE) | DR7_LEN(1, LEN2));
	check_eq("an 8-byte store over a 2-byte write breakpoint fires",
		 data_access(base, 8, true, &after), 1);
	/* Read/write breakpoints fire on reads. */
	SET_DR(7, DR7_L(1) | DR7_RW(1, RW_ACCESS) | DR7_LEN(1, LEN2));
	check_eq("a read/write breakpoint fires on a read", data_access(base + 5, 1, false, &after),
		 1);
	check_eq("... and on a write", data_access(base + 4, 2, true, &after), 1);
	check_eq("... not on the byte after it", data_access(base + 6, 1, false, &after), 0);
	SET_DR(7, 0);
}

/* TF: a trap after each instruction that began with TF set; so after the
 * POPF that clears it, not after the one that sets it (SDM 18.3.1.4). */
static void single_step(void)
{
	u64 first, last;

	db_reset();
	asm volatile("pushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n"
		     "1:\tnop\n\tnop\n\tpushfq\n\tandq $~0x100, (%%rsp)\n\tpopfq\n2:\n\t"
		     "lea 1b(%%rip), %0\n\tlea 2b(%%rip), %1"
		     : "=r"(first), "=r"(last)::"memory", "cc");
	check_eq("single-step: traps after nop, nop, pushf, and, popf", db_count, 5);
	check_eq("single-step: the first after the first nop", db_rips[0], first + 1);
	check_eq("single-step: the last after the POPF that cleared TF", db_rip, last);
	check_eq("single-step: DR6.BS (B0-B3, BD, BS)", db_dr6 & 0x600f, DR6_BS);
	check(!db_rf, "single-step: a trap pushes RF clear");

	/* MOV SS holds the trap back until after the next instruction. */
	db_reset();
	asm volatile("mov %%ss, %%eax\n\tpushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n"
		     "mov %%eax, %%ss\n\tnop\n1:\tpushfq\n\tandq $~0x100, (%%rsp)\n\tpopfq\n\t"
		     "lea 1b(%%rip), %0"
		     : "=r"(first)::"rax", "memory", "cc");
	check_eq("MOV SS: no trap after it, one after the next instruction", db_rips[0], first);
	check_eq("MOV SS: traps after nop, pushf, and, popf", db_count, 4);
}

/* IRETQ to the label after it, with the frame's RFLAGS = now | TF; then
 * nop and TF off again (pushf, and, popf). */
#define IRET_TF(pre)                                                                               \
	asm volatile(pre "mov %%rsp, %%rdx\n\tmov %%ss, %%eax\n\tpush %%rax\n\tpush %%rdx\n\t"     \
			 "pushfq\n\torq $0x100, (%%rsp)\n\tmov %%cs, %%eax\n\tpush %%rax\n\t"      \
			 "lea 1f(%%rip), %%rax\n\tpush %%rax\n\tiretq\n1:\tnop\n\t"                \
			 "pushfq\n\tandq $~0x100, (%%rsp)\n\tpopfq\n\tlea 1b(%%rip), %0"           \
		     : "=r"(target)::"rax", "rdx", "memory", "cc")

static void iret_step(void)
{
	u64 target;

	/* TF clear as IRET starts: no trap after it, one after the nop. */
	db_reset();
	IRET_TF("");
	check_eq("IRET setting TF: traps after nop, pushf, and, popf", db_count, 4);
	check_eq("IRET setting TF: the first after the nop, not the IRET", db_rips[0], target + 1);
	/* TF set as IRET starts: a trap at its target, after the 10 that
	 * build the frame, then 4 more. */
	db_reset();
	IRET_TF("pushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n\t");
	check_eq("IRET with TF set: 10 traps, IRET's, then nop, pushf, and, popf", db_count, 15);
	check_eq("IRET with TF set: its trap at its target", db_rips[10], target);
}

static volatile u64 ud_rf, ud_count;

static void on_ud(struct trap_frame *f)
{
	ud_count++;
	ud_rf = f->rflags & RFLAGS_RF;
	f->rip += 2;
}

static void fault_rf(void)
{
	trap_set_handler(6, on_ud);
	asm volatile("ud2" ::: "memory");
	trap_set_handler(6, 0);
	check(ud_count == 1 && ud_rf, "#UD (a fault) pushes RF set (count %lu)", ud_count);
}

static void general_detect(void)
{
	u64 v;

	db_reset();
	SET_DR(7, DR7_GD);
	/* Not CATCH: the runtime would resume before on_db could look. */
	asm volatile("lea 1f(%%rip), %%r11\n\tmov %%r11, catch_start(%%rip)\n\t"
		     "lea 2f(%%rip), %%r11\n\tmov %%r11, catch_end(%%rip)\n"
		     "1:\tmov %%dr0, %0\n2:"
		     : "=r"(v)::"r11", "memory");
	GET_DR(7, v);
	check_eq("DR7.GD: a MOV DR faults with #DB", db_count, 1);
	check_eq("DR7.GD: RIP at the MOV DR", db_rip, catch_start);
	check_eq("DR7.GD: DR6.BD", db_dr6 & 0x600f, DR6_BD);
	check(!(db_dr7 & DR7_GD), "DR7.GD is clear in the handler");
	check(!(v & DR7_GD), "DR7.GD stays clear after it");
}

static void icebp(void)
{
	db_reset();
	asm volatile(".byte 0xf1\n1:\tlea 1b(%%rip), %%r11\n\tmov %%r11, catch_end(%%rip)" ::
			 : "r11", "memory");
	check_eq("INT1 (F1): one #DB", db_count, 1);
	check_eq("INT1: a trap, RIP after it", db_rip, catch_end);
	check(!db_rf, "INT1: the frame's RF is clear");
}

void test_main(void)
{
	u64 dr6, dr7;

	GET_DR(6, dr6);
	GET_DR(7, dr7);
	check_eq("DR6 at reset", dr6, 0xffff0ff0UL);
	check_eq("DR7 at reset", dr7, 0x400UL);
	trap_set_handler(1, on_db);
	exec_breakpoint();
	data_breakpoints();
	single_step();
	iret_step();
	fault_rf();
	general_detect();
	icebp();
}
