// SPDX-License-Identifier: GPL-2.0
/*
 * mcai_simsensor.ko: a simulated 3-axis vibration sensor that feeds
 * mcai.ko through the in-kernel driver API (mcai_driver.h).  Test and demo
 * of the driver path; the signal is simulated (models/sensor/vibration.h), not
 * measured.
 *
 * An hrtimer in softirq context (HRTIMER_MODE_REL_SOFT: the driver API
 * allows softirq, not hard IRQ) ticks every tick_us.  Each tick generates
 * the samples due at `rate` since the last one and appends them to the
 * current window.  When a window is full, the integer feature front-end
 * (models/sensor/features.h) writes its MCAI_VIB_NFEAT int8 features straight
 * into a slot reserved in mcai's input ring (mcai_client_reserve ->
 * fill -> mcai_client_commit: no copy), and inference runs in mcai's
 * worker.  With `classifier` set, the same window also goes to a second
 * model (a 42-byte copy of the features into its slot).
 *
 * Parameters (/sys/module/mcai_simsensor/parameters/):
 *   rate        samples per second per axis (1000..102400, default 3200)
 *   window      samples per inference window, a power of two in
 *               256..8192; 0 (default) picks ~160 ms at `rate`
 *   model       model or pipeline to attach to (default vib-detector)
 *   pipeline    `model` names a pipeline
 *   classifier  optional second model fed the same windows ("" = none)
 *   fault       0 none, 1 outer race, 2 inner race, 3 imbalance;
 *               writable at run time (0644)
 *   severity    defect impulse / added 1x amplitude, mg (default 600)
 *   seed        simulator PRNG seed (default 1)
 *   run         0 pauses the signal (0644); windows in flight complete
 *   regime_gain_pct, regime_offset_mg
 *               a new operating regime of the machine (0644, at run
 *               time): every raw sample becomes sample * gain / 100 +
 *               offset (mg, saturated to s16) before the features, so
 *               the distribution the model sees shifts (drift tests);
 *               defaults 100 and 0 leave the signal untouched
 *   tick_us     timer period (default 1000)
 *   slots       input ring slots per client (0 = mcai's default)
 *   stats       read-only: the counters, one "name value" per line;
 *               mcai_* lines are the driver API's own counters
 *               (mcai_client_counters), for which
 *               submitted = completed + dropped + shed + queued
 *
 * IIO: the sensor is also an IIO device ("mcai-simsensor",
 * /sys/bus/iio/devices/iio:deviceN, iio_info lists it): three channels
 * in_accel_{x,y,z}_raw, s16 in mg, with in_accel_scale (m/s^2 per LSB)
 * and in_accel_sampling_frequency (rate), and a software kfifo buffer
 * fed straight from the timer with every generated sample (one scan =
 * x, y, z, 6 bytes) while it is enabled: a direct-push buffer, as a
 * driver with its own hardware FIFO has, so no trigger is needed (Debian's
 * 6.1 ships no trigger module).  Whatever reads the buffer sees the same
 * samples the features are computed from, regime included.
 *
 * The attach happens at module init and may come first: an attachment to
 * a model (or pipeline) not loaded yet waits for it (mcai_driver.h,
 * deferred binding), and the windows generated meanwhile are counted as
 * dropped (mcai_dropped, *_reserve_failed); `mcaictl list` shows the
 * attachment and its state, *_state here too.  A failing init says why
 * with pr_err and returns what failed (-EINVAL for a parameter, -ENOMEM),
 * never -ENOENT, which insmod would print as "Unknown symbol in module".
 * rmmod stops the timer, then detaches (which waits for inferences in
 * flight).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/err.h>
#include <linux/hrtimer.h>
#include <linux/iio/buffer.h>
#include <linux/iio/iio.h>
#include <linux/iio/kfifo_buf.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "mcai_driver.h"
#include "models/sensor/features.h"
#include "models/sensor/vibration.h"

#define SIM_HASH_WINDOWS	16	/* feature hash over the first windows */
#define SIM_CLASSES		MCAI_VIB_NFAULTS

static unsigned int rate = 3200;
module_param(rate, uint, 0444);
MODULE_PARM_DESC(rate, "samples per second per axis (1000..102400)");

static unsigned int window;
module_param(window, uint, 0444);
MODULE_PARM_DESC(window, "samples per window, power of two 256..8192; 0 = ~160 ms");

static char model[MCAI_NAME_LEN] = "vib-detector";
module_param_string(model, model, sizeof(model), 0444);
MODULE_PARM_DESC(model, "model or pipeline to attach to");

static bool pipeline;
module_param(pipeline, bool, 0444);
MODULE_PARM_DESC(pipeline, "model names a pipeline");

static char classifier[MCAI_NAME_LEN];
module_param_string(classifier, classifier, sizeof(classifier), 0444);
MODULE_PARM_DESC(classifier, "optional second model fed the same windows");

static unsigned int severity = 600;
module_param(severity, uint, 0444);
MODULE_PARM_DESC(severity, "fault severity, mg (impulse peak / added 1x)");

static unsigned int seed = 1;
module_param(seed, uint, 0444);
MODULE_PARM_DESC(seed, "simulator PRNG seed");

static bool run = true;
module_param(run, bool, 0644);
MODULE_PARM_DESC(run, "generate the signal (0 pauses it)");

static unsigned int slots;
module_param(slots, uint, 0444);
MODULE_PARM_DESC(slots, "input ring slots per client, power of two (0 = mcai's default)");

static unsigned int mirror;
module_param(mirror, uint, 0444);
MODULE_PARM_DESC(mirror, "mirror 1 window in N to mcai's sample mirror (0 = off)");

static unsigned int tick_us = 1000;
module_param(tick_us, uint, 0444);
MODULE_PARM_DESC(tick_us, "timer period, microseconds (100..100000)");

static int regime_gain_pct = 100;
static int regime_offset_mg;

static int regime_set(const char *val, const struct kernel_param *kp)
{
	int v, ret = kstrtoint(val, 0, &v);

	if (ret)
		return ret;
	/* gain 0..1000 %, offset within +-8 g: a different machine, not noise */
	if (kp->arg == &regime_gain_pct ? v < 0 || v > 1000 :
	    v < -8000 || v > 8000)
		return -EINVAL;
	WRITE_ONCE(*(int *)kp->arg, v);
	return 0;
}

static const struct kernel_param_ops regime_ops = {
	.set = regime_set,
	.get = param_get_int,
};

module_param_cb(regime_gain_pct, &regime_ops, &regime_gain_pct, 0644);
MODULE_PARM_DESC(regime_gain_pct, "signal gain, percent (0..1000, default 100): a new machine regime");
module_param_cb(regime_offset_mg, &regime_ops, &regime_offset_mg, 0644);
MODULE_PARM_DESC(regime_offset_mg, "signal offset, mg (-8000..8000, default 0): a new machine regime");

static unsigned int fault;

static int fault_set(const char *val, const struct kernel_param *kp)
{
	unsigned int v;
	int ret = kstrtouint(val, 0, &v);

	if (ret)
		return ret;
	if (v >= MCAI_VIB_NFAULTS)
		return -EINVAL;
	WRITE_ONCE(fault, v);
	return 0;
}

static const struct kernel_param_ops fault_ops = {
	.set = fault_set,
	.get = param_get_uint,
};

module_param_cb(fault, &fault_ops, &fault, 0644);
MODULE_PARM_DESC(fault, "0 none, 1 outer race, 2 inner race, 3 imbalance");

struct sim_target {
	struct mcai_client *client;
	atomic64_t results;
	atomic64_t shed_results;
	atomic64_t classes[SIM_CLASSES];
	atomic64_t other_class;
	atomic64_t lat_sum_ns;
	atomic64_t lat_max_ns;
	u64 committed;			/* timer context only */
	u64 reserve_failed;
};

struct sim {
	struct hrtimer timer;
	u64 period_ns;
	u64 last_ns;
	u64 acc;			/* ns * rate not yet turned into samples */
	u64 pending;			/* samples due, not generated yet */
	u64 lagged;			/* samples skipped: more than 1 s behind */
	u32 window;
	u32 fill;
	u32 cur_fault;
	u64 windows;
	u64 hash;
	u32 hashed;
	struct mcai_vib vib;
	struct mcai_vib_scratch scratch;
	s8 feat[MCAI_VIB_NFEAT];
	s16 *buf;			/* window * 3 samples */
	struct sim_target tgt[2];	/* model, classifier */
	u32 n_tgt;
	/* IIO */
	struct iio_dev *indio;
	struct iio_buffer *fifo;
	spinlock_t iio_lock;		/* iio_on against the timer's push */
	bool iio_on;			/* buffer enabled: push every sample */
	s16 last[3];			/* the latest sample, for *_raw */
	u64 iio_pushed;
};

/* The IIO device's private data: a pointer to the live simulator. */
struct sim_iio {
	struct sim *sim;
};

/* Set and cleared under kernel_param_lock(THIS_MODULE), as stats reads. */
static struct sim *sim_live;

static void sim_result(struct mcai_client *c, const struct mcai_result *res,
		       void *priv)
{
	struct sim_target *t = priv;
	u64 lat = res->latency_ns, max;

	atomic64_inc(&t->results);
	if (res->flags & MCAI_RES_SHED) {
		atomic64_inc(&t->shed_results);
		return;
	}
	if (res->class_id >= 0 && res->class_id < SIM_CLASSES)
		atomic64_inc(&t->classes[res->class_id]);
	else
		atomic64_inc(&t->other_class);
	atomic64_add(lat, &t->lat_sum_ns);
	max = atomic64_read(&t->lat_max_ns);
	while (lat > max) {
		u64 old = atomic64_cmpxchg(&t->lat_max_ns, max, lat);

		if (old == max)
			break;
		max = old;
	}
}

static const struct mcai_client_ops sim_ops = {
	.result = sim_result,
};

static void sim_hash(struct sim *s, const s8 *f)
{
	u32 i;

	for (i = 0; i < MCAI_VIB_NFEAT; i++) {
		s->hash ^= (u8)f[i];
		s->hash *= 0x100000001b3ULL;
	}
	s->hashed++;
}

/* Samples * gain / 100 + offset, saturated: the machine's new regime. */
static void sim_regime(s16 *xyz, u32 n)
{
	int gain = READ_ONCE(regime_gain_pct);
	int off = READ_ONCE(regime_offset_mg);
	u32 i;

	if (gain == 100 && off == 0)
		return;		/* bit-exact with the trainer's simulator */
	for (i = 0; i < 3 * n; i++)
		xyz[i] = clamp_t(int, xyz[i] * gain / 100 + off, S16_MIN,
				 S16_MAX);
}

/* A full window: features into the first target's slot, zero copy. */
static void sim_window(struct sim *s)
{
	s8 *slot[2] = { NULL, NULL };
	s8 *feat;
	u32 i;

	s->windows++;
	for (i = 0; i < s->n_tgt; i++) {
		slot[i] = mcai_client_reserve(s->tgt[i].client, NULL);
		if (!slot[i])
			s->tgt[i].reserve_failed++;
	}
	feat = slot[0] ? slot[0] : slot[1] ? slot[1] : s->feat;
	if (!slot[0] && !slot[1] && s->hashed >= SIM_HASH_WINDOWS)
		return;		/* nobody to feed */
	mcai_vib_features(s->buf, s->window, rate, &s->scratch, feat);
	if (s->hashed < SIM_HASH_WINDOWS)
		sim_hash(s, feat);
	for (i = 0; i < s->n_tgt; i++) {
		if (!slot[i])
			continue;
		if (slot[i] != feat)
			memcpy(slot[i], feat, MCAI_VIB_NFEAT);
		mcai_client_commit(s->tgt[i].client, slot[i]);
		s->tgt[i].committed++;
	}
}

/*
 * Every generated sample into the IIO buffer while it is enabled.  The
 * timer runs in softirq context; iio_lock makes predisable wait for a push
 * in progress, so no sample reaches a buffer the core is taking down.
 */
static void sim_iio_push(struct sim *s, const s16 *xyz, u32 n)
{
	u32 i;

	if (n)
		memcpy(s->last, xyz + 3 * (n - 1), sizeof(s->last));
	if (!READ_ONCE(s->iio_on))
		return;
	spin_lock(&s->iio_lock);
	if (s->iio_on) {
		for (i = 0; i < n; i++)
			iio_push_to_buffers(s->indio, xyz + 3 * i);
		s->iio_pushed += n;
	}
	spin_unlock(&s->iio_lock);
}

static enum hrtimer_restart sim_tick(struct hrtimer *t)
{
	struct sim *s = container_of(t, struct sim, timer);
	u64 now = ktime_get_ns(), elapsed = now - s->last_ns, todo;
	u32 f = READ_ONCE(fault), rem;

	s->last_ns = now;
	hrtimer_forward_now(t, ns_to_ktime(s->period_ns));
	if (!READ_ONCE(run))
		return HRTIMER_RESTART;
	if (f != s->cur_fault) {
		mcai_vib_set_fault(&s->vib, f, severity);
		s->cur_fault = f;
	}
	if (elapsed > NSEC_PER_SEC)
		elapsed = NSEC_PER_SEC;
	s->acc += elapsed * rate;
	s->pending += div_u64_rem(s->acc, NSEC_PER_SEC, &rem);
	s->acc = rem;
	if (s->pending > rate) {	/* more than a second behind */
		s->lagged += s->pending - rate;
		s->pending = rate;
	}
	/* at most two windows per tick: bounded time in softirq */
	todo = min_t(u64, s->pending, 2 * s->window);
	s->pending -= todo;
	while (todo) {
		u32 n = min_t(u64, todo, s->window - s->fill);

		mcai_vib_generate(&s->vib, s->buf + 3 * s->fill, n);
		sim_regime(s->buf + 3 * s->fill, n);
		sim_iio_push(s, s->buf + 3 * s->fill, n);
		s->fill += n;
		todo -= n;
		if (s->fill == s->window) {
			sim_window(s);
			s->fill = 0;
		}
	}
	return HRTIMER_RESTART;
}

static const char *sim_state_name(u32 state)
{
	switch (state) {
	case MCAI_ATTACH_BOUND:
		return "bound";
	case MCAI_ATTACH_REFUSED:
		return "refused";
	default:
		return "waiting";
	}
}

static int stats_get(char *buf, const struct kernel_param *kp)
{
	struct sim *s = sim_live;	/* under kernel_param_lock */
	struct mcai_kernel_ctl k;
	int len = 0, i, c;

	if (!s)
		return sysfs_emit(buf, "not running\n");
	len += sysfs_emit_at(buf, len,
			     "rate %u\nwindow %u\nfault %u\nsamples %llu\n"
			     "lagged_samples %llu\nwindows %llu\n"
			     "feat_hash %016llx\nfeat_hash_windows %u\n"
			     "iio_device %d\niio_pushed %llu\n",
			     rate, s->window, READ_ONCE(s->cur_fault),
			     READ_ONCE(s->vib.n), READ_ONCE(s->lagged),
			     READ_ONCE(s->windows), READ_ONCE(s->hash),
			     READ_ONCE(s->hashed), iio_device_id(s->indio),
			     READ_ONCE(s->iio_pushed));
	for (i = 0; i < s->n_tgt; i++) {
		struct sim_target *t = &s->tgt[i];
		const char *p = i ? "cls" : "det";
		u64 n = atomic64_read(&t->results) -
			atomic64_read(&t->shed_results);

		mcai_client_counters(t->client, &k);
		len += sysfs_emit_at(buf, len, "%s_state %s\n", p,
				     sim_state_name(mcai_client_state(t->client)));
		len += sysfs_emit_at(buf, len,
				     "%s_committed %llu\n%s_reserve_failed %llu\n"
				     "%s_results %llu\n%s_shed_results %llu\n",
				     p, READ_ONCE(t->committed),
				     p, READ_ONCE(t->reserve_failed),
				     p, atomic64_read(&t->results),
				     p, atomic64_read(&t->shed_results));
		for (c = 0; c < SIM_CLASSES; c++)
			len += sysfs_emit_at(buf, len, "%s_class%d %lld\n", p,
					     c, atomic64_read(&t->classes[c]));
		len += sysfs_emit_at(buf, len,
				     "%s_class_other %lld\n%s_latency_avg_ns %llu\n"
				     "%s_latency_max_ns %lld\n"
				     "%s_mcai_submitted %llu\n%s_mcai_completed %llu\n"
				     "%s_mcai_dropped %llu\n%s_mcai_shed %llu\n"
				     "%s_mcai_gated %llu\n%s_mcai_escalated %llu\n",
				     p, atomic64_read(&t->other_class),
				     p, n ? div64_u64(atomic64_read(&t->lat_sum_ns), n) : 0,
				     p, atomic64_read(&t->lat_max_ns),
				     p, k.submitted, p, k.completed,
				     p, k.dropped, p, k.shed, p, k.gated,
				     p, k.escalated);
	}
	return len;
}

static const struct kernel_param_ops stats_ops = {
	.get = stats_get,
};

module_param_cb(stats, &stats_ops, NULL, 0444);
MODULE_PARM_DESC(stats, "counters (read-only)");

static int sim_attach(struct sim_target *t, const char *name, u32 flags)
{
	/* only a model taking the 42 features is ever bound (mcai_driver.h) */
	struct mcai_client_opts opts = {
		.in_slots = slots, .flags = flags, .mirror_every = mirror,
		.input_len = MCAI_VIB_NFEAT,
	};

	t->client = mcai_client_attach(name, &sim_ops, t, &opts);
	if (IS_ERR(t->client)) {
		int err = PTR_ERR(t->client);

		t->client = NULL;
		if (err == -EINVAL)
			pr_err("cannot attach to '%s': bad name or slots=%u (a power of two up to 4096)\n",
			       name, slots);
		else if (err == -EOPNOTSUPP)
			pr_err("cannot attach to '%s': mirror=%u but mcai's sample mirror is off (mirror_kb=0)\n",
			       name, mirror);
		else
			pr_err("cannot attach to '%s': error %d\n", name, err);
		return err;
	}
	return 0;
}

/* ---- IIO device ----------------------------------------------------- */

#define SIM_ACCEL_CHAN(axis, idx) {					\
	.type = IIO_ACCEL,						\
	.modified = 1,							\
	.channel2 = IIO_MOD_##axis,					\
	.info_mask_separate = BIT(IIO_CHAN_INFO_RAW),			\
	.info_mask_shared_by_type = BIT(IIO_CHAN_INFO_SCALE) |		\
				    BIT(IIO_CHAN_INFO_SAMP_FREQ),	\
	.scan_index = idx,						\
	.scan_type = {							\
		.sign = 's', .realbits = 16, .storagebits = 16,		\
		.endianness = IIO_CPU,					\
	},								\
}

static const struct iio_chan_spec sim_channels[] = {
	SIM_ACCEL_CHAN(X, 0),
	SIM_ACCEL_CHAN(Y, 1),
	SIM_ACCEL_CHAN(Z, 2),
};

static int sim_read_raw(struct iio_dev *indio, struct iio_chan_spec const *ch,
			int *val, int *val2, long mask)
{
	struct sim *s = ((struct sim_iio *)iio_priv(indio))->sim;

	switch (mask) {
	case IIO_CHAN_INFO_RAW:
		*val = READ_ONCE(s->last[ch->scan_index]);
		return IIO_VAL_INT;
	case IIO_CHAN_INFO_SCALE:	/* 1 mg = 0.00980665 m/s^2 */
		*val = 0;
		*val2 = 9806650;
		return IIO_VAL_INT_PLUS_NANO;
	case IIO_CHAN_INFO_SAMP_FREQ:
		*val = rate;
		return IIO_VAL_INT;
	}
	return -EINVAL;
}

static const struct iio_info sim_iio_info = {
	.read_raw = sim_read_raw,
};

static int sim_iio_postenable(struct iio_dev *indio)
{
	struct sim *s = ((struct sim_iio *)iio_priv(indio))->sim;

	spin_lock_bh(&s->iio_lock);
	s->iio_on = true;
	spin_unlock_bh(&s->iio_lock);
	return 0;
}

static int sim_iio_predisable(struct iio_dev *indio)
{
	struct sim *s = ((struct sim_iio *)iio_priv(indio))->sim;

	spin_lock_bh(&s->iio_lock);	/* waits for a push in progress */
	s->iio_on = false;
	spin_unlock_bh(&s->iio_lock);
	return 0;
}

static const struct iio_buffer_setup_ops sim_iio_setup = {
	.postenable = sim_iio_postenable,
	.predisable = sim_iio_predisable,
};

static int sim_iio_init(struct sim *s)
{
	struct iio_dev *indio;
	int err;

	spin_lock_init(&s->iio_lock);
	indio = iio_device_alloc(NULL, sizeof(struct sim_iio));
	if (!indio) {
		pr_err("cannot allocate the IIO device\n");
		return -ENOMEM;
	}
	((struct sim_iio *)iio_priv(indio))->sim = s;
	indio->name = "mcai-simsensor";
	indio->info = &sim_iio_info;
	indio->channels = sim_channels;
	indio->num_channels = ARRAY_SIZE(sim_channels);
	indio->modes = INDIO_DIRECT_MODE | INDIO_BUFFER_SOFTWARE;
	indio->setup_ops = &sim_iio_setup;
	s->fifo = iio_kfifo_allocate();
	if (!s->fifo) {
		pr_err("cannot allocate the IIO kfifo buffer\n");
		err = -ENOMEM;
		goto err_dev;
	}
	err = iio_device_attach_buffer(indio, s->fifo);
	if (err) {
		pr_err("cannot attach the IIO buffer: %d\n", err);
		goto err_fifo;
	}
	err = iio_device_register(indio);
	if (err) {
		pr_err("cannot register the IIO device: %d\n", err);
		goto err_fifo;
	}
	s->indio = indio;
	return 0;

err_fifo:
	iio_kfifo_free(s->fifo);
err_dev:
	iio_device_free(indio);
	return err;
}

/* The order devm_iio_kfifo_buffer_setup() + devm registration undo in. */
static void sim_iio_exit(struct sim *s)
{
	iio_device_unregister(s->indio);
	iio_kfifo_free(s->fifo);
	iio_device_free(s->indio);
}

static int __init sim_init(void)
{
	struct mcai_vib_cfg cfg;
	struct sim *s;
	int err;

	if (rate < MCAI_VIB_MIN_FS || rate > MCAI_VIB_MAX_FS) {
		pr_err("rate %u out of range %u..%u\n", rate, MCAI_VIB_MIN_FS,
		       MCAI_VIB_MAX_FS);
		return -EINVAL;
	}
	if (window == 0)
		window = mcai_vib_auto_window(rate);
	if (window < MCAI_VIB_MIN_WINDOW || window > MCAI_VIB_MAX_WINDOW ||
	    (window & (window - 1))) {
		pr_err("window %u: need a power of two in %u..%u\n", window,
		       MCAI_VIB_MIN_WINDOW, MCAI_VIB_MAX_WINDOW);
		return -EINVAL;
	}
	if (tick_us < 100 || tick_us > 100000) {
		pr_err("tick_us %u out of range 100..100000\n", tick_us);
		return -EINVAL;
	}

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	s->window = window;
	s->hash = 0xcbf29ce484222325ULL;	/* FNV-1a offset basis */
	s->buf = kvmalloc_array(3 * (size_t)window, sizeof(s16), GFP_KERNEL);
	if (!s->buf) {
		err = -ENOMEM;
		goto err_free;
	}
	mcai_vib_default(&cfg, rate, seed);
	cfg.fault = READ_ONCE(fault);
	cfg.severity_mg = severity;
	if (mcai_vib_init(&s->vib, &cfg)) {
		pr_err("simulator refused rate %u / severity %u (the %u Hz resonance must lie below rate / 2)\n",
		       rate, severity, cfg.res_hz);
		err = -EINVAL;
		goto err_buf;
	}
	s->cur_fault = cfg.fault;

	err = sim_attach(&s->tgt[0], model, pipeline ? MCAI_SESSION_PIPELINE : 0);
	if (err)
		goto err_buf;
	s->n_tgt = 1;
	if (classifier[0]) {
		err = sim_attach(&s->tgt[1], classifier, 0);
		if (err)
			goto err_detach;
		s->n_tgt = 2;
	}

	err = sim_iio_init(s);
	if (err)
		goto err_detach_all;

	kernel_param_lock(THIS_MODULE);
	sim_live = s;
	kernel_param_unlock(THIS_MODULE);

	s->period_ns = (u64)tick_us * NSEC_PER_USEC;
	s->last_ns = ktime_get_ns();
	hrtimer_init(&s->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_SOFT);
	s->timer.function = sim_tick;
	hrtimer_start(&s->timer, ns_to_ktime(s->period_ns),
		      HRTIMER_MODE_REL_SOFT);
	pr_info("%u Hz, %u-sample windows into %s%s%s, fault %u\n", rate,
		window, model, classifier[0] ? " and " : "", classifier,
		s->cur_fault);
	return 0;

err_detach_all:
	if (s->n_tgt > 1)
		mcai_client_detach(s->tgt[1].client);
err_detach:
	mcai_client_detach(s->tgt[0].client);
err_buf:
	kvfree(s->buf);
err_free:
	kfree(s);
	return err;
}

static void __exit sim_exit(void)
{
	struct sim *s = sim_live;
	u32 i;

	kernel_param_lock(THIS_MODULE);
	sim_live = NULL;
	kernel_param_unlock(THIS_MODULE);
	hrtimer_cancel(&s->timer);
	/* unregistering disables the buffer (predisable) before it goes */
	sim_iio_exit(s);
	for (i = 0; i < s->n_tgt; i++)
		mcai_client_detach(s->tgt[i].client);	/* waits for the worker */
	kvfree(s->buf);
	kfree(s);
}

module_init(sim_init);
module_exit(sim_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("mcai simulated vibration sensor (driver API test and demo)");
MODULE_AUTHOR("mcai developers");
