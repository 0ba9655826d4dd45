/* libFuzzer harness for the snapshot state file's container (issue 12): the
 * input is a state file that snap_file_parse() must read or refuse with a
 * reason, never crash on, and whose sections must lie inside the input. A
 * file it accepts is written again from its sections and must come out the
 * same. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "vmm/snapshot_file.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct snap_file f;
	char why[160] = "";
	int r = snap_file_parse(data, size, &f, why, sizeof(why));

	if (r) {
		if ((r != -EINVAL && r != -EPROTO && r != -ENOMEM) || !why[0] || f.count ||
		    f.sections)
			abort();
		return 0;
	}
	struct snap_writer w;
	size_t len;
	u8 *again;

	snap_writer_init(&w);
	for (u32 i = 0; i < f.count; i++) {
		const struct snap_section *s = &f.sections[i];
		if (s->data < data || s->len > size || s->data + s->len > data + size)
			abort();
		snap_writer_add(&w, s->type, s->index, s->data, s->len);
	}
	if (snap_writer_finish(&w, &again, &len) || len != size || memcmp(again, data, size))
		abort();
	free(again);
	snap_file_free(&f);
	return 0;
}
