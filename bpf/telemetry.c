// SPDX-License-Identifier: GPL-2.0
/*
 * Telemetry from user space: load and pin the programs of telemetry.bpf.c
 * (skeleton), read the pinned maps, keep the power map current.
 *
 * Pinned links are what keeps the programs attached after the loading
 * process exits (mcaictl telemetry enable returns at once); unpinning
 * them detaches.  The maps are pinned by name under MCAI_TEL_PIN_DIR and
 * reused by the next enable, so a disable/enable keeps the counts.  A
 * raw tracepoint link holds a reference on mcai.ko: rmmod needs
 * `mcaictl telemetry disable` first, which is what makes a module reload
 * safe for the maps (model ids restart; see mcai_tel_forget()).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "runtime/lib/errmsg.h"
#include "telemetry.h"
/* generated in $(B)/bpf/, which bpf.mk puts on the include path */
#include "telemetry.skel.h"

#define MCAI_TEL_LINK_DIR	MCAI_TEL_PIN_DIR "/links"
#define MCAI_BPFFS_MAGIC	0xcafe4a11

static const char *const mcai_tel_progs[MCAI_TEL_N_PROGS] = {
	"mcai_tel_end", "mcai_tel_shed", "mcai_tel_drop",
};

/* Links an older release pinned: a disable after an upgrade drops them. */
static const char *const mcai_tel_old_progs[] = {
	"mcai_tel_start", "mcai_tel_switch",
};

static int mcai_tel_silent(enum libbpf_print_level level, const char *fmt,
			   va_list ap)
{
	/* libbpf's own warnings only with MCAI_BPF_DEBUG set */
	if (level == LIBBPF_DEBUG || !getenv("MCAI_BPF_DEBUG"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int mcai_tel_bpffs(char *err, size_t errlen)
{
	struct statfs fs;

	if (statfs("/sys/fs/bpf", &fs) || fs.f_type != MCAI_BPFFS_MAGIC)
		return mcai_errmsg(err, errlen, -ENOENT,
			"no BPF filesystem on /sys/fs/bpf (mount -t bpf bpf "
			"/sys/fs/bpf)");
	return 0;
}

static void mcai_tel_link_path(char *buf, size_t len, const char *prog)
{
	snprintf(buf, len, "%s/%s", MCAI_TEL_LINK_DIR, prog);
}

int mcai_tel_enable(bool *already, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts,
		    .pin_root_path = MCAI_TEL_PIN_DIR);
	struct mcai_telemetry *skel = NULL;
	struct bpf_program *prog;
	char path[256];
	int ret, pinned = 0;

	*already = false;
	ret = mcai_tel_bpffs(err, errlen);
	if (ret)
		return ret;
	mcai_tel_link_path(path, sizeof(path), "mcai_tel_end");
	if (!access(path, F_OK)) {
		*already = true;
		return 0;
	}
	if ((mkdir(MCAI_TEL_PIN_DIR, 0755) && errno != EEXIST) ||
	    (mkdir(MCAI_TEL_LINK_DIR, 0755) && errno != EEXIST))
		return mcai_errmsg(err, errlen, -errno, "%s: %s",
				    MCAI_TEL_PIN_DIR, strerror(errno));
	libbpf_set_print(mcai_tel_silent);
	skel = mcai_telemetry__open_opts(&opts);
	if (!skel) {
		ret = -errno;
		mcai_errmsg(err, errlen, ret, "cannot open the BPF object: %s",
			     strerror(errno));
		goto cleanup;
	}
	ret = mcai_telemetry__load(skel);
	if (ret) {
		mcai_errmsg(err, errlen, ret,
			"the kernel refused the telemetry programs (%s); "
			"maps pinned by another version are replaced by "
			"`mcaictl telemetry disable --purge`; details with "
			"MCAI_BPF_DEBUG=1", strerror(-ret));
		goto cleanup;
	}
	bpf_object__for_each_program(prog, skel->obj) {
		struct bpf_link *link = bpf_program__attach(prog);

		if (!link) {
			ret = -errno;
			mcai_errmsg(err, errlen, ret,
				"cannot attach %s (%s)%s",
				bpf_program__name(prog), strerror(-ret),
				ret == -ENOENT ?
				": is mcai.ko loaded? its tracepoints are "
				"the hooks" : "");
			goto cleanup;
		}
		mcai_tel_link_path(path, sizeof(path),
				   bpf_program__name(prog));
		ret = bpf_link__pin(link, path);
		bpf_link__destroy(link);	/* the pin keeps it */
		if (ret) {
			mcai_errmsg(err, errlen, ret, "cannot pin %s: %s",
				     path, strerror(-ret));
			goto cleanup;
		}
		pinned++;
	}
	ret = 0;
cleanup:
	if (ret && pinned) {
		char ignored[8];

		mcai_tel_disable(false, ignored, sizeof(ignored));
	}
	mcai_telemetry__destroy(skel);
	return ret;
}

int mcai_tel_disable(bool purge, char *err, size_t errlen)
{
	static const char *const maps[] = {
		"live", "stats", "drops", "power", "calibration",
	};
	enum { N_OLD = sizeof(mcai_tel_old_progs) / sizeof(char *) };
	__u32 ids[MCAI_TEL_N_PROGS + N_OLD] = { 0 };
	char path[256];
	unsigned int i, tries;
	int ret = 0, fd;

	for (i = 0; i < MCAI_TEL_N_PROGS + N_OLD; i++) {
		struct bpf_link_info li;
		__u32 len = sizeof(li);

		mcai_tel_link_path(path, sizeof(path), i < MCAI_TEL_N_PROGS ?
				   mcai_tel_progs[i] :
				   mcai_tel_old_progs[i - MCAI_TEL_N_PROGS]);
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			memset(&li, 0, sizeof(li));
			if (!bpf_obj_get_info_by_fd(fd, &li, &len))
				ids[i] = li.prog_id;
			close(fd);
		}
		if (unlink(path) && errno != ENOENT && !ret)
			ret = mcai_errmsg(err, errlen, -errno, "%s: %s", path,
					   strerror(errno));
	}
	rmdir(MCAI_TEL_LINK_DIR);
	/*
	 * The last link reference goes with the pin, but the kernel may
	 * release it (and its reference on mcai.ko) a little later, after
	 * an RCU grace period: wait until the programs are gone so that an
	 * rmmod right after `disable` is not refused.
	 */
	for (tries = 0; tries < 500; tries++) {
		bool alive = false;

		for (i = 0; i < MCAI_TEL_N_PROGS + N_OLD; i++) {
			if (!ids[i])
				continue;
			fd = bpf_prog_get_fd_by_id(ids[i]);
			if (fd >= 0) {
				close(fd);
				alive = true;
			} else {
				ids[i] = 0;
			}
		}
		if (!alive)
			break;
		usleep(10000);
	}
	if (!purge)
		return ret;
	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", MCAI_TEL_PIN_DIR, maps[i]);
		if (unlink(path) && errno != ENOENT && !ret)
			ret = mcai_errmsg(err, errlen, -errno, "%s: %s", path,
					   strerror(errno));
	}
	rmdir(MCAI_TEL_PIN_DIR);
	return ret;
}

static int mcai_tel_map(const char *name, char *err, size_t errlen)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", MCAI_TEL_PIN_DIR, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return mcai_errmsg(err, errlen, -errno,
			"%s: %s (is telemetry enabled? mcaictl telemetry "
			"enable)", path, strerror(errno));
	return fd;
}

int mcai_tel_status(struct mcai_tel_status *st, char *err, size_t errlen)
{
	struct mcai_tel_drop_key dk, *prev = NULL;
	char path[256];
	unsigned int i;
	int fd, ncpu;
	__u32 zero = 0;
	__u64 *vals;

	memset(st, 0, sizeof(*st));
	if (mcai_tel_bpffs(err, errlen))
		return -ENOENT;
	for (i = 0; i < MCAI_TEL_N_PROGS; i++) {
		struct mcai_tel_prog_status *p = &st->prog[i];
		struct bpf_link_info li;
		struct bpf_prog_info pi;
		__u32 len;
		int pfd;

		snprintf(p->name, sizeof(p->name), "%s", mcai_tel_progs[i]);
		mcai_tel_link_path(path, sizeof(path), mcai_tel_progs[i]);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		memset(&li, 0, sizeof(li));
		len = sizeof(li);
		if (!bpf_obj_get_info_by_fd(fd, &li, &len)) {
			p->attached = true;
			st->attached++;
			p->prog_id = li.prog_id;
			pfd = bpf_prog_get_fd_by_id(li.prog_id);
			memset(&pi, 0, sizeof(pi));
			len = sizeof(pi);
			if (pfd >= 0 && !bpf_obj_get_info_by_fd(pfd, &pi, &len)) {
				p->run_cnt = pi.run_cnt;
				p->run_time_ns = pi.run_time_ns;
				p->recursion_misses = pi.recursion_misses;
			}
			if (pfd >= 0)
				close(pfd);
		}
		close(fd);
	}
	fd = mcai_tel_map("power", err, errlen);
	if (fd < 0)
		return st->attached ? fd : 0;
	st->maps_pinned = true;
	bpf_map_lookup_elem(fd, &zero, &st->power0);
	close(fd);
	fd = mcai_tel_map("calibration", err, errlen);
	if (fd >= 0) {
		bpf_map_lookup_elem(fd, &zero, &st->calibration);
		close(fd);
	}
	ncpu = libbpf_num_possible_cpus();
	fd = mcai_tel_map("drops", err, errlen);
	if (fd < 0 || ncpu <= 0)
		return 0;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	while (vals && !bpf_map_get_next_key(fd, prev, &dk)) {
		prev = &dk;
		if (dk.model_id || bpf_map_lookup_elem(fd, &dk, vals))
			continue;
		for (i = 0; i < (unsigned int)ncpu; i++)
			st->pipeline_drops += vals[i];
	}
	free(vals);
	close(fd);
	return 0;
}

static int mcai_tel_cmp(const void *a, const void *b)
{
	const struct mcai_tel_model *x = a, *y = b;

	if (x->model_id != y->model_id)
		return x->model_id < y->model_id ? -1 : 1;
	return x->version < y->version ? -1 : x->version > y->version;
}

/* Sum one key's per-CPU records into @m. */
static void mcai_tel_sum(struct mcai_tel_model *m,
			 const struct mcai_tel_stats *v, int ncpu)
{
	int c, i;

	for (c = 0; c < ncpu; c++) {
		const struct mcai_tel_stats *s = &v[c];

		if (!m->name[0] && s->name[0])
			memcpy(m->name, s->name, sizeof(m->name));
		m->name[sizeof(m->name) - 1] = '\0';
		/* the most informative label any CPU has */
		if (s->energy_source > m->energy_source) {
			m->energy_source = s->energy_source;
			m->power_mw = s->power_mw;
		}
		m->count += s->count;
		m->latency_total_ns += s->latency_total_ns;
		if (s->latency_max_ns > m->latency_max_ns)
			m->latency_max_ns = s->latency_max_ns;
		m->cpu_ns += s->cpu_ns;
		m->macs += s->macs;
		m->energy_uj += s->energy_uj;
		m->energy_pj_rem += s->energy_pj_rem;
		m->shed += s->shed;
		m->unpaired += s->unpaired;
		for (i = 0; i < MCAI_TEL_HIST_SLOTS; i++)
			m->hist[i] += s->latency_log2_ns[i];
	}
	m->energy_uj += m->energy_pj_rem / 1000000;
	m->energy_pj_rem %= 1000000;
}

int mcai_tel_open_maps(struct mcai_tel_maps *fds, char *err, size_t errlen)
{
	fds->drops = -1;
	fds->live = -1;
	fds->stats = mcai_tel_map("stats", err, errlen);
	if (fds->stats < 0)
		return fds->stats;
	/* optional for a reader: an older pin may lack them */
	fds->drops = mcai_tel_map("drops", NULL, 0);
	fds->live = mcai_tel_map("live", NULL, 0);
	return 0;
}

void mcai_tel_close_maps(struct mcai_tel_maps *fds)
{
	if (fds->stats >= 0)
		close(fds->stats);
	if (fds->drops >= 0)
		close(fds->drops);
	if (fds->live >= 0)
		close(fds->live);
	fds->stats = -1;
	fds->drops = -1;
	fds->live = -1;
}

/* The record of @model_id/@version in @out, appended when new. */
static struct mcai_tel_model *mcai_tel_entry(struct mcai_tel_model **out,
					     size_t *cnt, size_t *cap,
					     __u32 model_id, __u32 version)
{
	struct mcai_tel_model *grow;
	size_t i;

	for (i = 0; i < *cnt; i++)
		if ((*out)[i].model_id == model_id &&
		    (*out)[i].version == version)
			return &(*out)[i];
	if (*cnt == *cap) {
		*cap = *cap ? 2 * *cap : 16;
		grow = realloc(*out, *cap * sizeof(**out));
		if (!grow)
			return NULL;
		*out = grow;
	}
	memset(&(*out)[*cnt], 0, sizeof(**out));
	(*out)[*cnt].model_id = model_id;
	(*out)[*cnt].version = version;
	return &(*out)[(*cnt)++];
}

int mcai_tel_read_maps(const struct mcai_tel_maps *fds,
		       struct mcai_tel_model **models, size_t *n, char *err,
		       size_t errlen)
{
	struct mcai_tel_key key, *prev = NULL;
	struct mcai_tel_drop_key dk, *dprev = NULL;
	struct mcai_tel_model *out = NULL, *m;
	struct mcai_tel_stats *vals = NULL;
	struct mcai_tel_live *lvals = NULL;
	size_t cnt = 0, cap = 0, i;
	__u64 *dvals = NULL;
	__u32 idx;
	int ncpu, ret = 0, c;

	*models = NULL;
	*n = 0;
	ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return mcai_errmsg(err, errlen, ncpu ? ncpu : -EINVAL,
				   "cannot count the possible CPUs");
	vals = calloc((size_t)ncpu, sizeof(*vals));
	dvals = calloc((size_t)ncpu, sizeof(*dvals));
	lvals = calloc((size_t)ncpu, sizeof(*lvals));
	if (!vals || !dvals || !lvals) {
		ret = mcai_errmsg(err, errlen, -ENOMEM, "out of memory");
		goto cleanup;
	}
	while (!bpf_map_get_next_key(fds->stats, prev, &key)) {
		prev = &key;
		if (bpf_map_lookup_elem(fds->stats, &key, vals))
			continue;		/* deleted meanwhile */
		m = mcai_tel_entry(&out, &cnt, &cap, key.model_id,
				   key.version);
		if (!m) {
			ret = mcai_errmsg(err, errlen, -ENOMEM,
					  "out of memory");
			goto cleanup;
		}
		mcai_tel_sum(m, vals, ncpu);
	}
	/* running versions: each CPU's slot says whose record it holds */
	for (idx = 0; fds->live >= 0 && idx < MCAI_TEL_LIVE_SLOTS; idx++) {
		if (bpf_map_lookup_elem(fds->live, &idx, lvals))
			break;
		for (c = 0; c < ncpu; c++) {
			if (!lvals[c].key.model_id)
				continue;
			m = mcai_tel_entry(&out, &cnt, &cap,
					   lvals[c].key.model_id,
					   lvals[c].key.version);
			if (!m) {
				ret = mcai_errmsg(err, errlen, -ENOMEM,
						  "out of memory");
				goto cleanup;
			}
			mcai_tel_sum(m, &lvals[c].stats, 1);
		}
	}
	/* drops are per model (all versions): credit the newest version */
	while (fds->drops >= 0 && !bpf_map_get_next_key(fds->drops, dprev, &dk)) {
		struct mcai_tel_model *best = NULL;
		__u64 d = 0;

		dprev = &dk;
		if (bpf_map_lookup_elem(fds->drops, &dk, dvals))
			continue;
		for (c = 0; c < ncpu; c++)
			d += dvals[c];
		for (i = 0; i < cnt; i++)
			if (out[i].model_id == dk.model_id &&
			    (!best || out[i].version > best->version))
				best = &out[i];
		if (best)
			best->drops += d;
	}
	if (cnt)
		qsort(out, cnt, sizeof(*out), mcai_tel_cmp);
	*models = out;
	*n = cnt;
	out = NULL;
cleanup:
	free(out);
	free(vals);
	free(dvals);
	free(lvals);
	return ret;
}

int mcai_tel_read(struct mcai_tel_model **models, size_t *n, char *err,
		  size_t errlen)
{
	struct mcai_tel_maps fds;
	int ret;

	*models = NULL;
	*n = 0;
	ret = mcai_tel_open_maps(&fds, err, errlen);
	if (ret)
		return ret;
	ret = mcai_tel_read_maps(&fds, models, n, err, errlen);
	mcai_tel_close_maps(&fds);
	return ret;
}

bool mcai_tel_mpj_per_mac(const struct mcai_tel_model *m, uint64_t *mpj,
			  uint32_t *source)
{
	unsigned __int128 pj, v;

	if (!m->count || !m->macs ||
	    m->energy_source == MCAI_ENERGY_SOURCE_NONE)
		return false;
	pj = (unsigned __int128)m->energy_uj * 1000000 + m->energy_pj_rem;
	/* pJ * 1000 / MAC, rounded; at least 1 so that it is "measured" */
	v = (pj * 1000 + m->macs / 2) / m->macs;
	if (!v)
		v = 1;
	if (v > 1000000000)
		v = 1000000000;
	*mpj = (uint64_t)v;
	/* the module's MCAI_ENERGY_* has the same numbers */
	*source = m->energy_source;
	return true;
}

int mcai_tel_forget(uint32_t model_id, uint32_t version, char *err,
		    size_t errlen)
{
	struct mcai_tel_key key = { .model_id = model_id, .version = version };
	__u32 idx = model_id & (MCAI_TEL_LIVE_SLOTS - 1);
	struct mcai_tel_live *lvals;
	bool hit = false;
	int fd, ret = 0, ncpu, c;

	fd = mcai_tel_map("stats", err, errlen);
	if (fd < 0)
		return fd;
	if (bpf_map_delete_elem(fd, &key) && errno != ENOENT)
		ret = mcai_errmsg(err, errlen, -errno,
				   "cannot delete model %u version %u: %s",
				   model_id, version, strerror(errno));
	close(fd);
	if (ret)
		return ret;
	/* and free the live slot of every CPU that holds it */
	fd = mcai_tel_map("live", NULL, 0);
	ncpu = libbpf_num_possible_cpus();
	if (fd < 0 || ncpu <= 0) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	lvals = calloc((size_t)ncpu, sizeof(*lvals));
	if (!lvals)
		ret = mcai_errmsg(err, errlen, -ENOMEM, "out of memory");
	else if (!bpf_map_lookup_elem(fd, &idx, lvals)) {
		for (c = 0; c < ncpu; c++) {
			if (lvals[c].key.model_id != model_id ||
			    lvals[c].key.version != version)
				continue;
			memset(&lvals[c], 0, sizeof(lvals[c]));
			hit = true;
		}
		if (hit && bpf_map_update_elem(fd, &idx, lvals, BPF_ANY))
			ret = mcai_errmsg(err, errlen, -errno,
				"cannot free the live slot of model %u "
				"version %u: %s", model_id, version,
				strerror(errno));
	}
	free(lvals);
	close(fd);
	return ret;
}

/*
 * Every possible CPU's power entry: @base with the CPU's current
 * frequency, and the power @t gives at it when @t is not NULL.
 */
static int mcai_tel_write_power(const struct mcai_power_table *t,
				const struct mcai_tel_power *base,
				uint32_t *mw0, uint32_t *khz0, char *err,
				size_t errlen)
{
	int fd, ncpu, ret = 0;
	__u32 cpu;

	ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0 || ncpu > MCAI_TEL_MAX_CPUS)
		return mcai_errmsg(err, errlen, -ERANGE,
				   "%d possible CPUs: at most %d supported",
				   ncpu, MCAI_TEL_MAX_CPUS);
	fd = mcai_tel_map("power", err, errlen);
	if (fd < 0)
		return fd;
	for (cpu = 0; cpu < (__u32)ncpu && !ret; cpu++) {
		struct mcai_tel_power p = *base;

		p.freq_khz = mcai_cpu_cur_khz((int)cpu);
		if (t)
			p.power_mw = mcai_power_at(t, p.freq_khz);
		if (!cpu && mw0 && khz0) {
			*mw0 = p.power_mw;
			*khz0 = p.freq_khz;
		}
		if (bpf_map_update_elem(fd, &cpu, &p, BPF_ANY))
			ret = mcai_errmsg(err, errlen, -errno,
					  "cannot write the power map: %s",
					  strerror(errno));
	}
	close(fd);
	return ret;
}

int mcai_tel_set_power_model(const struct mcai_power_table *t,
			     enum mcai_power_origin origin, uint32_t *mw0,
			     uint32_t *khz0, char *err, size_t errlen)
{
	struct mcai_tel_power base = {
		.energy_source = MCAI_ENERGY_SOURCE_MODEL,
		.origin = origin,
	};

	return mcai_tel_write_power(t, &base, mw0, khz0, err, errlen);
}

int mcai_tel_set_calibration(const struct mcai_tel_calibration *c, char *err,
			     size_t errlen)
{
	struct mcai_tel_power base = {
		.power_mw = c->power_mw,
		.energy_source = MCAI_ENERGY_SOURCE_RAPL_CALIBRATED,
		.origin = MCAI_POWER_ORIGIN_RAPL,
	};
	__u32 zero = 0;
	int fd, ret = 0;

	fd = mcai_tel_map("calibration", err, errlen);
	if (fd < 0)
		return fd;
	if (bpf_map_update_elem(fd, &zero, c, BPF_ANY))
		ret = mcai_errmsg(err, errlen, -errno,
				  "cannot write the calibration map: %s",
				  strerror(errno));
	close(fd);
	if (ret)
		return ret;
	return mcai_tel_write_power(NULL, &base, NULL, NULL, err, errlen);
}

uint64_t mcai_tel_hist_quantile(const uint64_t hist[MCAI_TEL_HIST_SLOTS],
				double q)
{
	uint64_t total = 0, seen = 0;
	double rank, lo, frac;
	int i;

	for (i = 0; i < MCAI_TEL_HIST_SLOTS; i++)
		total += hist[i];
	if (!total)
		return 0;
	rank = q * (double)total;
	for (i = 0; i < MCAI_TEL_HIST_SLOTS; i++) {
		if (hist[i] && (double)(seen + hist[i]) >= rank) {
			lo = (double)(1ULL << i);
			frac = (rank - (double)seen) / (double)hist[i];
			if (frac < 0)
				frac = 0;
			return (uint64_t)(lo + frac * lo);
		}
		seen += hist[i];
	}
	return 1ULL << (MCAI_TEL_HIST_SLOTS - 1);
}

const char *mcai_energy_source_name(enum mcai_energy_source s)
{
	switch (s) {
	case MCAI_ENERGY_SOURCE_MODEL:
		return "model";
	case MCAI_ENERGY_SOURCE_RAPL_CALIBRATED:
		return "rapl-calibrated";
	default:
		return "none";
	}
}
