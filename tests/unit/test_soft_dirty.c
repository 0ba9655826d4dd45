/* The soft engine's part of the dirty log (cpu/soft/dirty_log.c, mmu/mmu.c)
 * through the machine's (vmm/dirty_log.c): a guest's write marks its page,
 * a read does not; once the log is taken (dirty_log_sync drops every TLB
 * write tag), a page written fast until then is marked again at its next
 * write; a page walk's A/D updates mark the page-table page; the PV areas
 * are marked at each take. Paging off and 4-level paging, interpreted and
 * translated. */
#include <errno.h>
#include <stdatomic.h>

#include "cpu/soft/exec/exec.h"
#include "cpu/soft/vm.h"
#include "soft_vm_fixture.h"
#include "vmm/vmm.h"

#define CODE 0x1000

/* 4-level paging: code identity-mapped through tables already accessed
 * (A, D set: fetches update nothing), data at DATA_LIN -> DATA through a PD
 * entry and a PT whose A/D bits the guest's accesses set. */
#define PML4     0x10000ULL
#define PDPT     0x11000ULL
#define PD       0x12000ULL
#define PT_CODE  0x13000ULL
#define PT_DATA  0x14000ULL
#define DATA_LIN 0x200000ULL
#define DATA     0x300000ULL
#define PTE_P    1ULL
#define PTE_W    2ULL
#define PTE_A    0x20ULL
#define PTE_D    0x40ULL
#define PTE_G    0x100ULL

/* A VM as the machine has it (m->evm set, for vmm/dirty_log.c). */
static struct vm *soft_vm(bool jit)
{
	struct vm_config cfg = {.nr_cpus = 2, .soft_jit_off = !jit};
	struct vm *t = vm_new_cfg(&cfg);

	t->m.evm = t->evm;
	return t;
}

static void start_log(struct vm *t)
{
	u64 out[16 * MiB / 4096 / 64] = {0};

	CHECK_EQ(machine_dirty_take(&t->m, out), -ENOTSUP); /* not logging yet */
	CHECK_EQ(machine_dirty_start(&t->m), 0);
}

static struct vm *dirty_vm(bool jit)
{
	struct vm *t = soft_vm(jit);

	start_log(t);
	return t;
}

static struct soft_cpu *cpu0(struct vm *t)
{
	return &((struct soft_vcpu *)t->v[0])->cpu;
}

static bool marked(struct vm *t, u64 gpa)
{
	return t->m.mem.dirty[gpa / 4096 / 64] >> (gpa / 4096 % 64) & 1;
}

/* Pages in the log, which stays as it is. */
static u64 peek(struct vm *t)
{
	u64 n = 0;

	for (u64 i = 0; i < guest_mem_dirty_words(&t->m.mem); i++)
		n += (u64)__builtin_popcountll(t->m.mem.dirty[i]);
	return n;
}

/* Takes the log as a Diff snapshot does (the engine synced first). */
static s64 take(struct vm *t)
{
	u64 out[16 * MiB / 4096 / 64] = {0};

	return machine_dirty_take(&t->m, out);
}

/* Whether vCPU 0's TLB would let a CPL 0 write to lin through unchecked. */
static bool write_tag(struct vm *t, u64 lin)
{
	return cpu0(t)->tlb.e[SOFT_PRIV_SUP][soft_tlb_index(lin)].tag[SOFT_ACC_WRITE] == lin;
}

/* Runs vCPU 0 to its next cli; hlt. The one before it is ended as a PV kick
 * (KVM_HC_KICK_CPU) from another vCPU would: run() reports that first. */
static void run_to_hlt(struct vm *t)
{
	struct soft_vcpu *v = (struct soft_vcpu *)t->v[0];
	struct vcpu_exit ex;

	if (v->cpu.halted) {
		atomic_store(&v->pv.unhalt, true);
		CHECK_EQ(soft_engine_ops.run(t->v[0], &ex), 0);
		CHECK_EQ(ex.reason, VCPU_EXIT_KICKED);
	}
	CHECK_EQ(soft_engine_ops.run(t->v[0], &ex), 0);
	CHECK_EQ(ex.reason, VCPU_EXIT_HLT);
}

static void put_code(struct vm *t, const u8 *code, unsigned len)
{
	memcpy(guest_mem_ptr(&t->m.mem, CODE, len), code, len);
}

static void real_mode(struct vm *t)
{
	vm_real_mode(t, 0, CODE);
}

static void pte(struct vm *t, u64 table, unsigned i, u64 e)
{
	memcpy(guest_mem_ptr(&t->m.mem, table + 8 * i, 8), &e, 8);
}

static void long_mode(struct vm *t)
{
	struct x86_state st;

	memset(guest_mem_ptr(&t->m.mem, PML4, 5 * 4096), 0, 5 * 4096);
	pte(t, PML4, 0, PDPT | PTE_P | PTE_W | PTE_A);
	pte(t, PDPT, 0, PD | PTE_P | PTE_W | PTE_A);
	pte(t, PD, 0, PT_CODE | PTE_P | PTE_W | PTE_A);
	for (unsigned i = 0; i < 512; i++)
		pte(t, PT_CODE, i, i * 4096ULL | PTE_P | PTE_W | PTE_A | PTE_D);
	pte(t, PD, 1, PT_DATA | PTE_P | PTE_W);
	pte(t, PT_DATA, 0, DATA | PTE_P | PTE_W);
	pte(t, PT_DATA, 1, (DATA + 0x1000) | PTE_P | PTE_W | PTE_A | PTE_D);
	pte(t, PT_DATA, 2, (DATA + 0x2000) | PTE_P | PTE_W | PTE_A | PTE_D | PTE_G);
	memset(&st, 0, sizeof(st));
	st.regs.rip = CODE;
	st.regs.rflags = 2;
	for (int s = 0; s < 6; s++)
		st.sregs.seg[s] = (struct x86_seg){
		    .limit = 0xffffffff, .type = 0x3, .s = 1, .present = 1, .db = 1, .g = 1};
	st.sregs.seg[X86_CS] = (struct x86_seg){
	    .limit = 0xffffffff, .selector = 8, .type = 0xb, .s = 1, .present = 1, .l = 1, .g = 1};
	st.sregs.tr = (struct x86_seg){.type = 0xb, .present = 1, .limit = 0x67};
	st.sregs.ldt = (struct x86_seg){.type = 0x2, .present = 1, .limit = 0xffff};
	st.sregs.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_WP | X86_CR0_PG;
	st.sregs.cr3 = PML4;
	st.sregs.cr4 = X86_CR4_PAE | X86_CR4_PGE;
	st.sregs.efer = X86_EFER_LME | X86_EFER_LMA;
	st.sregs.apic_base = 0xfee00900;
	CHECK_EQ(soft_engine_ops.set_state(t->v[0], &st), 0);
}

/* Paging off: the TLB still caches 4 KiB pages, with the same rule. */
static void test_real_mode(void)
{
	static const u8 code[] = {
	    0xa1, 0x00, 0x60, 0xfa, 0xf4, /* mov ax, [0x6000]; cli; hlt */
	    0xa3, 0x00, 0x60, 0xfa, 0xf4, /* mov [0x6000], ax: after its read */
	    0xa3, 0x00, 0x50, 0xfa, 0xf4, /* mov [0x5000], ax */
	    0xa3, 0x04, 0x50, 0xfa, 0xf4, /* mov [0x5004], ax: after the take */
	    0xa1, 0x08, 0x50, 0xfa, 0xf4, /* mov ax, [0x5008] */
	};
	struct vm *t = dirty_vm(false);

	put_code(t, code, sizeof(code));
	real_mode(t);
	run_to_hlt(t);
	CHECK_EQ(peek(t), 0); /* a read (and the fetches) mark nothing */
	/* The read filled no write tag: the write takes the slow path. */
	run_to_hlt(t);
	CHECK(marked(t, 0x6000));
	CHECK_EQ(take(t), 1);
	run_to_hlt(t);
	CHECK(marked(t, 0x5000));
	CHECK(write_tag(t, 0x5000));
	CHECK_EQ(take(t), 1);
	CHECK(!write_tag(t, 0x5000));
	/* The key property: written fast before the take, marked after it. */
	run_to_hlt(t);
	CHECK(marked(t, 0x5000));
	CHECK_EQ(take(t), 1);
	run_to_hlt(t); /* a read after the take */
	CHECK_EQ(take(t), 0);
	vm_free(t);
}

/* The log started while the guest runs (a snapshot loaded with
 * track_dirty_pages, say): a page written fast before is marked at its
 * next write. */
static void test_start_while_running(void)
{
	static const u8 code[] = {
	    0xa3, 0x00, 0x50, 0xfa, 0xf4, /* mov [0x5000], ax; cli; hlt */
	    0xa3, 0x04, 0x50, 0xfa, 0xf4, /* mov [0x5004], ax: logged */
	};
	struct vm *t = soft_vm(false);

	put_code(t, code, sizeof(code));
	real_mode(t);
	run_to_hlt(t);
	CHECK(write_tag(t, 0x5000));
	start_log(t);
	run_to_hlt(t);
	CHECK(marked(t, 0x5000));
	CHECK_EQ(take(t), 1);
	vm_free(t);
}

/* 4-level paging: the walk's A/D updates mark the tables they change. */
static void test_paging(void)
{
	static const u8 code[] = {
	    0x8b, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00, 0xfa, 0xf4, /* mov eax, [DATA_LIN] */
	    0x89, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00, 0xfa, 0xf4, /* mov [DATA_LIN], eax */
	    0x89, 0x04, 0x25, 0x08, 0x00, 0x20, 0x00, 0xfa, 0xf4, /* mov [DATA_LIN + 8], eax */
	    0x8b, 0x04, 0x25, 0x00, 0x10, 0x20, 0x00, 0xfa, 0xf4, /* mov eax, [DATA_LIN + 4K] */
	    0x89, 0x04, 0x25, 0x00, 0x10, 0x20, 0x00, 0xfa, 0xf4, /* mov [DATA_LIN + 4K], eax */
	    0x89, 0x04, 0x25, 0x00, 0x20, 0x20, 0x00, 0xfa, 0xf4, /* mov [DATA_LIN + 8K], eax */
	    0x89, 0x04, 0x25, 0x08, 0x20, 0x20, 0x00, 0xfa, 0xf4, /* again, after the take */
	};
	struct vm *t = dirty_vm(false);

	put_code(t, code, sizeof(code));
	long_mode(t);
	/* A read: A set in the PD entry and the PTE, the data page not marked. */
	run_to_hlt(t);
	CHECK(marked(t, PD) && marked(t, PT_DATA));
	CHECK_EQ(take(t), 2);
	/* The first write: D set in the PTE, and the data page. */
	run_to_hlt(t);
	CHECK(marked(t, PT_DATA) && marked(t, DATA));
	CHECK(write_tag(t, DATA_LIN));
	CHECK_EQ(take(t), 2);
	/* Written fast before the take, marked after it (no table changes). */
	run_to_hlt(t);
	CHECK(marked(t, DATA));
	CHECK_EQ(take(t), 1);
	/* A read of a page whose PTE is dirty marks nothing, and fills no
	 * write tag: the next write still marks. */
	run_to_hlt(t);
	CHECK_EQ(peek(t), 0);
	run_to_hlt(t);
	CHECK(marked(t, DATA + 0x1000));
	CHECK_EQ(take(t), 1);
	/* A global page's write tag (kept by CR3 writes) goes at a take too. */
	run_to_hlt(t);
	CHECK(marked(t, DATA + 0x2000));
	CHECK(write_tag(t, DATA_LIN + 0x2000));
	CHECK_EQ(take(t), 1);
	run_to_hlt(t);
	CHECK(marked(t, DATA + 0x2000));
	CHECK_EQ(take(t), 1);
	vm_free(t);
}

/* The same loop twice, a take between. With the translator on, the loop's
 * block is translated in the first round, and the second round's first
 * store (the loop is entered by a jump, so it is the block's) runs as
 * translated code, whose inline TLB check must miss. */
static void loop_twice(bool jit)
{
	static const u8 code[] = {
	    0xb9, 0x40, 0x00, 0x00, 0x00,             /* top: mov ecx, 64 */
	    0xeb, 0x00,                               /* jmp loop */
	    0x89, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00, /* loop: mov [DATA_LIN], eax */
	    0xff, 0xc9,                               /* dec ecx */
	    0x75, 0xf5,                               /* jnz loop */
	    0xfa, 0xf4,                               /* cli; hlt */
	    0xeb, 0xea,                               /* jmp top */
	};
	struct vm *t = dirty_vm(jit);

	put_code(t, code, sizeof(code));
	long_mode(t);
	run_to_hlt(t);
	CHECK(marked(t, DATA));
	CHECK_EQ(soft_dcache_jit_blocks(cpu0(t)->dcache) > 0, jit);
	CHECK_EQ(take(t), 3); /* and PD, PT_DATA (A, D) */
	run_to_hlt(t);
	CHECK(marked(t, DATA));
	CHECK_EQ(take(t), 1);
	vm_free(t);
}

static void test_loop_interpreted(void)
{
	loop_twice(false);
}

static void test_loop_translated(void)
{
	loop_twice(true);
}

/* The areas the engine writes for the guest (kvmclock, wall clock, steal
 * time, PV EOI) are marked at each take; a disabled kvmclock is not. */
static void test_pv_areas(void)
{
	struct vm *t = dirty_vm(false);
	struct soft_vcpu *v0 = (struct soft_vcpu *)t->v[0], *v1 = (struct soft_vcpu *)t->v[1];
	u64 pages[16 * MiB / 4096 / 64] = {0};

	v0->cpu.msr.kvm_system_time = 0x7000 | 1;
	v0->cpu.msr.kvm_wall_clock = 0x8000;
	v1->cpu.msr.kvm_system_time = 0xb000; /* not enabled */
	v1->pv.steal = guest_mem_ptr(&t->m.mem, 0x9000, KVM_STEAL_SIZE);
	v1->pv.eoi = guest_mem_ptr(&t->m.mem, 0xa000, 1);
	CHECK_EQ(take(t), 4);
	CHECK_EQ(machine_dirty_take(&t->m, pages), 4); /* again: they may change any time */
	CHECK_EQ(pages[0], 0xfULL << 7);
	/* A failed save gives them back. */
	guest_mem_dirty_mark(&t->m.mem, 0x20000, 1);
	machine_dirty_give_back(&t->m, pages);
	CHECK(marked(t, 0x7000) && marked(t, 0x20000));
	CHECK_EQ(peek(t), 5);
	v1->pv.steal = v1->pv.eoi = NULL;
	vm_free(t);
}

int main(void)
{
	TEST_RUN(test_real_mode);
	TEST_RUN(test_start_while_running);
	TEST_RUN(test_paging);
	TEST_RUN(test_loop_interpreted);
	TEST_RUN(test_loop_translated);
	TEST_RUN(test_pv_areas);
	return test_done();
}
