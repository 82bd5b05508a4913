/* routes.h - tenant-service's route table. */
#ifndef TENANT_ROUTES_H
#define TENANT_ROUTES_H

#include <stddef.h>

#include "http.h"

extern const struct http_route tenant_routes[];
extern const size_t tenant_routes_count;

#endif
