/* xml.c: element paths and leaf text over expat's SAX interface. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <expat.h>

#include "util.h"
#include "xml.h"

#define XML_CHUNK	(1024 * 1024)

struct xml_ctx {
	XML_Parser			 p;
	const struct sg_xml_handler	*h;
	char				 path[SG_XML_MAX_PATH];
	size_t				 plen[SG_XML_MAX_DEPTH + 1];
	int				 depth;
	struct sg_buf			 text;
	int				 stopped;	/* 1 ok, -1 error */
	char				 why[128];
};

static void
xml_stop(struct xml_ctx *c, int how, const char *why)
{
	if (c->stopped == 0) {
		c->stopped = how;
		if (why != NULL)
			sg_strlcpy(c->why, why, sizeof(c->why));
	}
	XML_StopParser(c->p, XML_FALSE);
}

static const char *
local_name(const char *name)
{
	const char *colon = strrchr(name, ':');

	return colon != NULL ? colon + 1 : name;
}

static void XMLCALL
xml_start(void *arg, const XML_Char *qname, const XML_Char **attrs)
{
	struct xml_ctx *c = arg;
	const char *name = local_name(qname);
	size_t len = c->plen[c->depth], nl = strlen(name);
	int r;

	if (c->stopped)
		return;
	if (c->depth >= SG_XML_MAX_DEPTH || len + 1 + nl >= sizeof(c->path)) {
		xml_stop(c, -1, "document nested too deeply");
		return;
	}
	c->path[len] = '/';
	memcpy(c->path + len + 1, name, nl + 1);
	c->plen[++c->depth] = len + 1 + nl;
	buf_reset(&c->text);
	if (c->h->start != NULL &&
	    (r = c->h->start(c->h->arg, c->path, name, c->depth)) != 0)
		xml_stop(c, r > 0 ? 1 : -1, "stopped by the handler");
}

static void XMLCALL
xml_end(void *arg, const XML_Char *qname)
{
	struct xml_ctx *c = arg;
	const char *name = local_name(qname);
	int r;

	if (c->stopped)
		return;
	if (c->h->end != NULL &&
	    (r = c->h->end(c->h->arg, c->path, name, c->depth,
	    c->text.data != NULL ? c->text.data : "", c->text.len)) != 0)
		xml_stop(c, r > 0 ? 1 : -1, "stopped by the handler");
	buf_reset(&c->text);
	c->depth--;
	c->path[c->plen[c->depth]] = '\0';
}

static void XMLCALL
xml_chars(void *arg, const XML_Char *s, int len)
{
	struct xml_ctx *c = arg;

	if (c->stopped || len <= 0)
		return;
	if (buf_append(&c->text, s, (size_t)len) == -1)
		xml_stop(c, -1, "out of memory");
}

static void XMLCALL
xml_doctype(void *arg, const XML_Char *name, const XML_Char *sysid,
    const XML_Char *pubid, int has_internal_subset)
{
	xml_stop(arg, -1, "DTD not allowed");
}

int
xml_parse(const char *doc, size_t len, const struct sg_xml_handler *h,
    char *err, size_t errlen)
{
	static const struct sg_xml_handler none;
	struct xml_ctx c;
	unsigned long line;
	size_t off = 0, n;
	int rc = 0, last;

	memset(&c, 0, sizeof(c));
	c.h = h != NULL ? h : &none;
	buf_init(&c.text);
	if ((c.p = XML_ParserCreate(NULL)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	XML_SetUserData(c.p, &c);
	XML_SetElementHandler(c.p, xml_start, xml_end);
	XML_SetCharacterDataHandler(c.p, xml_chars);
	XML_SetStartDoctypeDeclHandler(c.p, xml_doctype);
	do {
		n = len - off > XML_CHUNK ? XML_CHUNK : len - off;
		last = off + n == len;
		if (XML_Parse(c.p, doc + off, (int)n, last) != XML_STATUS_OK) {
			if (c.stopped == 1)
				break;
			line = XML_GetCurrentLineNumber(c.p);
			if (c.stopped == -1)
				snprintf(err, errlen, "%s", c.why);
			else
				snprintf(err, errlen, "line %lu: %s", line,
				    XML_ErrorString(XML_GetErrorCode(c.p)));
			rc = -1;
			break;
		}
		off += n;
	} while (!last);
	XML_ParserFree(c.p);
	buf_free(&c.text);
	return rc;
}

bool
xml_path_match(const char *path, const char *pattern)
{
	size_t pl = strlen(path), ql = strlen(pattern);

	if (pattern[0] == '/')
		return strcmp(path, pattern) == 0;
	if (ql > pl || strcmp(path + pl - ql, pattern) != 0)
		return false;
	return ql < pl && path[pl - ql - 1] == '/';
}

struct find_ctx {
	const char	*pattern;
	char		*out;
	size_t		 outsize;
	bool		 found;
};

static int
find_end(void *arg, const char *path, const char *name, int depth,
    const char *text, size_t len)
{
	struct find_ctx *f = arg;

	if (!xml_path_match(path, f->pattern))
		return 0;
	if (len >= f->outsize)
		len = f->outsize - 1;
	memcpy(f->out, text, len);
	f->out[len] = '\0';
	f->found = true;
	return 1;
}

int
xml_find_text(const char *doc, size_t len, const char *pattern, char *out,
    size_t outsize)
{
	struct find_ctx f = { pattern, out, outsize, false };
	struct sg_xml_handler h = { NULL, find_end, &f };
	char err[128];

	if (outsize == 0)
		return -1;
	out[0] = '\0';
	if (xml_parse(doc, len, &h, err, sizeof(err)) == -1)
		return -1;
	return f.found ? 1 : 0;
}
