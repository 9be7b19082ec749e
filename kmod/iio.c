// SPDX-License-Identifier: GPL-2.0
/*
 * mcai_iio.ko: any IIO device's samples into a model, from inside the
 * kernel, with no change to that device's driver.
 *
 * An attachment is a buffer of our own (struct mcai_iio_att) inserted
 * into the device's buffer list with iio_update_buffers(), as an in-kernel
 * consumer: the IIO core demuxes each scan to the channels we enabled and
 * calls our store_to() in the producer's context (a threaded IRQ handler,
 * a trigger's poll function, a driver's timer).  store_to() turns each
 * enabled channel's value into an int8 (value >> shift, saturated) into a
 * window of the last `window` scans; every `stride` scans once it is full,
 * the window is copied into a slot reserved on an mcai_client (the driver
 * API, kmod/mcai_driver.h) and committed: window * channels int8 inputs,
 * scan after scan.  Debian's kernels lack CONFIG_IIO_BUFFER_CB (the
 * kernel's own callback buffer), so this is a small one on the exported
 * iio_buffer_init() / iio_update_buffers().
 *
 * Control (root, /sys/module/mcai_iio/parameters/; mcaictl attach/detach
 * write them):
 *   attach   "iio:deviceN MODEL [channels=I,J,..] [window=N] [stride=N]
 *            [shift=N]": channels are scan indices (default: every one
 *            but a timestamp), window 1..4096 scans (default 1), stride
 *            1..window (default window), shift 0..31 (default 0)
 *   detach   an attachment id, or "all"
 *   list     read: one line per attachment
 * The model binds like any driver's (deferred binding): the attachment
 * waits for a model of that name, follows hot swaps, is refused by a
 * model whose input_len is not window * channels, and shows in
 * `mcaictl list` (driver mcai_iio).
 *
 * Removal: we hold a reference on the device and nothing on its driver.
 * When the device goes (its driver's rmmod), a notifier on the IIO bus
 * (BUS_NOTIFY_DEL_DEVICE, at the start of the driver's
 * iio_device_unregister()) takes our buffer off it and drops our
 * reference then, while the driver still holds its own: the device's
 * last reference must go with its driver's teardown, not at a later
 * detach.  That last put frees the device's own buffers through their
 * module's code (kfifo_buf's release), which may be unloaded by then:
 * rmmod of the sensor, then of kfifo_buf, then detach would run freed
 * code.  The attachment stays, fed by nothing, until detached.
 * store_to() runs under att->lock against detach.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/device.h>
#include <linux/err.h>
#include <linux/iio/buffer_impl.h>
#include <linux/iio/iio.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "mcai_driver.h"

#define MCAI_IIO_MAX_WINDOW	4096
#define MCAI_IIO_MAX_CHANS	16

struct mcai_iio_chan {
	u32 offset;		/* in the demuxed scan */
	u8 bytes, shift, realbits;
	bool sign, be;
};

struct mcai_iio_att {
	struct iio_buffer buffer;	/* first: container_of */
	struct list_head node;		/* on mcai_iio_atts */
	u32 id;
	char dev_name[32];
	char model[MCAI_NAME_LEN];
	struct iio_dev *indio;		/* a device reference; NULL once gone */
	struct mcai_client *client;
	u32 nch, window, stride, shift;
	struct mcai_iio_chan ch[MCAI_IIO_MAX_CHANS];
	u32 idx[MCAI_IIO_MAX_CHANS];	/* scan indices, increasing */

	spinlock_t lock;	/* store_to against detach */
	bool live;
	s8 *ring;		/* window * nch, scan after scan */
	u32 head;		/* next scan's row in ring */
	u32 filled, since;	/* scans in ring; since the last window */
	u64 scans, windows, refused;
};

static LIST_HEAD(mcai_iio_atts);
static DEFINE_MUTEX(mcai_iio_lock);
static u32 mcai_iio_ids;

static u32 mcai_iio_masklength(const struct iio_dev *indio)
{
#ifdef MCAI_HAVE_IIO_GET_MASKLENGTH
	return iio_get_masklength(indio);
#else
	return indio->masklength;
#endif
}

static s32 mcai_iio_value(const struct mcai_iio_chan *c, const u8 *p)
{
	u32 raw = 0, i;

	/* byte by byte: no alignment assumed, and no header that moved */
	for (i = 0; i < c->bytes; i++)
		raw |= (u32)p[c->be ? i : c->bytes - 1 - i] <<
		       (8 * (c->bytes - 1 - i));
	raw >>= c->shift;
	if (c->realbits < 32)
		raw &= (1U << c->realbits) - 1;
	if (c->sign && c->realbits < 32)
		return sign_extend32(raw, c->realbits - 1);
	return (s32)raw;
}

/* One demuxed scan: our channels only, in scan index order. */
static int mcai_iio_store(struct iio_buffer *buffer, const void *data)
{
	struct mcai_iio_att *a = container_of(buffer, struct mcai_iio_att,
					      buffer);
	s8 *row, *slot;
	u32 i, first;

	spin_lock_bh(&a->lock);
	if (!a->live)
		goto out;
	row = a->ring + (size_t)a->head * a->nch;
	for (i = 0; i < a->nch; i++) {
		s32 v = mcai_iio_value(&a->ch[i], (const u8 *)data +
				       a->ch[i].offset);

		row[i] = clamp_t(s32, v >> a->shift, S8_MIN, S8_MAX);
	}
	a->head = (a->head + 1) % a->window;
	a->scans++;
	if (a->filled < a->window)
		a->filled++;
	a->since++;
	if (a->filled < a->window || a->since < a->stride)
		goto out;
	a->since = 0;
	a->windows++;
	slot = mcai_client_reserve(a->client, NULL);
	if (!slot) {
		a->refused++;
		goto out;
	}
	/* oldest scan first: the ring from head on, then up to head */
	first = a->window - a->head;
	memcpy(slot, a->ring + (size_t)a->head * a->nch,
	       (size_t)first * a->nch);
	memcpy(slot + (size_t)first * a->nch, a->ring,
	       (size_t)a->head * a->nch);
	mcai_client_commit(a->client, slot);
out:
	spin_unlock_bh(&a->lock);
	return 0;
}

static void mcai_iio_release(struct iio_buffer *buffer)
{
	struct mcai_iio_att *a = container_of(buffer, struct mcai_iio_att,
					      buffer);

	bitmap_free(a->buffer.scan_mask);
	kvfree(a->ring);
	kfree(a);
}

static const struct iio_buffer_access_funcs mcai_iio_access = {
	.store_to = mcai_iio_store,
	.release = mcai_iio_release,
	.modes = INDIO_BUFFER_SOFTWARE | INDIO_BUFFER_TRIGGERED,
};

static const struct iio_chan_spec *mcai_iio_chan(struct iio_dev *indio,
						 u32 scan_index)
{
	int i;

	for (i = 0; i < indio->num_channels; i++)
		if (indio->channels[i].scan_index == scan_index &&
		    indio->channels[i].type != IIO_TIMESTAMP)
			return &indio->channels[i];
	return NULL;
}

/* Offsets in the demuxed scan, as the core lays it out: each aligned. */
static int mcai_iio_layout(struct mcai_iio_att *a)
{
	u32 off = 0, i;

	for (i = 0; i < a->nch; i++) {
		const struct iio_chan_spec *c = mcai_iio_chan(a->indio,
							      a->idx[i]);
		u32 bytes;

		if (!c)
			return -EINVAL;
		bytes = c->scan_type.storagebits / 8;
		if (c->scan_type.repeat > 1 ||
		    (bytes != 1 && bytes != 2 && bytes != 4) ||
		    !c->scan_type.realbits || c->scan_type.realbits > 32)
			return -EOPNOTSUPP;
		off = ALIGN(off, bytes);
		a->ch[i].offset = off;
		a->ch[i].bytes = bytes;
		a->ch[i].shift = c->scan_type.shift;
		a->ch[i].realbits = c->scan_type.realbits;
		a->ch[i].sign = c->scan_type.sign == 's' ||
				c->scan_type.sign == 'S';
		a->ch[i].be = c->scan_type.endianness == IIO_BE ||
			      (c->scan_type.endianness == IIO_CPU &&
			       IS_ENABLED(CONFIG_CPU_BIG_ENDIAN));
		off += bytes;
	}
	return 0;
}

/* Off the device and our reference dropped; under mcai_iio_lock or off the list. */
static void mcai_iio_unhook(struct mcai_iio_att *a)
{
	if (!a->indio)
		return;
	/* -ENODEV once the device is gone: the core took it off already */
	iio_update_buffers(a->indio, NULL, &a->buffer);
	put_device(&a->indio->dev);
	a->indio = NULL;
}

static void mcai_iio_detach(struct mcai_iio_att *a)
{
	mcai_iio_unhook(a);
	spin_lock_bh(&a->lock);
	a->live = false;
	spin_unlock_bh(&a->lock);
	mcai_client_detach(a->client);
	iio_buffer_put(&a->buffer);	/* ours: frees it, mcai_iio_release */
}

/*
 * An IIO device is going away (BUS_NOTIFY_DEL_DEVICE: its driver is in
 * iio_device_unregister(), before it takes the buffers off): let go of it
 * now, while its driver and its buffers' code are still there (above).
 * Sleeping is allowed (a blocking notifier chain); the device's locks
 * are taken after ours, as everywhere in this file.
 */
static int mcai_iio_bus_event(struct notifier_block *nb, unsigned long event,
			      void *data)
{
	struct device *dev = data;
	struct mcai_iio_att *a;

	if (event != BUS_NOTIFY_DEL_DEVICE)
		return NOTIFY_DONE;
	mutex_lock(&mcai_iio_lock);
	list_for_each_entry(a, &mcai_iio_atts, node) {
		if (!a->indio || &a->indio->dev != dev)
			continue;
		mcai_iio_unhook(a);
		pr_info("attachment %u: %s is gone: nothing feeds %s until detach\n",
			a->id, a->dev_name, a->model);
	}
	mutex_unlock(&mcai_iio_lock);
	return NOTIFY_OK;
}

static struct notifier_block mcai_iio_nb = {
	.notifier_call = mcai_iio_bus_event,
};

static int mcai_iio_parse(struct mcai_iio_att *a, char *args)
{
	char *tok, *val;
	int ret;

	a->window = 1;
	while ((tok = strsep(&args, " \t\n"))) {
		if (!*tok)
			continue;
		val = strchr(tok, '=');
		if (!val) {
			if (!a->dev_name[0])
				ret = strscpy(a->dev_name, tok,
					      sizeof(a->dev_name));
			else if (!a->model[0])
				ret = strscpy(a->model, tok, sizeof(a->model));
			else
				return -EINVAL;
			if (ret < 0)
				return -EINVAL;
			continue;
		}
		*val++ = '\0';
		if (!strcmp(tok, "window")) {
			ret = kstrtou32(val, 0, &a->window);
		} else if (!strcmp(tok, "stride")) {
			ret = kstrtou32(val, 0, &a->stride);
		} else if (!strcmp(tok, "shift")) {
			ret = kstrtou32(val, 0, &a->shift);
		} else if (!strcmp(tok, "channels")) {
			char *c;

			ret = 0;
			while (!ret && (c = strsep(&val, ","))) {
				if (a->nch == MCAI_IIO_MAX_CHANS)
					return -E2BIG;
				ret = kstrtou32(c, 0, &a->idx[a->nch++]);
			}
		} else {
			return -EINVAL;
		}
		if (ret)
			return ret;
	}
	/* the iio bus also has triggers: only a device's name is taken */
	if (strncmp(a->dev_name, "iio:device", 10) || !a->model[0])
		return -EINVAL;
	if (!a->window || a->window > MCAI_IIO_MAX_WINDOW || a->shift > 31)
		return -EINVAL;
	if (!a->stride)
		a->stride = a->window;
	if (a->stride > a->window)
		return -EINVAL;
	return 0;
}

static int mcai_iio_attach(const char *val)
{
	struct mcai_client_opts opts = { 0 };
	struct mcai_iio_att *a;
	struct device *dev;
	char *args;
	u32 i, mlen;
	int ret;

	a = kzalloc(sizeof(*a), GFP_KERNEL);
	args = kstrdup(val, GFP_KERNEL);
	if (!a || !args) {
		kfree(args);
		kfree(a);
		return -ENOMEM;
	}
	ret = mcai_iio_parse(a, args);
	kfree(args);
	if (ret) {
		pr_err("attach: want \"iio:deviceN MODEL [channels=I,J] [window=N] [stride=N] [shift=N]\"\n");
		kfree(a);
		return ret;
	}
	dev = bus_find_device_by_name(&iio_bus_type, NULL, a->dev_name);
	if (!dev) {
		pr_err("attach: no IIO device %s\n", a->dev_name);
		kfree(a);
		return -ENODEV;
	}
	a->indio = dev_to_iio_dev(dev);
	iio_buffer_init(&a->buffer);	/* its reference is ours */
	a->buffer.access = &mcai_iio_access;
	spin_lock_init(&a->lock);
	mlen = mcai_iio_masklength(a->indio);
	ret = -ENOMEM;
	a->buffer.scan_mask = bitmap_zalloc(mlen, GFP_KERNEL);
	if (!a->buffer.scan_mask)
		goto err_dev;
	if (!a->nch) {		/* every channel but a timestamp */
		for (i = 0; i < a->indio->num_channels; i++) {
			const struct iio_chan_spec *c = &a->indio->channels[i];

			if (a->nch < MCAI_IIO_MAX_CHANS && c->scan_index >= 0 &&
			    c->type != IIO_TIMESTAMP)
				a->idx[a->nch++] = c->scan_index;
		}
		/* channels[] need not be in scan order: sort (a few) */
		for (i = 1; i < a->nch; i++) {
			u32 v = a->idx[i], j = i;

			for (; j && a->idx[j - 1] > v; j--)
				a->idx[j] = a->idx[j - 1];
			a->idx[j] = v;
		}
	}
	ret = -EINVAL;
	for (i = 0; i < a->nch; i++) {
		if (a->idx[i] >= mlen || (i && a->idx[i] <= a->idx[i - 1])) {
			pr_err("attach: channels must be increasing scan indices below %u\n",
			       mlen);
			goto err_mask;
		}
		set_bit(a->idx[i], a->buffer.scan_mask);
	}
	if (!a->nch)
		goto err_mask;
	ret = mcai_iio_layout(a);
	if (ret) {
		pr_err("attach: %s: a channel's format is not supported\n",
		       a->dev_name);
		goto err_mask;
	}
	ret = -ENOMEM;
	a->ring = kvcalloc(a->window, a->nch, GFP_KERNEL);
	if (!a->ring)
		goto err_mask;
	opts.input_len = a->window * a->nch;
	a->client = mcai_client_attach(a->model, NULL, NULL, &opts);
	if (IS_ERR(a->client)) {
		ret = PTR_ERR(a->client);
		goto err_mask;
	}
	a->live = true;
	ret = iio_update_buffers(a->indio, &a->buffer, NULL);
	if (ret) {
		pr_err("attach: %s refused the buffer: %d\n", a->dev_name, ret);
		mcai_client_detach(a->client);
		goto err_mask;
	}
	mutex_lock(&mcai_iio_lock);
	a->id = ++mcai_iio_ids;
	list_add_tail(&a->node, &mcai_iio_atts);
	mutex_unlock(&mcai_iio_lock);
	pr_info("attachment %u: %s, %u channels, window %u, stride %u -> %s\n",
		a->id, a->dev_name, a->nch, a->window, a->stride, a->model);
	return 0;

err_mask:
	/* never inserted: the release frees mask, ring and a */
	put_device(dev);
	iio_buffer_put(&a->buffer);
	return ret;
err_dev:
	put_device(dev);
	kfree(a);
	return ret;
}

static int attach_set(const char *val, const struct kernel_param *kp)
{
	return mcai_iio_attach(val);
}

static const struct kernel_param_ops attach_ops = {
	.set = attach_set,
};

module_param_cb(attach, &attach_ops, NULL, 0200);
MODULE_PARM_DESC(attach, "\"iio:deviceN MODEL [channels=I,J,..] [window=N] [stride=N] [shift=N]\"");

static int detach_set(const char *val, const struct kernel_param *kp)
{
	struct mcai_iio_att *a, *tmp;
	bool all = sysfs_streq(val, "all");
	u32 id = 0;
	LIST_HEAD(gone);

	if (!all && kstrtou32(val, 0, &id))
		return -EINVAL;
	mutex_lock(&mcai_iio_lock);
	list_for_each_entry_safe(a, tmp, &mcai_iio_atts, node)
		if (all || a->id == id)
			list_move(&a->node, &gone);
	mutex_unlock(&mcai_iio_lock);
	if (!all && list_empty(&gone))
		return -ENOENT;
	list_for_each_entry_safe(a, tmp, &gone, node) {
		list_del(&a->node);
		mcai_iio_detach(a);
	}
	return 0;
}

static const struct kernel_param_ops detach_ops = {
	.set = detach_set,
};

module_param_cb(detach, &detach_ops, NULL, 0200);
MODULE_PARM_DESC(detach, "an attachment id, or all");

static int list_get(char *buf, const struct kernel_param *kp)
{
	struct mcai_kernel_ctl k;
	struct mcai_iio_att *a;
	int len = 0;

	mutex_lock(&mcai_iio_lock);
	list_for_each_entry(a, &mcai_iio_atts, node) {
		mcai_client_counters(a->client, &k);
		len += sysfs_emit_at(buf, len,
				     "%u %s %s channels %u window %u stride %u shift %u scans %llu windows %llu refused %llu completed %llu dropped %llu\n",
				     a->id, a->dev_name, a->model, a->nch,
				     a->window, a->stride, a->shift,
				     READ_ONCE(a->scans), READ_ONCE(a->windows),
				     READ_ONCE(a->refused), k.completed,
				     k.dropped);
	}
	mutex_unlock(&mcai_iio_lock);
	return len;
}

static const struct kernel_param_ops list_ops = {
	.get = list_get,
};

module_param_cb(list, &list_ops, NULL, 0444);
MODULE_PARM_DESC(list, "the attachments, one per line");

static int __init mcai_iio_init(void)
{
	int ret = bus_register_notifier(&iio_bus_type, &mcai_iio_nb);

	if (ret)
		pr_err("cannot watch the IIO bus for removed devices: %d\n",
		       ret);
	return ret;
}

static void __exit mcai_iio_exit(void)
{
	bus_unregister_notifier(&iio_bus_type, &mcai_iio_nb);
	detach_set("all", NULL);
}

module_init(mcai_iio_init);
module_exit(mcai_iio_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("mcai: any IIO device's buffer into a model");
MODULE_AUTHOR("mcai developers");
