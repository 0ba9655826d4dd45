/* Software TLB fill/flush and the per-VM map of pages holding decoded code. */
#include "cpu/soft/mmu/tlb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/soft/cpu.h"

static void tlb_entry_clear(struct soft_tlb_entry *e)
{
	/* Relaxed atomic stores: soft_codemap_add() may clear write tags of
	 * another vCPU's TLB concurrently. */
	__atomic_store_n(&e->tag[SOFT_ACC_READ], SOFT_TLB_EMPTY, __ATOMIC_RELAXED);
	__atomic_store_n(&e->tag[SOFT_ACC_WRITE], SOFT_TLB_EMPTY, __ATOMIC_RELAXED);
	__atomic_store_n(&e->tag[SOFT_ACC_FETCH], SOFT_TLB_EMPTY, __ATOMIC_RELAXED);
	e->global = false;
	e->shift = 12;
	e->pkey = 0;
}

static u64 entry_page(const struct soft_tlb_entry *e)
{
	for (unsigned k = 0; k < 3; k++)
		if (e->tag[k] != SOFT_TLB_EMPTY)
			return e->tag[k];
	return SOFT_TLB_EMPTY;
}

int soft_tlb_init(struct soft_tlb *tlb, struct soft_codemap *code)
{
	memset(tlb, 0, sizeof(*tlb));
	tlb->all_stamp = 1; /* no PCID's link generation was kept yet */
	for (unsigned p = 0; p < SOFT_TLB_BANKS; p++)
		for (unsigned i = 0; i < SOFT_TLB_SIZE; i++)
			tlb_entry_clear(&tlb->e[p][i]);
	if (code) {
		if (code->nr_tlbs == ARRAY_SIZE(code->tlbs))
			return -ENOSPC;
		code->tlbs[code->nr_tlbs++] = tlb;
		tlb->code = code;
	}
	return 0;
}

/* Remembers the large mapping lin came from (base | shift) in l. */
static void large_note(struct soft_tlb_list *l, u64 lin, unsigned shift)
{
	u64 key = (lin & ~((1ULL << shift) - 1)) | shift;

	for (unsigned i = 0; i < l->nr_large; i++)
		if (l->large[i] == key)
			return;
	if (l->nr_large == SOFT_TLB_LARGE_MAX)
		l->large_overflow = true;
	else
		l->large[l->nr_large++] = key;
}

static struct soft_tlb_entry *slot_entry(struct soft_tlb *tlb, unsigned slot)
{
	return &tlb->e[slot >> SOFT_TLB_BITS][slot & (SOFT_TLB_SIZE - 1)];
}

/* Empties list k, and its entries but the global ones when keep_global
 * (which are in list 1 as well). */
static void list_flush(struct soft_tlb *tlb, unsigned k, bool keep_global)
{
	struct soft_tlb_list *l = &tlb->list[k];

	for (unsigned i = 0; i < l->n; i++) {
		struct soft_tlb_entry *e = slot_entry(tlb, l->slot[i]);
		e->listed &= (u8)~(1u << k);
		if (!(keep_global && e->global))
			tlb_entry_clear(e);
	}
	l->n = 0;
	l->nr_large = 0;
	l->large_overflow = false;
}

/* Drops every entry, or every non-global one when keep_global; moves the
 * link generations for the current PCID (and the global pages' unless
 * keep_global), or for all PCIDs when all. */
static void flush(struct soft_cpu *cpu, bool keep_global, bool all)
{
	struct soft_tlb *tlb = &cpu->tlb;

	if (all)
		soft_tlb_gen_move_all(tlb);
	else
		soft_tlb_gen_move(tlb, !keep_global);
	/* Entries off the lists are empty: only listed ones need clearing. */
	list_flush(tlb, 0, keep_global);
	if (!keep_global)
		list_flush(tlb, 1, false);
}

void soft_tlb_flush(struct soft_cpu *cpu, bool keep_global)
{
	flush(cpu, keep_global, !keep_global);
}

/* The slot of PCID pcid in tlb.space: Linux's PCIDs for page-table
 * isolation (2048 + n, n of 1-6) do not share one with its others (n). */
static unsigned space_slot(unsigned pcid)
{
	return (pcid ^ pcid >> 8) % ARRAY_SIZE(((struct soft_tlb *)0)->space);
}

void soft_tlb_cr3_written(struct soft_cpu *cpu, unsigned old, unsigned pcid, bool keep)
{
	struct soft_tlb *tlb = &cpu->tlb;
	struct soft_tlb_space *s = &tlb->space[space_slot(old)];

	*s = (struct soft_tlb_space){.gen = tlb->link_gen, .stamp = tlb->all_stamp,
				     .pcid = (u16)old};
	/* SDM Vol. 3A 4.10.4.1: global entries survive when CR4.PGE = 1; the
	 * other PCIDs' translations survive (this TLB drops them all the same). */
	flush(cpu, cpu->cr4 & X86_CR4_PGE, false);
	s = &tlb->space[space_slot(pcid)];
	if (keep && s->pcid == pcid && s->stamp == tlb->all_stamp)
		tlb->link_gen = (s->gen & ~3ULL) | (tlb->link_gen & 3);
}

/* Drops every 4 KiB piece of the large mapping key (base | shift). */
static void flush_large(struct soft_tlb *tlb, u64 key)
{
	unsigned shift = key & 0xfff;
	u64 base = key & ~0xfffULL, mask = ~((1ULL << shift) - 1);

	for (unsigned p = 0; p < SOFT_TLB_BANKS; p++) {
		for (unsigned i = 0; i < SOFT_TLB_SIZE; i++) {
			struct soft_tlb_entry *e = &tlb->e[p][i];
			if (e->shift == shift && (entry_page(e) & mask) == base)
				tlb_entry_clear(e);
		}
	}
}

void soft_tlb_flush_page(struct soft_cpu *cpu, u64 lin)
{
	struct soft_tlb *tlb = &cpu->tlb;
	u64 page = lin & ~0xfffULL;
	unsigned idx = soft_tlb_index(lin);
	/* Pieces of a global large mapping may go. */
	bool globals = tlb->list[1].large_overflow || tlb->list[1].nr_large;

	for (unsigned p = 0; p < SOFT_TLB_BANKS; p++) {
		if (entry_page(&tlb->e[p][idx]) == page) {
			globals |= tlb->e[p][idx].global;
			tlb_entry_clear(&tlb->e[p][idx]);
		}
	}
	soft_tlb_gen_move(tlb, globals);
	/* The other pieces of a large mapping live at other indexes. */
	if (tlb->list[0].large_overflow || tlb->list[1].large_overflow) {
		for (unsigned p = 0; p < SOFT_TLB_BANKS; p++) {
			for (unsigned i = 0; i < SOFT_TLB_SIZE; i++) {
				struct soft_tlb_entry *e = &tlb->e[p][i];
				u64 mask = ~((1ULL << e->shift) - 1);
				if (e->shift > 12 && (entry_page(e) & mask) == (lin & mask))
					tlb_entry_clear(e);
			}
		}
		return;
	}
	for (unsigned k = 0; k < 2; k++) {
		struct soft_tlb_list *l = &tlb->list[k];
		for (unsigned i = 0; i < l->nr_large;) {
			u64 key = l->large[i];
			u64 mask = ~((1ULL << (key & 0xfff)) - 1);
			if ((lin & mask) != (key & ~0xfffULL)) {
				i++;
				continue;
			}
			flush_large(tlb, key);
			l->large[i] = l->large[--l->nr_large];
		}
	}
}

void soft_tlb_flush_pkeys(struct soft_cpu *cpu, unsigned keys)
{
	struct soft_tlb *tlb = &cpu->tlb;

	soft_tlb_gen_move(tlb, true);
	/* Entries stay listed (empty ones may be): the next flush unlists them. */
	for (unsigned k = 0; k < 2; k++) {
		for (unsigned i = 0; i < tlb->list[k].n; i++) {
			struct soft_tlb_entry *e = slot_entry(tlb, tlb->list[k].slot[i]);
			if (e->pkey && (keys >> (e->pkey - 1) & 1))
				tlb_entry_clear(e);
		}
	}
}

void soft_tlb_drop_write_tags(struct soft_tlb *tlb)
{
	for (unsigned k = 0; k < 2; k++)
		for (unsigned i = 0; i < tlb->list[k].n; i++)
			__atomic_store_n(&slot_entry(tlb, tlb->list[k].slot[i])->tag[SOFT_ACC_WRITE],
					 SOFT_TLB_EMPTY, __ATOMIC_RELAXED);
}

void soft_tlb_fill(struct soft_tlb *tlb, u64 lin, unsigned priv, u8 *host, u64 gpa, bool readable,
		   bool writable, bool executable, bool global, unsigned shift, unsigned pkey)
{
	u64 page = lin & ~0xfffULL;
	unsigned idx = soft_tlb_index(lin);
	struct soft_tlb_entry *e = &tlb->e[priv][idx];

	/* Keep the tags of the same page that an earlier fill set (e.g. a read
	 * entry stays when a write fills the write tag). */
	if (entry_page(e) != page || e->gpa != (gpa & ~0xfffULL)) {
		if (entry_page(e) == page) {
			soft_tlb_gen_move(tlb, true); /* the same page, now elsewhere */
		}
		tlb_entry_clear(e);
	}
	struct soft_tlb_list *l = &tlb->list[global];
	if (!(e->listed & (1u << global))) {
		e->listed |= (u8)(1u << global);
		l->slot[l->n++] = (u16)(priv << SOFT_TLB_BITS | idx);
	}
	e->host = host;
	e->addend = (u64)(uintptr_t)host - page;
	e->pkey = (u8)pkey;
	__atomic_store_n(&e->gpa, gpa & ~0xfffULL, __ATOMIC_RELAXED);
	e->shift = (u8)shift;
	e->global = global;
	if (shift > 12)
		large_note(l, lin, shift);
	if (writable && soft_codemap_test(tlb->code, e->gpa))
		writable = false;
	if (readable)
		__atomic_store_n(&e->tag[SOFT_ACC_READ], page, __ATOMIC_RELAXED);
	if (writable)
		__atomic_store_n(&e->tag[SOFT_ACC_WRITE], page, __ATOMIC_SEQ_CST);
	if (executable)
		__atomic_store_n(&e->tag[SOFT_ACC_FETCH], page, __ATOMIC_RELAXED);
	/* A page that became a code page meanwhile must not keep a write tag. */
	if (writable && soft_codemap_test(tlb->code, e->gpa))
		__atomic_store_n(&e->tag[SOFT_ACC_WRITE], SOFT_TLB_EMPTY, __ATOMIC_RELAXED);
}

int soft_codemap_init(struct soft_codemap *map, const struct guest_mem *mem,
		      soft_code_written_fn *written, void *opaque)
{
	u64 end = 0;

	memset(map, 0, sizeof(*map));
	for (unsigned i = 0; i < mem->nr_mapped; i++)
		end = MAX(end, mem->regions[i].gpa + mem->regions[i].size);
	map->npages = end >> 12;
	map->bits = calloc((map->npages + 63) / 64 + 1, sizeof(u64));
	if (!map->bits)
		return -ENOMEM;
	map->written = written;
	map->opaque = opaque;
	return 0;
}

void soft_codemap_destroy(struct soft_codemap *map)
{
	free(map->bits);
	memset(map, 0, sizeof(*map));
}

bool soft_codemap_add(struct soft_codemap *map, gpa_t gpa)
{
	u64 pg = gpa >> 12, bit;

	if (pg >= map->npages)
		return false;
	bit = 1ULL << (pg % 64);
	if (__atomic_fetch_or(&map->bits[pg / 64], bit, __ATOMIC_SEQ_CST) & bit)
		return false;
	/* Revoke write entries for the page in every vCPU's TLB (stores of a
	 * single tag word; the owner re-walks and sees the code bit). */
	for (unsigned t = 0; t < map->nr_tlbs; t++) {
		struct soft_tlb *tlb = map->tlbs[t];
		for (unsigned p = 0; p < SOFT_TLB_BANKS; p++) {
			for (unsigned i = 0; i < SOFT_TLB_SIZE; i++) {
				struct soft_tlb_entry *e = &tlb->e[p][i];
				if (__atomic_load_n(&e->gpa, __ATOMIC_RELAXED) == (pg << 12))
					__atomic_store_n(&e->tag[SOFT_ACC_WRITE], SOFT_TLB_EMPTY,
							 __ATOMIC_RELAXED);
			}
		}
	}
	/* Bytes any vCPU checked before now, while the page was not tracked,
	 * may have been written unseen: no link from those checks. */
	__atomic_fetch_add(&map->add_epoch, 1, __ATOMIC_SEQ_CST);
	return true;
}

void soft_codemap_clear(struct soft_codemap *map, gpa_t gpa)
{
	u64 pg = gpa >> 12;

	if (pg < map->npages)
		__atomic_fetch_and(&map->bits[pg / 64], ~(1ULL << (pg % 64)), __ATOMIC_SEQ_CST);
}

/* Moves the epoch and stops every vCPU's translated code (tlb.h's top;
 * each TLB is a vCPU's cpu->tlb). */
static void epoch_move(struct soft_codemap *map)
{
	__atomic_fetch_add(&map->epoch, 1, __ATOMIC_SEQ_CST);
	for (unsigned t = 0; t < map->nr_tlbs; t++) {
		struct soft_cpu *cpu =
		    (struct soft_cpu *)((char *)map->tlbs[t] - offsetof(struct soft_cpu, tlb));
		atomic_store(&cpu->code_moved, true);
	}
}

void soft_codemap_code_written(void *opaque, gpa_t gpa, unsigned len)
{
	struct soft_codemap *map = opaque;

	epoch_move(map);
	for (u64 p = gpa & ~0xfffULL; len && p < gpa + len; p += 4096)
		soft_codemap_clear(map, p);
}

void soft_codemap_dma_written(void *opaque, gpa_t gpa, u64 len)
{
	(void)gpa;
	(void)len;
	epoch_move(opaque);
}
