// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the VT-d model's translation structures.
 *
 * One unit per input (fuzz_vtd.h: features, widths, memory backend), translation enabled
 * in its own mode, then a program that writes root, context, PASID-directory, PASID-table
 * and page-table entries with fuzzer-chosen bits (and any memory word), and sends
 * requests of every kind: untranslated reads, writes, atomics and executes, with and
 * without PASID, privileged or not, ATS translation requests and translated requests.
 * No register is touched but the fault records, which the program may service.
 *
 * Every completion is checked (fz_check_resp): a success has a 4 KiB, 2 MiB or 1 GiB page
 * the unit supports, an output below 2^HAW at the input's page offset, the permissions the
 * request needed, and never reaches the interrupt range; a fault is an architected reason
 * of the root table's mode, recorded exactly when the trace says so, in a fault record
 * that names it, and suppressed by FPD only when it is a qualified one. With the counting
 * memory backend and no cache that may be stale, the same request twice gives the same
 * answer and a successful read agrees with its ATS translation request.
 */
#include "fuzz_vtd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_vtd_run(data, size, FZ_OPS_TABLES);
}
