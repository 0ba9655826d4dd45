/* Checks popek's ACPI tables with ACPICA, the code Linux runs: iasl
 * disassembles each table, recompiles the DSDT to the same bytes, and
 * acpiexec evaluates \_S5, _STA and _CRS and enters S5 the hardware-reduced way.
 * Each test SKIPs when its tool (acpica-tools) is not installed. */
#include <stdlib.h>
#include <unistd.h>

#include "acpi/acpi.h"
#include "core/guest_mem.h"
#include "popek/layout.h"
#include "unit/test.h"

#define NR_VIRTIO 3

struct fixture {
	bool tried, ok;
	char dir[64];
	struct guest_mem mem;
	const u8 *dsdt;
	u32 dsdt_len;
};

static struct fixture fx;

static u32 rd32(const u8 *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (u32)p[3] << 24;
}

static u64 rd64(const u8 *p)
{
	return rd32(p) | (u64)rd32(p + 4) << 32;
}

/* Runs a shell command in the fixture's directory; returns its output
 * (malloc'ed, NUL-terminated) and exit status in *status. */
static char *run(const char *cmd, int *status)
{
	char line[512];
	size_t len = 0, cap = 4096;
	char *out = malloc(cap);
	FILE *p;

	snprintf(line, sizeof(line), "cd %s && timeout 60 %s 2>&1", fx.dir, cmd);
	p = popen(line, "r");
	if (!p) {
		*status = -1;
		out[0] = 0;
		return out;
	}
	for (;;) {
		size_t n = fread(out + len, 1, cap - len - 1, p);

		len += n;
		if (!n)
			break;
		if (cap - len < 2)
			out = realloc(out, cap *= 2);
	}
	out[len] = 0;
	*status = pclose(p);
	return out;
}

static void write_file(const char *name, const void *p, size_t n)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fx.dir, name);
	f = fopen(path, "wb");
	CHECK(f != NULL);
	if (!f)
		return;
	CHECK_EQ(fwrite(p, 1, n, f), n);
	fclose(f);
}

/* Builds the tables of a 2-CPU guest with COM1, RTC and three virtio devices
 * and writes each table to DIR/<signature>.dat. */
static int fixture_setup(void)
{
	struct acpi_config cfg;
	const u8 *rsdp, *xsdt, *t;
	gpa_t at = 0;

	memset(&cfg, 0, sizeof(cfg));
	cfg.nr_cpus = 2;
	cfg.has_uart = cfg.has_rtc = true;
	cfg.nr_virtio = NR_VIRTIO;
	for (unsigned i = 0; i < NR_VIRTIO; i++) {
		cfg.virtio[i].mmio_base = LAYOUT_VIRTIO_MMIO_BASE + i * LAYOUT_VIRTIO_MMIO_SIZE;
		cfg.virtio[i].mmio_size = LAYOUT_VIRTIO_MMIO_SIZE;
		cfg.virtio[i].gsi = LAYOUT_VIRTIO_GSI_BASE + i;
	}
	strcpy(fx.dir, "/tmp/popek-acpi-XXXXXX");
	if (!mkdtemp(fx.dir) || guest_mem_init(&fx.mem, 2 * MiB) || acpi_build(&fx.mem, &cfg, &at))
		return -1;
	rsdp = guest_mem_ptr(&fx.mem, at, 36);
	xsdt = guest_mem_ptr(&fx.mem, rd64(rsdp + 24), 36);
	write_file("xsdt.dat", xsdt, rd32(xsdt + 4));
	for (unsigned i = 0; i < 2; i++) {
		t = guest_mem_ptr(&fx.mem, rd64(xsdt + 36 + 8 * i), 36);
		write_file(i ? "apic.dat" : "facp.dat", t, rd32(t + 4));
		if (!i) {
			fx.dsdt = guest_mem_ptr(&fx.mem, rd64(t + 140), 36);
			fx.dsdt_len = rd32(fx.dsdt + 4);
		}
	}
	write_file("dsdt.dat", fx.dsdt, fx.dsdt_len);
	return 0;
}

static void check_clean(const char *what, const char *out, int status)
{
	if (status != 0 || strstr(out, "rror") || strstr(out, "arning") || strstr(out, "Invalid")) {
		printf("  %s: status %d, output:\n%s\n", what, status, out);
		test_state_g.failed_now = 1;
	}
}

static bool have(const char *tool)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

/* A test can run when its tool is installed (else it skips) and the tables
 * are on disk (built by the first test that runs; else it fails). */
static bool ready(const char *tool)
{
	if (!have(tool)) {
		TEST_SKIP("%s not installed (apt-get install acpica-tools)", tool);
		return false;
	}
	if (!fx.tried) {
		fx.tried = true;
		fx.ok = fixture_setup() == 0;
	}
	if (!fx.ok)
		printf("  cannot build the tables in %s\n", fx.dir);
	CHECK(fx.ok);
	return fx.ok;
}

/* iasl -d decodes each table (it checks lengths, checksums and AML) without complaint. */
static void test_iasl_disassemble(void)
{
	static const char *const tables[] = {"dsdt", "facp", "apic", "xsdt"};
	char cmd[64];
	int status;

	if (!ready("iasl"))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(tables); i++) {
		snprintf(cmd, sizeof(cmd), "iasl -d %s.dat", tables[i]);
		char *out = run(cmd, &status);

		check_clean(cmd, out, status);
		free(out);
	}
}

/* The disassembled DSDT compiles (iasl -oa: no optimizations) to exactly our AML. */
static void test_iasl_roundtrip(void)
{
	char path[128];
	int status;
	char *out;
	u8 re[8192];
	size_t n = 0;
	FILE *f;

	if (!ready("iasl"))
		return;
	out = run("iasl -oa -p re dsdt.dsl", &status);
	if (status != 0 || !strstr(out, "0 Errors, 0 Warnings")) {
		printf("  iasl compile: status %d, output:\n%s\n", status, out);
		test_state_g.failed_now = 1;
	}
	free(out);
	snprintf(path, sizeof(path), "%s/re.aml", fx.dir);
	f = fopen(path, "rb");
	CHECK(f != NULL);
	if (f) {
		n = fread(re, 1, sizeof(re), f);
		fclose(f);
	}
	/* Same length and body; the header differs only in the compiler ids. */
	CHECK_EQ(n, fx.dsdt_len);
	CHECK(n == fx.dsdt_len && !memcmp(re + 36, fx.dsdt + 36, n - 36));
	CHECK(n >= 36 && !memcmp(re, fx.dsdt, 8));
}

/* ACPICA's interpreter evaluates the objects and sleeps through the FADT's registers. */
static void test_acpiexec(void)
{
	char expect[64];
	int status;
	char *out;

	if (!ready("acpiexec"))
		return;
	out = run("acpiexec -b \"evaluate \\_SB.VR02._STA; resources \\_SB.VR02; "
		  "resources \\_SB.COM1; sleep 5\" facp.dat apic.dat dsdt.dat",
		  &status);

	CHECK_EQ(status, 0);
	CHECK(strstr(out, "[Integer] = 000000000000000F") != NULL);
	CHECK(strstr(out, "Address : D0002000") != NULL);
	CHECK(strstr(out, "Triggering : Level") != NULL);
	CHECK(strstr(out, "Polarity : ActiveHigh") != NULL);
	snprintf(expect, sizeof(expect), "Dword00 : %08X", LAYOUT_VIRTIO_GSI_BASE + 2);
	CHECK(strstr(out, expect) != NULL);
	CHECK(strstr(out, "Address Minimum : 03F8") != NULL);
	CHECK(strstr(out, "Interrupt List : 4") != NULL);
	CHECK(strstr(out, "FACP 0x") && strstr(out, "(v06 POPEK"));
	CHECK(strstr(out, "Sleep-A: 05") != NULL);
	CHECK(strstr(out, "HwExtendedSleep") != NULL); /* the hardware-reduced path */
	if (test_state_g.failed_now)
		printf("  acpiexec output:\n%s\n", out);
	free(out);
}

int main(void)
{
	char cmd[128];

	TEST_RUN(test_iasl_disassemble);
	TEST_RUN(test_iasl_roundtrip);
	TEST_RUN(test_acpiexec);
	if (fx.tried) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", fx.dir);
		if (system(cmd))
			printf("  could not remove %s\n", fx.dir);
		guest_mem_destroy(&fx.mem);
	}
	return test_done();
}
