/* Unit tests of the memory devices' configuration (src/api/config_memdev.c):
 * pmem and memory-hotplug objects as Firecracker's API and config file give
 * them, one message naming the field for each mistake (the configuration
 * unchanged then), the defaults, and the JSON written back for GET
 * /vm/config read again to the same configuration. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/config_memdev.h"
#include "test.h"

static char file[64], file2[64], empty[64], dir[64], disk[64];

static void make_file(char *path, const char *tmpl, const char *data)
{
	int fd;

	strcpy(path, tmpl);
	fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd >= 0 && data)
		CHECK_EQ(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	if (fd >= 0)
		close(fd);
}

static void defaults(struct vm_config *cfg, struct config_store *st)
{
	memset(cfg, 0, sizeof(*cfg));
	config_store_init(st);
	cfg->nr_cpus = 1;
	cfg->mem_size = 256 * MiB;
}

/* Replaces FILE2, FILE, EMPTY, DIR and DISK in text by the temp paths. */
static void expand(const char *text, char *out, size_t len)
{
	static const struct {
		const char *name, *path;
	} subst[] = {
	    {"FILE2", file2}, {"FILE", file}, {"EMPTY", empty}, {"DIR", dir}, {"DISK", disk}};
	char *o = out;

	for (const char *p = text; *p && o < out + len - 80;) {
		unsigned i;

		for (i = 0; i < ARRAY_SIZE(subst); i++)
			if (!strncmp(p, subst[i].name, strlen(subst[i].name)))
				break;
		if (i < ARRAY_SIZE(subst)) {
			o += sprintf(o, "%s", subst[i].path);
			p += strlen(subst[i].name);
		} else {
			*o++ = *p++;
		}
	}
	*o = 0;
}

/* config_set_pmem over the expanded JSON text; err gets the message. */
static int set_pmem(const char *text, const char *path_id, struct vm_config *cfg,
		    struct config_store *st, char *err, size_t errlen)
{
	char buf[1024];
	struct config_err e = {err, errlen, ""};
	cJSON *o;
	int r;

	expand(text, buf, sizeof(buf));
	o = cJSON_Parse(buf);
	CHECK(o != NULL);
	err[0] = 0;
	r = config_set_pmem(o, path_id, cfg, st, &e);
	cJSON_Delete(o);
	return r;
}

static int set_hotplug(const char *text, struct vm_config *cfg, char *err, size_t errlen)
{
	struct config_err e = {err, errlen, ""};
	cJSON *o = cJSON_Parse(text);
	int r;

	CHECK(o != NULL);
	err[0] = 0;
	r = config_set_memory_hotplug(o, cfg, &e);
	cJSON_Delete(o);
	return r;
}

/* The call fails with -EINVAL, err is exactly want (with FILE etc.
 * expanded), and cfg did not change. */
#define EXPECT_PMEM_FAIL(text, path_id, want)                                                      \
	do {                                                                                       \
		struct vm_config before_ = cfg;                                                    \
		char want_[512];                                                                   \
		expand(want, want_, sizeof(want_));                                                \
		CHECK_EQ(set_pmem(text, path_id, &cfg, &st, err, sizeof(err)), -EINVAL);           \
		if (strcmp(err, want_))                                                            \
			printf("  got '%s'\n  want '%s'\n", err, want_);                           \
		CHECK(!strcmp(err, want_));                                                        \
		CHECK(!memcmp(&before_, &cfg, sizeof(cfg)));                                       \
	} while (0)

#define EXPECT_HOTPLUG_FAIL(text, want)                                                            \
	do {                                                                                       \
		struct hotplug_config before_ = cfg.hotplug;                                       \
		CHECK_EQ(set_hotplug(text, &cfg, err, sizeof(err)), -EINVAL);                      \
		if (strcmp(err, want))                                                             \
			printf("  got '%s'\n  want '%s'\n", err, want);                            \
		CHECK(!strcmp(err, want));                                                         \
		CHECK(!memcmp(&before_, &cfg.hotplug, sizeof(before_)));                           \
	} while (0)

/* ---- pmem -------------------------------------------------------------- */

static void test_pmem_fields(void)
{
	struct vm_config cfg;
	struct config_store st;
	char err[512];

	defaults(&cfg, &st);
	CHECK_EQ(set_pmem("{\"id\": \"pmem0\", \"path_on_host\": \"FILE\"}", NULL, &cfg, &st, err,
			  sizeof(err)),
		 0);
	CHECK_EQ(cfg.nr_pmem, 1);
	CHECK(!strcmp(cfg.pmem[0].id, "pmem0"));
	CHECK(!strcmp(cfg.pmem[0].path, file));
	CHECK(!cfg.pmem[0].root_device && !cfg.pmem[0].read_only); /* defaults */
	CHECK_EQ(cfg.pmem[0].rate_limiter.ops.size, 0);
	CHECK_EQ(
	    set_pmem("{\"id\": \"Data_1\", \"path_on_host\": \"FILE2\", \"root_device\": true, "
		     "\"read_only\": true, \"rate_limiter\": {\"ops\": {\"size\": 10, "
		     "\"refill_time\": 100}}}",
		     "Data_1", &cfg, &st, err, sizeof(err)),
	    0);
	CHECK_EQ(cfg.nr_pmem, 2);
	CHECK(cfg.pmem[1].root_device && cfg.pmem[1].read_only);
	CHECK_EQ(cfg.pmem[1].rate_limiter.ops.size, 10);
	CHECK_EQ(cfg.pmem[1].rate_limiter.ops.refill_time_ms, 100);
	/* The same id again replaces it (and may stay the root). */
	CHECK_EQ(set_pmem("{\"id\": \"pmem0\", \"path_on_host\": \"FILE2\", \"read_only\": true}",
			  NULL, &cfg, &st, err, sizeof(err)),
		 0);
	CHECK_EQ(
	    set_pmem("{\"id\": \"Data_1\", \"path_on_host\": \"FILE2\", \"root_device\": true}",
		     NULL, &cfg, &st, err, sizeof(err)),
	    0);
	CHECK_EQ(cfg.nr_pmem, 2);
	CHECK(!strcmp(cfg.pmem[0].path, file2) && cfg.pmem[0].read_only);
	CHECK(cfg.pmem[1].root_device && !cfg.pmem[1].read_only);
	if (err[0])
		printf("  error: %s\n", err);
}

static void test_pmem_errors(void)
{
	struct vm_config cfg;
	struct config_store st;
	char err[512];

	defaults(&cfg, &st);
	EXPECT_PMEM_FAIL("{\"id\": \"p0\", \"path_on_host\": \"FILE\", \"size_mib\": 4}", NULL,
			 "size_mib: unknown key");
	EXPECT_PMEM_FAIL("{\"id\": \"p0\"}", NULL, "path_on_host: missing (a string is required)");
	EXPECT_PMEM_FAIL("{\"path_on_host\": \"FILE\"}", NULL,
			 "id: missing (a string is required)");
	EXPECT_PMEM_FAIL("{\"id\": \"p0\", \"path_on_host\": \"FILE\", \"read_only\": 1}", NULL,
			 "read_only: must be true or false, not a number");
	EXPECT_PMEM_FAIL("{\"id\": \"p0\", \"path_on_host\": \"EMPTY\"}", NULL,
			 "path_on_host: 'EMPTY' is not a regular file with data");
	EXPECT_PMEM_FAIL("{\"id\": \"p0\", \"path_on_host\": \"DIR\"}", NULL,
			 "path_on_host: cannot open 'DIR' for reading and writing: Is a directory");
	EXPECT_PMEM_FAIL("{\"id\": \"p0\", \"path_on_host\": \"DIR\", \"read_only\": true}", NULL,
			 "path_on_host: 'DIR' is not a regular file with data");
	EXPECT_PMEM_FAIL(
	    "{\"id\": \"p0\", \"path_on_host\": \"DIR/none\", \"read_only\": true}", NULL,
	    "path_on_host: cannot open 'DIR/none' for reading: No such file or directory");
	EXPECT_PMEM_FAIL("{\"id\": \"p-0\", \"path_on_host\": \"FILE\"}", NULL,
			 "id: 'p-0' may only contain letters, digits and '_'");
	EXPECT_PMEM_FAIL("{\"id\": \"p 0\", \"path_on_host\": \"FILE\"}", NULL,
			 "id: 'p 0' may only contain letters, digits and '_'");
	EXPECT_PMEM_FAIL("{\"id\": \"p0\", \"path_on_host\": \"FILE\"}", "p1",
			 "id: 'p0' does not match the id in the request path ('p1')");
	EXPECT_PMEM_FAIL("{\"id\": \"p0\", \"path_on_host\": \"FILE\", \"rate_limiter\": {\"ops\": "
			 "{\"size\": 5}}}",
			 NULL, "rate_limiter.ops.refill_time: missing (an integer is required)");
	CHECK_EQ(cfg.nr_pmem, 0);
}

static void test_pmem_large_file(void)
{
	struct vm_config cfg;
	struct config_store st;
	char err[512];

	defaults(&cfg, &st);
	/* A sparse file one byte over the limit (no blocks used). */
	CHECK_EQ(truncate(file2, (off_t)PMEM_MAX_BYTES + 1), 0);
	EXPECT_PMEM_FAIL("{\"id\": \"big\", \"path_on_host\": \"FILE2\"}", NULL,
			 "path_on_host: 'FILE2' is larger than 64 GiB");
	CHECK_EQ(truncate(file2, (off_t)PMEM_MAX_BYTES), 0);
	CHECK_EQ(set_pmem("{\"id\": \"big\", \"path_on_host\": \"FILE2\"}", NULL, &cfg, &st, err,
			  sizeof(err)),
		 0);
	CHECK_EQ(truncate(file2, 1), 0);
}

/* One root device among drives and pmem (Firecracker's rule). */
static void test_pmem_root(void)
{
	struct vm_config cfg;
	struct config_store st;
	struct config_err e;
	char err[512], buf[512];
	cJSON *o;

	defaults(&cfg, &st);
	CHECK_EQ(set_pmem("{\"id\": \"a\", \"path_on_host\": \"FILE\", \"root_device\": true}",
			  NULL, &cfg, &st, err, sizeof(err)),
		 0);
	EXPECT_PMEM_FAIL("{\"id\": \"b\", \"path_on_host\": \"FILE\", \"root_device\": true}", NULL,
			 "root_device: pmem 'a' is already the root device");
	CHECK_EQ(set_pmem("{\"id\": \"b\", \"path_on_host\": \"FILE\"}", NULL, &cfg, &st, err,
			  sizeof(err)),
		 0);
	/* A root drive now is refused too, naming the pmem. */
	e = (struct config_err){err, sizeof(err), ""};
	expand("{\"drive_id\": \"rootfs\", \"path_on_host\": \"DISK\", \"is_root_device\": true}",
	       buf, sizeof(buf));
	o = cJSON_Parse(buf);
	CHECK_EQ(config_set_drive(o, NULL, &cfg, &st, &e), -EINVAL);
	CHECK(!strcmp(err, "is_root_device: pmem 'a' is already the root device"));
	CHECK_EQ(cfg.nr_disks, 0);
	cJSON_Delete(o);

	/* The other way round: a root drive first. */
	defaults(&cfg, &st);
	expand("{\"drive_id\": \"rootfs\", \"path_on_host\": \"DISK\", \"is_root_device\": true}",
	       buf, sizeof(buf));
	o = cJSON_Parse(buf);
	CHECK_EQ(config_set_drive(o, NULL, &cfg, &st, &e), 0);
	cJSON_Delete(o);
	CHECK_EQ(st.root_drive, 0);
	EXPECT_PMEM_FAIL("{\"id\": \"a\", \"path_on_host\": \"FILE\", \"root_device\": true}", NULL,
			 "root_device: drive 'rootfs' is already the root device");
	CHECK_EQ(set_pmem("{\"id\": \"a\", \"path_on_host\": \"FILE\", \"root_device\": false}",
			  NULL, &cfg, &st, err, sizeof(err)),
		 0);
}

static void test_pmem_too_many(void)
{
	struct vm_config cfg;
	struct config_store st;
	char err[512], text[128];

	defaults(&cfg, &st);
	for (unsigned i = 0; i < CONFIG_MAX_PMEM; i++) {
		snprintf(text, sizeof(text), "{\"id\": \"p%u\", \"path_on_host\": \"FILE\"}", i);
		CHECK_EQ(set_pmem(text, NULL, &cfg, &st, err, sizeof(err)), 0);
	}
	EXPECT_PMEM_FAIL("{\"id\": \"p8\", \"path_on_host\": \"FILE\"}", NULL,
			 "id: 'p8': at most 8 pmem devices");
	/* A known id is still replaced. */
	CHECK_EQ(set_pmem("{\"id\": \"p7\", \"path_on_host\": \"FILE2\"}", NULL, &cfg, &st, err,
			  sizeof(err)),
		 0);
	CHECK(!strcmp(cfg.pmem[7].path, file2));
}

/* ---- memory-hotplug ------------------------------------------------------ */

static void test_hotplug(void)
{
	struct vm_config cfg;
	struct config_store st;
	char err[512];

	defaults(&cfg, &st);
	/* Firecracker's defaults: 2 MiB blocks, 128 MiB slots. */
	CHECK_EQ(set_hotplug("{\"total_size_mib\": 1024}", &cfg, err, sizeof(err)), 0);
	CHECK_EQ(cfg.hotplug.total_size, 1024 * MiB);
	CHECK_EQ(cfg.hotplug.block_size, 2 * MiB);
	CHECK_EQ(cfg.hotplug.slot_size, 128 * MiB);
	CHECK_EQ(
	    set_hotplug("{\"total_size_mib\": 512, \"block_size_mib\": 128, \"slot_size_mib\": "
			"256}",
			&cfg, err, sizeof(err)),
	    0);
	CHECK_EQ(cfg.hotplug.total_size, 512 * MiB);
	CHECK_EQ(cfg.hotplug.block_size, 128 * MiB);
	CHECK_EQ(cfg.hotplug.slot_size, 256 * MiB);

	EXPECT_HOTPLUG_FAIL("{\"total_size_mib\": 1024, \"size_mib\": 2}", "size_mib: unknown key");
	EXPECT_HOTPLUG_FAIL("{\"block_size_mib\": 2}",
			    "total_size_mib: missing (an integer is required)");
	EXPECT_HOTPLUG_FAIL("{\"total_size_mib\": 0}",
			    "total_size_mib: must be an integer from 1 to 262144 (got 0)");
	EXPECT_HOTPLUG_FAIL("{\"total_size_mib\": 262272}",
			    "total_size_mib: must be an integer from 1 to 262144 (got 262272)");
	EXPECT_HOTPLUG_FAIL("{\"total_size_mib\": 1024, \"block_size_mib\": 3}",
			    "block_size_mib: 3 is not a power of 2");
	EXPECT_HOTPLUG_FAIL("{\"total_size_mib\": 1024, \"block_size_mib\": 96}",
			    "block_size_mib: 96 is not a power of 2");
	EXPECT_HOTPLUG_FAIL("{\"total_size_mib\": 1024, \"block_size_mib\": 1}",
			    "block_size_mib: must be an integer from 2 to 4294967295 (got 1)");
	EXPECT_HOTPLUG_FAIL(
	    "{\"total_size_mib\": 1024, \"slot_size_mib\": 130, \"block_size_mib\": "
	    "4}",
	    "slot_size_mib: 130 is not a multiple of block_size_mib (4)");
	/* A block bigger than the default slot. */
	EXPECT_HOTPLUG_FAIL("{\"total_size_mib\": 1024, \"block_size_mib\": 256}",
			    "slot_size_mib: 128 is not a multiple of block_size_mib (256)");
	EXPECT_HOTPLUG_FAIL("{\"total_size_mib\": 1024, \"slot_size_mib\": 64}",
			    "slot_size_mib: must be an integer from 128 to 4294967295 (got 64)");
	EXPECT_HOTPLUG_FAIL("{\"total_size_mib\": 200}",
			    "total_size_mib: 200 is not a multiple of slot_size_mib (128)");
	EXPECT_HOTPLUG_FAIL("{\"total_size_mib\": 1024, \"slot_size_mib\": 384}",
			    "total_size_mib: 1024 is not a multiple of slot_size_mib (384)");
	EXPECT_HOTPLUG_FAIL("[1024]", "request body: must be a JSON object, not an array");
}

/* ---- JSON round trip ----------------------------------------------------- */

/* j printed and parsed again (j is freed). */
static cJSON *reparse(cJSON *j)
{
	char *text = cJSON_PrintUnformatted(j);
	cJSON *back = text ? cJSON_Parse(text) : NULL;

	CHECK(back != NULL);
	free(text);
	cJSON_Delete(j);
	return back;
}

static void test_json_round_trip(void)
{
	struct vm_config cfg, back;
	struct config_store st, st2;
	char err[512];
	cJSON *arr, *h, *it;

	defaults(&cfg, &st);
	CHECK(cJSON_IsNull(h = config_hotplug_json(&cfg.hotplug))); /* none */
	cJSON_Delete(h);
	arr = config_pmem_json(&cfg);
	CHECK(cJSON_IsArray(arr) && cJSON_GetArraySize(arr) == 0);
	cJSON_Delete(arr);

	CHECK_EQ(set_pmem("{\"id\": \"root\", \"path_on_host\": \"FILE\", \"root_device\": true, "
			  "\"read_only\": true, \"rate_limiter\": {\"bandwidth\": {\"size\": 4096, "
			  "\"one_time_burst\": 100, \"refill_time\": 10}}}",
			  NULL, &cfg, &st, err, sizeof(err)),
		 0);
	CHECK_EQ(set_pmem("{\"id\": \"scratch\", \"path_on_host\": \"FILE2\"}", NULL, &cfg, &st,
			  err, sizeof(err)),
		 0);
	CHECK_EQ(set_hotplug("{\"total_size_mib\": 2048, \"block_size_mib\": 4, \"slot_size_mib\": "
			     "256}",
			     &cfg, err, sizeof(err)),
		 0);

	/* Through text, as GET /vm/config gives it (the limiter's integers
	 * are raw items: written exactly, read as numbers). */
	arr = reparse(config_pmem_json(&cfg));
	CHECK_EQ(cJSON_GetArraySize(arr), 2);
	it = cJSON_GetArrayItem(arr, 1);
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(it, "rate_limiter")));
	CHECK(cJSON_IsFalse(cJSON_GetObjectItem(it, "root_device")));
	defaults(&back, &st2);
	cJSON_ArrayForEach(it, arr)
	{
		struct config_err e = {err, sizeof(err), ""};

		CHECK_EQ(config_set_pmem(it, NULL, &back, &st2, &e), 0);
	}
	cJSON_Delete(arr);
	h = reparse(config_hotplug_json(&cfg.hotplug));
	{
		struct config_err e = {err, sizeof(err), ""};

		CHECK_EQ(cJSON_GetObjectItem(h, "total_size_mib")->valuedouble, 2048);
		CHECK_EQ(config_set_memory_hotplug(h, &back, &e), 0);
	}
	cJSON_Delete(h);
	CHECK_EQ(back.nr_pmem, 2);
	CHECK(!memcmp(back.pmem, cfg.pmem, sizeof(cfg.pmem)));
	CHECK(!memcmp(&back.hotplug, &cfg.hotplug, sizeof(cfg.hotplug)));
	if (err[0])
		printf("  error: %s\n", err);
}

/* In a config file the message names the array element. */
static void test_config_file(void)
{
	struct vm_config cfg;
	struct config_store st;
	char text[1024], err[512];

	expand("{\"pmem\": [{\"id\": \"a\", \"path_on_host\": \"FILE\"}, {\"id\": \"b\", "
	       "\"path_on_host\": \"EMPTY\"}]}",
	       text, sizeof(text));
	defaults(&cfg, &st);
	CHECK_EQ(config_json_load(text, strlen(text), &cfg, &st, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "pmem[1].path_on_host: ") != NULL);
	expand("{\"pmem\": [{\"id\": \"a\", \"path_on_host\": \"FILE\", \"root_device\": true}], "
	       "\"memory-hotplug\": {\"total_size_mib\": 256}}",
	       text, sizeof(text));
	defaults(&cfg, &st);
	CHECK_EQ(config_json_load(text, strlen(text), &cfg, &st, err, sizeof(err)), 0);
	CHECK_EQ(cfg.nr_pmem, 1);
	CHECK_EQ(cfg.hotplug.total_size, 256 * MiB);
	strcpy(text, "{\"memory-hotplug\": {\"total_size_mib\": 256, \"block_size_mib\": 6}}");
	defaults(&cfg, &st);
	CHECK_EQ(config_json_load(text, strlen(text), &cfg, &st, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "memory-hotplug.block_size_mib: 6 is not a power of 2") != NULL);
	if (!strstr(err, "memory-hotplug.block_size_mib"))
		printf("  error: %s\n", err);
}

int main(void)
{
	make_file(file, "/tmp/popek-pmem-XXXXXX", "pmem");
	make_file(file2, "/tmp/popek-pmem2-XXXXXX", "2");
	make_file(empty, "/tmp/popek-empty-XXXXXX", NULL);
	make_file(disk, "/tmp/popek-disk-XXXXXX", "disk");
	strcpy(dir, "/tmp/popek-dir-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	TEST_RUN(test_pmem_fields);
	TEST_RUN(test_pmem_errors);
	TEST_RUN(test_pmem_large_file);
	TEST_RUN(test_pmem_root);
	TEST_RUN(test_pmem_too_many);
	TEST_RUN(test_hotplug);
	TEST_RUN(test_json_round_trip);
	TEST_RUN(test_config_file);
	unlink(file);
	unlink(file2);
	unlink(empty);
	unlink(disk);
	rmdir(dir);
	return test_done();
}
