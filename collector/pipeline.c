/* Builds the data path after the rings: printer, views and flow table, wired once for live and -r. */
#include <errno.h>
#include <string.h>
#include "pipeline.h"
#include "raw_view.h"

/* The decoded HTTP view, when the printer has one (text, json; not --raw). */
static int setup_http(struct pipeline *p, const struct tlstap_opts *o)
{
	static const char *const defaults[] = { "Authorization", "Proxy-Authorization", "Cookie",
						"Set-Cookie" };
	static const char *names[OPTS_MAX_REDACT + 4];
	struct http_view_opts ho = { .body_preview = o->body_preview, .budget = &p->mb };
	int i, n = 0, err;

	if (o->raw || (o->out != OUT_TEXT && o->out != OUT_JSON))
		return 0;
	if (o->redact)
		for (i = 0; i < 4; i++)
			names[n++] = defaults[i];
	for (i = 0; i < o->nredact; i++)
		names[n++] = o->redact_headers[i];
	p->out.redact = names;
	p->out.nredact = n;
	p->out.body_preview = o->body_preview;
	err = http_view_new(&p->hv, &ho, &p->out);
	if (err)
		return err;
	/* Text: the view shows every chunk, decoded or raw, in time order. */
	p->out.data_to_view = o->out == OUT_TEXT;
	return http_view_attach(p->hv, &p->sinks);
}

int pipeline_init(struct pipeline *p, const struct tlstap_opts *o, FILE *outf)
{
	int err;

	memset(p, 0, sizeof(*p));
	output_init(&p->out, o->out, outf, o->count);
	p->out.no_data = o->no_data;
	mem_budget_init(&p->mb, opts_max_memory_bytes(o));
	err = output_set_tags(&p->out, o->host, o->run_id);
	if (!err)
		err = setup_http(p, o);
	if (!err)
		err = sinks_add(&p->sinks, &raw_view_callbacks, &p->out, NULL);
	return err;
}

int pipeline_start(struct pipeline *p, size_t max_flows)
{
	p->ft = flows_new(sinks_callbacks(&p->sinks), &p->sinks, max_flows);
	if (!p->ft)
		return -ENOMEM;
	flows_set_budget(p->ft, &p->mb);
	return 0;
}

void pipeline_finish(struct pipeline *p)
{
	flows_finish(p->ft);
	output_finish(&p->out);
}

void pipeline_free(struct pipeline *p)
{
	flows_free(p->ft);
	p->ft = NULL;
	http_view_free(p->hv);
	p->hv = NULL;
	/* The chunks the view still held went back to the cache. */
	flow_chunk_cache_drain();
}
