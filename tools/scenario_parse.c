// SPDX-License-Identifier: MIT
/*
 * Scenario reader: the entry points. A parse runs the three passes over one buffer -
 * syntax (scenario_lex.c), sections and keys (scenario_reader.c, scenario_expect.c),
 * cross-checks (scenario_check.c) - with every allocation in one arena, which the
 * scenario keeps on success and which is freed whole on failure.
 */
#include "scenario_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Default name: the file's base name without its extension. */
static const char *name_from_file(struct scn_arena *ar, const char *file)
{
	const char *b = strrchr(file, '/'), *dot;

	char *name;

	b = b ? b + 1 : file;
	dot = strrchr(b, '.');
	if (!*b || dot == b)
		return "scenario";
	name = scn_strndup(ar, b, dot ? (size_t)(dot - b) : strlen(b));
	for (char *p = name; p && *p; p++) /* the name must print back as scenario text */
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return name;
}

/* Stable insertion sort of this parse's diagnostics by position. */
static void sort_diags(struct scenario_diags *d, size_t from)
{
	for (size_t i = from + 1; i < d->count; i++) {
		struct scenario_diag g = d->list[i];
		size_t j = i;

		while (j > from &&
		       (d->list[j - 1].line > g.line ||
			(d->list[j - 1].line == g.line && d->list[j - 1].col > g.col))) {
			d->list[j] = d->list[j - 1];
			j--;
		}
		d->list[j] = g;
	}
}

static int parse_into(struct scn_ctx *c, struct scenario **out)
{
	struct scn_read r;
	struct scenario *s = scn_alloc(c->arena, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->file = scn_strndup(c->arena, c->file, strlen(c->file));
	s->name = name_from_file(c->arena, c->file);
	s->description = "";
	scn_lex(c);
	if (c->arena->failed || !scn_read(c, s, &r))
		return -ENOMEM;
	scn_check(c, &r, s);
	if (c->arena->failed)
		return -ENOMEM;
	if (c->errors)
		return -EINVAL;
	*out = s;
	return 0;
}

/* A NUL byte makes the input a binary file: one error for the whole of it, where a line
 * by line report of its control bytes would be a screenful of noise. */
static int not_text(struct scn_ctx *c)
{
	const char *nul = memchr(c->buf, 0, c->len);
	unsigned line = 1, col = 1;

	for (const char *p = c->buf; p < nul; p++, col++)
		if (*p == '\n') {
			line++;
			col = 0;
		}
	scn_error(c, NULL, "a NUL byte at line %u, column %u: this is not a text file", line, col);
	return -EINVAL;
}

int scenario_parse(const char *buf, size_t len, const char *file, struct scenario **out,
		   struct scenario_diags *diags)
{
	struct scenario_diags local = {0};
	struct scn_arena *arena;
	struct scn_ctx c = {.buf = buf, .len = len, .file = file ? file : "<string>"};
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!diags)
		diags = &local;
	scenario_diags_free(diags);
	diags->file = strdup(c.file);
	c.diags = diags;
	arena = calloc(1, sizeof(*arena));
	if (!arena || !diags->file) {
		free(arena);
		scenario_diags_free(&local);
		return -ENOMEM;
	}
	c.arena = arena;
	if (len > SCENARIO_MAX_INPUT) {
		/* A file is read only up to a little past the limit: its size is unknown. */
		scn_error(&c, NULL, "the input is too large: a scenario may have at most %u bytes",
			  SCENARIO_MAX_INPUT);
		ret = -EFBIG;
	} else if (!buf && len) {
		ret = -EINVAL;
	} else if (len && memchr(buf, 0, len)) {
		ret = not_text(&c);
	} else {
		ret = parse_into(&c, out);
	}
	sort_diags(diags, 0);
	if (ret == 0) {
		(*out)->priv = arena;
	} else {
		*out = NULL;
		scn_arena_free(arena);
		free(arena);
	}
	scenario_diags_free(&local);
	return ret;
}

int scenario_parse_string(const char *text, const char *file, struct scenario **out,
			  struct scenario_diags *diags)
{
	return scenario_parse(text, text ? strlen(text) : 0, file, out, diags);
}

/* Read all of fd, up to one byte more than the limit (so "too large" can be told). */
static int read_all_fd(int fd, char **buf, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);

	if (!b)
		return -ENOMEM;
	for (;;) {
		ssize_t k;

		if (n == cap) {
			char *nb;

			if (cap > SCENARIO_MAX_INPUT)
				break;
			cap *= 2;
			nb = realloc(b, cap);
			if (!nb) {
				free(b);
				return -ENOMEM;
			}
			b = nb;
		}
		k = read(fd, b + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int err = -errno;
			free(b);
			return err;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	*buf = b;
	*len = n;
	return 0;
}

int scenario_parse_file(const char *path, struct scenario **out, struct scenario_diags *diags)
{
	bool is_stdin = path && !strcmp(path, "-");
	int fd, ret;
	char *buf = NULL;
	size_t len = 0;

	if (!path || !out)
		return -EINVAL;
	*out = NULL;
	fd = is_stdin ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	ret = fd < 0 ? -errno : read_all_fd(fd, &buf, &len);
	if (!is_stdin && fd >= 0)
		close(fd);
	if (ret < 0) {
		if (diags) {
			struct scenario_diag *g;

			scenario_diags_free(diags);
			diags->file = strdup(is_stdin ? "<stdin>" : path);
			g = diags->file ? calloc(1, sizeof(*g)) : NULL;
			if (g) {
				g->severity = SCENARIO_ERROR;
				snprintf(g->message, sizeof(g->message), "cannot read: %s",
					 strerror(-ret));
				diags->list = g;
				diags->count = diags->cap = diags->errors = 1;
			}
		}
		return ret;
	}
	ret = scenario_parse(buf, len, is_stdin ? "<stdin>" : path, out, diags);
	free(buf);
	return ret;
}

void scenario_free(struct scenario *s)
{
	struct scn_arena *arena;

	if (!s)
		return;
	arena = s->priv; /* s itself lives in the arena */
	scn_arena_free(arena);
	free(arena);
}
