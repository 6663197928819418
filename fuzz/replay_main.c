// SPDX-License-Identifier: MIT
/*
 * The fuzz targets without libFuzzer: a plain program that feeds files to
 * LLVMFuzzerTestOneInput(), one call per file. `make test` runs every target over its
 * committed corpus this way (in the plain and the ASan+UBSan builds), and a crash that
 * libFuzzer found reproduces with `fuzz_<name>_replay CRASH-FILE` under a debugger.
 *
 *   fuzz_<name>_replay PATH...   each PATH a file or a directory (its files, sorted,
 *                                hidden files and README* skipped)
 *
 * Exit status 0 when every input ran (a broken invariant aborts), 2 for unreadable input.
 */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	do {
		if (len == cap) {
			uint8_t *nb = realloc(buf, cap ? cap * 2 : 4096);
			if (!nb) {
				fprintf(stderr, "%s: out of memory\n", path);
				free(buf);
				fclose(f);
				return -1;
			}
			buf = nb;
			cap = cap ? cap * 2 : 4096;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n);
	if (ferror(f)) {
		fprintf(stderr, "%s: read error\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	/* An exact-size copy, so that ASan sees a read past the input's end. */
	uint8_t *exact = malloc(len ? len : 1);
	if (!exact) {
		free(buf);
		return -1;
	}
	if (len)
		memcpy(exact, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run every regular file of `dir` in name order. Returns the number run, or -1. */
static long run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t count = 0, cap = 0;
	long ran = 0;

	if (!d) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !strncmp(e->d_name, "README", 6))
			continue;
		if (count == cap) {
			char **nn = realloc(names, (cap ? cap * 2 : 64) * sizeof(*names));
			if (!nn)
				break;
			names = nn;
			cap = cap ? cap * 2 : 64;
		}
		names[count] = malloc(strlen(dir) + strlen(e->d_name) + 2);
		if (!names[count])
			break;
		sprintf(names[count], "%s/%s", dir, e->d_name);
		count++;
	}
	closedir(d);
	qsort(names, count, sizeof(*names), cmp_names);
	for (size_t i = 0; i < count; i++) {
		struct stat st;

		if (ran >= 0 && !stat(names[i], &st) && S_ISREG(st.st_mode))
			ran = run_file(names[i]) ? -1 : ran + 1;
		free(names[i]);
	}
	free(names);
	return ran;
}

int main(int argc, char **argv)
{
	long total = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE-OR-DIRECTORY...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;
		long n;

		if (stat(argv[i], &st)) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			return 2;
		}
		n = S_ISDIR(st.st_mode) ? run_dir(argv[i]) : (run_file(argv[i]) ? -1 : 1);
		if (n < 0)
			return 2;
		total += n;
	}
	printf("%s: %ld inputs ran\n", argv[0], total);
	return 0;
}
