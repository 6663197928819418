// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the VT-d model as a guest drives it - register streams with the memory
 * they point at.
 *
 * Everything fuzz_vtd_tables does, and besides: 32- and 64-bit reads and writes of every
 * register (and of offsets that are not registers: misaligned, past the window, odd
 * sizes), the driver's enable sequence with any TTM, GCMD commands, fault servicing,
 * register-based invalidation, the invalidation queue (IQA with either descriptor width,
 * descriptors of every type written into the queue, IQT moves), device-TLB ports that
 * answer or never do, and resets - interleaved with translations that are checked as in
 * fuzz_vtd_tables. MMIO reads check that CAP and ECAP never change and that GCMD reads 0;
 * a write or read is refused exactly when its size, alignment or offset is wrong.
 */
#include "fuzz_vtd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_vtd_run(data, size, FZ_OPS_ALL);
}
