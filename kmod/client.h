/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The driver API's side facing /dev/mcai (kmod/ioctl.c): rebinding
 * attachments when names come and go, and listing them.
 */
#ifndef MCAI_CLIENT_H
#define MCAI_CLIENT_H

#include <linux/types.h>

#include "uapi/mcai.h"

/*
 * Bring every attachment in line with the table: bind the waiting ones
 * whose name now exists, rebind those whose model was reloaded or
 * reshaped, and send back to waiting those whose name is gone.  Call it
 * after a model load or unload and after an admin's pipeline appears or
 * goes; process context, no mcai lock held.
 */
void mcai_clients_resync(void);

/* Fill up to @cap records; returns how many attachments exist. */
u32 mcai_clients_list(struct mcai_attach_info *out, u32 cap);
u32 mcai_clients_count(void);

#endif /* MCAI_CLIENT_H */
