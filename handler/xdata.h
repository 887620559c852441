/*
 * xdata.h - XEP-0004 data forms, the parts every form of the handler
 * shares: building a form field by field, reading a submitted value.
 *
 * Contract: builders add children to x and return what they added;
 * strings are copied. Readers return pointers into the form.
 */
#ifndef XMPPD_XDATA_H
#define XMPPD_XDATA_H

#include "xml.h"

#define NS_XDATA "jabber:x:data"

/* A new <x xmlns='jabber:x:data' type=type/> with its hidden FORM_TYPE
 * field (form_type NULL: none). */
struct xml_node *xdata_form(const char *type, const char *form_type);
/* Add field var of XEP-0004 type with label (NULL none), value (NULL
 * none) and, for lists, the NULL-terminated options (NULL none). */
struct xml_node *xdata_field(struct xml_node *x, const char *var, const char *type,
    const char *label, const char *value, const char *const *options);
/* The value of submitted form x's field var ("" for a field without
 * one), or NULL when x has no such field. */
const char *xdata_value(const struct xml_node *x, const char *var);
/* Is v a true XEP-0004 boolean ("1", "true")? */
int xdata_true(const char *v);
/* Is v a boolean at all ("0", "1", "false", "true")? */
int xdata_is_bool(const char *v);

#endif
