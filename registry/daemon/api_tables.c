/*
 * api_tables.c - the route tables of chanregd, in the order the server
 * searches them (api.h).
 */
#include "api.h"

void chand_api_route_tables(chand_route_table out[CHAND_API_N_TABLES])
{
    out[0] = (chand_route_table){chand_api_misc_routes, chand_api_misc_routes_count,
                                 CHAND_CONTENT_TYPE_JSON};
    out[1] = (chand_route_table){chand_api_schema_routes, chand_api_schema_routes_count,
                                 CHAND_CONTENT_TYPE_SR};
    out[2] = (chand_route_table){chand_api_channels_routes, chand_api_channels_routes_count,
                                 CHAND_CONTENT_TYPE_JSON};
    out[3] = (chand_route_table){chand_api_metrics_routes, chand_api_metrics_routes_count,
                                 CHAND_CONTENT_TYPE_JSON};
    out[4] = (chand_route_table){chand_api_acl_routes, chand_api_acl_routes_count,
                                 CHAND_CONTENT_TYPE_JSON};
    out[5] = (chand_route_table){chand_api_tokens_routes, chand_api_tokens_routes_count,
                                 CHAND_CONTENT_TYPE_JSON};
    out[6] = (chand_route_table){chand_api_policy_routes, chand_api_policy_routes_count,
                                 CHAND_CONTENT_TYPE_JSON};
    out[7] = (chand_route_table){chand_api_ui_routes, chand_api_ui_routes_count,
                                 CHAND_CONTENT_TYPE_JSON};
}
