/* Guest program: the debug architecture (Intel SDM Vol. 3B ch. 18): execute
 * and data breakpoints of each length, DR6's B0-B3/BD/BS bits, DR7.GD,
 * single-step over POPF and MOV SS, RF in the frames of faults and traps,
 * INT1 (ICEBP), REP string instructions one iteration at a time. */
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
static volatile u64 db_rips[16], db_rcxs[16], db_rdis[16], db_rsis[16], db_rfs[16], db_dr6s[16];
static volatile u64 watched[4] __attribute__((aligned(32)));

#define SET_DR(n, v) asm volatile("mov %0, %%dr" #n ::"r"((u64)(v)) : "memory")
#define GET_DR(n, v) asm volatile("mov %%dr" #n ", %0" : "=r"(v))

static void on_db(struct trap_frame *f)
{
	u64 dr6, dr7;

	GET_DR(6, dr6);
	GET_DR(7, dr7);
	if (db_count < 16) {
		db_rips[db_count] = f->rip;
		db_rcxs[db_count] = f->rcx;
		db_rdis[db_count] = f->rdi;
		db_rsis[db_count] = f->rsi;
		db_rfs[db_count] = f->rflags & RFLAGS_RF;
		db_dr6s[db_count] = dr6;
	}
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

/* REP string instructions, one iteration at a time under TF: a trap after
 * each, RIP still on the instruction while iterations remain and RCX/RSI/
 * RDI those of the finished ones (SDM Vol. 2B "REP": the instruction is
 * restartable between iterations; 18.3.1.4). The frame of a trap between
 * iterations holds RF set, so that an instruction breakpoint on the REP
 * does not fire again when it resumes (18.3.1.1; Bochs and KVM's emulator
 * do the same). The host CPU is the oracle for the iterations and RIPs. */
enum { R_MOVS, R_STOS, R_LODS, R_CMPS, R_SCAS, R_MOVS0 };
static const char rep_src[8] = "abcdefgh";
static char rep_dst[8];

/* Runs REP instruction k with TF set (then pushf, and, popf clear it);
 * *rep and *after: its address and the next instruction's. */
__attribute__((noinline)) static void rep_traced(unsigned k, u64 *rep, u64 *after)
{
#define REP_TF(insn, count, ...)                                                                   \
	asm volatile("lea 1f(%%rip), %0\n\tlea 2f(%%rip), %1\n\tmov $" #count ", %%ecx\n\t"        \
		     "pushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n1:\t" insn "\n2:\tpushfq\n\t"        \
		     "andq $~0x100, (%%rsp)\n\tpopfq"                                              \
		     : "=&r"(*rep), "=&r"(*after), "+S"(s), "+D"(d), "+a"(a)                       \
		     :                                                                             \
		     : "rcx", "memory", "cc")
	u64 s = (u64)rep_src, d = (u64)rep_dst, a = 0;

	memcpy(rep_dst, "abcxefgh", 8);
	switch (k) {
	case R_MOVS:
		REP_TF("rep movsb", 3);
		break;
	case R_STOS:
		REP_TF("rep stosb", 3);
		break;
	case R_LODS:
		REP_TF("rep lodsb", 3);
		break;
	case R_CMPS: /* rep_dst differs from rep_src at its fourth byte */
		REP_TF("repe cmpsb", 8);
		break;
	case R_SCAS: /* 'c' is rep_src's third byte */
		d = (u64)rep_src;
		a = 'c';
		REP_TF("repne scasb", 8);
		break;
	default:
		REP_TF("rep movsb", 0);
	}
#undef REP_TF
}

static void rep_step(void)
{
	static const struct {
		const char *name;
		unsigned iters, rcx0; /* iterations run; RCX before */
		bool si_moves, di_moves;
	} c[] = {
	    [R_MOVS] = {"REP MOVSB", 3, 3, true, true},
	    [R_STOS] = {"REP STOSB", 3, 3, false, true},
	    [R_LODS] = {"REP LODSB", 3, 3, true, false},
	    [R_CMPS] = {"REPE CMPSB", 4, 8, true, true},
	    [R_SCAS] = {"REPNE SCASB", 3, 8, false, true},
	    [R_MOVS0] = {"REP MOVSB, RCX 0", 0, 0, true, true},
	};
	u64 rep, after;

	for (unsigned k = 0; k <= R_MOVS0; k++) {
		u64 di0 = k == R_SCAS ? (u64)rep_src : (u64)rep_dst;
		unsigned n = c[k].iters, last = n ? n - 1 : 0;
		bool ok = true;

		db_reset();
		rep_traced(k, &rep, &after);
		/* One trap per iteration (one for none), then pushf, and, popf. */
		check(db_count == (n ? n : 1) + 3, "%s under TF: %u traps, got %lu", c[k].name,
		      (n ? n : 1) + 3, db_count);
		for (unsigned i = 0; i < n && i < 16; i++) {
			u64 want_rip = i < last ? rep : after;
			ok &= db_rips[i] == want_rip && db_rcxs[i] == c[k].rcx0 - i - 1 &&
			      db_rdis[i] == (c[k].di_moves ? di0 + i + 1 : di0) &&
			      db_rsis[i] == (u64)rep_src + (c[k].si_moves ? i + 1 : 0) &&
			      !db_rfs[i] == (i == last);
			if (!ok) {
				printf(
				    "# %s: trap %u at %#lx (rep %#lx, after %#lx) rcx %lu rdi %#lx "
				    "rsi %#lx RF %lu\n",
				    c[k].name, i, db_rips[i], rep, after, db_rcxs[i], db_rdis[i],
				    db_rsis[i], db_rfs[i]);
				break;
			}
		}
		check(ok,
		      "%s under TF: each trap after one iteration, RIP on the REP until the "
		      "last, RCX/RSI/RDI advanced by one, RF set but after the last",
		      c[k].name);
		if (!n)
			check_eq("REP MOVSB, RCX 0: the trap after it", db_rips[0], after);
	}

	/* An instruction breakpoint on the REP: one fault, then the iterations'
	 * traps resume it with RF set, so it does not fire again. */
	db_reset();
	SET_DR(0, 0);
	rep_traced(R_MOVS, &rep, &after); /* rep's address, for DR0 */
	db_reset();
	SET_DR(0, rep);
	SET_DR(7, DR7_L(0) | DR7_RW(0, RW_EXEC) | DR7_LEN(0, LEN1));
	rep_traced(R_MOVS, &rep, &after);
	SET_DR(7, 0);
	check_eq("REP MOVSB with an instruction breakpoint on it, under TF: 1 fault + 3 + 3 traps",
		 db_count, 7);
	check_eq("... the fault first (B0)", db_dr6s[0] & 0x600f, DR6_B(0));
}

static volatile u64 rep_buf[4] __attribute__((aligned(32)));

/* A data breakpoint on a location one iteration touches: the trap after
 * that iteration (SDM 18.3.1.2), with RIP on the REP while iterations
 * remain, then none for the other iterations. */
static void rep_data_breakpoint(void)
{
	u8 *b = (u8 *)rep_buf;
	u64 rep, after, rcx, di, si;

	SET_DR(1, (u64)&b[5]);
	SET_DR(7, DR7_L(1) | DR7_RW(1, RW_WRITE) | DR7_LEN(1, LEN1));
	db_reset();
	rcx = 8;
	di = (u64)b;
	asm volatile("lea 1f(%%rip), %0\n\tlea 2f(%%rip), %1\n1:\trep stosb\n2:"
		     : "=&r"(rep), "=&r"(after), "+c"(rcx), "+D"(di)
		     : "a"(0x5a)
		     : "memory");
	check_eq("REP STOSB over a write breakpoint: one #DB", db_count, 1);
	check_eq("REP STOSB: RIP on the REP (2 iterations left)", db_rips[0], rep);
	check(db_rcxs[0] == 2 && db_rdis[0] == (u64)&b[6],
	      "REP STOSB: the trap after the 6th iteration (RCX %lu, RDI +%ld)", db_rcxs[0],
	      (s64)(db_rdis[0] - (u64)b));
	check_eq("REP STOSB: DR6.B1", db_dr6 & 0x600f, DR6_B(1));
	check(db_rfs[0], "REP STOSB: the frame's RF set (iterations remain)");
	check(rcx == 0 && di == (u64)&b[8] && b[7] == 0x5a, "REP STOSB: then finished");

	/* On the last iteration's byte: RIP after it, RF clear. */
	SET_DR(1, (u64)&b[7]);
	db_reset();
	rcx = 8;
	di = (u64)b;
	asm volatile("lea 2f(%%rip), %0\n\trep stosb\n2:"
		     : "=&r"(after), "+c"(rcx), "+D"(di)
		     : "a"(0x5b)
		     : "memory");
	check(db_count == 1 && db_rips[0] == after && db_rcxs[0] == 0 && !db_rfs[0],
	      "REP STOSB, breakpoint on the last byte: one trap after it, RF clear (%lu traps)",
	      db_count);

	/* A read/write breakpoint on a REP MOVSQ's source (an 8-byte one). */
	SET_DR(1, (u64)&rep_buf[1]);
	SET_DR(7, DR7_L(1) | DR7_RW(1, RW_ACCESS) | DR7_LEN(1, LEN8));
	db_reset();
	static u64 dst[4];
	rcx = 4;
	si = (u64)rep_buf;
	di = (u64)dst;
	asm volatile("lea 1f(%%rip), %0\n1:\trep movsq"
		     : "=&r"(rep), "+c"(rcx), "+S"(si), "+D"(di)
		     :
		     : "memory");
	SET_DR(7, 0);
	check(db_count == 1 && db_rips[0] == rep && db_rcxs[0] == 2 &&
		  db_rsis[0] == (u64)&rep_buf[2],
	      "REP MOVSQ reading a read/write breakpoint: one trap after the 2nd iteration (%lu "
	      "traps, RCX %lu)",
	      db_count, db_rcxs[0]);
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
	rep_step();
	rep_data_breakpoint();
}
