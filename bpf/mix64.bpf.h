/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The 64-bit hash combiner the BPF programs build their map keys with. */
#ifndef PYSTROBE_MIX64_BPF_H
#define PYSTROBE_MIX64_BPF_H

/* Folds v into h (boost-style combine, then a murmur3 finalizer round). */
static __always_inline __u64 mix64(__u64 h, __u64 v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

#endif
