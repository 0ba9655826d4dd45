/* The GDB stub's registers: target description and packed form
 * (gdb_regs.h). The order is gdb's for x86-64 (its amd64 register numbers),
 * so the names of org.gnu.gdb.i386.{core,sse,segments} are found where gdb
 * looks; popek adds control registers in a feature of its own. */
#include "api/gdb_regs.h"

#include <stdio.h>
#include <string.h>

/* gdb's order of the 16 general registers, as enum x86_gpr. */
static const u8 gpr_order[16] = {X86_RAX, X86_RBX, X86_RCX, X86_RDX, X86_RSI, X86_RDI,
				 X86_RBP, X86_RSP, X86_R8,  X86_R9,  X86_R10, X86_R11,
				 X86_R12, X86_R13, X86_R14, X86_R15};
static const u8 seg_order[6] = {X86_CS, X86_SS, X86_DS, X86_ES, X86_FS, X86_GS};

/* Packed layout: 16 GPRs, rip (8 bytes each), eflags, 6 selectors (4),
 * st0-st7 (10), 8 x87 control words (4), xmm0-15 (16), mxcsr (4),
 * fs_base, gs_base, cr0, cr2, cr3, cr4, cr8, efer (8). */
enum {
	OFF_RIP = 128,
	OFF_EFLAGS = 136,
	OFF_SEG = 140,
	OFF_ST = 164,
	OFF_FPCTL = 244,
	OFF_XMM = 276,
	OFF_MXCSR = 532,
	OFF_BASES = 536,
	OFF_SYS = 552,
};

bool gdb_reg_slot(unsigned n, unsigned *off, unsigned *size)
{
	if (n < 17) {
		*off = 8 * n, *size = 8;
	} else if (n < 24) {
		*off = OFF_EFLAGS + 4 * (n - 17), *size = 4;
	} else if (n < 32) {
		*off = OFF_ST + 10 * (n - 24), *size = 10;
	} else if (n < 40) {
		*off = OFF_FPCTL + 4 * (n - 32), *size = 4;
	} else if (n < 56) {
		*off = OFF_XMM + 16 * (n - 40), *size = 16;
	} else if (n == 56) {
		*off = OFF_MXCSR, *size = 4;
	} else if (n < 65) {
		*off = OFF_BASES + 8 * (n - 57), *size = 8;
	} else {
		return false;
	}
	return true;
}

static void put(u8 *out, unsigned off, u64 v, unsigned size)
{
	memcpy(out + off, &v, size); /* x86 hosts: little-endian, as gdb wants */
}

static u64 fx16(const u8 *fx, unsigned off)
{
	u16 v;

	memcpy(&v, fx + off, 2);
	return v;
}

static u64 fx64(const u8 *fx, unsigned off)
{
	u64 v;

	memcpy(&v, fx + off, 8);
	return v;
}

void gdb_regs_encode(const struct x86_vcpu_state *vs, u8 out[GDB_REGS_SIZE])
{
	const struct x86_state *st = &vs->st;
	const u8 *fx = vs->fxsave; /* FXSAVE image, SDM Vol. 1 Table 10-2 (64-bit) */
	u64 ftag = 0;

	memset(out, 0, GDB_REGS_SIZE);
	for (unsigned i = 0; i < 16; i++)
		put(out, 8 * i, st->regs.gpr[gpr_order[i]], 8);
	put(out, OFF_RIP, st->regs.rip, 8);
	put(out, OFF_EFLAGS, st->regs.rflags, 4);
	for (unsigned i = 0; i < 6; i++)
		put(out, OFF_SEG + 4 * i, st->sregs.seg[seg_order[i]].selector, 4);
	for (unsigned i = 0; i < 8; i++)
		memcpy(out + OFF_ST + 10 * i, fx + 32 + 16 * i, 10);
	/* The abridged tag (a bit per register) as the full one: valid or empty. */
	for (unsigned i = 0; i < 8; i++)
		ftag |= (u64)((fx[4] >> i) & 1 ? 0 : 3) << (2 * i);
	put(out, OFF_FPCTL, fx16(fx, 0), 4);              /* fctrl */
	put(out, OFF_FPCTL + 4, fx16(fx, 2), 4);          /* fstat */
	put(out, OFF_FPCTL + 8, ftag, 4);                 /* ftag */
	put(out, OFF_FPCTL + 12, 0, 4);                   /* fiseg */
	put(out, OFF_FPCTL + 16, fx64(fx, 8), 4);         /* fioff */
	put(out, OFF_FPCTL + 20, 0, 4);                   /* foseg */
	put(out, OFF_FPCTL + 24, fx64(fx, 16), 4);        /* fooff */
	put(out, OFF_FPCTL + 28, fx16(fx, 6) & 0x7ff, 4); /* fop */
	memcpy(out + OFF_XMM, fx + 160, 256);
	memcpy(out + OFF_MXCSR, fx + 24, 4);
	put(out, OFF_BASES, st->sregs.seg[X86_FS].base, 8);
	put(out, OFF_BASES + 8, st->sregs.seg[X86_GS].base, 8);
	put(out, OFF_SYS, st->sregs.cr0, 8);
	put(out, OFF_SYS + 8, st->sregs.cr2, 8);
	put(out, OFF_SYS + 16, st->sregs.cr3, 8);
	put(out, OFF_SYS + 24, st->sregs.cr4, 8);
	put(out, OFF_SYS + 32, st->sregs.cr8, 8);
	put(out, OFF_SYS + 40, st->sregs.efer, 8);
}

void gdb_regs_decode(const u8 in[GDB_REGS_SIZE], struct x86_regs *regs)
{
	u32 fl;

	for (unsigned i = 0; i < 16; i++)
		memcpy(&regs->gpr[gpr_order[i]], in + 8 * i, 8);
	memcpy(&regs->rip, in + OFF_RIP, 8);
	memcpy(&fl, in + OFF_EFLAGS, 4);
	regs->rflags = (regs->rflags & ~0xffffffffULL) | fl | 2; /* bit 1 reads as 1 */
}

static const char xml_head[] =
    "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
    "<target version=\"1.0\">\n<architecture>i386:x86-64</architecture>\n";

const char *gdb_target_xml(void)
{
	static char xml[6144];
	static const char *const gprs[16] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi",
					     "rbp", "rsp", "r8",  "r9",  "r10", "r11",
					     "r12", "r13", "r14", "r15"};
	static const char *const segs[6] = {"cs", "ss", "ds", "es", "fs", "gs"};
	static const char *const fpctl[8] = {"fctrl", "fstat", "ftag",  "fiseg",
					     "fioff", "foseg", "fooff", "fop"};
	static const char *const sys[6] = {"cr0", "cr2", "cr3", "cr4", "cr8", "efer"};
	size_t n;

	if (xml[0])
		return xml;
	n = (size_t)snprintf(xml, sizeof(xml), "%s<feature name=\"org.gnu.gdb.i386.core\">\n",
			     xml_head);
#define ADD(...) n += (size_t)snprintf(xml + n, sizeof(xml) - n, __VA_ARGS__)
	for (unsigned i = 0; i < 16; i++)
		ADD("<reg name=\"%s\" bitsize=\"64\" type=\"%s\"/>\n", gprs[i],
		    i == 6 || i == 7 ? "data_ptr" : "int64");
	ADD("<reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\"/>\n");
	ADD("<reg name=\"eflags\" bitsize=\"32\" type=\"int32\"/>\n");
	for (unsigned i = 0; i < 6; i++)
		ADD("<reg name=\"%s\" bitsize=\"32\" type=\"int32\"/>\n", segs[i]);
	for (unsigned i = 0; i < 8; i++)
		ADD("<reg name=\"st%u\" bitsize=\"80\" type=\"i387_ext\"/>\n", i);
	for (unsigned i = 0; i < 8; i++)
		ADD("<reg name=\"%s\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n", fpctl[i]);
	ADD("</feature>\n<feature name=\"org.gnu.gdb.i386.sse\">\n"
	    "<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>\n"
	    "<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>\n"
	    "<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>\n"
	    "<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>\n"
	    "<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>\n"
	    "<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>\n"
	    "<union id=\"vec128\"><field name=\"v4_float\" type=\"v4f\"/>"
	    "<field name=\"v2_double\" type=\"v2d\"/><field name=\"v16_int8\" type=\"v16i8\"/>"
	    "<field name=\"v8_int16\" type=\"v8i16\"/><field name=\"v4_int32\" type=\"v4i32\"/>"
	    "<field name=\"v2_int64\" type=\"v2i64\"/>"
	    "<field name=\"uint128\" type=\"uint128\"/></union>\n");
	for (unsigned i = 0; i < 16; i++)
		ADD("<reg name=\"xmm%u\" bitsize=\"128\" type=\"vec128\"/>\n", i);
	ADD("<reg name=\"mxcsr\" bitsize=\"32\" type=\"int\" group=\"vector\"/>\n"
	    "</feature>\n<feature name=\"org.gnu.gdb.i386.segments\">\n"
	    "<reg name=\"fs_base\" bitsize=\"64\" type=\"int\"/>\n"
	    "<reg name=\"gs_base\" bitsize=\"64\" type=\"int\"/>\n"
	    "</feature>\n<feature name=\"org.popek.x86.system\">\n");
	for (unsigned i = 0; i < 6; i++)
		ADD("<reg name=\"%s\" bitsize=\"64\" type=\"int\" group=\"system\"/>\n", sys[i]);
	ADD("</feature>\n</target>\n");
#undef ADD
	return xml;
}
