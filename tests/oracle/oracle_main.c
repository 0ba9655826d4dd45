/* The soft engine's correctness oracle: every instruction form runs on
 * random inputs natively and in the engine; one PASS/FAIL line per form.
 * Environment: POPEK_ORACLE_CASES (total cases, shared by the forms that
 * run), POPEK_ORACLE_SEED, POPEK_ORACLE_FILTER (substring of form names),
 * POPEK_ORACLE_FIRST (first case index: case i of a form depends only on
 * the seed, the form's name and i, so a reported "case i" reruns alone with
 * FILTER=<name> FIRST=i CASES=1), POPEK_ORACLE_VERBOSE=1 (time per form),
 * POPEK_ORACLE_NATIVE_ONLY=1 (the host against itself: a harness self-test).
 * A form whose CPUID feature the engine does not announce runs too: it must
 * raise #UD there. One the engine announces and this host lacks cannot be
 * compared: a FAIL of the run, never a skip. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oracle/oracle.h"

#define DEFAULT_SEED     0x706f70656bULL /* "popek" */
#define DEFAULT_PER_FORM 400

/* tests/unit/test.h's TEST_END_MARKER: the last line of a run that reached
 * its end, which tests/run.sh requires (a crash leaves it out). */
#define END_MARKER "END-OF-TESTS"

struct oracle_stats {
	unsigned pass, fail;
	u64 cases;
};

/* What the run does with the forms that match the filter, by the CPUID
 * feature each needs (oracle_form.feature). */
struct form_plan {
	unsigned nrun;
	u64 ud_by[FEAT_COUNT];        /* the engine does not announce it: must #UD */
	u64 unchecked_by[FEAT_COUNT]; /* the engine does, this host not: not run */
	u64 unknown;                  /* the engine's CPUID is unknown: not run */
};

struct form_outcome {
	u64 cases, failed, warned;
	char first_fail[1100];
	char first_fail_case[2048];
	char first_warn[600];
	char first_warn_case[2048];
};

struct oracle_form *form_add(struct form_list *l, oracle_gen_fn *gen, const char *fmt, ...)
{
	struct oracle_form *f;
	va_list ap;

	if (l->n == l->cap) {
		unsigned cap = l->cap ? 2 * l->cap : 256;
		struct oracle_form *v = realloc(l->v, cap * sizeof(*v));
		if (!v) {
			fprintf(stderr, "oracle: out of memory for forms\n");
			abort();
		}
		l->v = v;
		l->cap = cap;
	}
	f = &l->v[l->n++];
	memset(f, 0, sizeof(*f));
	f->gen = gen;
	f->digit = -1;
	f->rm = RM_ANY;
	f->flags_def = FL_ARITH;
	va_start(ap, fmt);
	vsnprintf(f->name, sizeof(f->name), fmt, ap);
	va_end(ap);
	return f;
}

static u64 env_u64(const char *name, u64 def)
{
	const char *s = getenv(name);
	char *end;
	u64 v;

	if (!s || !*s)
		return def;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end) {
		fprintf(stderr, "oracle: %s=%s is not a number; using %llu\n", name, s,
			(unsigned long long)def);
		return def;
	}
	return v;
}

static u64 hash_name(const char *s)
{
	u64 h = 0xcbf29ce484222325ULL;

	while (*s)
		h = (h ^ (u8)*s++) * 0x100000001b3ULL;
	return h;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct oracle_ctx {
	struct native_world *nw;
	struct guest_world *gw; /* NULL: native-only self-test */
	u64 base, seed;
	struct oracle_case *c;
	struct oracle_result *want, *got;
	u8 *want_mem; /* native-only: copy of the first run's memory */
	struct oracle_verdict v;
};

static void run_form(struct oracle_ctx *x, const struct oracle_form *f, u64 first, u64 ncases,
		     struct form_outcome *o)
{
	struct oracle_rng rng;
	u64 h = hash_name(f->name);

	memset(o, 0, sizeof(*o));
	for (u64 i = first; i < first + ncases; i++) {
		rng.s = x->seed ^ h ^ (i * 0xd1342543de82ef95ULL);
		rng_next(&rng);
		f->gen(f, &rng, x->base, x->c);
		if (f->expect_ud)
			gen_expect_ud(x->c, oracle_feature_name(f->feature));
		native_run(x->nw, x->c, x->want);
		if (x->gw) {
			guest_run(x->gw, x->c, x->got);
		} else {
			memcpy(x->want_mem, x->want->mem, OR_MEM_SIZE);
			x->want->mem = x->want_mem;
			native_run(x->nw, x->c, x->got);
		}
		oracle_compare(x->c, x->base, x->want, x->got, &x->v);
		o->cases++;
		if (x->v.fail) {
			if (!o->failed++) {
				snprintf(o->first_fail, sizeof(o->first_fail), "case %llu:%s",
					 (unsigned long long)i, x->v.text);
				oracle_describe_case(x->c, o->first_fail_case,
						     sizeof(o->first_fail_case));
			}
		} else if (x->v.warn && !o->warned++) {
			snprintf(o->first_warn, sizeof(o->first_warn), "case %llu:%s",
				 (unsigned long long)i, x->v.wtext);
			oracle_describe_case(x->c, o->first_warn_case, sizeof(o->first_warn_case));
		}
	}
}

static void report_form(const struct oracle_form *f, const struct form_outcome *o,
			struct oracle_stats *st)
{
	char title[sizeof(f->name) + 48];

	/* A form checked for #UD says so: its PASS is not a check of what the
	 * instruction computes. */
	if (f->expect_ud)
		snprintf(title, sizeof(title), "%s [#UD: no %s in the engine's CPUID]", f->name,
			 oracle_feature_name(f->feature));
	else
		snprintf(title, sizeof(title), "%s", f->name);
	st->cases += o->cases;
	if (o->failed) {
		st->fail++;
		printf("FAIL %s: %llu of %llu cases differ; first %s\n    %s\n", title,
		       (unsigned long long)o->failed, (unsigned long long)o->cases, o->first_fail,
		       o->first_fail_case);
	} else {
		st->pass++;
		printf("PASS %s\n", title);
	}
	if (o->warned)
		printf("  note %s: undefined flags/values differ from the host in %llu of %llu "
		       "cases (first: %s)\n    %s\n",
		       f->name, (unsigned long long)o->warned, (unsigned long long)o->cases,
		       o->first_warn, o->first_warn_case);
	fflush(stdout);
}

static int oracle_setup(struct oracle_ctx *x, bool native_only)
{
	char why[256] = "";
	int err;

	err = native_create(&x->nw);
	if (err < 0) {
		printf("FAIL soft_oracle: cannot map the native test region below 60 MiB: %s\n",
		       strerror(-err));
		return err;
	}
	x->base = native_base(x->nw);
	if (oracle_selftest(x->nw, why, sizeof(why)) < 0) {
		printf("FAIL oracle_harness: the native side gives a wrong known answer: %s\n",
		       why);
		return -EIO;
	}
	x->c = aligned_alloc(64, ALIGN_UP(sizeof(*x->c), 64));
	x->want = aligned_alloc(64, ALIGN_UP(sizeof(*x->want), 64));
	x->got = aligned_alloc(64, ALIGN_UP(sizeof(*x->got), 64));
	x->want_mem = malloc(OR_MEM_SIZE);
	if (!x->c || !x->want || !x->got || !x->want_mem) {
		printf("FAIL soft_oracle: out of memory\n");
		return -ENOMEM;
	}
	memset(x->c, 0, sizeof(*x->c));
	x->c->gs_ok = native_gs_ok(x->nw);
	if (native_only)
		return 0;
	/* The engine cannot even run NOP;HLT: that is a broken engine, not a
	 * host that lacks something, so it must fail rather than skip. */
	err = guest_create(x->base, &x->gw, why, sizeof(why));
	if (err < 0) {
		printf("FAIL soft_oracle: the engine cannot run the smoke test (%s)\n", why);
		return err;
	}
	return 0;
}

static void oracle_teardown(struct oracle_ctx *x)
{
	guest_destroy(x->gw);
	native_destroy(x->nw);
	free(x->c);
	free(x->want);
	free(x->got);
	free(x->want_mem);
}

/* Marks the forms to run (f->run) among those whose name contains filter:
 * each is compared with the host when the engine and the host both
 * announce its feature, and must raise #UD (f->expect_ud) when the engine
 * does not announce it, whatever the host has. One the engine announces and
 * this host lacks, and with model_known false any form that needs a
 * feature, is not run and counted in p. */
static void plan_forms(struct form_list *forms, const char *filter, u64 host, u64 engine,
		       bool model_known, struct form_plan *p)
{
	memset(p, 0, sizeof(*p));
	for (unsigned i = 0; i < forms->n; i++) {
		struct oracle_form *f = &forms->v[i];
		u64 need = 1ULL << f->feature;

		f->run = false;
		f->expect_ud = false;
		if (filter && !strstr(f->name, filter))
			continue;
		if (f->feature != FEAT_NONE && !model_known) {
			p->unknown++;
			continue;
		}
		if (!(engine & need)) {
			f->expect_ud = true;
			p->ud_by[f->feature]++;
		} else if (!(host & need)) {
			p->unchecked_by[f->feature]++;
			continue;
		}
		f->run = true;
		p->nrun++;
	}
}

int main(void)
{
	struct oracle_ctx x;
	struct form_list forms = {0};
	struct oracle_stats st = {0};
	struct form_outcome *o = malloc(sizeof(*o));
	const char *filter = getenv("POPEK_ORACLE_FILTER");
	bool native_only = env_u64("POPEK_ORACLE_NATIVE_ONLY", 0) != 0;
	bool verbose = env_u64("POPEK_ORACLE_VERBOSE", 0) != 0;
	u64 host, engine, total, per_form, nud = 0;
	u64 first = env_u64("POPEK_ORACLE_FIRST", 0);
	struct form_plan plan;
	bool model_known = true;
	double t0 = now_s();
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&x, 0, sizeof(x));
	x.seed = env_u64("POPEK_ORACLE_SEED", DEFAULT_SEED);
	forms_alu_register(&forms);
	forms_shift_register(&forms);
	forms_move_register(&forms);
	forms_misc_register(&forms);
	forms_string_register(&forms);
	forms_sse_register(&forms);
	forms_mmx_register(&forms);

	err = oracle_setup(&x, native_only);
	if (err) {
		oracle_teardown(&x);
		free(forms.v);
		free(o);
		printf(END_MARKER ": 0 passed, 1 failed, 0 skipped\n");
		return 1;
	}
	host = native_features();
	engine = host;
	if (x.gw && guest_features(x.gw, &engine) < 0)
		model_known = false;
	printf("oracle: features (host/engine):");
	for (unsigned i = 1; i < FEAT_COUNT; i++)
		printf(" %s%s%s", oracle_feature_name(i), host & (1ULL << i) ? "" : "-host",
		       model_known && !(engine & (1ULL << i)) ? "-engine" : "");
	printf("\n");
	x.c->model_features = engine;
	x.c->host_features = host;
	/* The forms to run; the cases are shared among them. */
	plan_forms(&forms, filter, host, engine, model_known, &plan);
	if (!model_known) {
		printf("FAIL soft_oracle: CPUID in the engine did not complete; the %llu forms "
		       "that need a CPUID feature are not run\n",
		       (unsigned long long)plan.unknown);
		st.fail++; /* the exit status must say so too */
	}
	for (unsigned i = 0; i < FEAT_COUNT; i++) {
		if (plan.unchecked_by[i]) {
			const char *name = oracle_feature_name(i);
			printf("FAIL oracle_%s: the engine announces %s and this host lacks it: "
			       "%llu forms cannot be checked\n",
			       name, name, (unsigned long long)plan.unchecked_by[i]);
			st.fail++;
		}
		if (plan.ud_by[i]) {
			printf("oracle: the engine does not announce %s: its %llu forms must raise "
			       "#UD\n",
			       oracle_feature_name(i), (unsigned long long)plan.ud_by[i]);
			nud += plan.ud_by[i];
		}
	}
	total = env_u64("POPEK_ORACLE_CASES", (u64)plan.nrun * DEFAULT_PER_FORM);
	per_form = plan.nrun ? (total + plan.nrun - 1) / plan.nrun : 0;
	printf("oracle: seed=0x%llx (POPEK_ORACLE_SEED) cases=%llu forms=%u per-form=%llu "
	       "region=0x%llx%s\n",
	       (unsigned long long)x.seed, (unsigned long long)total, plan.nrun,
	       (unsigned long long)per_form, (unsigned long long)x.base,
	       native_only ? " (native self-test)" : "");

	for (unsigned i = 0; i < forms.n; i++) {
		const struct oracle_form *f = &forms.v[i];
		double tf = now_s();

		if (!f->run)
			continue;
		run_form(&x, f, first, per_form, o);
		report_form(f, o, &st);
		if (verbose)
			printf("  time %s: %.3f s\n", f->name, now_s() - tf);
	}
	printf("oracle: %u forms passed, %u failed (%llu forms checked for #UD); %llu cases in "
	       "%.1f s (seed 0x%llx)\n",
	       st.pass, st.fail, (unsigned long long)nud, (unsigned long long)st.cases,
	       now_s() - t0, (unsigned long long)x.seed);
	oracle_teardown(&x);
	free(forms.v);
	free(o);
	printf(END_MARKER ": %u passed, %u failed, 0 skipped\n", st.pass, st.fail);
	return st.fail ? 1 : 0;
}
