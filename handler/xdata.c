/*
 * xdata.c - XEP-0004 data forms (see xdata.h).
 */
#include "xdata.h"

#include <string.h>

static void add_value(struct xml_node *parent, const char *v)
{
	xml_add_text(xml_new_child(parent, NS_XDATA, "value"), v, strlen(v));
}

struct xml_node *xdata_form(const char *type, const char *form_type)
{
	struct xml_node *x = xml_new(NS_XDATA, "x");

	xml_set(x, "type", type);
	if (form_type)
		xdata_field(x, "FORM_TYPE", "hidden", NULL, form_type, NULL);
	return x;
}

struct xml_node *xdata_field(struct xml_node *x, const char *var, const char *type,
    const char *label, const char *value, const char *const *options)
{
	struct xml_node *f = xml_new_child(x, NS_XDATA, "field");

	xml_set(f, "var", var);
	xml_set(f, "type", type);
	if (label)
		xml_set(f, "label", label);
	if (value)
		add_value(f, value);
	for (; options && *options; options++)
		add_value(xml_new_child(f, NS_XDATA, "option"), *options);
	return f;
}

const char *xdata_value(const struct xml_node *x, const char *var)
{
	struct xml_node *f, *v;
	const char *name;

	for (f = x->children; f; f = f->next) {
		if (!f->name || strcmp(f->name, "field") || !f->ns || strcmp(f->ns, NS_XDATA))
			continue;
		name = xml_get(f, "var");
		if (name && !strcmp(name, var))
			return (v = xml_child(f, NS_XDATA, "value")) ? xml_text(v) : "";
	}
	return NULL;
}

int xdata_true(const char *v)
{
	return !strcmp(v, "1") || !strcmp(v, "true");
}

int xdata_is_bool(const char *v)
{
	return xdata_true(v) || !strcmp(v, "0") || !strcmp(v, "false");
}
