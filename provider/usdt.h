/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sys/sdt.h for the provider's probes: with semaphores (the kernel raises a
 * probe's semaphore while a uprobe is attached to it, so a probe costs one
 * load while nobody listens) and a 5-byte nop at each probe site instead
 * of sdt.h's 1-byte one: kernels with optimized x86 uprobes (6.18 here)
 * turn a hit on a nop5 into a call to a trampoline instead of a breakpoint
 * trap, several times cheaper. Older kernels trap on it like on any other
 * instruction. (Bytes, not a mnemonic: the assembler would pick a shorter
 * encoding.)
 */
#ifndef PYSTROBE_PROVIDER_USDT_H
#define PYSTROBE_PROVIDER_USDT_H

#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
#if defined(__x86_64__)
#undef _SDT_NOP
#define _SDT_NOP                                                               \
	.byte 0x0f;                                                            \
	.byte 0x1f;                                                            \
	.byte 0x44;                                                            \
	.byte 0x00;                                                            \
	.byte 0x00
#endif

/*
 * A probe's semaphore (sys/sdt.h names it provider_probe_semaphore). In
 * .probes, a file-backed data section, so the kernel can find and bump it
 * through the uprobe's ref_ctr_offset.
 */
#define PS_SEMAPHORE __attribute__((visibility("hidden"), section(".probes")))

#endif
