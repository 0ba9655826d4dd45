/* Paging (Intel SDM Vol. 3A ch. 4: 32-bit, PAE, 4-level) and the slow paths
 * of guest memory access: TLB fill, page-crossing splits, MMIO. */
#include <string.h>

#include "core/machine.h"
#include "cpu/soft/irqchip/irqchip.h"
#include "cpu/soft/mmu/mmu.h"
#include "cpu/soft/sys/sys.h"
#include "popek/log.h"

/* Paging-structure entry bits (SDM Vol. 3A 4.3, 4.4.2, 4.5.4). */
#define PTE_P  (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_US (1ULL << 2)
#define PTE_A  (1ULL << 5)
#define PTE_D  (1ULL << 6)
#define PTE_PS (1ULL << 7)
#define PTE_G  (1ULL << 8)
#define PTE_XD (1ULL << 63)

/* #PF error code bits (SDM Vol. 3A 4.7). */
#define PF_P    (1u << 0)
#define PF_W    (1u << 1)
#define PF_U    (1u << 2)
#define PF_RSVD (1u << 3)
#define PF_ID   (1u << 4)
#define PF_PK   (1u << 5)

/* Protection key of a 4-level paging leaf (SDM Vol. 3A 4.6.2). */
#define PTE_PKEY_SHIFT 59

#define PA_MASK (((1ULL << SOFT_MAXPHYADDR) - 1) & ~0xfffULL)

/* A successful walk: the translation and which accesses of the walk's
 * privilege the rights allow now (what a TLB entry may cache). */
struct soft_walk {
	u64 gpa;
	bool readable, writable, executable, dirty, global;
	unsigned shift;
	unsigned pkey; /* protection key + 1 when PKRU took part in the rights, else 0 */
};

static u64 pte_load(struct soft_cpu *cpu, u64 gpa, unsigned size, u8 **host)
{
	u8 *p = guest_mem_ptr(&cpu->m->mem, gpa, size);
	u64 v;

	*host = p;
	if (p)
		return size == 8 ? __atomic_load_n((u64 *)p, __ATOMIC_ACQUIRE)
				 : __atomic_load_n((u32 *)p, __ATOMIC_ACQUIRE);
	/* Page tables outside RAM: read through the bus, never updated. */
	bus_read(&cpu->m->mmio, gpa, size, &v);
	return v;
}

/* Sets bits in the entry at host if it still holds old (SDM Vol. 3A 4.8:
 * the update is atomic), and marks its page in the dirty log. Returns false
 * when the entry changed: re-walk. */
static bool pte_set(const struct guest_mem *mem, u8 *host, unsigned size, u64 old, u64 bits)
{
	bool ok;

	if (!host || (old & bits) == bits)
		return true;
	if (size == 8) {
		u64 exp = old;
		ok = __atomic_compare_exchange_n((u64 *)host, &exp, old | bits, false,
						 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	} else {
		u32 exp32 = (u32)old;
		ok = __atomic_compare_exchange_n((u32 *)host, &exp32, (u32)(old | bits), false,
						 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	}
	if (ok && __builtin_expect(mem->dirty != NULL, 0))
		guest_mem_dirty_mark_host(mem, host, size);
	return ok;
}

/* Which accesses the rights of SDM Vol. 3A 4.6 allow to a page whose
 * paging-structure entries combine to us (U/S), rw (R/W) and xd, with leaf
 * e, for privilege priv: sets *r, *w, *x, and in *pk_r, *pk_w whether the
 * protection key alone forbids a read or a write (the #PF error code's PK
 * bit, SDM Vol. 3A 4.7). Returns the page's key + 1 when PKRU takes part
 * in its rights (a TLB entry then depends on that key's PKRU bits), else 0. */
static unsigned mmu_rights(const struct soft_cpu *cpu, unsigned priv, bool us, bool rw, bool xd,
			   u64 e, bool *r, bool *w, bool *x, bool *pk_r, bool *pk_w)
{
	const bool wp = cpu->cr0 & X86_CR0_WP, user = priv == SOFT_PRIV_USER;

	*pk_r = *pk_w = false;
	if (user) {
		*r = us;
		*w = us && rw;
		*x = us && !xd;
	} else {
		/* Supervisor: R/W counts only with CR0.WP. On a user-mode
		 * address (U/S = 1 at every level) SMEP forbids fetches and SMAP
		 * data accesses, unless the bank is the explicit one of
		 * EFLAGS.AC = 1 (SDM Vol. 3A 4.6.1). */
		*r = !(us && (cpu->cr4 & X86_CR4_SMAP) && priv != SOFT_PRIV_SUP_AC);
		*w = *r && (rw || !wp);
		*x = !xd && !(us && (cpu->cr4 & X86_CR4_SMEP));
	}
	/* Protection keys (SDM Vol. 3A 4.6.2): 4-level paging, user-mode
	 * addresses, data accesses of either privilege; WD binds supervisor
	 * writes only with CR0.WP. */
	if (!us || !(cpu->cr4 & X86_CR4_PKE) || !(cpu->efer & X86_EFER_LMA))
		return 0;
	unsigned key = (unsigned)(e >> PTE_PKEY_SHIFT) & 15, kr = cpu->pkru >> (2 * key);
	*pk_r = kr & 1;
	*pk_w = (kr & 1) || ((kr & 2) && (user || wp));
	*r = *r && !*pk_r;
	*w = *w && !*pk_w;
	return key + 1;
}

/* Walks the paging structures for lin. Returns true with *w filled, or
 * false with the #PF error code in *err. */
static bool mmu_walk(struct soft_cpu *cpu, u64 lin, enum soft_access acc, unsigned priv,
		     struct soft_walk *w, u32 *err)
{
	static const u8 sh4[] = {39, 30, 21, 12}, sh2[] = {22, 12}, shpae[] = {21, 12};
	const bool nxe = cpu->efer & X86_EFER_NXE;
	u32 ecode = (acc == SOFT_ACC_WRITE ? PF_W : 0) | (priv == SOFT_PRIV_USER ? PF_U : 0);
	const u8 *shifts;
	unsigned nlev, esize, lvl;
	u64 table, rsvd, e = 0;
	u8 *host = NULL;

	if (!(cpu->cr0 & X86_CR0_PG)) {
		*w = (struct soft_walk){lin, true, true, true, true, false, 12, 0};
		return true;
	}
	/* I/D (SDM Vol. 3A 4.7): fetches, when SMEP or PAE-style NX is on. */
	if (acc == SOFT_ACC_FETCH &&
	    ((nxe && (cpu->cr4 & X86_CR4_PAE)) || (cpu->cr4 & X86_CR4_SMEP)))
		ecode |= PF_ID;
retry:;
	bool rw = true, us = true, xd = false;
	if (cpu->efer & X86_EFER_LMA) {
		shifts = sh4, nlev = 4, esize = 8;
		table = cpu->cr3 & PA_MASK;
		rsvd = ((1ULL << 52) - 1) & ~((1ULL << SOFT_MAXPHYADDR) - 1);
		if (!nxe)
			rsvd |= PTE_XD;
	} else if (cpu->cr4 & X86_CR4_PAE) {
		u64 pdpte = cpu->tlb.pdpte[(lin >> 30) & 3];
		if (!(pdpte & PTE_P)) {
			*err = ecode;
			return false;
		}
		shifts = shpae, nlev = 2, esize = 8;
		table = pdpte & PA_MASK;
		rsvd = ~0ULL << SOFT_MAXPHYADDR; /* bits 62:M, and 63 without NXE */
		if (nxe)
			rsvd &= ~PTE_XD;
	} else {
		shifts = sh2, nlev = 2, esize = 4;
		table = cpu->cr3 & 0xfffff000ULL;
		rsvd = 0;
	}
	for (lvl = 0; lvl < nlev; lvl++) {
		unsigned sh = shifts[lvl];
		u64 idx = (lin >> sh) & (esize == 8 ? 0x1ff : 0x3ff);
		bool leaf = sh == 12;

		e = pte_load(cpu, table + idx * esize, esize, &host);
		if (!(e & PTE_P)) {
			*err = ecode;
			return false;
		}
		if (e & rsvd)
			goto reserved;
		if (!leaf && (e & PTE_PS)) {
			if (esize == 4) {
				/* 4 MiB page only with CR4.PSE; PSE-36 bits 13..(M-20), then
				 * reserved up to bit 21 (SDM Vol. 3A Table 4-4). */
				if (cpu->cr4 & X86_CR4_PSE) {
					if (e & (((1ULL << 22) - 1) &
						 ~((1ULL << (SOFT_MAXPHYADDR - 19)) - 1)))
						goto reserved;
					leaf = true;
				}
			} else if (sh == 39) {
				goto reserved; /* PS is reserved in a PML4E */
			} else {
				/* 1 GiB / 2 MiB page: bits sh-1..13 are reserved. */
				if (e & (((1ULL << sh) - 1) & ~0x1fffULL))
					goto reserved;
				leaf = true;
			}
		}
		rw &= (e & PTE_RW) != 0;
		us &= (e & PTE_US) != 0;
		if (esize == 8 && nxe)
			xd |= (e & PTE_XD) != 0;
		if (leaf) {
			u64 size = 1ULL << sh;
			if (esize == 4 && sh == 22)
				w->gpa = (e & 0xffc00000ULL) | (((e >> 13) & 0x7f) << 32);
			else
				w->gpa =
				    (esize == 8 ? e & PA_MASK : e & 0xfffff000ULL) & ~(size - 1);
			w->gpa |= lin & (size - 1);
			w->shift = sh;
			break;
		}
		/* Non-leaf entries are marked accessed as they are used (SDM 4.8). */
		if (!pte_set(&cpu->m->mem, host, esize, e, PTE_A))
			goto retry;
		table = esize == 8 ? e & PA_MASK : e & 0xfffff000ULL;
	}

	/* Access rights (SDM Vol. 3A 4.6). */
	bool r_ok, w_ok, x_ok, pk_r, pk_w;
	w->pkey = mmu_rights(cpu, priv, us, rw, xd, e, &r_ok, &w_ok, &x_ok, &pk_r, &pk_w);
	if (!(acc == SOFT_ACC_READ ? r_ok : acc == SOFT_ACC_WRITE ? w_ok : x_ok)) {
		*err = ecode | PF_P;
		if (acc == SOFT_ACC_READ ? pk_r : acc == SOFT_ACC_WRITE && pk_w)
			*err |= PF_PK;
		return false;
	}
	if (!pte_set(&cpu->m->mem, host, esize, e, PTE_A | (acc == SOFT_ACC_WRITE ? PTE_D : 0)))
		goto retry;
	w->readable = r_ok;
	w->writable = w_ok;
	w->executable = x_ok;
	w->dirty = acc == SOFT_ACC_WRITE || (e & PTE_D);
	w->global = (e & PTE_G) && (cpu->cr4 & X86_CR4_PGE);
	return true;

reserved:
	*err = ecode | PF_P | PF_RSVD;
	return false;
}

static void mmu_check_canonical(struct soft_cpu *cpu, u64 lin)
{
	if ((cpu->efer & X86_EFER_LMA) && !soft_canonical(lin))
		soft_raise(cpu, EXC_GP, 0);
}

u64 soft_translate(struct soft_cpu *cpu, u64 lin, enum soft_access acc, unsigned priv)
{
	struct soft_walk w;
	u32 err;

	mmu_check_canonical(cpu, lin);
	if (!mmu_walk(cpu, lin, acc, priv, &w, &err)) {
		cpu->cr2 = lin;
		soft_raise(cpu, EXC_PF, err);
	}
	return w.gpa;
}

/* Host pointer for lin (NULL when the page is not RAM) and its gpa; fills
 * the TLB on a miss. Raises #PF/#GP. */
static u8 *lin_page(struct soft_cpu *cpu, u64 lin, enum soft_access acc, unsigned priv, u64 *gpa)
{
	struct soft_tlb_entry *e = soft_tlb_slot(cpu, lin, priv);
	struct soft_walk w;
	u32 err, flags;
	u8 *host;

	if (e->tag[acc] == (lin & ~0xfffULL)) {
		*gpa = e->gpa | (lin & 0xfff);
		return e->host + (lin & 0xfff);
	}
	cpu->stat_tlb_misses++;
	mmu_check_canonical(cpu, lin);
	if (!mmu_walk(cpu, lin, acc, priv, &w, &err)) {
		cpu->cr2 = lin;
		soft_raise(cpu, EXC_PF, err);
	}
	*gpa = w.gpa;
	host = guest_mem_ptr_flags(&cpu->m->mem, w.gpa & ~0xfffULL, 4096, &flags);
	if (!host)
		return NULL; /* MMIO: never cached */
	/* A read-only pmem page: its writes go to the bus, which drops them. */
	bool read_only = flags & GUEST_MEM_READONLY;
	if (read_only && acc == SOFT_ACC_WRITE)
		return NULL;
	if (__builtin_expect(cpu->db_data, 0) && soft_debug_page_watched(cpu, lin))
		return host + (lin & 0xfff); /* each access is checked (db_check) */
	/* With the dirty log on, a write tag comes only from a write, which
	 * marks the page first: a page is written fast only while marked, and
	 * taking the log drops every write tag (dirty_log_sync). */
	bool logged = cpu->m->mem.dirty != NULL;
	if (logged && acc == SOFT_ACC_WRITE)
		guest_mem_dirty_mark_host(&cpu->m->mem, host, 4096);
	soft_tlb_fill(&cpu->tlb, lin, priv, host, w.gpa, w.readable,
		      w.writable && w.dirty && !cpu->tlb.no_write && !read_only &&
			  (!logged || acc == SOFT_ACC_WRITE),
		      w.executable, w.global, w.shift, w.pkey);
	return host + (lin & 0xfff);
}

/* A data access the debug registers may watch (sys/debug.c). */
static inline void db_check(struct soft_cpu *cpu, u64 lin, unsigned len, enum soft_access acc)
{
	if (__builtin_expect(cpu->db_data, 0) && acc != SOFT_ACC_FETCH)
		soft_debug_data(cpu, lin, len, acc == SOFT_ACC_WRITE);
}

/* The lockstep check logs what a run writes, before it does (host: NULL for
 * MMIO, which it does not log). */
static inline void write_logged(struct soft_cpu *cpu, u8 *host, u64 gpa, unsigned len)
{
	if (__builtin_expect(cpu->lockstep != NULL, 0) && host)
		soft_lockstep_write(cpu, host, gpa, len);
}

/* An access split at the page boundary: both parts translated up front. */
struct lin_parts {
	unsigned n;
	u8 *host[2];
	u64 gpa[2];
	unsigned len[2];
};

static void lin_prepare(struct soft_cpu *cpu, u64 lin, unsigned len, enum soft_access acc,
			unsigned priv, struct lin_parts *p)
{
	unsigned first = 4096 - (lin & 0xfff);

	if (len > 4096)
		soft_raise(cpu, EXC_GP, 0); /* callers never ask for more */
	p->n = 1;
	p->len[0] = MIN(first, len);
	p->host[0] = lin_page(cpu, lin, acc, priv, &p->gpa[0]);
	if (len > first) {
		u64 lin2 = lin + first;
		if (cpu->mode != SOFT_MODE_LONG64)
			lin2 &= 0xffffffffULL; /* linear addresses wrap at 4 GiB */
		p->n = 2;
		p->len[1] = len - first;
		p->host[1] = lin_page(cpu, lin2, acc, priv, &p->gpa[1]);
	}
	if (acc == SOFT_ACC_WRITE)
		for (unsigned i = 0; i < p->n; i++)
			write_logged(cpu, p->host[i], p->gpa[i], p->len[i]);
	db_check(cpu, lin, len, acc);
}

/* A device access: the vCPU's own xAPIC page, else the MMIO bus. */
static u64 phys_io_read(struct soft_cpu *cpu, u64 gpa, unsigned size)
{
	u64 v;

	cpu->stat_side++;
	if (cpu->lapic && soft_lapic_is_mmio(cpu->lapic, gpa))
		return soft_lapic_mmio_read(cpu->lapic, gpa & 0xfff, size, soft_now_ns(cpu));
	bus_read(&cpu->m->mmio, gpa, size, &v);
	return v;
}

static void phys_io_write(struct soft_cpu *cpu, u64 gpa, unsigned size, u64 v)
{
	cpu->stat_side++;
	if (cpu->lapic && soft_lapic_is_mmio(cpu->lapic, gpa)) {
		soft_lapic_mmio_write(cpu->lapic, gpa & 0xfff, size, v, soft_now_ns(cpu));
		/* An IPI to self, an EOI or a lower TPR: the run loop looks at
		 * interrupts before the next instruction, as after the x2APIC
		 * MSR writes (system_insn.c) and as KVM does. */
		cpu->exec_stop = true;
	} else {
		bus_write(&cpu->m->mmio, gpa, size, v);
	}
}

static unsigned mmio_piece(u64 left)
{
	return left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
}

static void mmio_read(struct soft_cpu *cpu, u64 gpa, u8 *dst, unsigned len)
{
	while (len) {
		unsigned n = mmio_piece(len);
		u64 v = phys_io_read(cpu, gpa, n);
		memcpy(dst, &v, n); /* little-endian host */
		gpa += n, dst += n, len -= n;
	}
}

static void mmio_write(struct soft_cpu *cpu, u64 gpa, const u8 *src, unsigned len)
{
	while (len) {
		unsigned n = mmio_piece(len);
		u64 v = 0;
		memcpy(&v, src, n);
		phys_io_write(cpu, gpa, n, v);
		gpa += n, src += n, len -= n;
	}
}

static void parts_read(struct soft_cpu *cpu, const struct lin_parts *p, u8 *dst)
{
	for (unsigned i = 0; i < p->n; i++) {
		if (p->host[i])
			memcpy(dst, p->host[i], p->len[i]);
		else
			mmio_read(cpu, p->gpa[i], dst, p->len[i]);
		dst += p->len[i];
	}
}

void soft_lin_read(struct soft_cpu *cpu, u64 lin, void *dst, unsigned len, enum soft_access acc,
		   unsigned priv)
{
	struct lin_parts p;

	lin_prepare(cpu, lin, len, acc, priv, &p);
	parts_read(cpu, &p, dst);
}

void soft_lin_write(struct soft_cpu *cpu, u64 lin, const void *src, unsigned len, unsigned priv)
{
	const u8 *s = src;
	struct lin_parts p;

	lin_prepare(cpu, lin, len, SOFT_ACC_WRITE, priv, &p);
	for (unsigned i = 0; i < p.n; i++) {
		if (!p.host[i]) {
			mmio_write(cpu, p.gpa[i], s, p.len[i]);
		} else {
			memcpy(p.host[i], s, p.len[i]);
			struct soft_codemap *code = cpu->tlb.code;
			if (soft_codemap_test(code, p.gpa[i]) && code->written)
				code->written(code->opaque, p.gpa[i], p.len[i]);
		}
		s += p.len[i];
	}
}

u64 soft_lin_read_slow(struct soft_cpu *cpu, u64 lin, unsigned size, unsigned priv)
{
	u64 v = 0;

	if (soft_in_page(lin, size)) {
		u64 gpa;
		u8 *host = lin_page(cpu, lin, SOFT_ACC_READ, priv, &gpa);
		db_check(cpu, lin, size, SOFT_ACC_READ);
		if (host)
			return soft_host_load(host, size);
		return phys_io_read(cpu, gpa, size); /* one device access */
	}
	soft_lin_read(cpu, lin, &v, size, SOFT_ACC_READ, priv);
	return v;
}

void soft_lin_write_slow(struct soft_cpu *cpu, u64 lin, unsigned size, u64 value, unsigned priv)
{
	if (soft_in_page(lin, size)) {
		u64 gpa;
		u8 *host = lin_page(cpu, lin, SOFT_ACC_WRITE, priv, &gpa);
		db_check(cpu, lin, size, SOFT_ACC_WRITE);
		if (!host) {
			phys_io_write(cpu, gpa, size, value);
			return;
		}
		write_logged(cpu, host, gpa, size);
		soft_host_store(host, size, value);
		struct soft_codemap *code = cpu->tlb.code;
		if (soft_codemap_test(code, gpa) && code->written)
			code->written(code->opaque, gpa, size);
		return;
	}
	soft_lin_write(cpu, lin, &value, size, priv);
}

/* ---- the cpu.h memory interface ---- */

u64 soft_read(struct soft_cpu *cpu, int seg, u64 offset, unsigned size)
{
	return soft_mem_read(cpu, seg, offset, size);
}

void soft_write(struct soft_cpu *cpu, int seg, u64 offset, unsigned size, u64 value)
{
	soft_mem_write(cpu, seg, offset, size, value);
}

void soft_read_buf(struct soft_cpu *cpu, int seg, u64 offset, void *dst, unsigned len)
{
	u64 lin = soft_mem_linear(cpu, seg, offset, len, SOFT_ACC_READ);

	soft_lin_read(cpu, lin, dst, len, SOFT_ACC_READ, cpu->dpriv);
}

void soft_write_buf(struct soft_cpu *cpu, int seg, u64 offset, const void *src, unsigned len)
{
	u64 lin = soft_mem_linear(cpu, seg, offset, len, SOFT_ACC_WRITE);

	soft_lin_write(cpu, lin, src, len, cpu->dpriv);
}

u64 soft_read_for_write(struct soft_cpu *cpu, int seg, u64 offset, unsigned size)
{
	u64 lin = soft_mem_linear(cpu, seg, offset, size, SOFT_ACC_WRITE);
	struct lin_parts p;
	u64 v = 0;

	lin_prepare(cpu, lin, size, SOFT_ACC_WRITE, cpu->dpriv, &p);
	if (p.n == 1 && !p.host[0])
		v = phys_io_read(cpu, p.gpa[0], size);
	else
		parts_read(cpu, &p, (u8 *)&v);
	return v;
}

void soft_check_access(struct soft_cpu *cpu, int seg, u64 off, unsigned len, enum soft_access acc)
{
	u64 lin = soft_mem_linear(cpu, seg, off, len, acc);
	struct lin_parts p;

	lin_prepare(cpu, lin, len, acc, acc == SOFT_ACC_FETCH ? cpu->cpl == 3 : cpu->dpriv, &p);
}

static u64 sys_linear(const struct soft_cpu *cpu, u64 linear)
{
	/* Descriptor-table bases are 64-bit in IA-32e mode, 32-bit otherwise. */
	return (cpu->efer & X86_EFER_LMA) ? linear : linear & 0xffffffffULL;
}

u64 soft_read_sys(struct soft_cpu *cpu, u64 linear, unsigned size)
{
	return soft_lin_load(cpu, sys_linear(cpu, linear), size, SOFT_PRIV_SUP);
}

void soft_write_sys(struct soft_cpu *cpu, u64 linear, unsigned size, u64 value)
{
	soft_lin_store(cpu, sys_linear(cpu, linear), size, value, SOFT_PRIV_SUP);
}

void soft_fetch(struct soft_cpu *cpu, u64 offset, void *dst, unsigned len)
{
	u64 lin = soft_mem_linear(cpu, X86_CS, offset, len, SOFT_ACC_FETCH);

	soft_lin_read(cpu, lin, dst, len, SOFT_ACC_FETCH, cpu->cpl == 3);
}

const u8 *soft_fetch_ptr(struct soft_cpu *cpu, u64 off, unsigned *avail, gpa_t *gpa)
{
	u64 lin = soft_mem_linear(cpu, X86_CS, off, 1, SOFT_ACC_FETCH);
	u64 n = 4096 - (lin & 0xfff);
	struct soft_tlb_entry *e;
	const u8 *host;

	if (cpu->mode != SOFT_MODE_LONG64)
		n = MIN(n, (u64)cpu->seg[X86_CS].limit - (off & 0xffffffffULL) + 1);
	*avail = (unsigned)n;
	e = soft_tlb_slot(cpu, lin, cpu->cpl == 3);
	if (e->tag[SOFT_ACC_FETCH] == (lin & ~0xfffULL)) {
		*gpa = e->gpa | (lin & 0xfff);
		return e->host + (lin & 0xfff);
	}
	host = lin_page(cpu, lin, SOFT_ACC_FETCH, cpu->cpl == 3, gpa);
	return host;
}

u8 *soft_rmw_ptr(struct soft_cpu *cpu, int seg, u64 off, unsigned size)
{
	u64 lin = soft_mem_linear(cpu, seg, off, size, SOFT_ACC_WRITE);
	u64 gpa;
	u8 *host;

	if (!soft_in_page(lin, size))
		return NULL;
	host = lin_page(cpu, lin, SOFT_ACC_WRITE, cpu->dpriv, &gpa);
	if (!host || soft_codemap_test(cpu->tlb.code, gpa))
		return NULL;
	db_check(cpu, lin, size, SOFT_ACC_WRITE);
	write_logged(cpu, host, gpa, size);
	return host;
}

/* Loads the four PDPTEs for PAE paging from cr3 (SDM Vol. 3A 4.4.1).
 * Returns false when a present PDPTE has reserved bits set (#GP). */
bool soft_mmu_load_pdptes(struct soft_cpu *cpu, u64 cr3)
{
	const u64 rsvd = 0x1e6ULL | (~0ULL << SOFT_MAXPHYADDR);
	u64 pdpte[4];

	for (unsigned i = 0; i < 4; i++) {
		u64 gpa = (cr3 & 0xffffffe0ULL) + i * 8;
		u8 *host;
		pdpte[i] = pte_load(cpu, gpa, 8, &host);
		if ((pdpte[i] & PTE_P) && (pdpte[i] & rsvd))
			return false;
	}
	memcpy(cpu->tlb.pdpte, pdpte, sizeof(pdpte));
	return true;
}
