/* Software TLB: {linear page -> host page} for read, write and fetch, per
 * privilege, filled only for RAM (MMIO always takes the slow path), and the
 * per-VM map of guest pages that hold decoded code (self-modifying code).
 *
 * Contract with the rest of the soft engine:
 * - mmu.c fills entries after a successful page walk (Intel SDM Vol. 3A 4.10.2)
 *   with the rights of the bank's privilege under the current CR0.WP, CR4
 *   (SMEP, SMAP, PKE), EFER.NXE and PKRU (SDM Vol. 3A 4.6): a read tag when a
 *   read is allowed, a write tag when a write is and the leaf's dirty bit is
 *   set and the page holds no decoded code, a fetch tag when a fetch is. A
 *   hit therefore never lets through an access the rights would deny.
 *   Entries are 4 KiB even for 2M/4M/1G mappings.
 * - cr.c flushes on CR3 (keeping global entries when CR4.PGE), CR4.PGE/PAE/
 *   PSE/SMEP/SMAP/PKE and CR0.PG/WP changes, msr.c on EFER.NXE changes;
 *   INVLPG calls soft_tlb_flush_page(); WRPKRU calls soft_tlb_flush_pkeys()
 *   for the keys whose rights changed. EFLAGS.AC selects a bank instead of
 *   flushing (enum soft_priv), so STAC/CLAC cost nothing here.
 *
 * Self-modifying code (for the interpreter, which owns decoded-code caches):
 * 1. At VM creation: soft_codemap_init(&vm->code, &m->mem, written_fn, vm).
 *    At vCPU creation: soft_tlb_init(&cpu->tlb, &vm->code) (before it runs).
 * 2. Before caching code decoded from guest-physical page P, call
 *    soft_codemap_add(map, P). From then on no vCPU has a write entry for P,
 *    so every guest write into P takes the slow path, which performs the
 *    write and then calls written_fn(opaque, gpa, len) on the writing vCPU's
 *    thread (gpa, len: the bytes just written, within one page).
 * 3. When written_fn has dropped every decode of P, it may call
 *    soft_codemap_clear(map, P) so writes to P are fast again (until the next
 *    soft_codemap_add).
 * Device DMA (virtio) writes RAM directly and does not call written_fn.
 *
 * The translator (jit/) links translated blocks to each other under the
 * codemap's epoch: soft_codemap_code_written() (the written_fn the soft
 * engine installs, opaque = the map) moves the epoch and untracks the page;
 * soft_codemap_dma_written() (guest_mem's DMA notifier) moves it too. Both
 * then set every vCPU's code_moved, so that translated code stops at its
 * next link site or back edge, and soft_exec() clears it and moves the
 * vCPU's link generations before it runs translated code again
 * (soft_tlb_see_epoch): a link made
 * under an older epoch is not followed, so no translated code runs from a
 * page written since it was last checked. soft_codemap_add() moves
 * a second counter, add_epoch, for a page it tracks anew: a link is made
 * only if neither moved while its block's bytes were checked (bytes checked
 * while their page was not tracked may have been written unseen), and links
 * already made (into pages tracked before) stay. */
#ifndef POPEK_SOFT_TLB_H
#define POPEK_SOFT_TLB_H

#include "core/config.h"
#include "core/guest_mem.h"
#include "popek/types.h"

struct soft_cpu;

#define SOFT_TLB_BITS  10
#define SOFT_TLB_SIZE  (1u << SOFT_TLB_BITS)
#define SOFT_TLB_EMPTY 1ULL /* never equal to a page-aligned address */

/* Direct-mapped slot of linear address lin: the page number's low bits, so
 * that translated code finds the slot in three instructions (jit/native.c;
 * folding in the next bits, which kept buffers a multiple of 4 MiB apart
 * from evicting each other, cost the CPU-bound benchmark 8%, and the boot
 * and the workload nothing measurable). Two consecutive pages never share a
 * slot, which translated code relies on (its inline check takes the slot
 * of an access's first byte and compares the tag with its last byte's
 * page: an access across two pages must miss). */
static inline unsigned soft_tlb_index(u64 lin)
{
	u64 pg = lin >> 12;

	return (unsigned)(pg & (SOFT_TLB_SIZE - 1));
}

enum soft_access { SOFT_ACC_READ = 0, SOFT_ACC_WRITE = 1, SOFT_ACC_FETCH = 2 };

/* The TLB's banks: the privilege an access is made with, as far as the
 * rights of SDM Vol. 3A 4.6 tell them apart. Explicit data accesses use
 * cpu->dpriv, instruction fetches CPL 3 ? USER : SUP, implicit supervisor
 * accesses (GDT, LDT, IDT, TSS) SUP whatever the CPL and EFLAGS.AC. */
enum soft_priv {
	SOFT_PRIV_SUP = 0,    /* CPL < 3 with SMAP in force, or implicit */
	SOFT_PRIV_USER = 1,   /* CPL 3 */
	SOFT_PRIV_SUP_AC = 2, /* explicit at CPL < 3 with CR4.SMAP = EFLAGS.AC = 1 */
	SOFT_TLB_BANKS
};

/* One cache line each (the translator's inline check reads tag and addend). */
struct soft_tlb_entry {
	u64 tag[3];  /* [enum soft_access]: linear page (lin & ~0xfff) or SOFT_TLB_EMPTY */
	u8 *host;    /* host address of the page's first byte */
	u64 addend;  /* host - the linear page: lin + addend is lin's host address */
	u64 gpa;     /* guest-physical page address */
	u8 shift;    /* log2 of the guest mapping it came from: 12, 21, 22 or 30 */
	bool global; /* from a G=1 leaf with CR4.PGE set */
	u8 listed;   /* bit k: its slot is in soft_tlb.list[k] (owner thread only) */
	u8 pkey;     /* protection key + 1 when PKRU took part in the rights, else 0 */
} __attribute__((aligned(64)));

typedef void soft_code_written_fn(void *opaque, gpa_t gpa, unsigned len);

/* One per VM, shared by its vCPUs. bits: one bit per 4 KiB guest-physical page. */
struct soft_codemap {
	u64 *bits; /* accessed with __atomic builtins */
	u64 npages;
	soft_code_written_fn *written;
	void *opaque;
	u64 epoch; /* __atomic: moves on every write into a tracked page and every DMA */
	u64 add_epoch; /* __atomic: moves when a page becomes tracked */
	unsigned nr_tlbs;
	struct soft_tlb *tlbs[CONFIG_MAX_CPUS];
};

#define SOFT_TLB_LARGE_MAX 16

struct soft_tlb {
	struct soft_tlb_entry e[SOFT_TLB_BANKS][SOFT_TLB_SIZE]; /* [enum soft_priv] */
	u64 pdpte[4]; /* PAE PDPTE registers (SDM Vol. 3A 4.4.1), loaded by CR3 writes */
	/* [0]: entries filled not global, [1]: filled global (CR4.PGE), so a
	 * CR3 write, which keeps the global ones, visits only list[0]. */
	struct soft_tlb_list {
		/* Slots (bank << SOFT_TLB_BITS | index) filled since their last
		 * flush: every non-empty entry is in the list of what it was
		 * filled as, so a flush visits only these instead of the whole
		 * TLB. Each slot at most once per list (an entry refilled as the
		 * other kind is in both). */
		u16 slot[SOFT_TLB_BANKS * SOFT_TLB_SIZE];
		unsigned n;
		/* Mappings larger than 4 KiB that entries came from, as base |
		 * shift, so that INVLPG scans the TLB only when it hits one. */
		u64 large[SOFT_TLB_LARGE_MAX];
		unsigned nr_large;
		bool large_overflow; /* more than fit: every INVLPG scans */
	} list[2];
	struct soft_codemap *code; /* NULL: no decoded-code tracking */
	/* Changes with every flush (whole TLB or one page), every refill of a
	 * page with a different physical page and every soft_mode_update()
	 * (CPL, mode, code size): a translation remembered together with gen
	 * (the interpreter's chained blocks) is as valid as a TLB entry while
	 * gen is unchanged. */
	u64 gen;
	/* What translated code's loads keep the page they read last with
	 * (jit/native.c), valid while it is unchanged: moves (by 4) with every
	 * change of a TLB entry's mapping (soft_tlb_gen_move: flushes, INVLPG,
	 * remaps), not with a change of CPL or mode alone, and its low two bits
	 * are the data accesses' bank (cpu->dpriv, soft_priv_update()), so a
	 * system call's return finds its process's load sites still good. */
	u64 read_key;
	/* The same for translated code's links (jit/translate.h), but for CPL:
	 * its low two bits are the CPL, the rest moves (by 4) wherever gen
	 * does except on a change of CPL alone, so links made at CPL 3 hold
	 * again after a system call returns. link_gen_g: the same for links
	 * into pages mapped global, which keep theirs when a CR3 write flushes
	 * the rest (a context switch does not cut the kernel's links). */
	u64 link_gen, link_gen_g;
	/* The same for a link to a block in the linear page its site's block
	 * started in (jit/translate.h), which holds while that page maps what it
	 * did when translated code was entered: link_gen_p is link_gen_p_clean
	 * (low bits the CPL; moves by 4 on a change of mode or code size) when
	 * soft_exec() enters translated code, and gets bit 63 (never clean) on
	 * every move of gen, until soft_exec() enters it again from a lookup. So
	 * a context switch does not cut a process's links within a page. */
	u64 link_gen_p, link_gen_p_clean;
	u64 seen_epoch; /* the codemap's epoch the link generations last moved for */
	/* With PCIDs on (CR4.PCIDE), link_gen is the current PCID's: a CR3 write
	 * keeps another's translations when it says so (bit 63, SDM Vol. 3A
	 * 4.10.4.1), and the guest invalidates them itself when they change
	 * (Linux tracks each address space's flushes), so a CR3 write back to a
	 * PCID without a flush takes its link generation back from here, and a
	 * context switch keeps a process's links. Every new link_gen is a fresh
	 * value (gen_next), so no two spaces' generations are ever equal. */
	struct soft_tlb_space {
		u64 gen;   /* its link_gen when the vCPU left it */
		u64 stamp; /* all_stamp then: valid while that is unchanged */
		u16 pcid;
	} space[16]; /* by PCID (tlb.c: space_slot; Linux uses 1-6, 2049-2054) */
	u64 gen_next;  /* the last link generation handed out, without CPL bits */
	u64 all_stamp; /* moves when every PCID's translations may have changed */
	bool no_write; /* fill no write tags: every write takes the slow path (jit/lockstep.h) */
};

/* Empties tlb and attaches it to code (may be NULL). Returns 0 or -ENOSPC. */
int soft_tlb_init(struct soft_tlb *tlb, struct soft_codemap *code);

/* Drops every entry, or every non-global one when keep_global. */
void soft_tlb_flush(struct soft_cpu *cpu, bool keep_global);
/* A MOV to CR3 from PCID old to PCID pcid (both 0 without CR4.PCIDE) has
 * been made: drops the non-global entries (all of them also when keep, the
 * hint that pcid's translations stay, is set: the TLB caches one address
 * space), and with keep takes pcid's link generation back (tlb.h). */
void soft_tlb_cr3_written(struct soft_cpu *cpu, unsigned old, unsigned pcid, bool keep);
/* INVLPG (SDM Vol. 3A 4.10.4.1): drops the entries for the page containing
 * lin, global or not, including all 4 KiB pieces of a larger mapping. */
void soft_tlb_flush_page(struct soft_cpu *cpu, u64 lin);
/* WRPKRU: drops the entries whose rights came from one of the protection
 * keys in the bit mask keys (bit k: key k). */
void soft_tlb_flush_pkeys(struct soft_cpu *cpu, unsigned keys);
/* Takes the write tag off every filled entry (jit/lockstep.h: with
 * no_write set, none gets one again). */
void soft_tlb_drop_write_tags(struct soft_tlb *tlb);
/* Links made so far may no longer hold: link_gen moves (to a fresh value),
 * link_gen_p is no longer clean; link_gen_g moves too when globals. */
static inline void soft_tlb_links_move(struct soft_tlb *tlb, bool globals)
{
	tlb->link_gen_p |= 1ULL << 63;
	tlb->gen_next += 4; /* above the CPL bits */
	tlb->link_gen = tlb->gen_next | (tlb->link_gen & 3);
	if (globals)
		tlb->link_gen_g += 4;
}

/* What cached translations remembered with the TLB's generations may no
 * longer hold: gen and link_gen move, link_gen_p is no longer clean;
 * link_gen_g moves too when entries of pages mapped global may have gone. */
static inline void soft_tlb_gen_move(struct soft_tlb *tlb, bool globals)
{
	tlb->gen++;
	tlb->read_key += 4;
	soft_tlb_links_move(tlb, globals);
}

/* The same, for a change that may reach every PCID's translations. */
static inline void soft_tlb_gen_move_all(struct soft_tlb *tlb)
{
	soft_tlb_gen_move(tlb, true);
	tlb->all_stamp++;
}

/* No link made so far holds, whatever its generation: every PCID's and
 * link_gen_p's included (a change of mode or code size, a move of the code
 * epoch). */
static inline void soft_tlb_links_void(struct soft_tlb *tlb)
{
	soft_tlb_links_move(tlb, true);
	tlb->all_stamp++;
	tlb->link_gen_p_clean += 4;
}

/* Moves the link generations if the codemap's epoch moved since they last
 * did (epoch: its value now); soft_exec() calls it before translated code
 * runs, the epoch's movers having stopped that code (tlb.h's top). */
static inline void soft_tlb_see_epoch(struct soft_tlb *tlb, u64 epoch)
{
	if (__builtin_expect(epoch != tlb->seen_epoch, 0)) {
		tlb->seen_epoch = epoch;
		soft_tlb_links_void(tlb);
	}
}

/* Fills the entry for linear page lin in bank priv (enum soft_priv) from a
 * walk; pkey: the leaf's protection key + 1 when PKRU took part in the
 * rights (a user page under CR4.PKE in IA-32e mode), else 0. */
void soft_tlb_fill(struct soft_tlb *tlb, u64 lin, unsigned priv, u8 *host, u64 gpa, bool readable,
		   bool writable, bool executable, bool global, unsigned shift, unsigned pkey);

/* Decoded-code map, see the comment at the top. Returns 0 or -errno. */
int soft_codemap_init(struct soft_codemap *map, const struct guest_mem *mem,
		      soft_code_written_fn *written, void *opaque);
void soft_codemap_destroy(struct soft_codemap *map);
/* Returns true if P was not a code page before (add_epoch then moves, once
 * no TLB can write P unseen). Safe from any vCPU thread. */
bool soft_codemap_add(struct soft_codemap *map, gpa_t gpa);
void soft_codemap_clear(struct soft_codemap *map, gpa_t gpa);
/* written_fn for the translator (opaque = the map): the epoch moves and the
 * written pages are no longer tracked (writes to them are fast again). */
void soft_codemap_code_written(void *opaque, gpa_t gpa, unsigned len);
/* guest_mem_written_fn (opaque = the map): a device wrote RAM; the epoch moves. */
void soft_codemap_dma_written(void *opaque, gpa_t gpa, u64 len);

static inline bool soft_codemap_test(const struct soft_codemap *map, gpa_t gpa)
{
	u64 pg = gpa >> 12;

	if (!map || pg >= map->npages)
		return false;
	return (__atomic_load_n(&map->bits[pg / 64], __ATOMIC_RELAXED) >> (pg % 64)) & 1;
}

#endif
