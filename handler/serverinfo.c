/*
 * serverinfo.c - XEP-0157 contact addresses (serverinfo.h).
 */
#include "serverinfo.h"
#include "xdata.h"

#include <stdio.h>
#include <string.h>

void serverinfo_add(struct xml_node *q, const struct config *cfg)
{
	struct xml_node *x, *f;
	char var[64];
	const char *w;
	size_t n;
	int i, any = 0;

	for (i = 0; i < CONFIG_CONTACT_KINDS; i++)
		any |= cfg->contacts[i][0] != '\0';
	if (!any)
		return;
	x = xml_add(q, xdata_form("result", NS_SERVERINFO));
	for (i = 0; i < CONFIG_CONTACT_KINDS; i++) {
		if (!cfg->contacts[i][0])
			continue;
		snprintf(var, sizeof var, "%s-addresses", config_contact_kinds[i]);
		f = xdata_field(x, var, "list-multi", NULL, NULL, NULL);
		for (w = cfg->contacts[i]; *w; w += n + (w[n] == ' ')) {
			n = strcspn(w, " ");
			xml_add_text(xml_new_child(f, NS_XDATA, "value"), w, n);
		}
	}
}
