//  web_assets.h - the status page's files (coordinator/web/), embedded in
//  the coordinator at build time by coordinator/web/embed.sh into the
//  generated $(B)/coordinator/web_assets.c. Read-only data, no state: a
//  leaf module that includes nothing of zjob's. The HTTP server serves
//  what zj_web_asset_find returns for a request's path.
#ifndef ZJ_WEB_ASSETS_H
#define ZJ_WEB_ASSETS_H

#include <stddef.h>

typedef struct {
    const char *path;          //  "/index.html", "/static/app.js"...
    const char *type;          //  Its Content-Type
    const unsigned char *data; //  size bytes, then a NUL not counted
    size_t size;
} zj_web_asset_t;

//  The embedded file at path ("/", "/index.html", "/static/app.js"...), or
//  NULL for any other path (it never touches the file system, so "/../x"
//  and "/static/../index.html" are simply not there). "/" is index.html.
//  The path is the URL's path alone, without its query. Static data: never
//  free it.
const zj_web_asset_t *zj_web_asset_find(const char *path);

#endif
