/* Crash dump printed when a guest triple-faults (kvmtool-style). */
#include "core/crash_dump.h"

#include "core/page_walk.h"

static void dump_seg(FILE *out, const char *name, const struct x86_seg *s)
{
	fprintf(out, "  %-3s sel=%04x base=%016llx limit=%08x type=%x s=%u dpl=%u p=%u l=%u db=%u g=%u\n",
		name, s->selector, (unsigned long long)s->base, s->limit, s->type, s->s, s->dpl,
		s->present, s->l, s->db, s->g);
}

void crash_dump(FILE *out, const struct guest_mem *mem, unsigned vcpu, const struct x86_state *st)
{
	static const char *const gpr_names[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp",
						  "rsi", "rdi", "r8",  "r9",  "r10", "r11",
						  "r12", "r13", "r14", "r15"};
	static const char *const seg_names[6] = {"es", "cs", "ss", "ds", "fs", "gs"};
	const struct x86_regs *r = &st->regs;
	const struct x86_sregs *s = &st->sregs;
	struct page_walk w;
	u64 lin = s->seg[X86_CS].base + r->rip;

	fprintf(out, "popek: vCPU %u state at the crash:\n", vcpu);
	for (int i = 0; i < 16; i += 4)
		fprintf(out, "  %-3s=%016llx %-3s=%016llx %-3s=%016llx %-3s=%016llx\n",
			gpr_names[i], (unsigned long long)r->gpr[i], gpr_names[i + 1],
			(unsigned long long)r->gpr[i + 1], gpr_names[i + 2],
			(unsigned long long)r->gpr[i + 2], gpr_names[i + 3],
			(unsigned long long)r->gpr[i + 3]);
	fprintf(out, "  rip=%016llx rflags=%016llx\n", (unsigned long long)r->rip,
		(unsigned long long)r->rflags);
	fprintf(out, "  cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx efer=%016llx\n",
		(unsigned long long)s->cr0, (unsigned long long)s->cr2, (unsigned long long)s->cr3,
		(unsigned long long)s->cr4, (unsigned long long)s->efer);
	for (int i = 0; i < 6; i++)
		dump_seg(out, seg_names[i], &s->seg[i]);
	dump_seg(out, "tr", &s->tr);
	fprintf(out, "  gdt=%016llx/%04x idt=%016llx/%04x\n", (unsigned long long)s->gdt.base,
		s->gdt.limit, (unsigned long long)s->idt.base, s->idt.limit);

	page_walk(mem, s, lin, &w);
	fprintf(out, "  page walk for rip (linear %016llx):", (unsigned long long)lin);
	if (!w.levels)
		fprintf(out, " paging off");
	for (unsigned i = 0; i < w.levels; i++)
		fprintf(out, " [%llx]=%llx", (unsigned long long)w.entry_gpa[i],
			(unsigned long long)w.entry[i]);
	if (!w.ok) {
		fprintf(out, " -> %s\n", w.why);
		return;
	}
	fprintf(out, " -> gpa %llx\n  code:", (unsigned long long)w.gpa);
	for (unsigned i = 0; i < 16; i++) {
		u8 b;
		if (guest_mem_read(mem, w.gpa + i, &b, 1) < 0) {
			fprintf(out, " ??");
			continue;
		}
		fprintf(out, " %02x", b);
	}
	fprintf(out, "\n");
}
