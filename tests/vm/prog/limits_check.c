// SPDX-License-Identifier: GPL-2.0
/*
 * Guest tests of what an unprivileged user may hold and steer (issue 12):
 * the limits and memory accounting of kmod/account.c, pipeline scratch,
 * pipeline namespaces, the mirror's privilege.  Run as root, with the
 * models loaded by the caller; every unprivileged part runs in a child
 * that dropped to nobody (65534) or 65533 (setresuid: no capability
 * left), and reports back through a pipe.
 *
 *   limits_check info                 GET_INFO's limits and counters
 *   limits_check scratch MODEL N      nobody: a chain of MODEL twice, up
 *                                     to N sessions with 1-slot rings:
 *                                     each pins its rings and the members'
 *                                     real arena (not max_arena), charged
 *                                     to nobody, refused past user_mem_mb
 *   limits_check grow                 nobody's session on a vote of a model
 *                                     swapped to a version with a 64 times
 *                                     larger arena: results keep coming,
 *                                     from the new version, and the larger
 *                                     scratch the worker takes is charged
 *   limits_check exhaust MODEL N      nobody: N files, each a session with
 *                                     the largest rings: ENOSPC at
 *                                     user_mem_mb, MemAvailable barely
 *                                     moves, 65533 and root keep working
 *   limits_check memcg MODEL CGROUP   the same, nobody inside CGROUP (a
 *                                     cgroup v2 directory with memory.max
 *                                     below user_mem_mb): the cgroup stops
 *                                     it with ENOMEM, no OOM kill, 65533
 *                                     outside keeps working
 *   limits_check mirror MODEL         nobody may not mirror (EPERM), may
 *                                     turn it off; an fd root opened may
 *                                     (mcaid's path); nothing of nobody's
 *                                     reaches the queue
 *   limits_check names DET CLS        pipeline namespaces: nobody's and
 *                                     65533's names are theirs, root's
 *                                     are everyone's; ids of another
 *                                     user's pipelines do not exist
 *   limits_check pipes MODEL          file_pipelines, user_pipelines and
 *                                     max_pipelines with its admin reserve
 *                                     (module loaded with small values)
 *   limits_check lookup MODEL N       N pipelines by root: creating one
 *                                     costs the same at the end as at the
 *                                     start (median of 512, no scan)
 *   limits_check hold NAME TYPE A B READY
 *                                     create pipeline NAME (chain|vote of
 *                                     models A, B: a chain fires on 1 and
 *                                     never escalates, a vote always
 *                                     escalates), write "ok" or "error E"
 *                                     to READY, keep it until READY.done
 *                                     exists (for the driver test)
 *
 * Exit 0 pass.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "models/train/writer.h"
#include "uapi/mcai.h"
#include "tests/vm/prog/report.h"

/* u8 .. u64 come from models/engine/port.h, through the writer */

#define NOBODY	65534
#define OTHER	65533

#define MCAI_ESCALATE_NEVER_VALUE	(-129)
#define MCAI_ESCALATE_ALWAYS_VALUE	128

#define CHECK(c, ...) do { if (!(c)) fail(__VA_ARGS__); } while (0)

static void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

static int dev_open(void)
{
	return open("/dev/" MCAI_DEVICE_NAME, O_RDWR | O_CLOEXEC);
}

static int dev_open_or_die(void)
{
	int fd = dev_open();

	if (fd < 0)
		die("open /dev/mcai");
	return fd;
}

/* GET_INFO; false when the module has no accounting fields (before issue 12). */
static bool info_get(int fd, struct mcai_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	if (ioctl(fd, MCAI_IOC_GET_INFO, info))
		die("GET_INFO");
	return info->size >= sizeof(*info);
}

static u64 user_mem_used(int fd)
{
	struct mcai_info info;

	return info_get(fd, &info) ? info.user_mem_used : 0;
}

/* A /proc/meminfo field, kB. */
static long long meminfo(const char *key)
{
	char line[256];
	long long v = -1;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		die("/proc/meminfo");
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':') {
			v = atoll(line + n + 1);
			break;
		}
	fclose(f);
	return v;
}

/* What the kernel holds that sessions can take: slab and vmalloc, kB. */
static long long kernel_kb(void)
{
	return meminfo("Slab") + meminfo("VmallocUsed");
}

static struct mcai_model_info model_info(const char *name)
{
	struct mcai_model_info mi;
	int fd = dev_open_or_die();

	memset(&mi, 0, sizeof(mi));
	mi.size = sizeof(mi);
	snprintf(mi.ref.name, sizeof(mi.ref.name), "%s", name);
	if (ioctl(fd, MCAI_IOC_MODEL_INFO, &mi)) {
		fprintf(stderr, "%s: model %s: %s (load it first)\n", prog,
			name, strerror(errno));
		exit(1);
	}
	close(fd);
	return mi;
}

static int pcreate(int fd, const char *name, u32 type, u32 a, u32 b,
		   s32 fire, s32 escalate, u32 *id)
{
	struct mcai_pipeline_create pc;

	memset(&pc, 0, sizeof(pc));
	pc.size = sizeof(pc);
	snprintf(pc.name, sizeof(pc.name), "%s", name);
	pc.type = type;
	pc.n_models = 2;
	pc.model_ids[0] = a;
	pc.model_ids[1] = b;
	pc.fire_class = fire;
	pc.escalate_below = escalate;
	if (ioctl(fd, MCAI_IOC_PIPELINE_CREATE, &pc))
		return -1;
	if (id)
		*id = pc.pipeline_id;
	return 0;
}

/* A session on @fd: a model by id, or a pipeline by name or id. */
static int screate(int fd, struct mcai_session_create *sc, u32 flags, u32 id,
		   const char *name, u32 slots, u32 mirror)
{
	memset(sc, 0, sizeof(*sc));
	sc->size = sizeof(*sc);
	sc->flags = flags;
	sc->ref.model_id = id;
	if (name)
		snprintf(sc->ref.name, sizeof(sc->ref.name), "%s", name);
	sc->in_slots = slots;
	sc->res_slots = slots;
	sc->mirror_every = mirror;
	return ioctl(fd, MCAI_IOC_SESSION_CREATE, sc);
}

/* Synchronous inference through a pipeline (by id, or name when id is 0). */
static int pinfer(int fd, u32 id, const char *name, u32 len, u32 *flags)
{
	static s8 in[65536];
	struct mcai_infer q;

	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.flags = MCAI_INFER_PIPELINE;
	q.ref.model_id = id;
	if (name)
		snprintf(q.ref.name, sizeof(q.ref.name), "%s", name);
	q.input_ptr = (uintptr_t)in;
	q.input_len = len;
	if (ioctl(fd, MCAI_IOC_INFER, &q))
		return -1;
	*flags = q.result_flags;
	return 0;
}

/*
 * Push sample @seq (the ones before it went through already) through a
 * session and wait for its result.
 */
static int session_one(int fd, const struct mcai_session_create *sc,
		       u32 seq, struct mcai_result *out)
{
	u8 *um, *km;
	struct mcai_user_ctl *uc;
	struct mcai_kernel_ctl *kc;
	int ret = -1, spins = 0;

	um = mmap(NULL, sc->user_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		  sc->user_off);
	km = mmap(NULL, sc->kernel_len, PROT_READ, MAP_SHARED, fd,
		  sc->kernel_off);
	if (um == MAP_FAILED || km == MAP_FAILED)
		return -1;
	uc = (void *)um;
	kc = (void *)km;
	memset(um + 4096 + (size_t)(seq & (sc->in_slots - 1)) * sc->slot_size,
	       3, sc->input_len);
	__atomic_store_n(&uc->in_tail, seq + 1, __ATOMIC_RELEASE);
	if (ioctl(fd, MCAI_IOC_SESSION_KICK))
		goto out;
	while (__atomic_load_n(&kc->res_tail, __ATOMIC_ACQUIRE) < seq + 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 1000) == 0 && ++spins > 60)
			goto out;
	}
	memcpy(out, km + 4096 + (size_t)(seq & (sc->res_slots - 1)) *
	       sc->res_size, sizeof(*out));
	__atomic_store_n(&uc->res_head, seq + 1, __ATOMIC_RELEASE);
	ret = 0;
out:
	munmap(um, sc->user_len);
	munmap(km, sc->kernel_len);
	return ret;
}

/* ---- children of another user ----------------------------------------- */

struct child {
	pid_t pid;
	int up;		/* child -> parent: its report */
	int down;	/* parent -> child: closed when it may finish */
};

/*
 * Fork a child that becomes @uid (after joining @cgroup if not NULL) and
 * runs @fn; @fn reports with report() and may wait() for the parent.
 * The child exits 0 when it had no failure.
 */
static int child_up = -1, child_down = -1;

static void report(const void *buf, size_t len)
{
	if (write(child_up, buf, len) != (ssize_t)len)
		_exit(98);
}

/* What the parent sends before it lets the child finish. */
static void receive(void *buf, size_t len)
{
	if (read(child_down, buf, len) != (ssize_t)len)
		_exit(95);
}

static void wait_parent(void)
{
	char c;

	while (read(child_down, &c, 1) > 0)
		;
}

/* The parent's ends of the pipes of live children: a later child closes them. */
static int parent_ends[64];
static int n_parent_ends;

static void spawn(struct child *c, uid_t uid, const char *cgroup,
		  void (*fn)(void *), void *arg)
{
	int up[2], down[2];

	if (pipe(up) || pipe(down))
		die("pipe");
	c->pid = fork();
	if (c->pid < 0)
		die("fork");
	if (c->pid == 0) {
		/* else an older child never sees its down pipe close */
		while (n_parent_ends)
			close(parent_ends[--n_parent_ends]);
		close(up[0]);
		close(down[1]);
		child_up = up[1];
		child_down = down[0];
		if (cgroup) {
			char path[512];
			FILE *f;

			snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup);
			f = fopen(path, "w");
			if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f))
				_exit(97);
		}
		if (setgroups(0, NULL) || setresgid(uid, uid, uid) ||
		    setresuid(uid, uid, uid))
			_exit(96);
		prog = uid == NOBODY ? "limits_check[nobody]" :
		       "limits_check[65533]";
		failures = 0;
		fn(arg);
		_exit(failures ? 1 : 0);
	}
	close(up[1]);
	close(down[0]);
	c->up = up[0];
	c->down = down[1];
	if (n_parent_ends + 2 > 64)
		die("too many children");
	parent_ends[n_parent_ends++] = c->up;
	parent_ends[n_parent_ends++] = c->down;
}

static void forget_end(int fd)
{
	for (int i = 0; i < n_parent_ends; i++)
		if (parent_ends[i] == fd) {
			parent_ends[i] = parent_ends[--n_parent_ends];
			return;
		}
}

static void collect(struct child *c, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(c->up, (u8 *)buf + got, len - got);

		if (n <= 0) {
			fail("child %d reported %zu of %zu bytes", c->pid, got,
			     len);
			memset(buf, 0, len);
			return;
		}
		got += n;
	}
}

/* Let the child finish; true when it passed. */
static bool finish(struct child *c)
{
	int st;

	forget_end(c->down);
	forget_end(c->up);
	close(c->down);
	close(c->up);
	if (waitpid(c->pid, &st, 0) != c->pid)
		die("waitpid");
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return true;
	fail("child %d: status 0x%x", c->pid, st);
	return false;
}

/* Run @fn as @uid to the end; true when it passed. */
static bool run_as(uid_t uid, void (*fn)(void *), void *arg)
{
	struct child c;

	spawn(&c, uid, NULL, fn, arg);
	return finish(&c);
}

static void raise_nofile(rlim_t n)
{
	struct rlimit rl = { n, n };

	if (setrlimit(RLIMIT_NOFILE, &rl))
		die("setrlimit NOFILE");
}

/* ---- scratch: pipeline sessions pin what they need, and pay for it ----- */

struct scratch_arg {
	u32 model;
	u32 n;
	u32 in_len;
};

struct scratch_rep {
	u32 made, refused_at, other_errno;
	u32 ring_bytes;
	long long kb;		/* kernel memory the sessions took */
	u64 charged;		/* user_mem_used they added */
	u64 limit;		/* user_mem_limit, 0 if not reported */
	s32 sync_class, ring_class;
};

static void scratch_child(void *argp)
{
	const struct scratch_arg *a = argp;
	struct scratch_rep rep = { 0 };
	struct mcai_session_create sc, sc0;
	struct mcai_result res;
	struct mcai_info info;
	long long kb0;
	u64 used0;
	u32 flags;
	int *fds = calloc(a->n, sizeof(int)), pfd = dev_open_or_die();

	if (!fds)
		die("calloc");
	if (pcreate(pfd, "scr-chain", MCAI_PIPE_CHAIN, a->model, a->model, 0,
		    MCAI_ESCALATE_NEVER_VALUE, NULL)) {
		fail("nobody cannot create a chain: %s", strerror(errno));
		report(&rep, sizeof(rep));
		return;
	}
	if (info_get(pfd, &info))
		rep.limit = info.user_mem_limit;
	used0 = user_mem_used(pfd);
	kb0 = kernel_kb();
	for (rep.made = 0; rep.made < a->n; rep.made++) {
		int fd = dev_open();

		if (fd < 0) {
			rep.other_errno = errno;
			break;
		}
		if (screate(fd, &sc, MCAI_SESSION_PIPELINE, 0, "scr-chain", 1,
			    0)) {
			if (errno == ENOSPC)
				rep.refused_at = rep.made + 1;
			else
				rep.other_errno = errno;
			close(fd);
			break;
		}
		rep.ring_bytes = sc.user_len + sc.kernel_len;
		if (!rep.made)
			sc0 = sc;
		fds[rep.made] = fd;
		/* never let an unbounded kernel take the guest down */
		if (kernel_kb() - kb0 > 192 * 1024) {
			rep.made++;
			break;
		}
	}
	rep.kb = kernel_kb() - kb0;
	rep.charged = user_mem_used(pfd) - used0;
	/* the pipeline still computes, on either path */
	rep.sync_class = -2;
	rep.ring_class = -2;
	if (!pinfer(pfd, 0, "scr-chain", a->in_len, &flags))
		rep.sync_class = 0;
	else
		fail("synchronous inference on the chain: %s", strerror(errno));
	/* the first session's one sample */
	if (rep.made && !session_one(fds[0], &sc0, 0, &res))
		rep.ring_class = res.class_id;
	report(&rep, sizeof(rep));
	wait_parent();
	for (u32 i = 0; i < rep.made; i++)
		close(fds[i]);
	free(fds);
}

static void t_scratch(const char *model, u32 n)
{
	struct mcai_model_info mi = model_info(model);
	struct scratch_arg a = { mi.ref.model_id, n, mi.input_len };
	struct scratch_rep r;
	struct child c;
	long long per, need;

	raise_nofile(n + 64);
	spawn(&c, NOBODY, NULL, scratch_child, &a);
	collect(&c, &r, sizeof(r));
	per = r.made ? r.kb * 1024 / r.made : 0;
	/* rings, two scores vectors and one arena: what a run needs */
	need = r.ring_bytes + 2 * mi.output_len + mi.arena_size;
	printf("scratch: %u sessions on a chain of %s (arena %u bytes), 1-slot rings of %u bytes: %lld bytes of kernel memory each, %llu charged each%s\n",
	       r.made, model, mi.arena_size, r.ring_bytes, per,
	       (unsigned long long)(r.made ? r.charged / r.made : 0),
	       r.refused_at ? ", then ENOSPC" : ", never refused");
	CHECK(r.made > 0, "no session at all (errno %u)", r.other_errno);
	CHECK(!r.other_errno, "SESSION_CREATE failed with %s, not ENOSPC",
	      strerror(r.other_errno));
	/* slab rounding, the file, the vmalloc bookkeeping: 16 KiB is plenty */
	CHECK(per <= need + 16384,
	      "each pipeline session pins %lld bytes; rings + scores + arena are %lld: scratch is not sized from the members' arenas",
	      per, need);
	CHECK(r.limit, "GET_INFO reports no user_mem_limit: no per-user accounting");
	if (r.limit && r.made) {
		u64 each = r.charged / r.made;

		CHECK(each >= (u64)need,
		      "%llu bytes charged per session, it holds at least %lld",
		      (unsigned long long)each, need);
		CHECK((long long)each * 2 >= per,
		      "%llu bytes charged per session for %lld pinned",
		      (unsigned long long)each, per);
		CHECK(r.refused_at && r.charged <= r.limit,
		      "%u sessions, %llu bytes charged, user_mem_limit %llu: %s",
		      r.made, (unsigned long long)r.charged,
		      (unsigned long long)r.limit,
		      r.refused_at ? "over the limit" : "never refused");
	} else {
		CHECK(r.refused_at, "%u sessions pinning %lld KiB and never refused",
		      r.made, r.kb);
	}
	CHECK(r.sync_class == 0, "synchronous inference failed");
	CHECK(r.ring_class >= 0, "the session's sample got no class (%d)",
	      r.ring_class);
	finish(&c);
}

/* ---- grow: a hot swap to a larger arena grows a session's scratch ------ */

#define GROW_IN		64
#define GROW_OUT	8

/* FC 64->@hid ReLU, FC @hid->8, deterministic; loaded as "grow-m". */
static void grow_load(u32 version, u32 hid)
{
	s8 *w0 = calloc((size_t)hid, GROW_IN), *w1 = calloc(GROW_OUT, hid);
	s32 *b0 = calloc(hid, 4), *m0 = calloc(hid, 4), *sh0 = calloc(hid, 4);
	s32 b1[GROW_OUT] = { 0 }, m1[GROW_OUT], sh1[GROW_OUT];
	struct mcai_model_load req;
	struct mcai_blob_spec sp;
	char err[160];
	u32 size, i;
	u8 *blob;
	int fd;

	if (!w0 || !w1 || !b0 || !m0 || !sh0)
		die("calloc");
	for (i = 0; i < hid * GROW_IN; i++)
		w0[i] = (s8)((i * 37 + version) % 61) - 30;
	for (i = 0; i < hid * GROW_OUT; i++)
		w1[i] = (s8)((i * 53 + version) % 41) - 20;
	for (i = 0; i < hid; i++) {
		m0[i] = 1 << 30;
		sh0[i] = -8;
	}
	for (i = 0; i < GROW_OUT; i++) {
		m1[i] = 1 << 30;
		sh1[i] = -8;
	}
	memset(&sp, 0, sizeof(sp));
	sp.name = "grow-m";
	sp.version = version;
	sp.head = MCAI_HEAD_ARGMAX;
	sp.input_scale = 1.0f / 64;
	sp.output_scale = 1.0f / 16;
	sp.n_layers = 2;
	sp.layer[0] = (struct mcai_layer_spec){
		.type = MCAI_LAYER_FC, .activation = MCAI_ACT_RELU,
		.in_zp = 0, .out_zp = -128, .clamp_min = -128, .clamp_max = 127,
		.in_len = GROW_IN, .out_len = hid,
		.weights = w0, .bias = b0, .mult = m0, .shift = sh0,
	};
	sp.layer[1] = (struct mcai_layer_spec){
		.type = MCAI_LAYER_FC, .activation = MCAI_ACT_NONE,
		.in_zp = -128, .out_zp = 0, .clamp_min = -128, .clamp_max = 127,
		.in_len = hid, .out_len = GROW_OUT,
		.weights = w1, .bias = b1, .mult = m1, .shift = sh1,
	};
	blob = mcai_blob_write(&sp, &size, err, sizeof(err));
	if (!blob) {
		fprintf(stderr, "%s: mcai_blob_write: %s\n", prog, err);
		exit(1);
	}
	fd = dev_open_or_die();
	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.blob_ptr = (uintptr_t)blob;
	req.blob_size = size;
	if (ioctl(fd, MCAI_IOC_MODEL_LOAD, &req)) {
		fprintf(stderr, "%s: load grow-m v%u: %s (%s)\n", prog, version,
			strerror(errno), req.reason);
		exit(1);
	}
	close(fd);
	free(blob);
	free(w0);
	free(w1);
	free(b0);
	free(m0);
	free(sh0);
}

struct grow_rep {
	u64 used;
	s32 class_id;
	u32 version;
};

static void grow_child(void *argp)
{
	struct mcai_session_create sc;
	struct mcai_result res;
	struct grow_rep rep;
	u32 model = *(u32 *)argp, seq;
	int pfd = dev_open_or_die(), fd = dev_open_or_die();
	char go;

	if (pcreate(pfd, "grow-p", MCAI_PIPE_ENSEMBLE_VOTE, model, model, 0,
		    MCAI_ESCALATE_NEVER_VALUE, NULL) ||
	    screate(fd, &sc, MCAI_SESSION_PIPELINE, 0, "grow-p", 4, 0)) {
		fail("pipeline or session: %s", strerror(errno));
		_exit(1);
	}
	for (seq = 0; seq < 2; seq++) {
		memset(&rep, 0, sizeof(rep));
		rep.class_id = -2;
		if (!session_one(fd, &sc, seq, &res)) {
			rep.class_id = res.class_id;
			rep.version = res.version;
		}
		rep.used = user_mem_used(fd);
		report(&rep, sizeof(rep));
		if (!seq)
			receive(&go, 1);	/* root swapped the model */
	}
	wait_parent();
	close(fd);
	close(pfd);
}

static void t_grow(void)
{
	struct grow_rep r1, r2;
	struct mcai_model_info m1, m2;
	struct child c;
	int fd;

	grow_load(1, 16);
	m1 = model_info("grow-m");
	spawn(&c, NOBODY, NULL, grow_child, &m1.ref.model_id);
	collect(&c, &r1, sizeof(r1));
	grow_load(2, 1024);
	m2 = model_info("grow-m");
	if (write(c.down, "g", 1) != 1)
		die("write to the child");
	collect(&c, &r2, sizeof(r2));
	printf("grow: arena %u -> %u bytes: results v%u class %d, then v%u class %d; nobody's charge %llu -> %llu bytes\n",
	       m1.arena_size, m2.arena_size, r1.version, r1.class_id,
	       r2.version, r2.class_id, (unsigned long long)r1.used,
	       (unsigned long long)r2.used);
	CHECK(m2.arena_size >= 16 * m1.arena_size,
	      "the new version's arena is %u, the old one's %u",
	      m2.arena_size, m1.arena_size);
	CHECK(r1.class_id >= 0 && r1.version == 1,
	      "before the swap: class %d version %u", r1.class_id, r1.version);
	CHECK(r2.class_id >= 0 && r2.version == 2,
	      "after the swap to a larger arena: class %d version %u",
	      r2.class_id, r2.version);
	CHECK(r2.used >= r1.used + m2.arena_size - m1.arena_size,
	      "the larger scratch is not charged: %llu -> %llu bytes",
	      (unsigned long long)r1.used, (unsigned long long)r2.used);
	finish(&c);
	fd = dev_open_or_die();
	{
		struct mcai_model_unload u = { .size = sizeof(u) };

		snprintf(u.ref.name, sizeof(u.ref.name), "grow-m");
		if (ioctl(fd, MCAI_IOC_MODEL_UNLOAD, &u))
			fail("unload grow-m: %s", strerror(errno));
	}
	close(fd);
}

/* ---- exhaust / memcg: the largest rings, as many as possible ----------- */

struct hog_arg {
	u32 model;
	u32 n;
	bool memcg;
};

struct hog_rep {
	u32 made, tried, nospc, nomem, other;
	u32 first_errno, other_errno;
	u64 ring_bytes;
	u64 charged;
};

static void hog_child(void *argp)
{
	const struct hog_arg *a = argp;
	struct hog_rep rep = { 0 };
	struct mcai_session_create sc;
	int *fds = calloc(a->n, sizeof(int)), ifd = dev_open_or_die();
	size_t ballast_len = 8 << 20;
	u8 *ballast = NULL;
	u64 used0 = user_mem_used(ifd);

	if (!fds)
		die("calloc");
	/*
	 * In a memory cgroup: headroom to give back at once when the
	 * cgroup is full, so that what follows (closing, reporting) needs
	 * no reclaim and cannot meet the OOM killer.
	 */
	if (a->memcg) {
		ballast = mmap(NULL, ballast_len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (ballast == MAP_FAILED)
			die("mmap ballast");
	}
	for (u32 i = 0; i < a->n; i++) {
		int fd = dev_open();

		rep.tried++;
		if (fd < 0) {
			rep.other++;
			rep.other_errno = errno;
			break;
		}
		if (screate(fd, &sc, 0, a->model, NULL, 4096, 0)) {
			int e = errno;

			close(fd);
			if (!rep.first_errno)
				rep.first_errno = e;
			if (e == ENOSPC) {
				rep.nospc++;
			} else if (e == ENOMEM) {
				rep.nomem++;
			} else {
				rep.other++;
				rep.other_errno = e;
			}
			/* in a cgroup: stop at once (see above) */
			if (a->memcg)
				break;
			continue;
		}
		rep.ring_bytes = sc.user_len + sc.kernel_len;
		fds[rep.made++] = fd;
	}
	if (ballast)
		munmap(ballast, ballast_len);
	rep.charged = user_mem_used(ifd) - used0;
	report(&rep, sizeof(rep));
	wait_parent();
	for (u32 i = 0; i < rep.made; i++)
		close(fds[i]);
	free(fds);
}

/* Another user (and root) can still have the largest rings. */
static void other_child(void *argp)
{
	struct mcai_session_create sc;
	u32 model = *(u32 *)argp;
	int fd = dev_open_or_die();

	if (screate(fd, &sc, 0, model, NULL, 4096, 0))
		fail("uid 65533 cannot create a session: %s", strerror(errno));
	close(fd);
}

static void others_work(u32 model, const char *while_)
{
	struct mcai_session_create sc;
	int fd;

	if (!run_as(OTHER, other_child, &model))
		fail("another user was refused %s", while_);
	fd = dev_open_or_die();
	if (screate(fd, &sc, 0, model, NULL, 4096, 0))
		fail("root cannot create a session %s: %s", while_,
		     strerror(errno));
	close(fd);
}

static void t_exhaust(const char *model, u32 n)
{
	struct mcai_model_info mi = model_info(model);
	struct hog_arg a = { mi.ref.model_id, n, false };
	struct mcai_info info;
	long long avail0, avail1;
	struct hog_rep r;
	struct child c;
	bool acct;
	int fd = dev_open_or_die();

	acct = info_get(fd, &info);
	raise_nofile(n + 64);
	avail0 = meminfo("MemAvailable");
	spawn(&c, NOBODY, NULL, hog_child, &a);
	collect(&c, &r, sizeof(r));
	avail1 = meminfo("MemAvailable");
	printf("exhaust: nobody tried %u sessions of %llu bytes of rings: %u made, %u ENOSPC, %u ENOMEM, %u other; %llu bytes charged, MemAvailable -%lld KiB\n",
	       r.tried, (unsigned long long)r.ring_bytes, r.made, r.nospc,
	       r.nomem, r.other, (unsigned long long)r.charged,
	       avail0 - avail1);
	CHECK(r.made > 0, "nobody made no session at all");
	CHECK(r.first_errno == ENOSPC && r.nospc == r.tried - r.made,
	      "refusals: first %s, %u ENOSPC, %u ENOMEM, %u other (%s)",
	      strerror(r.first_errno), r.nospc, r.nomem, r.other,
	      strerror(r.other_errno));
	if (acct) {
		CHECK(r.charged <= info.user_mem_limit,
		      "%llu bytes charged to nobody, user_mem_limit %llu",
		      (unsigned long long)r.charged,
		      (unsigned long long)info.user_mem_limit);
		CHECK(r.made * r.ring_bytes <= info.user_mem_limit,
		      "nobody holds %u sessions of %llu bytes past user_mem_limit %llu",
		      r.made, (unsigned long long)r.ring_bytes,
		      (unsigned long long)info.user_mem_limit);
	}
	/* nobody's share and its thousands of files: far from the machine's */
	CHECK(avail0 - avail1 <= 96 * 1024,
	      "MemAvailable fell by %lld KiB while nobody held %u sessions",
	      avail0 - avail1, r.made);
	others_work(mi.ref.model_id, "while nobody holds its most");
	finish(&c);
	/* all of it came back */
	if (acct) {
		info_get(fd, &info);
		CHECK(info.mem_used == 0 && info.user_mem_used == 0,
		      "%llu bytes still charged (%llu to root) after every session closed",
		      (unsigned long long)info.mem_used,
		      (unsigned long long)info.user_mem_used);
	}
	close(fd);
}

static long long cg_read(const char *cg, const char *file, const char *key)
{
	char path[512], line[256];
	long long v = -1;
	size_t n = key ? strlen(key) : 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!key) {
			v = atoll(line);
			break;
		}
		if (!strncmp(line, key, n) && line[n] == ' ') {
			v = atoll(line + n + 1);
			break;
		}
	}
	fclose(f);
	return v;
}

static void t_memcg(const char *model, const char *cg)
{
	struct mcai_model_info mi = model_info(model);
	struct hog_arg a = { mi.ref.model_id, 4096, true };
	long long max = cg_read(cg, "memory.max", NULL), cur, peak_vm;
	struct mcai_info info;
	struct hog_rep r;
	struct child c;
	int fd = dev_open_or_die();

	if (max <= 0)
		die("memory.max of the cgroup");
	if (info_get(fd, &info))
		CHECK((long long)info.user_mem_limit > max,
		      "user_mem_limit %llu is not above the cgroup's %lld: load the module with a larger user_mem_mb",
		      (unsigned long long)info.user_mem_limit, max);
	raise_nofile(a.n + 64);
	spawn(&c, NOBODY, cg, hog_child, &a);
	collect(&c, &r, sizeof(r));
	cur = cg_read(cg, "memory.current", NULL);
	peak_vm = cg_read(cg, "memory.stat", "vmalloc");
	printf("memcg: nobody in a cgroup of %lld MiB: %u sessions of %llu bytes, then %s; memory.current %lld KiB (vmalloc %lld KiB), events: max %lld oom %lld oom_kill %lld\n",
	       max >> 20, r.made, (unsigned long long)r.ring_bytes,
	       r.first_errno ? strerror(r.first_errno) : "no refusal",
	       cur >> 10, peak_vm >> 10, cg_read(cg, "memory.events", "max"),
	       cg_read(cg, "memory.events", "oom"),
	       cg_read(cg, "memory.events", "oom_kill"));
	CHECK(r.first_errno == ENOMEM,
	      "refused with %s after %u sessions (%llu MiB of rings): the cgroup's %lld MiB did not stop it",
	      r.first_errno ? strerror(r.first_errno) : "nothing", r.made,
	      (unsigned long long)(r.made * r.ring_bytes >> 20), max >> 20);
	CHECK(r.made * r.ring_bytes <= (u64)max,
	      "%u sessions of %llu bytes inside a cgroup of %lld bytes",
	      r.made, (unsigned long long)r.ring_bytes, max);
	CHECK(cg_read(cg, "memory.events", "oom_kill") == 0 &&
	      cg_read(cg, "memory.events", "oom") == 0,
	      "the cgroup met the OOM killer");
	others_work(mi.ref.model_id, "while nobody's cgroup is full");
	finish(&c);
	close(fd);
}

/* ---- mirror: what reaches the training store is the admin's choice ----- */

struct mirror_arg {
	u32 model;
	int root_fd;	/* opened by root, inherited */
};

static void mirror_child(void *argp)
{
	const struct mirror_arg *a = argp;
	struct mcai_session_mirror sm = { .size = sizeof(sm) };
	struct mcai_session_create sc;
	struct mcai_result res;
	int fd = dev_open_or_die();

	errno = 0;
	if (!screate(fd, &sc, 0, a->model, NULL, 0, 1)) {
		fail("SESSION_CREATE with mirror_every=1 accepted from nobody");
		close(fd);
		fd = dev_open_or_die();
	} else {
		CHECK(errno == EPERM, "SESSION_CREATE mirror_every=1: %s, want EPERM",
		      strerror(errno));
	}
	if (screate(fd, &sc, 0, a->model, NULL, 0, 0))
		die("SESSION_CREATE");
	sm.every = 1;
	errno = 0;
	if (!ioctl(fd, MCAI_IOC_SESSION_MIRROR, &sm))
		fail("SESSION_MIRROR every=1 accepted from nobody");
	else
		CHECK(errno == EPERM, "SESSION_MIRROR every=1: %s, want EPERM",
		      strerror(errno));
	sm.every = 0;
	CHECK(!ioctl(fd, MCAI_IOC_SESSION_MIRROR, &sm),
	      "SESSION_MIRROR every=0 (off): %s", strerror(errno));
	/* a sample of nobody's: it must not be mirrored */
	CHECK(!session_one(fd, &sc, 0, &res), "nobody's session computed nothing");
	close(fd);
	/* an fd root opened (mcaid's, after it dropped privileges) may */
	if (screate(a->root_fd, &sc, 0, a->model, NULL, 0, 1))
		fail("SESSION_CREATE mirror_every=1 on root's fd: %s",
		     strerror(errno));
	else
		CHECK(!session_one(a->root_fd, &sc, 0, &res),
		      "the root fd's session computed nothing");
}

static int mirror_read(int fd, struct mcai_mirror_read *rd)
{
	static u8 buf[1 << 20];

	memset(rd, 0, sizeof(*rd));
	rd->size = sizeof(*rd);
	rd->buf_ptr = (uintptr_t)buf;
	rd->buf_len = sizeof(buf);
	return ioctl(fd, MCAI_IOC_MIRROR_READ, rd);
}

static void t_mirror(const char *model)
{
	struct mirror_arg a = { model_info(model).ref.model_id, -1 };
	struct mcai_mirror_read rd;
	u64 before;
	int fd = dev_open_or_die();

	do {
		if (mirror_read(fd, &rd))
			die("MIRROR_READ");
	} while (rd.n_records);
	before = rd.mirrored;
	a.root_fd = dev_open_or_die();
	run_as(NOBODY, mirror_child, &a);
	close(a.root_fd);
	if (mirror_read(fd, &rd))
		die("MIRROR_READ");
	printf("mirror: nobody refused; %llu record(s) queued since, from the root-opened fd\n",
	       (unsigned long long)(rd.mirrored - before));
	CHECK(rd.mirrored - before == 1,
	      "%llu records mirrored, want 1 (the root-opened fd's sample only)",
	      (unsigned long long)(rd.mirrored - before));
	close(fd);
}

/* ---- names: whose pipeline a name or an id is ------------------------- */

struct names_arg {
	u32 det, cls;
	u32 in_len;
	u32 root_id;	/* root's "sq-chain" */
	u32 nobody_id;	/* nobody's, reported */
};

/* nobody: its own "sq-chain" (a vote that always escalates) */
static void names_nobody(void *argp)
{
	struct names_arg *a = argp;
	u32 id = 0, flags;
	int fd = dev_open_or_die();

	if (pcreate(fd, "sq-chain", MCAI_PIPE_ENSEMBLE_VOTE, a->det, a->det, 0,
		    MCAI_ESCALATE_ALWAYS_VALUE, &id))
		fail("nobody's PIPELINE_CREATE sq-chain: %s", strerror(errno));
	errno = 0;
	CHECK(pcreate(fd, "sq-chain", MCAI_PIPE_ENSEMBLE_VOTE, a->det, a->det,
		      0, MCAI_ESCALATE_ALWAYS_VALUE, NULL) && errno == EEXIST,
	      "a second sq-chain of nobody's: %s, want EEXIST",
	      strerror(errno));
	report(&id, sizeof(id));
	receive(&a->root_id, sizeof(a->root_id));
	wait_parent();
	/* its own name first */
	if (pinfer(fd, 0, "sq-chain", a->in_len, &flags))
		fail("nobody's infer on sq-chain: %s", strerror(errno));
	else
		CHECK(flags & MCAI_RES_ESCALATE,
		      "nobody's name found another user's pipeline");
	/* the admin's, by id: public */
	CHECK(!pinfer(fd, a->root_id, NULL, a->in_len, &flags),
	      "nobody cannot use root's pipeline by id: %s", strerror(errno));
	close(fd);
}

/* 65533: sees root's by name, not nobody's by id; may have its own name */
static void names_other(void *argp)
{
	struct names_arg *a = argp;
	u32 flags;
	int fd = dev_open_or_die();

	if (pinfer(fd, 0, "sq-chain", a->in_len, &flags))
		fail("65533's infer on sq-chain: %s", strerror(errno));
	else
		CHECK(!(flags & MCAI_RES_ESCALATE),
		      "65533's lookup of sq-chain found nobody's pipeline");
	errno = 0;
	CHECK(pinfer(fd, a->nobody_id, NULL, a->in_len, &flags) &&
	      errno == ENOENT,
	      "65533 used nobody's pipeline %u by id: %s", a->nobody_id,
	      strerror(errno));
	if (pcreate(fd, "sq-chain", MCAI_PIPE_CHAIN, a->det, a->cls, 1,
		    MCAI_ESCALATE_NEVER_VALUE, NULL))
		fail("65533 cannot have its own sq-chain: %s", strerror(errno));
	close(fd);
}

static void t_names(const char *det, const char *cls)
{
	struct mcai_model_info d = model_info(det), k = model_info(cls);
	struct names_arg a = { d.ref.model_id, k.ref.model_id, d.input_len, 0, 0 };
	struct child c;
	u32 flags;
	int fd = dev_open_or_die();

	spawn(&c, NOBODY, NULL, names_nobody, &a);
	collect(&c, &a.nobody_id, sizeof(a.nobody_id));
	/* the name nobody took first is free for root: never squatted */
	if (pcreate(fd, "sq-chain", MCAI_PIPE_CHAIN, a.det, a.cls, 1,
		    MCAI_ESCALATE_NEVER_VALUE, &a.root_id))
		fail("root's PIPELINE_CREATE sq-chain after nobody's: %s",
		     strerror(errno));
	if (pinfer(fd, 0, "sq-chain", a.in_len, &flags))
		fail("root's infer on sq-chain: %s", strerror(errno));
	else
		CHECK(!(flags & MCAI_RES_ESCALATE),
		      "root's lookup of sq-chain found nobody's pipeline");
	errno = 0;
	CHECK(pinfer(fd, a.nobody_id, NULL, a.in_len, &flags) &&
	      errno == ENOENT,
	      "root's fd used nobody's pipeline %u by id: %s", a.nobody_id,
	      strerror(errno));
	errno = 0;
	CHECK(pcreate(fd, "sq-chain", MCAI_PIPE_CHAIN, a.det, a.cls, 1,
		      MCAI_ESCALATE_NEVER_VALUE, NULL) && errno == EEXIST,
	      "a second sq-chain of root's: %s, want EEXIST", strerror(errno));
	run_as(OTHER, names_other, &a);
	/* nobody checks its view while root's exists */
	if (write(c.down, &a.root_id, sizeof(a.root_id)) != sizeof(a.root_id))
		die("write to the child");
	finish(&c);
	if (!failures)
		printf("names: nobody's and 65533's sq-chain are theirs, root's is everyone's\n");
	close(fd);
}

/* ---- pipes: per file, per user, all together ------------------------- */

struct pipes_arg {
	u32 model;
	u32 cap;	/* stop there if nothing refuses */
	const char *prefix;
};

struct pipes_rep {
	u32 made;
	u32 per_file;	/* first fd's pipelines before its ENOSPC */
	int err;
};

static void pipes_child(void *argp)
{
	const struct pipes_arg *a = argp;
	struct pipes_rep rep = { 0 };
	int fds[4096], nfd = 0;

	rep.err = 0;
	while (rep.made < a->cap && nfd < 4096) {
		char name[32];
		int fd = dev_open_or_die();
		u32 on_fd = 0;

		fds[nfd++] = fd;
		for (;;) {
			snprintf(name, sizeof(name), "%s%u", a->prefix, rep.made);
			if (pcreate(fd, name, MCAI_PIPE_ENSEMBLE_VOTE, a->model,
				    a->model, 0, MCAI_ESCALATE_NEVER_VALUE,
				    NULL)) {
				rep.err = errno;
				break;
			}
			rep.made++;
			on_fd++;
			if (rep.made >= a->cap)
				break;
		}
		if (nfd == 1)
			rep.per_file = on_fd;
		if (rep.err != ENOSPC || !on_fd)
			break;	/* refused on a fresh file: not the file's bound */
	}
	report(&rep, sizeof(rep));
	wait_parent();
	while (nfd)
		close(fds[--nfd]);
}

static void t_pipes(const char *model)
{
	struct pipes_arg a = { model_info(model).ref.model_id, 2000, "p" };
	struct pipes_rep rn, ro, rx, rr;
	struct child cn, co, cx;
	struct mcai_info info;
	int fd = dev_open_or_die();
	bool acct = info_get(fd, &info);

	spawn(&cn, NOBODY, NULL, pipes_child, &a);
	collect(&cn, &rn, sizeof(rn));
	printf("pipes: nobody made %u pipelines, %u on its first file, then %s\n",
	       rn.made, rn.per_file, rn.err ? strerror(rn.err) : "stopped");
	CHECK(rn.err == ENOSPC && rn.made < a.cap,
	      "nobody made %u pipelines and was never refused: no bound",
	      rn.made);
	if (!acct) {
		fail("GET_INFO reports no pipeline limits");
		finish(&cn);
		return;
	}
	CHECK(rn.per_file == info.file_pipelines,
	      "%u pipelines on one file, file_pipelines %u", rn.per_file,
	      info.file_pipelines);
	CHECK(rn.made == info.user_pipelines,
	      "nobody made %u pipelines, user_pipelines %u", rn.made,
	      info.user_pipelines);
	/* another user is not held to nobody's bound, only to the users' share */
	a.prefix = "o";
	spawn(&co, OTHER, NULL, pipes_child, &a);
	collect(&co, &ro, sizeof(ro));
	CHECK(ro.made == info.user_pipelines ||
	      rn.made + ro.made == info.unpriv_pipelines,
	      "65533 made %u pipelines while nobody holds %u (user %u, users %u)",
	      ro.made, rn.made, info.user_pipelines, info.unpriv_pipelines);
	/* a third user fills the users' share */
	a.prefix = "x";
	spawn(&cx, 65532, NULL, pipes_child, &a);
	collect(&cx, &rx, sizeof(rx));
	info_get(fd, &info);
	printf("pipes: 65533 made %u, 65532 made %u; %u pipelines, users' share %u of %u\n",
	       ro.made, rx.made, info.nr_pipelines, info.unpriv_pipelines,
	       info.max_pipelines);
	CHECK(rn.made + ro.made + rx.made <= info.unpriv_pipelines,
	      "the users made %u pipelines, their share is %u",
	      rn.made + ro.made + rx.made, info.unpriv_pipelines);
	/* the admin's reserve: root still creates up to max_pipelines */
	{
		int rfd[64], n = 0;
		u32 made = 0;

		memset(&rr, 0, sizeof(rr));
		while (n < 64) {
			char name[32];

			rfd[n] = dev_open_or_die();
			snprintf(name, sizeof(name), "r%u", made);
			if (pcreate(rfd[n++], name, MCAI_PIPE_ENSEMBLE_VOTE,
				    a.model, a.model, 0,
				    MCAI_ESCALATE_NEVER_VALUE, NULL)) {
				rr.err = errno;
				break;
			}
			made++;
			if (info.nr_pipelines + made > info.max_pipelines)
				break;
		}
		info_get(fd, &info);
		printf("pipes: root made %u more (%s): %u of %u\n", made,
		       rr.err ? strerror(rr.err) : "-", info.nr_pipelines,
		       info.max_pipelines);
		CHECK(made > 0, "the users' pipelines left root none");
		CHECK(rr.err == ENOSPC && info.nr_pipelines == info.max_pipelines,
		      "root stopped at %u of %u pipelines: %s",
		      info.nr_pipelines, info.max_pipelines, strerror(rr.err));
		while (n)
			close(rfd[--n]);
	}
	finish(&cn);
	finish(&co);
	finish(&cx);
	info_get(fd, &info);
	CHECK(info.nr_pipelines == 0, "%u pipelines left after every file closed",
	      info.nr_pipelines);
	close(fd);
}

/* ---- lookup: creating the N-th pipeline costs what the first did ------- */

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

#define LOOKUP_BATCH	512

static void t_lookup(const char *model, u32 n)
{
	u32 id = model_info(model).ref.model_id, made = 0, per = 200;
	u64 first[LOOKUP_BATCH], last[LOOKUP_BATCH], t;
	int nfd = 0, *fds = calloc(n / per + 2, sizeof(int));
	double ratio;

	if (!fds || n < 2 * LOOKUP_BATCH)
		die("lookup: N");
	raise_nofile(n / per + 64);
	while (made < n) {
		char name[32];

		if (made % per == 0)
			fds[nfd++] = dev_open_or_die();
		/* names sharing a long prefix: what strncmp is slowest on */
		snprintf(name, sizeof(name), "lookup-pipeline-%010u", made);
		t = now_ns();
		if (pcreate(fds[nfd - 1], name, MCAI_PIPE_ENSEMBLE_VOTE, id, id,
			    0, MCAI_ESCALATE_NEVER_VALUE, NULL)) {
			fail("pipeline %u: %s", made, strerror(errno));
			break;
		}
		t = now_ns() - t;
		if (made < LOOKUP_BATCH)
			first[made] = t;
		else if (made >= n - LOOKUP_BATCH)
			last[made - (n - LOOKUP_BATCH)] = t;
		made++;
	}
	if (made == n) {
		qsort(first, LOOKUP_BATCH, sizeof(u64), cmp_u64);
		qsort(last, LOOKUP_BATCH, sizeof(u64), cmp_u64);
		ratio = (double)last[LOOKUP_BATCH / 2] / first[LOOKUP_BATCH / 2];
		printf("lookup: %u pipelines; median create %llu ns for the first %u, %llu ns for the last %u (x%.2f)\n",
		       n, (unsigned long long)first[LOOKUP_BATCH / 2],
		       LOOKUP_BATCH, (unsigned long long)last[LOOKUP_BATCH / 2],
		       LOOKUP_BATCH, ratio);
		/* a scan of n names costs many times one hash lookup */
		CHECK(ratio < 3.0,
		      "creating pipeline %u took x%.2f what the first ones did: the name check scans",
		      n, ratio);
	}
	while (nfd)
		close(fds[--nfd]);
	free(fds);
}

/* ---- hold: a pipeline for the driver test ----------------------------- */

static int t_hold(const char *name, const char *type, const char *ma,
		  const char *mb, const char *ready)
{
	u32 a = model_info(ma).ref.model_id, b = model_info(mb).ref.model_id;
	bool chain = !strcmp(type, "chain");
	char done[512];
	struct stat st;
	FILE *f;
	int fd = dev_open_or_die(), ret;

	ret = pcreate(fd, name, chain ? MCAI_PIPE_CHAIN : MCAI_PIPE_ENSEMBLE_VOTE,
		      a, b, chain ? 1 : 0,
		      chain ? MCAI_ESCALATE_NEVER_VALUE :
			      MCAI_ESCALATE_ALWAYS_VALUE, NULL);
	f = fopen(ready, "w");
	if (!f)
		die(ready);
	if (ret)
		fprintf(f, "error %d\n", errno);
	else
		fprintf(f, "ok\n");
	fclose(f);
	if (ret)
		return 1;
	snprintf(done, sizeof(done), "%s.done", ready);
	/* the test's signal to let go: a file, polled like tests/vm/lib.sh */
	while (stat(done, &st))
		usleep(100000);
	close(fd);
	return 0;
}

static void t_info(void)
{
	struct mcai_info i;
	int fd = dev_open_or_die();

	if (!info_get(fd, &i)) {
		printf("GET_INFO: %u bytes, no accounting fields\n", i.size);
		close(fd);
		return;
	}
	printf("mem_limit %llu mem_unpriv_limit %llu mem_used %llu user_mem_limit %llu user_mem_used %llu\n",
	       (unsigned long long)i.mem_limit,
	       (unsigned long long)i.mem_unpriv_limit,
	       (unsigned long long)i.mem_used,
	       (unsigned long long)i.user_mem_limit,
	       (unsigned long long)i.user_mem_used);
	printf("max_pipelines %u unpriv_pipelines %u user_pipelines %u file_pipelines %u nr_pipelines %u user_nr_pipelines %u\n",
	       i.max_pipelines, i.unpriv_pipelines, i.user_pipelines,
	       i.file_pipelines, i.nr_pipelines, i.user_nr_pipelines);
	close(fd);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	prog = "limits_check";
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(cmd, "info")) {
		t_info();
	} else if (!strcmp(cmd, "scratch") && argc > 3) {
		t_scratch(argv[2], atoi(argv[3]));
	} else if (!strcmp(cmd, "grow")) {
		t_grow();
	} else if (!strcmp(cmd, "exhaust") && argc > 3) {
		t_exhaust(argv[2], atoi(argv[3]));
	} else if (!strcmp(cmd, "memcg") && argc > 3) {
		t_memcg(argv[2], argv[3]);
	} else if (!strcmp(cmd, "mirror") && argc > 2) {
		t_mirror(argv[2]);
	} else if (!strcmp(cmd, "names") && argc > 3) {
		t_names(argv[2], argv[3]);
	} else if (!strcmp(cmd, "pipes") && argc > 2) {
		t_pipes(argv[2]);
	} else if (!strcmp(cmd, "lookup") && argc > 3) {
		t_lookup(argv[2], atoi(argv[3]));
	} else if (!strcmp(cmd, "hold") && argc > 6) {
		return t_hold(argv[2], argv[3], argv[4], argv[5], argv[6]);
	} else {
		fprintf(stderr, "usage: see the top of tests/vm/prog/limits_check.c\n");
		return 2;
	}
	if (failures)
		fprintf(stderr, "%s: %d failures\n", prog, failures);
	return failures ? 1 : 0;
}
