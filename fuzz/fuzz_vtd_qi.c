// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the VT-d model's queued invalidation - descriptor streams in memory.
 *
 * The harness of fuzz_vtd.h with a program weighted to the invalidation queue: IQA with
 * either descriptor width and any size or base (in memory or not), descriptors of every
 * type with chosen fields (well-formed or with reserved bits) written at queue slots, IQT
 * moves (aligned, misaligned, past the end), synchronous waits as a driver issues them,
 * device-TLB ports that answer or hang, fault servicing, full flushes, and translations
 * through the caches in between (so invalidations meet cache contents).
 *
 * Checked besides fuzz_vtd_tables' completion checks: after an IQT write that met no
 * error or time-out the queue has run to its tail (IQH == IQT); a new queue error has an
 * IQEI of 1..7; a synchronous wait that met no error left its status in memory; device-TLB
 * invalidations reach ports as naturally aligned powers of two; with check mode on, the
 * context and PASID caches report nothing stale right after a full flush.
 */
#include "fuzz_vtd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_vtd_run(data, size, FZ_OPS_QI);
}
