/* layout_name.c - the names of the layouts (--layout host|docker). */
#include "internal.h"

#include <string.h>

int cs_layout_parse(const char *name)
{
	if (!name)
		return -1;
	if (!strcmp(name, "host"))
		return CS_LAYOUT_HOST;
	if (!strcmp(name, "docker"))
		return CS_LAYOUT_DOCKER;
	return -1;
}
