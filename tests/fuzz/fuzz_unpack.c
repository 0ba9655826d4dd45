/* libFuzzer harness for the payload unpackers: the input is a bzImage payload (LZ4, XZ, gzip,
 * zstd or anything) that unpack_payload() must unpack or refuse, never crash on, and never
 * write or allocate past its cap for. */
#include <errno.h>
#include <stdlib.h>

#include "boot/unpack.h"
#include "harness.h"

/* Small, so that a bomb costs little time per input; the cap logic is the
 * same as with guest RAM. */
#define FUZZ_UNPACK_MAX (4 * MiB)

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	enum unpack_format format;
	u64 out_len;
	u8 *out;
	int r;

	r = unpack_payload(data, size, FUZZ_UNPACK_MAX, &out, &out_len, &format);
	if (format != unpack_identify(data, size))
		abort();
	if (r == 0) {
		if (!out || !out_len || out_len > FUZZ_UNPACK_MAX || format == UNPACK_UNKNOWN)
			abort();
		out[out_len - 1] ^= 1; /* the whole buffer is ours (ASan) */
	} else if (out || out_len ||
		   (r != -ENOTSUP && r != -EINVAL && r != -EFBIG && r != -ENOMEM)) {
		abort();
	}
	free(out);
	return 0;
}
