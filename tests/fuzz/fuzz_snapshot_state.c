/* libFuzzer harness for a snapshot's state sections (issue 12): the first
 * byte picks a section kind, the rest is its payload. A vCPU section that
 * decodes is loaded into a soft-engine vCPU and run a little, the clock and the interrupt
 * controllers into a soft VM, the machine section and the Firecracker settings (issue
 * 13; the second byte gives the machine's disk and interface counts) decoded and
 * encoded again, the MMDS data loaded into a store and saved again: each must be
 * accepted or refused with a reason, never crash popek, and what a load
 * accepted must save and decode again. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/irqchip_state.h"
#include "core/vcpu_state.h"
#include "cpu/engine.h"
#include "cpu/soft/vm.h"
#include "harness.h"
#include "vmm/mmds_store.h"
#include "vmm/snapshot_config.h"
#include "vmm/snapshot_fc.h"

#define FUZZ_STATE_RAM (4 * MiB)

static struct machine *m;
static struct engine_vm *evm;
static struct engine_vcpu *vcpu;

/* One soft VM for the whole run (creating one per input would dominate). */
static void setup(void)
{
	m = calloc(1, sizeof(*m));
	if (!m || guest_mem_init(&m->mem, FUZZ_STATE_RAM) < 0)
		abort();
	pthread_mutex_init(&m->dev_lock, NULL);
	bus_init(&m->pio, "pio", &m->dev_lock);
	bus_init(&m->mmio, "mmio", &m->dev_lock);
	m->cfg.nr_cpus = 1;
	m->cfg.soft_jit_off = true;
	m->engine = &soft_engine_ops;
	if (soft_engine_ops.vm_create(m, &evm) || soft_engine_ops.vcpu_create(evm, 0, &vcpu))
		abort();
}

static void vcpu_section(const u8 *p, size_t n)
{
	static struct x86_vcpu_state st, again;
	struct snap_out o;
	struct snap_in in;
	char why[200] = "";

	snap_in_init(&in, p, n);
	if (vcpu_state_decode(&in, &st)) {
		if (!in.why[0])
			abort();
		return;
	}
	if (soft_engine_ops.load_vcpu(vcpu, &st, why, sizeof(why))) {
		if (!why[0])
			abort();
		return;
	}
	/* Accepted: a few hundred instructions from there (RAM zeroed, so
	 * every input starts alike), exceptions delivered as the run loop
	 * would, must not hurt popek either. */
	struct soft_cpu *cpu = &((struct soft_vcpu *)vcpu)->cpu;

	memset(m->mem.base, 0, FUZZ_STATE_RAM);
	for (int i = 0; i < 4 && !cpu->shutdown; i++) {
		if (cpu->pending_vector >= 0)
			soft_deliver_exception(cpu);
		else
			soft_exec(cpu, 200);
	}
	cpu->shutdown = false;
	/* The engine's own save must be a valid state. */
	soft_engine_ops.save_vcpu(vcpu, &st);
	snap_out_init(&o);
	vcpu_state_encode(&st, &o);
	snap_in_init(&in, o.buf, o.len);
	if (o.err || vcpu_state_decode(&in, &again))
		abort();
	snap_out_free(&o);
}

/* The CLCK section: the clock, then the interrupt controllers. */
static void clock_section(const u8 *p, size_t n)
{
	struct x86_clock_state clock;
	struct x86_irqchip_state ic;
	struct snap_in in;
	char why[200] = "";

	snap_in_init(&in, p, n);
	if (clock_state_decode(&in, &clock) || irqchip_state_decode(&in, &ic) || snap_in_end(&in)) {
		if (!in.why[0])
			abort();
		return;
	}
	if (soft_engine_ops.load_vm(evm, &ic, &clock, why, sizeof(why))) {
		if (!why[0])
			abort();
		return;
	}
	if (soft_engine_ops.save_vm(evm, &ic, &clock) || clock.tsc_khz != 1000000 ||
	    irqchip_state_check(&ic, why, sizeof(why)))
		abort();
}

static void machine_section(const u8 *p, size_t n)
{
	static struct vm_config cfg, cfg2;
	struct snapshot_machine sm, sm2;
	struct snap_out o;
	struct snap_in in;

	snap_in_init(&in, p, n);
	if (snapshot_config_decode(&in, &cfg, &sm)) {
		if (!in.why[0])
			abort();
		return;
	}
	snap_out_init(&o);
	snapshot_config_encode(&cfg, &sm, &o);
	snap_in_init(&in, o.buf, o.len);
	if (o.err || snapshot_config_decode(&in, &cfg2, &sm2) || o.len != n || memcmp(o.buf, p, n))
		abort();
	snap_out_free(&o);
}

/* The FCFG section, for a machine of counts' disks (low nibble, up to 8)
 * and interfaces (high nibble, up to 4): the same bytes encode again. */
static void fc_section(u8 counts, const u8 *p, size_t n)
{
	static struct vm_config cfg, cfg2;
	struct snap_out o;
	struct snap_in in;

	memset(&cfg, 0, sizeof(cfg));
	cfg.nr_disks = (counts & 15) % (CONFIG_MAX_DISKS + 1);
	cfg.nr_nets = (counts >> 4) % (CONFIG_MAX_NETS + 1);
	snap_in_init(&in, p, n);
	if (snapshot_fc_decode(&in, &cfg)) {
		if (!in.why[0])
			abort();
		return;
	}
	snap_out_init(&o);
	snapshot_fc_encode(&cfg, &o);
	cfg2 = cfg;
	snap_in_init(&in, o.buf, o.len);
	if (o.err || snapshot_fc_decode(&in, &cfg2) || o.len != n || memcmp(o.buf, p, n))
		abort();
	snap_out_free(&o);
}

/* The MMDS section, into a store of the default limit: a document loaded
 * saves to a section that loads again. */
static void mmds_section(const u8 *p, size_t n)
{
	struct mmds_store *s, *t;
	struct snap_out o;
	struct snap_in in;

	if (mmds_store_create(0, &s) || mmds_store_create(0, &t))
		abort();
	snap_in_init(&in, p, n);
	if (mmds_store_load(s, &in)) {
		if (!in.why[0])
			abort();
	} else {
		snap_out_init(&o);
		if (mmds_store_save(s, &o) || o.err)
			abort();
		snap_in_init(&in, o.buf, o.len);
		if (mmds_store_load(t, &in))
			abort();
		snap_out_free(&o);
	}
	mmds_store_destroy(s);
	mmds_store_destroy(t);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	if (!m)
		setup();
	if (!size)
		return 0;
	switch (data[0] % 5) {
	case 0:
		vcpu_section(data + 1, size - 1);
		break;
	case 1:
		clock_section(data + 1, size - 1);
		break;
	case 2:
		machine_section(data + 1, size - 1);
		break;
	case 3:
		if (size >= 2)
			fc_section(data[1], data + 2, size - 2);
		break;
	default:
		mmds_section(data + 1, size - 1);
		break;
	}
	return 0;
}
