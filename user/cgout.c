/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The cgroup and container fields of lifecycles and transitions, in
 * each format (output.c places them); see README.md, "Containers". */
#include <string.h>
#include "cgnames.h"
#include "outparts.h"

static const struct tl_cgname *name_of(const struct tl_output *out, uint64_t cgroup)
{
	return out->cgnames ? tl_cgnames_get(out->cgnames, cgroup) : NULL;
}

void tl_out_json_cgroup(const struct tl_output *out, struct tl_textbuf *tb, uint64_t cgroup)
{
	const struct tl_cgname *n;

	/* only sockets whose cgroup is known have the keys */
	if (!cgroup)
		return;
	n = name_of(out, cgroup);
	tb_str(tb, ",\"cgroup_id\":");
	tb_u64(tb, cgroup);
	tb_str(tb, ",\"cgroup\":");
	if (n)
		tb_json_str(tb, n->path, TL_CGROUP_PATH_MAX);
	else
		tb_str(tb, "null");
	tb_str(tb, ",\"container\":");
	if (n && n->container[0])
		tb_json_str(tb, n->container, sizeof(n->container));
	else
		tb_str(tb, "null");
}

void tl_out_csv_cgroup(const struct tl_output *out, struct tl_textbuf *tb, uint64_t cgroup)
{
	const struct tl_cgname *n = cgroup ? name_of(out, cgroup) : NULL;

	tb_chr(tb, ',');
	if (n)
		tl_out_csv_str(tb, n->path, TL_CGROUP_PATH_MAX);
	tb_chr(tb, ',');
	if (n)
		tb_str(tb, n->container);
}

void tl_out_text_cgroup(const struct tl_output *out, struct tl_textbuf *tb, size_t col_start,
			int col_w, uint64_t cgroup)
{
	const struct tl_cgname *n = cgroup ? name_of(out, cgroup) : NULL;

	/* the column before is ragged: align this one, the row's last */
	while (tb->len < col_start + (size_t)col_w)
		tb_chr(tb, ' ');
	tb_chr(tb, ' ');
	if (n && n->container[0])
		tb_mem(tb, n->container, TL_CONTAINER_SHORT_LEN);
	else if (n)
		tb_text_str(tb, n->path, TL_CGROUP_PATH_MAX);
	else if (cgroup)
		tb_u64(tb, cgroup);	/* a cgroup gone before it could be named */
	else
		tb_chr(tb, '-');
}
