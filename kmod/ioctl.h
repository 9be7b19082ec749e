/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The file operations of /dev/mcai: the ioctl ABI of uapi/mcai.h.
 */
#ifndef MCAI_IOCTL_H
#define MCAI_IOCTL_H

#include <linux/fs.h>

extern const struct file_operations mcai_fops;

#endif /* MCAI_IOCTL_H */
