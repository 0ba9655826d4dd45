/* The soft engine's dirty-log hooks (engine.h dirty_log_start/_sync). */
#ifndef POPEK_SOFT_DIRTY_LOG_H
#define POPEK_SOFT_DIRTY_LOG_H

#include "cpu/engine.h"
#include "cpu/soft/vm.h"

/* Both hooks: the log is marked as the guest writes, so starting it and
 * taking it need the same thing, every write tag dropped and the pages the
 * engine writes on its own marked. */
int soft_dirty_log_rearm(struct engine_vm *vm);

#endif
