/* libFuzzer harness for the soft engine: the input is guest code, run in
 * 64-bit mode at CPL 0 (identity-mapped 4 GiB, a few IDT entries that lead
 * nowhere useful) for a bounded time. Whatever the code does — faults,
 * privileged instructions, MMIO to nowhere, self-modification, page-table
 * writes — popek must not crash and must not touch host memory outside guest
 * RAM (ASan watches). One machine is reused across inputs. The translator
 * is on; with POPEK_SOFT_LOCKSTEP=1 every translated run is also checked
 * against the interpreter (jit/lockstep.h) and a difference aborts. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boot/loader.h"
#include "core/machine.h"
#include "cpu/engine.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

#define FUZZ_RAM (4 * MiB)
#define FUZZ_CODE 0x200000ULL
#define FUZZ_MAX_CODE 4096

struct fuzz_world {
	struct machine m;
	struct engine_vcpu *ev;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool running;
	u64 generation;
};

/* Kicks the vCPU if one run lasts longer than 20 ms (loops, HLT with IF=1). */
static void *fuzz_watchdog(void *opaque)
{
	struct fuzz_world *w = opaque;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		u64 gen;
		struct timespec ts;

		while (!w->running)
			pthread_cond_wait(&w->cond, &w->lock);
		gen = w->generation;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		while (w->running && w->generation == gen &&
		       pthread_cond_timedwait(&w->cond, &w->lock, &ts) == 0) {
		}
		if (w->running && w->generation == gen)
			soft_engine_ops.kick(w->ev);
		while (w->running && w->generation == gen)
			pthread_cond_wait(&w->cond, &w->lock);
	}
	return NULL;
}

static struct fuzz_world *fuzz_world_get(void)
{
	static struct fuzz_world *w; /* libFuzzer harness state, not popek's */
	struct machine *m;
	pthread_t t;

	if (w)
		return w;
	w = calloc(1, sizeof(*w));
	m = &w->m;
	m->cfg.mem_size = FUZZ_RAM;
	m->cfg.nr_cpus = 1;
	m->cfg.engine = ENGINE_SOFT;
	m->engine = &soft_engine_ops;
	pthread_mutex_init(&m->dev_lock, NULL);
	bus_init(&m->pio, "pio", &m->dev_lock);
	bus_init(&m->mmio, "mmio", &m->dev_lock);
	if (event_loop_init(&m->loop) < 0 || guest_mem_init(&m->mem, FUZZ_RAM) < 0 ||
	    soft_engine_ops.vm_create(m, &m->evm) < 0 || soft_engine_ops.map_ram(m->evm) < 0 ||
	    soft_engine_ops.vcpu_create(m->evm, 0, &w->ev) < 0)
		abort();
	m->nr_vcpus = 1;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	pthread_create(&t, NULL, fuzz_watchdog, w);
	return w;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_world *w = fuzz_world_get();
	struct x86_state st;
	struct vcpu_exit exit;
	u8 *ram = w->m.mem.base;

	if (size > FUZZ_MAX_CODE)
		size = FUZZ_MAX_CODE;
	/* Fresh memory each time: the previous input may have rewritten anything. */
	memset(ram, 0, FUZZ_RAM);
	memset(ram + FUZZ_CODE, 0xf4, FUZZ_MAX_CODE + 16); /* HLT after the code */
	memcpy(ram + FUZZ_CODE, data, size);
	if (boot_entry_long(&w->m.mem, &st, FUZZ_CODE, 0) < 0)
		abort();
	/* An IDT whose 32 exception gates lead to HLT with IF=0: faults end the
	 * run after a real delivery instead of an immediate triple fault. */
	for (unsigned v = 0; v < 32; v++) {
		u8 *g = ram + 0x3000 + v * 16;
		u64 handler = 0x4000;
		g[0] = handler & 0xff;
		g[1] = (handler >> 8) & 0xff;
		g[2] = 0x10; /* selector: the loader's 64-bit code segment */
		g[3] = 0;
		g[4] = 0;
		g[5] = 0x8e; /* present, DPL 0, 64-bit interrupt gate */
	}
	ram[0x4000] = 0xf4;
	st.sregs.idt.base = 0x3000;
	st.sregs.idt.limit = 32 * 16 - 1;
	st.regs.gpr[X86_RSP] = FUZZ_CODE - 0x1000;
	for (int i = 0; i < 16; i++)
		if (i != X86_RSP)
			st.regs.gpr[i] = 0x100000 + (u64)i * 0x1000;
	if (soft_engine_ops.set_state(w->ev, &st) < 0)
		abort();

	pthread_mutex_lock(&w->lock);
	w->running = true;
	w->generation++;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	/* One run: ends at HLT with IF=0, a triple fault, or the watchdog's kick. */
	soft_engine_ops.run(w->ev, &exit);
	if (exit.reason == VCPU_EXIT_ERROR && strstr(exit.msg, "lockstep"))
		abort();
	pthread_mutex_lock(&w->lock);
	w->running = false;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return 0;
}
