/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The leaf pseudo-frame that names an off-CPU wait, "[off-cpu: REASON]":
 * written by the sampler, read back by the wall table (from saved profiles
 * too). One list of names, in enum offcpu_reason order.
 */
#ifndef PYSTROBE_OFFCPU_FRAMES_H
#define PYSTROBE_OFFCPU_FRAMES_H

#include <linux/types.h>
#include "bpf/sampler.h"

#define OFFCPU_FRAME_PREFIX "[off-cpu: "

static const char *const offcpu_reason_names[OFFCPU__COUNT] = {
	[OFFCPU_NONE] = "other",
	[OFFCPU_SLEEP] = "sleep",
	[OFFCPU_LOCK] = "lock",
	[OFFCPU_GIL] = "gil",
	[OFFCPU_IO] = "io",
	[OFFCPU_DISK] = "disk",
	[OFFCPU_RUNQUEUE] = "runqueue",
	[OFFCPU_OTHER] = "other",
};

#endif
