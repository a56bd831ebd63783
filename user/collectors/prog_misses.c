// SPDX-License-Identifier: BSD-2-Clause
#include <bpf/bpf.h>
#include "collectors/prog_misses.h"

int64_t prog_misses(const struct bpf_program *prog)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_program__fd(prog);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return (int64_t)info.recursion_misses;
}
