// SPDX-License-Identifier: MIT
/* The unit's counters (vtd_get_stats). */
#include "vtd_internal.h"

int vtd_get_stats(struct vtd *vtd, struct vtd_stats *out)
{
	if (!vtd || !out)
		return -EINVAL;
	pthread_mutex_lock(&vtd->lock);
	out->inv = vtd->inv_stats;
	pthread_mutex_unlock(&vtd->lock);
	return vtd_get_cache_stats(vtd, &out->cache);
}
