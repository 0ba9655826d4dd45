/* Unit tests for the Firecracker-layout JSON config (src/api/config_file.c,
 * config_json.c): every field, the error message for each kind of mistake,
 * root-drive handling and the round trip through config_to_json. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/config_file.h"
#include "test.h"

static char kernel[64], initrd[64], disk[64], disk2[64];

static void make_file(char *path, const char *tmpl)
{
	int fd;

	strcpy(path, tmpl);
	fd = mkstemp(path);
	if (fd >= 0) {
		if (write(fd, "x", 1) != 1)
			perror("write");
		close(fd);
	}
}

static void defaults(struct vm_config *cfg, struct config_store *st)
{
	memset(cfg, 0, sizeof(*cfg));
	config_store_init(st);
	cfg->nr_cpus = 1;
	cfg->mem_size = 256 * MiB;
	cfg->rng = true;
}

/* Loads text (with KERNEL, INITRD, DISK, DISK2 replaced by the temp files). */
static int load(const char *text, struct vm_config *cfg, struct config_store *st, char *err)
{
	char buf[8192], *o = buf;

	for (const char *p = text; *p && o < buf + sizeof(buf) - 80;) {
		const char *rep = NULL;
		size_t skip = 0;
		if (!strncmp(p, "KERNEL", 6))
			rep = kernel, skip = 6;
		else if (!strncmp(p, "INITRD", 6))
			rep = initrd, skip = 6;
		else if (!strncmp(p, "DISK2", 5))
			rep = disk2, skip = 5;
		else if (!strncmp(p, "DISK", 4))
			rep = disk, skip = 4;
		if (rep) {
			o += sprintf(o, "%s", rep);
			p += skip;
		} else {
			*o++ = *p++;
		}
	}
	*o = 0;
	defaults(cfg, st);
	err[0] = 0;
	return config_json_load(buf, strlen(buf), cfg, st, err, 600);
}

/* 56 bits of a 64-bit MSR bitmap left as they are. */
#define X56 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

static const char full_config[] =
    "{\n"
    "  \"boot-source\": {\"kernel_image_path\": \"KERNEL\", \"initrd_path\": \"INITRD\",\n"
    "                  \"boot_args\": \"console=ttyS0 quiet\"},\n"
    "  \"drives\": [\n"
    "    {\"drive_id\": \"scratch\", \"path_on_host\": \"DISK2\", \"is_root_device\": false,\n"
    "     \"is_read_only\": true, \"cache_type\": \"Unsafe\", \"io_engine\": \"Sync\",\n"
    "     \"partuuid\": null, \"rate_limiter\": null},\n"
    "    {\"drive_id\": \"rootfs\", \"path_on_host\": \"DISK\", \"is_root_device\": true,\n"
    "     \"is_read_only\": false, \"cache_type\": \"Writeback\", \"io_engine\": \"Async\",\n"
    "     \"partuuid\": \"0eaa91a0-01\", \"rate_limiter\": {\"bandwidth\": {\"size\": 2097152,\n"
    "     \"one_time_burst\": 1048576, \"refill_time\": 1000}, \"ops\": {\"size\": 100,\n"
    "     \"refill_time\": 10}}}\n"
    "  ],\n"
    "  \"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 512, \"smt\": false,\n"
    "                     \"track_dirty_pages\": false, \"engine\": \"soft\",\n"
    "                     \"cpu_vendor\": \"amd\", \"soft_jit\": false,\n"
    "                     \"soft_jit_cache_mib\": 64, \"pv\": false},\n"
    "  \"network-interfaces\": [\n"
    "    {\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"guest_mac\": "
    "\"06:00:AC:10:00:02\", \"mtu\": 9000},\n"
    "    {\"iface_id\": \"eth1\", \"mode\": \"user\", \"rx_rate_limiter\": {},\n"
    "     \"tx_rate_limiter\": {\"ops\": {\"size\": 5, \"refill_time\": 7}}, \"hostfwd\": [\n"
    "       {\"protocol\": \"tcp\", \"host_addr\": \"127.0.0.1\", \"host_port\": 2222, "
    "\"guest_port\": 22},\n"
    "       {\"host_port\": 8080, \"guest_port\": 80}]}\n"
    "  ],\n"
    "  \"vsock\": {\"guest_cid\": 3, \"uds_path\": \"/tmp/v.sock\", \"vsock_id\": \"vsock0\"},\n"
    "  \"balloon\": {\"amount_mib\": 64, \"deflate_on_oom\": true, \"stats_polling_interval_s\": "
    "1, \"free_page_hinting\": true, \"free_page_reporting\": true},\n"
    "  \"metrics\": {\"metrics_path\": \"/tmp/m.json\"},\n"
    "  \"cpu-config\": {\"cpuid_modifiers\": [{\"leaf\": \"0x7\", \"subleaf\": \"0b0\", \"flags\": 1,\n"
    "    \"modifiers\": [{\"register\": \"ebx\", \"bitmap\": \"0bxxxxxxxx_xxxxxxxx_xxxxxxxx_xxxx1x0x\"}]}],\n"
    "    \"msr_modifiers\": [{\"addr\": \"0x277\", \"bitmap\": \"0b00000001" X56 "\"},\n"
    "      {\"addr\": \"416\", \"bitmap\": \"0b" X56 "xxxxxx10\"}]},\n"
    "  \"entropy\": {\"rate_limiter\": {\"bandwidth\": {\"size\": 1000, \"refill_time\": 100}}}\n"
    "}\n";

static void test_full_config(void)
{
	const struct msr_mod *mm;
	struct vm_config cfg;
	struct config_store st;
	char err[600];

	CHECK_EQ(load(full_config, &cfg, &st, err), 0);
	if (err[0])
		printf("  error: %s\n", err);
	CHECK(cfg.kernel_path && !strcmp(cfg.kernel_path, kernel));
	CHECK(cfg.initrd_path && !strcmp(cfg.initrd_path, initrd));
	CHECK(cfg.cmdline && !strcmp(cfg.cmdline, "console=ttyS0 quiet"));
	CHECK_EQ(cfg.nr_cpus, 2);
	CHECK_EQ(cfg.mem_size, 512 * MiB);
	CHECK_EQ(cfg.engine, ENGINE_SOFT);
	CHECK_EQ(cfg.cpu_vendor, CPU_VENDOR_AMD);
	CHECK(cfg.soft_jit_off);
	CHECK_EQ(cfg.soft_jit_cache, 64 * MiB);
	CHECK(cfg.no_pv);
	CHECK_EQ(cfg.nr_disks, 2);
	CHECK(!strcmp(cfg.disks[0].id, "scratch") && cfg.disks[0].readonly);
	CHECK(!strcmp(cfg.disks[1].id, "rootfs") && !cfg.disks[1].readonly);
	CHECK_EQ(cfg.disks[0].rate_limiter.bandwidth.size, 0);
	CHECK_EQ(cfg.disks[1].rate_limiter.bandwidth.size, 2097152);
	CHECK_EQ(cfg.disks[1].rate_limiter.bandwidth.one_time_burst, 1048576);
	CHECK_EQ(cfg.disks[1].rate_limiter.bandwidth.refill_time_ms, 1000);
	CHECK_EQ(cfg.disks[1].rate_limiter.ops.size, 100);
	CHECK_EQ(cfg.disks[1].rate_limiter.ops.refill_time_ms, 10);
	CHECK_EQ(cfg.nets[1].rx_rate_limiter.bandwidth.size + cfg.nets[1].rx_rate_limiter.ops.size, 0);
	CHECK_EQ(cfg.nets[1].tx_rate_limiter.ops.size, 5);
	CHECK_EQ(cfg.nets[1].tx_rate_limiter.ops.refill_time_ms, 7);
	CHECK(cfg.rng && cfg.rng_rate_limiter.bandwidth.size == 1000);
	CHECK_EQ(st.root_drive, 1);
	CHECK_EQ(cfg.nr_nets, 2);
	CHECK_EQ(cfg.nets[0].mode, NET_TAP);
	CHECK(!strcmp(cfg.nets[0].ifname, "tap0"));
	CHECK(cfg.nets[0].has_mac && cfg.nets[0].mac[2] == 0xac && cfg.nets[0].mac[5] == 2);
	CHECK_EQ(cfg.nets[1].mode, NET_USER);
	CHECK_EQ(cfg.nets[1].nr_hostfwd, 2);
	CHECK_EQ(cfg.nets[1].hostfwd[0].host_addr, 0x7f000001);
	CHECK_EQ(cfg.nets[1].hostfwd[0].host_port, 2222);
	CHECK_EQ(cfg.nets[1].hostfwd[1].guest_port, 80);
	CHECK(cfg.vsock.enabled && cfg.vsock.guest_cid == 3);
	CHECK(!strcmp(cfg.vsock.uds_path, "/tmp/v.sock"));
	CHECK(cfg.balloon && cfg.balloon_target_bytes == 64 * MiB);
	CHECK(cfg.balloon_deflate_on_oom && cfg.balloon_reporting && cfg.balloon_hinting);
	CHECK_EQ(cfg.balloon_stats_interval_s, 1);
	CHECK(cfg.metrics_file && !strcmp(cfg.metrics_file, "/tmp/m.json"));
	CHECK_EQ(cfg.nr_msr_mods, 2);
	mm = cfg.msr_mods;
	CHECK(mm[0].addr == 0x277 && mm[0].mask == 0xffULL << 56 && mm[0].value == 1ULL << 56);
	CHECK(mm[1].addr == 0x1a0 && mm[1].mask == 3 && mm[1].value == 2);

	/* The root drive goes first and the command line names it. */
	CHECK_EQ(config_finalize(&cfg, &st, err, sizeof(err)), 0);
	CHECK(!strcmp(cfg.disks[0].id, "rootfs") && !strcmp(cfg.disks[1].id, "scratch"));
	CHECK(!strcmp(cfg.cmdline, "console=ttyS0 quiet root=PARTUUID=0eaa91a0-01 rw"));
}

/* Each bad document gives exactly this message. */
static void expect_error(const char *text, const char *want)
{
	struct vm_config cfg;
	struct config_store st;
	char err[600];

	if (load(text, &cfg, &st, err) != -EINVAL || strcmp(err, want)) {
		printf("  for %s\n    got  '%s'\n    want '%s'\n", text, err, want);
		test_state_g.failed_now = 1;
	}
}

static void test_errors(void)
{
	expect_error("{\"boot-source\": {\"kernel_image_path\": \"KERNEL\"}, \"bogus\": 1}",
		     "bogus: unknown key");
	expect_error("{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 64, \"cpus\": 2}}",
		     "machine-config.cpus: unknown key");
	expect_error("{\"machine-config\": {\"vcpu_count\": \"2\", \"mem_size_mib\": 64}}",
		     "machine-config.vcpu_count: must be an integer, not a string");
	expect_error("{\"machine-config\": {\"vcpu_count\": 0, \"mem_size_mib\": 64}}",
		     "machine-config.vcpu_count: must be an integer from 1 to 64 (got 0)");
	expect_error("{\"machine-config\": {\"vcpu_count\": 1.5, \"mem_size_mib\": 64}}",
		     "machine-config.vcpu_count: must be an integer from 1 to 64 (got 1.5)");
	expect_error("{\"machine-config\": {\"vcpu_count\": 65, \"mem_size_mib\": 64}}",
		     "machine-config.vcpu_count: must be an integer from 1 to 64 (got 65)");
	expect_error("{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 8}}",
		     "machine-config.mem_size_mib: must be an integer from 16 to 1048576 (got 8)");
	expect_error("{\"machine-config\": {\"vcpu_count\": 1}}",
		     "machine-config.mem_size_mib: missing (an integer is required)");
	expect_error(
	    "{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 64, \"smt\": true}}",
	    "machine-config.smt: true is not supported by popek");
	expect_error(
	    "{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 64, \"engine\": \"x\"}}",
	    "machine-config.engine: 'x' is not one of \"auto\", \"kvm\", \"soft\"");
	expect_error("{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 64, "
		     "\"cpu_vendor\": \"via\"}}",
		     "machine-config.cpu_vendor: 'via' is not one of \"host\", \"intel\", \"amd\"");
	expect_error("{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 64, \"pv\": 0}}",
		     "machine-config.pv: must be true or false, not a number");
	expect_error("{\"machine-config\": [1]}",
		     "machine-config: must be a JSON object, not an array");
	expect_error(
	    "{\"machine-config\": {\"vcpu_count\": 1, \"vcpu_count\": 2, \"mem_size_mib\": 64}}",
	    "machine-config.vcpu_count: given twice");
	expect_error("{\n  \"boot-source\": {\n    \"kernel_image_path\": KERNEL\n  }\n}",
		     "malformed JSON at line 3, column 26");
	expect_error("[]", "the document must be a JSON object");
	expect_error("{\"boot-source\": {\"initrd_path\": \"INITRD\"}}",
		     "boot-source.kernel_image_path: missing (a string is required)");
	expect_error(
	    "{\"boot-source\": {\"kernel_image_path\": \"/nonexistent/vmlinuz\"}}",
	    "boot-source.kernel_image_path: cannot read '/nonexistent/vmlinuz': No such file "
	    "or directory");
	expect_error("{\"boot-source\": {\"kernel_image_path\": \"KERNEL\", \"boot_args\": 7}}",
		     "boot-source.boot_args: must be a string, not a number");
	expect_error("{\"drives\": {}}", "drives: must be an array");
	expect_error("{\"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"DISK\"}]}",
		     "drives[0].is_root_device: missing (true or false is required)");
	expect_error("{\"drives\": [{\"drive_id\": \"a-b\", \"path_on_host\": \"DISK\", "
		     "\"is_root_device\": false}]}",
		     "drives[0].drive_id: 'a-b' may only contain letters, digits and '_'");
	expect_error("{\"drives\": [{\"drive_id\": \"abcdefghijklmnopqrstu\", \"path_on_host\": "
		     "\"DISK\", \"is_root_device\": false}]}",
		     "drives[0].drive_id: too long (21 bytes; at most 20)");
	expect_error(
	    "{\"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"DISK\", \"is_root_device\": "
	    "true}, {\"drive_id\": \"b\", \"path_on_host\": \"DISK2\", \"is_root_device\": true}]}",
	    "drives[1].is_root_device: drive 'a' is already the root device");
	expect_error(
	    "{\"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"DISK\", \"is_root_device\": "
	    "false, \"cache_type\": \"Fast\"}]}",
	    "drives[0].cache_type: 'Fast' is not \"Unsafe\" or \"Writeback\"");
	expect_error(
	    "{\"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"DISK\", \"is_root_device\": "
	    "false, \"io_engine\": \"Uring\"}]}",
	    "drives[0].io_engine: 'Uring' is not \"Sync\" or \"Async\"");
	expect_error(
	    "{\"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"DISK\", \"is_root_device\": "
	    "true, \"partuuid\": \"x y\"}]}",
	    "drives[0].partuuid: 'x y' is not a partition UUID (hexadecimal digits and '-')");
	expect_error("{\"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": "
		     "\"tap0\", \"mtu\": 67}]}",
		     "network-interfaces[0].mtu: must be an integer from 68 to 65535 (got 67)");
	expect_error("{\"network-interfaces\": [{\"iface_id\": \"a\", \"host_dev_name\": \"tap0\", "
		     "\"guest_mac\": \"06:00:00:00:00:01\"}, {\"iface_id\": \"b\", \"host_dev_name\": "
		     "\"tap1\", \"guest_mac\": \"06:00:00:00:00:01\"}]}",
		     "network-interfaces[1]: Network config error: The MAC address is already in "
		     "use: 06:00:00:00:00:01");
	expect_error("{\"network-interfaces\": [{\"iface_id\": \"a\", \"host_dev_name\": \"tap0\"}, "
		     "{\"iface_id\": \"b\", \"host_dev_name\": \"tap0\"}]}",
		     "network-interfaces[1]: Network config error: Could not create the network "
		     "device: Open tap device failed: Error while creating ifreq structure: Device or "
		     "resource busy (os error 16). Invalid TUN/TAP Backend provided by tap0. Check "
		     "our documentation on setting up the network devices.");
	expect_error(
	    "{\"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"DISK\", \"is_root_device\": "
	    "false, \"rate_limiter\": {\"bandwidth\": {\"size\": -1, \"refill_time\": 1}}}]}",
	    "drives[0].rate_limiter.bandwidth.size: must be an integer from 0 to 9007199254740992 "
	    "(got -1)");
	expect_error(
	    "{\"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"DISK\", \"is_root_device\": "
	    "false, \"rate_limiter\": {\"ops\": {\"size\": 10, \"refill_time\": 0}}}]}",
	    "drives[0].rate_limiter.ops.refill_time: must be at least 1 (ms) when size is not 0");
	expect_error(
	    "{\"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"DISK\", \"is_root_device\": "
	    "false, \"rate_limiter\": {\"ops\": {\"size\": 10}}}]}",
	    "drives[0].rate_limiter.ops.refill_time: missing (an integer is required)");
	expect_error(
	    "{\"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"DISK\", \"is_root_device\": "
	    "false, \"rate_limiter\": {\"bytes\": {}}}]}",
	    "drives[0].rate_limiter.bytes: unknown key");
	expect_error(
	    "{\"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"DISK\", \"is_root_device\": "
	    "false, \"rate_limiter\": 5}]}",
	    "drives[0].rate_limiter: must be a JSON object, not a number");
	expect_error(
	    "{\"network-interfaces\": [{\"iface_id\": \"eth0\", \"mode\": \"user\", "
	    "\"tx_rate_limiter\": {\"bandwidth\": {\"size\": 1.5, \"refill_time\": 1}}}]}",
	    "network-interfaces[0].tx_rate_limiter.bandwidth.size: must be an integer from 0 to "
	    "9007199254740992 (got 1.5)");
	expect_error(
	    "{\"network-interfaces\": [{\"iface_id\": \"eth0\", \"mode\": \"user\", "
	    "\"rx_rate_limiter\": {\"ops\": {\"size\": 1, \"refill_time\": 1, \"x\": 1}}}]}",
	    "network-interfaces[0].rx_rate_limiter.ops.x: unknown key");
	expect_error("{\"entropy\": {\"rate_limiter\": {\"bandwidth\": {\"size\": 1, "
		     "\"refill_time\": 1, \"one_time_burst\": \"a\"}}}}",
		     "entropy.rate_limiter.bandwidth.one_time_burst: must be an integer, not a string");
	expect_error("{\"network-interfaces\": [{\"iface_id\": \"eth0\"}]}",
		     "network-interfaces[0].host_dev_name: missing (a string is required)");
	expect_error(
	    "{\"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", "
	    "\"guest_mac\": \"01:00:00:00:00:01\"}]}",
	    "network-interfaces[0].guest_mac: '01:00:00:00:00:01' is not a unicast MAC address "
	    "like 06:00:ac:10:00:02");
	expect_error(
	    "{\"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", "
	    "\"hostfwd\": []}]}",
	    "network-interfaces[0].hostfwd: only with \"mode\": \"user\"");
	expect_error(
	    "{\"network-interfaces\": [{\"iface_id\": \"eth0\", \"mode\": \"user\", "
	    "\"hostfwd\": [{\"host_port\": 70000, \"guest_port\": 22}]}]}",
	    "network-interfaces[0].hostfwd[0].host_port: must be an integer from 1 to 65535 "
	    "(got 70000)");
	expect_error(
	    "{\"network-interfaces\": [{\"iface_id\": \"eth0\", \"mode\": \"user\", "
	    "\"hostfwd\": [{\"host_addr\": \"localhost\", \"host_port\": 1, \"guest_port\": 2}]}]}",
	    "network-interfaces[0].hostfwd[0].host_addr: 'localhost' is not an IPv4 address");
	expect_error("{\"cpu-config\": {\"cpuid_modifiers\": [{\"leaf\": \"0xg\", \"subleaf\": \"0\", "
		     "\"flags\": 0, \"modifiers\": []}]}}",
		     "cpu-config.cpuid_modifiers[0]: leaf: must be a string holding a number (\"0x..\", "
		     "\"0b..\" or decimal) up to 0xffffffff");
	expect_error("{\"cpu-config\": {\"reg_modifiers\": [{\"addr\": \"0x0\", \"bitmap\": \"0b1\"}]}}",
		     "cpu-config.reg_modifiers: aarch64 only: must be empty on x86-64");
	/* MSR modifiers: only the MSRs and bits cpu/msr_mods.h allows. */
	expect_error(
	    "{\"cpu-config\": {\"msr_modifiers\": [{\"addr\": \"0x10b\", \"bitmap\": "
	    "\"0b" X56 "xxxxxxx1\"}]}}",
	    "cpu-config.msr_modifiers[0]: addr: MSR 0x10b cannot be changed by a CPU template "
	    "in popek (only 0x10a IA32_ARCH_CAPABILITIES, 0x1a0 IA32_MISC_ENABLE and 0x277 "
	    "IA32_PAT)");
	expect_error(
	    "{\"cpu-config\": {\"msr_modifiers\": [{\"addr\": \"0x10a\", \"bitmap\": "
	    "\"0b" X56 "xxxxxxx1\"}, {\"addr\": \"0x10a\", \"bitmap\": \"0b" X56
	    "0000001x\"}, {\"addr\": \"0x10a\", \"bitmap\": "
	    "\"0bxxxxxxxx_xxxxxxxx_xxxxxxxx_xxxxxxxx_xxxxxxxx_xxxxxxxx_xxx1xxxx_xxxxxxxx\"}]}}",
	    "cpu-config.msr_modifiers[2]: bitmap: IA32_ARCH_CAPABILITIES bits 0x1000 cannot be "
	    "set to 1 in popek");
	expect_error(
	    "{\"cpu-config\": {\"msr_modifiers\": [{\"addr\": \"0x10a\", \"bitmap\": "
	    "\"0bxxxxxxxx_xxxxxxxx_xxxxxxxx_xxxxxxxx_xxxxxxxx_xxxxxxxx_xxxxxx1x_xxxxxxxx\"}]}}",
	    "cpu-config.msr_modifiers[0]: bitmap: IA32_ARCH_CAPABILITIES bits 0x200 cannot be "
	    "set to 1 in popek");
	expect_error(
	    "{\"cpu-config\": {\"msr_modifiers\": [{\"addr\": \"0x1a0\", \"bitmap\": "
	    "\"0b" X56 "1xxxxxxx\"}]}}",
	    "cpu-config.msr_modifiers[0]: bitmap: IA32_MISC_ENABLE bits 0x80 cannot be set to 1 "
	    "in popek");
	expect_error(
	    "{\"cpu-config\": {\"msr_modifiers\": [{\"addr\": \"0x1a0\", \"bitmap\": "
	    "\"0bxxxxxxxx_xxxxxxxx_xxxxxxxx_xxxxxxxx_xxxxxxxx_xxxxxxxx_xxx0xxxx_xxxxxxxx\"}]}}",
	    "cpu-config.msr_modifiers[0]: bitmap: IA32_MISC_ENABLE bits 0x1000 cannot be "
	    "cleared in popek");
	/* PAT: each modifier over the one before must leave memory types. */
	expect_error(
	    "{\"cpu-config\": {\"msr_modifiers\": [{\"addr\": \"0x277\", \"bitmap\": "
	    "\"0b" X56 "xxxxx00x\"}, {\"addr\": \"0x277\", \"bitmap\": \"0b" X56 "xxxxxx1x\"}]}}",
	    "cpu-config.msr_modifiers[1]: bitmap: IA32_PAT would be 0x7040600070402: a byte "
	    "is not a memory type");
	expect_error("{\"cpu-config\": {\"msr_modifiers\": [{\"addr\": \"0x1a0\", \"bitmap\": "
		     "\"0b" X56 "xxxxxxx\"}]}}",
		     "cpu-config.msr_modifiers[0]: bitmap: 63 bits, not 64");
	expect_error("{\"vsock\": {\"guest_cid\": 2, \"uds_path\": \"/tmp/v\"}}",
		     "vsock.guest_cid: must be an integer from 3 to 4294967294 (got 2)");
	expect_error("{\"balloon\": {\"amount_mib\": -1, \"deflate_on_oom\": false}}",
		     "balloon.amount_mib: must be an integer from 0 to 1048576 (got -1)");
	/* Firecracker's balloon rules: the target within the memory configured
	 * so far (default 256 MiB), the memory not below the target after. */
	expect_error("{\"balloon\": {\"amount_mib\": 257, \"deflate_on_oom\": false}}",
		     "balloon.amount_mib: Amount of pages requested is too large (257 MiB, the "
		     "guest has 256 MiB)");
	expect_error("{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128}, "
		     "\"balloon\": {\"amount_mib\": 129, \"deflate_on_oom\": false}}",
		     "balloon.amount_mib: Amount of pages requested is too large (129 MiB, the "
		     "guest has 128 MiB)");
	expect_error(
	    "{\"balloon\": {\"amount_mib\": 0, \"deflate_on_oom\": false, "
	    "\"stats_polling_interval_s\": 65536}}",
	    "balloon.stats_polling_interval_s: must be an integer from 0 to 65535 (got 65536)");
	expect_error("{\"balloon\": {\"amount_mib\": 0, \"deflate_on_oom\": false, "
		     "\"free_page_reporting\": 1}}",
		     "balloon.free_page_reporting: must be true or false, not a number");
	expect_error("{\"balloon\": {\"amount_mib\": 0, \"deflate_on_oom\": false, "
		     "\"free_page_hinting\": \"yes\"}}",
		     "balloon.free_page_hinting: must be true or false, not a string");
	expect_error("{\"balloon\": {\"amount_mib\": 0}}",
		     "balloon.deflate_on_oom: missing (true or false is required)");
	expect_error("{\"metrics\": {\"metrics_path\": \"\"}}",
		     "metrics.metrics_path: must not be empty");
	expect_error("{\"boot-source\": {\"kernel_image_path\": \"a\\u0001b\"}}",
		     "boot-source.kernel_image_path: contains a control character");
}

/* A failed resource leaves the configuration as it was. */
static void test_unchanged_on_error(void)
{
	struct vm_config cfg;
	struct config_store st;
	char err[600];
	struct config_err e = {err, sizeof(err), ""};
	cJSON *o;

	defaults(&cfg, &st);
	o = cJSON_Parse("{\"vcpu_count\": 4, \"mem_size_mib\": 128, \"engine\": \"warp\"}");
	CHECK_EQ(config_set_machine(o, &cfg, &e), -EINVAL);
	CHECK(!strcmp(err, "engine: 'warp' is not one of \"auto\", \"kvm\", \"soft\""));
	CHECK_EQ(cfg.nr_cpus, 1);
	CHECK_EQ(cfg.mem_size, 256 * MiB);
	cJSON_Delete(o);

	/* The API form: the id in the path must match the body's. */
	o = cJSON_Parse(
	    "{\"drive_id\": \"rootfs\", \"path_on_host\": \"/x\", \"is_root_device\": true}");
	CHECK_EQ(config_set_drive(o, "other", &cfg, &st, &e), -EINVAL);
	CHECK(
	    !strcmp(err, "drive_id: 'rootfs' does not match the id in the request path ('other')"));
	CHECK_EQ(cfg.nr_disks, 0);
	CHECK_EQ(st.root_drive, -1);
	cJSON_Delete(o);

	/* A drive given again with the same id replaces the first. */
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "drive_id", "d");
	cJSON_AddStringToObject(o, "path_on_host", disk);
	cJSON_AddBoolToObject(o, "is_root_device", true);
	CHECK_EQ(config_set_drive(o, "d", &cfg, &st, &e), 0);
	cJSON_ReplaceItemInObject(o, "is_root_device", cJSON_CreateFalse());
	CHECK_EQ(config_set_drive(o, "d", &cfg, &st, &e), 0);
	CHECK_EQ(cfg.nr_disks, 1);
	CHECK_EQ(st.root_drive, -1);
	cJSON_Delete(o);
}

static void test_round_trip(void)
{
	struct vm_config a, b;
	struct config_store sa, sb;
	char err[600], *text;
	cJSON *doc;

	CHECK_EQ(load(full_config, &a, &sa, err), 0);
	doc = config_to_json(&a, &sa, true);
	text = cJSON_Print(doc);
	defaults(&b, &sb);
	CHECK_EQ(config_json_load(text, strlen(text), &b, &sb, err, sizeof(err)), 0);
	if (err[0])
		printf("  error: %s\n", err);
	CHECK(!strcmp(b.kernel_path, a.kernel_path) && !strcmp(b.cmdline, a.cmdline));
	CHECK(!strcmp(b.initrd_path, a.initrd_path));
	CHECK(b.nr_cpus == a.nr_cpus && b.mem_size == a.mem_size && b.engine == a.engine);
	CHECK(b.no_pv && a.no_pv);
	CHECK(b.nr_disks == 2 && sb.root_drive == 1 && b.disks[0].readonly);
	CHECK(!memcmp(b.disks, a.disks, sizeof(a.disks)));
	CHECK(b.disks[1].cache == DISK_CACHE_WRITEBACK && b.disks[1].io_async);
	CHECK(b.disks[0].cache == DISK_CACHE_UNSAFE && !strcmp(b.disks[1].partuuid, "0eaa91a0-01"));
	CHECK_EQ(b.nets[0].mtu, 9000);
	CHECK(b.has_cpu_config && b.nr_cpuid_mods == 1);
	CHECK(!memcmp(b.cpuid_mods, a.cpuid_mods, sizeof(a.cpuid_mods[0])));
	CHECK(b.nr_msr_mods == 2 && a.nr_msr_mods == 2);
	for (unsigned i = 0; i < 2; i++)
		CHECK(b.msr_mods[i].addr == a.msr_mods[i].addr &&
		      b.msr_mods[i].mask == a.msr_mods[i].mask &&
		      b.msr_mods[i].value == a.msr_mods[i].value);
	CHECK(a.cpuid_mods[0].leaf == 7 && a.cpuid_mods[0].subleaf_significant &&
	      a.cpuid_mods[0].reg == 1 && a.cpuid_mods[0].mask == 0xa && a.cpuid_mods[0].value == 0x8);
	CHECK(!memcmp(b.nets, a.nets, sizeof(a.nets)));
	CHECK(!memcmp(&b.disks[1].rate_limiter, &a.disks[1].rate_limiter,
		      sizeof(a.disks[1].rate_limiter)));
	CHECK(!memcmp(&b.rng_rate_limiter, &a.rng_rate_limiter, sizeof(a.rng_rate_limiter)));
	CHECK(!memcmp(&b.vsock, &a.vsock, sizeof(a.vsock)));
	CHECK(b.balloon && b.balloon_target_bytes == a.balloon_target_bytes);
	CHECK(b.balloon_deflate_on_oom && b.balloon_reporting && b.balloon_hinting);
	CHECK_EQ(b.balloon_stats_interval_s, a.balloon_stats_interval_s);
	CHECK(!strcmp(b.metrics_file, a.metrics_file));
	free(text);
	cJSON_Delete(doc);
}

static void test_file_errors(void)
{
	struct vm_config cfg;
	struct config_store st;

	defaults(&cfg, &st);
	CHECK_EQ(config_file_load("/nonexistent/vm.json", &cfg, &st), -ENOENT);
	CHECK_EQ(config_file_load("/tmp", &cfg, &st), -EINVAL);
}

static void test_finalize_readonly_root(void)
{
	struct vm_config cfg;
	struct config_store st;
	char err[600];

	CHECK_EQ(load("{\"drives\": [{\"drive_id\": \"r\", \"path_on_host\": \"DISK\", "
		      "\"is_root_device\": true, \"is_read_only\": true}]}",
		      &cfg, &st, err),
		 0);
	CHECK_EQ(config_finalize(&cfg, &st, err, sizeof(err)), 0);
	CHECK(cfg.cmdline && !strcmp(cfg.cmdline, "root=/dev/vda ro"));
	/* With a partuuid the root is found by it, as in Firecracker. */
	strcpy(cfg.disks[0].partuuid, "0eaa91a0-01");
	cfg.cmdline = "quiet";
	CHECK_EQ(config_finalize(&cfg, &st, err, sizeof(err)), 0);
	CHECK(!strcmp(cfg.cmdline, "quiet root=PARTUUID=0eaa91a0-01 ro"));
	/* A command line that names a root already is left alone. */
	cfg.cmdline = "root=/dev/vdb";
	CHECK_EQ(config_finalize(&cfg, &st, err, sizeof(err)), 0);
	CHECK(!strcmp(cfg.cmdline, "root=/dev/vdb"));
}

int main(void)
{
	make_file(kernel, "/tmp/popek-kernel-XXXXXX");
	make_file(initrd, "/tmp/popek-initrd-XXXXXX");
	make_file(disk, "/tmp/popek-disk-XXXXXX");
	make_file(disk2, "/tmp/popek-disk2-XXXXXX");
	TEST_RUN(test_full_config);
	TEST_RUN(test_errors);
	TEST_RUN(test_unchanged_on_error);
	TEST_RUN(test_round_trip);
	TEST_RUN(test_file_errors);
	TEST_RUN(test_finalize_readonly_root);
	unlink(kernel);
	unlink(initrd);
	unlink(disk);
	unlink(disk2);
	return test_done();
}
