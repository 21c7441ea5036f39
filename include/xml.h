/* xml.h: a small SAX helper over expat for AWS XML answers.
 *
 * Each element is reported with its path from the root, names without
 * namespace prefixes: "/Response/Errors/Error/Code". The text given at the
 * end of an element is the character data since its last child (for a leaf,
 * its whole value). Documents with a DTD are refused: AWS never sends one,
 * and refusing it rules out entity expansion attacks.
 */
#ifndef SG_XML_H
#define SG_XML_H

#include <stdbool.h>
#include <stddef.h>

#define SG_XML_MAX_DEPTH	64
#define SG_XML_MAX_PATH		1024

/*
 * Callbacks return 0 to go on, 1 to stop early (the parse still succeeds)
 * or -1 to stop with an error. Either may be NULL.
 */
struct sg_xml_handler {
	int	(*start)(void *arg, const char *path, const char *name,
		    int depth);
	int	(*end)(void *arg, const char *path, const char *name,
		    int depth, const char *text, size_t len);
	void	*arg;
};

/* 0, or -1 with a reason in err (not well-formed, too deep, DTD, handler). */
int	 xml_parse(const char *doc, size_t len, const struct sg_xml_handler *,
	    char *err, size_t errlen);
/*
 * Does an element path match a pattern? A pattern starting with '/' must
 * match the whole path; otherwise it matches the last components:
 * "Error/Code" matches "/ErrorResponse/Error/Code".
 */
bool	 xml_path_match(const char *path, const char *pattern);
/* Text of the first element matching pattern: 1 found, 0 not found,
 * -1 not well-formed. out is always terminated (truncated if too long). */
int	 xml_find_text(const char *doc, size_t len, const char *pattern,
	    char *out, size_t outsize);

#endif
