/* The machine's dirty log (Diff snapshots, migration): guest memory's log
 * (core/guest_mem.h) with the engine's part folded in. */
#include <errno.h>
#include <string.h>

#include "cpu/engine.h"
#include "popek/log.h"
#include "vmm/vmm.h"

int machine_dirty_start(struct machine *m)
{
	int err;

	if (!m->engine->dirty_log_start || !m->engine->dirty_log_sync) {
		log_error("the %s engine cannot track dirty pages", m->engine->name);
		return -EOPNOTSUPP;
	}
	err = guest_mem_dirty_start(&m->mem);
	if (!err)
		err = m->engine->dirty_log_start(m->evm);
	if (err < 0)
		log_error("%s engine: cannot start tracking dirty pages: %s", m->engine->name,
			  strerror(-err));
	return err;
}

s64 machine_dirty_take(struct machine *m, u64 *out)
{
	int err;

	if (!m->mem.dirty)
		return -ENOTSUP;
	err = m->engine->dirty_log_sync(m->evm);
	if (err < 0)
		return err;
	return (s64)guest_mem_dirty_take(&m->mem, out);
}

void machine_dirty_give_back(struct machine *m, const u64 *pages)
{
	guest_mem_dirty_merge(&m->mem, pages);
}
