/* jinja_json.h — JSON text to Jinja values (internal). */
#ifndef LMC_JINJA_JSON_H
#define LMC_JINJA_JSON_H

#include "jinja.h"

/* Parses n bytes of JSON into values in arena a. On error writes "JSON line L, column C: ..."
 * into err and returns false. */
bool jinja_json_parse(const char *s, size_t n, jarena *a, jv *out, char *err, size_t errcap);

#endif /* LMC_JINJA_JSON_H */
