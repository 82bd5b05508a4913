/* routes.h - graph-sim's route table. */
#ifndef SIM_ROUTES_H
#define SIM_ROUTES_H

#include <stddef.h>

#include "http.h"

extern const struct http_route sim_routes[];
extern const size_t sim_routes_count;

#endif
