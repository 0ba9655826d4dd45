/* Firecracker's custom CPU template (its CpuConfig definition) into
 * struct vm_config's CPUID and MSR modifiers, and back (see config_cpu.h). */
#include "api/config_cpu.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cpu/msr_mods.h"
#include "popek/log.h"

static int cpu_fail(const struct config_err *e, const char *where, const char *fmt, ...)
    PRINTF_FMT(3, 4);

static int cpu_fail(const struct config_err *e, const char *where, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(e->buf, e->len, "%s%s: %s", e->prefix, where, msg);
	return -EINVAL;
}

/* Keys of o must be among allowed (NULL-terminated) and those in required
 * present. */
static int cpu_keys(const struct config_err *e, const char *where, const cJSON *o,
		    const char *const *allowed, unsigned nr_required)
{
	const cJSON *it;

	if (!cJSON_IsObject(o))
		return cpu_fail(e, where, "must be a JSON object");
	cJSON_ArrayForEach(it, o)
	{
		bool known = false;
		for (unsigned i = 0; allowed[i]; i++)
			known |= !strcmp(it->string, allowed[i]);
		if (!known) {
			char key[80];
			log_escape(key, sizeof(key), it->string, strnlen(it->string, 64));
			return cpu_fail(e, where, "%s: unknown key", key);
		}
	}
	for (unsigned i = 0; i < nr_required; i++)
		if (!cJSON_GetObjectItemCaseSensitive(o, allowed[i]))
			return cpu_fail(e, where, "%s: missing", allowed[i]);
	return 0;
}

/* A number as Firecracker writes it in templates: "0x1f", "0b101" or "31". */
static int cpu_number(const char *s, u64 max, u64 *out)
{
	unsigned base = 10;
	u64 v = 0;

	if (!strncmp(s, "0x", 2) || !strncmp(s, "0X", 2))
		base = 16, s += 2;
	else if (!strncmp(s, "0b", 2) || !strncmp(s, "0B", 2))
		base = 2, s += 2;
	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (*s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return -EINVAL;
		if (d >= base || v > (max - d) / base)
			return -EINVAL;
		v = v * base + d;
	}
	*out = v;
	return 0;
}

static int cpu_get_number(const struct config_err *e, const char *where, const cJSON *o,
			  const char *key, u64 max, u64 *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsString(v) || cpu_number(v->valuestring, max, out) < 0)
		return cpu_fail(e, where,
				"%s: must be a string holding a number (\"0x..\", \"0b..\" or "
				"decimal) up to %#llx",
				key, (unsigned long long)max);
	return 0;
}

/* "0b" and bits characters of 0, 1 or x, most significant first; '_' is
 * skipped. */
static int cpu_bitmap(const struct config_err *e, const char *where, const cJSON *v, unsigned bits,
		      u64 *mask, u64 *value)
{
	const char *s = cJSON_IsString(v) ? v->valuestring : NULL;
	unsigned n = 0;

	*mask = *value = 0;
	if (!s || strncmp(s, "0b", 2))
		return cpu_fail(
		    e, where, "bitmap: must be a string \"0b\" and %u characters 0, 1 or x", bits);
	for (s += 2; *s; s++) {
		if (*s == '_')
			continue;
		if ((*s != '0' && *s != '1' && *s != 'x') || n == bits)
			return cpu_fail(e, where,
					"bitmap: must be \"0b\" and %u characters 0, 1 or x", bits);
		*mask <<= 1;
		*value <<= 1;
		if (*s != 'x') {
			*mask |= 1;
			*value |= *s == '1';
		}
		n++;
	}
	if (n != bits)
		return cpu_fail(e, where, "bitmap: %u bits, not %u", n, bits);
	return 0;
}

static const cJSON *cpu_array(const struct config_err *e, const cJSON *o, const char *key, int *err)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);

	*err = 0;
	if (!a || cJSON_IsNull(a))
		return NULL;
	if (!cJSON_IsArray(a))
		*err = cpu_fail(e, key, "must be an array");
	return a;
}

static int cpu_leaf(const struct config_err *e, const cJSON *lm, unsigned i, struct cpuid_mod *mods,
		    unsigned *nr)
{
	static const char *const keys[] = {"leaf", "subleaf", "flags", "modifiers", NULL};
	static const char *const regs[] = {"eax", "ebx", "ecx", "edx"};
	const cJSON *flags, *rm, *arr;
	char where[96];
	u64 leaf, subleaf, mask, value;
	unsigned j = 0;

	snprintf(where, sizeof(where), "cpuid_modifiers[%u]", i);
	if (cpu_keys(e, where, lm, keys, 4) < 0 ||
	    cpu_get_number(e, where, lm, "leaf", 0xffffffffULL, &leaf) < 0 ||
	    cpu_get_number(e, where, lm, "subleaf", 0xffffffffULL, &subleaf) < 0)
		return -EINVAL;
	flags = cJSON_GetObjectItemCaseSensitive(lm, "flags");
	if (!cJSON_IsNumber(flags) || flags->valuedouble != (double)(int)flags->valuedouble ||
	    flags->valuedouble < 0 || flags->valuedouble > 0x7fffffff)
		return cpu_fail(e, where, "flags: must be an integer from 0 to 2147483647");
	arr = cJSON_GetObjectItemCaseSensitive(lm, "modifiers");
	if (!cJSON_IsArray(arr))
		return cpu_fail(e, where, "modifiers: must be an array");
	cJSON_ArrayForEach(rm, arr)
	{
		static const char *const rkeys[] = {"register", "bitmap", NULL};
		const cJSON *reg;
		char rwhere[128];
		unsigned r;

		snprintf(rwhere, sizeof(rwhere), "%s.modifiers[%u]", where, j++);
		if (cpu_keys(e, rwhere, rm, rkeys, 2) < 0)
			return -EINVAL;
		reg = cJSON_GetObjectItemCaseSensitive(rm, "register");
		for (r = 0; r < 4 && !(cJSON_IsString(reg) && !strcmp(reg->valuestring, regs[r]));
		     r++)
			;
		if (r == 4)
			return cpu_fail(e, rwhere,
					"register: must be \"eax\", \"ebx\", \"ecx\" or \"edx\"");
		if (cpu_bitmap(e, rwhere, cJSON_GetObjectItemCaseSensitive(rm, "bitmap"), 32, &mask,
			       &value) < 0)
			return -EINVAL;
		if (*nr == CONFIG_MAX_CPUID_MODS)
			return cpu_fail(e, "cpuid_modifiers", "at most %d register modifiers",
					CONFIG_MAX_CPUID_MODS);
		mods[(*nr)++] = (struct cpuid_mod){
		    .leaf = (u32)leaf,
		    .subleaf = (u32)subleaf,
		    .subleaf_significant = (int)flags->valuedouble & 1,
		    .reg = (u8)r,
		    .mask = (u32)mask,
		    .value = (u32)value,
		};
	}
	return 0;
}

/* msr_modifiers: each parsed as Firecracker does, then held to what popek's
 * engines can honour (cpu/msr_mods.h). */
static int cpu_msrs(const struct config_err *e, const cJSON *arr, struct msr_mod *mods,
		    unsigned *nr)
{
	static const char *const keys[] = {"addr", "bitmap", NULL};
	const cJSON *it;
	u64 addr;

	*nr = 0;
	cJSON_ArrayForEach(it, arr)
	{
		const char *field;
		char where[64], why[200];
		struct msr_mod *m;

		if (*nr == CONFIG_MAX_MSR_MODS)
			return cpu_fail(e, "msr_modifiers", "at most %d MSR modifiers",
					CONFIG_MAX_MSR_MODS);
		m = &mods[*nr];
		snprintf(where, sizeof(where), "msr_modifiers[%u]", *nr);
		if (cpu_keys(e, where, it, keys, 2) < 0 ||
		    cpu_get_number(e, where, it, "addr", 0xffffffffULL, &addr) < 0 ||
		    cpu_bitmap(e, where, cJSON_GetObjectItemCaseSensitive(it, "bitmap"), 64,
			       &m->mask, &m->value) < 0)
			return -EINVAL;
		m->addr = (u32)addr;
		if (msr_mods_check(mods, *nr, &field, why, sizeof(why)) < 0)
			return cpu_fail(e, where, "%s: %s", field, why);
		(*nr)++;
	}
	return 0;
}

int config_set_cpu_config(const cJSON *o, struct vm_config *cfg, const struct config_err *e)
{
	static const char *const keys[] = {"kvm_capabilities", "cpuid_modifiers", "msr_modifiers",
					   "reg_modifiers",    "vcpu_features",   NULL};
	struct cpuid_mod mods[CONFIG_MAX_CPUID_MODS];
	struct msr_mod msr_mods[CONFIG_MAX_MSR_MODS];
	const cJSON *a, *it;
	unsigned nr = 0, nr_msr, i = 0;
	int err;

	if (cpu_keys(e, "request body", o, keys, 0) < 0)
		return -EINVAL;
	a = cpu_array(e, o, "kvm_capabilities", &err);
	if (err)
		return err;
	cJSON_ArrayForEach(it, a)
	{
		u64 cap;
		const char *s = cJSON_IsString(it) ? it->valuestring : "";
		if (*s == '!')
			s++;
		if (!*s || strspn(s, "0123456789") != strlen(s) || cpu_number(s, 0xffffffff, &cap))
			return cpu_fail(e, "kvm_capabilities",
					"each must be a capability number as a string, \"121\" or "
					"\"!121\"");
	}
	if (cJSON_GetArraySize(a))
		return cpu_fail(e, "kvm_capabilities",
				"not supported by popek (its KVM engine takes no capability "
				"changes): must be empty");
	a = cpu_array(e, o, "msr_modifiers", &err);
	if (err || cpu_msrs(e, a, msr_mods, &nr_msr) < 0)
		return -EINVAL;
	for (unsigned k = 3; k < 5; k++) {
		a = cpu_array(e, o, keys[k], &err);
		if (err)
			return err;
		if (cJSON_GetArraySize(a))
			return cpu_fail(e, keys[k], "aarch64 only: must be empty on x86-64");
	}
	a = cpu_array(e, o, "cpuid_modifiers", &err);
	if (err)
		return err;
	cJSON_ArrayForEach(it, a) if (cpu_leaf(e, it, i++, mods, &nr) < 0) return -EINVAL;
	memcpy(cfg->cpuid_mods, mods, nr * sizeof(mods[0]));
	cfg->nr_cpuid_mods = nr;
	memcpy(cfg->msr_mods, msr_mods, nr_msr * sizeof(msr_mods[0]));
	cfg->nr_msr_mods = nr_msr;
	cfg->has_cpu_config = true;
	return 0;
}

/* The bitmap string of cpu_bitmap(), back: buf holds at least bits + 3. */
static const char *cpu_bitmap_str(char *buf, u64 mask, u64 value, unsigned bits)
{
	buf[0] = '0';
	buf[1] = 'b';
	for (unsigned b = 0; b < bits; b++) {
		unsigned bit = bits - 1 - b;
		buf[2 + b] = !(mask >> bit & 1) ? 'x' : (value >> bit & 1) ? '1' : '0';
	}
	buf[2 + bits] = 0;
	return buf;
}

cJSON *config_cpu_config_json(const struct vm_config *cfg)
{
	static const char *const regs[] = {"eax", "ebx", "ecx", "edx"};
	cJSON *o, *arr;

	if (!cfg->has_cpu_config)
		return NULL;
	o = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(o, "cpuid_modifiers");
	for (unsigned i = 0; arr && i < cfg->nr_cpuid_mods; i++) {
		const struct cpuid_mod *m = &cfg->cpuid_mods[i];
		cJSON *lm = cJSON_CreateObject(), *mods, *rm;
		char num[16], bitmap[70];

		snprintf(num, sizeof(num), "0x%x", m->leaf);
		cJSON_AddStringToObject(lm, "leaf", num);
		snprintf(num, sizeof(num), "0x%x", m->subleaf);
		cJSON_AddStringToObject(lm, "subleaf", num);
		cJSON_AddNumberToObject(lm, "flags", m->subleaf_significant);
		mods = cJSON_AddArrayToObject(lm, "modifiers");
		rm = cJSON_CreateObject();
		cJSON_AddStringToObject(rm, "register", regs[m->reg & 3]);
		cJSON_AddStringToObject(rm, "bitmap",
					cpu_bitmap_str(bitmap, m->mask, m->value, 32));
		cJSON_AddItemToArray(mods, rm);
		cJSON_AddItemToArray(arr, lm);
	}
	arr = cJSON_AddArrayToObject(o, "msr_modifiers");
	for (unsigned i = 0; arr && i < cfg->nr_msr_mods; i++) {
		const struct msr_mod *m = &cfg->msr_mods[i];
		cJSON *mm = cJSON_CreateObject();
		char num[16], bitmap[70];

		snprintf(num, sizeof(num), "0x%x", m->addr);
		cJSON_AddStringToObject(mm, "addr", num);
		cJSON_AddStringToObject(mm, "bitmap",
					cpu_bitmap_str(bitmap, m->mask, m->value, 64));
		cJSON_AddItemToArray(arr, mm);
	}
	return o;
}
