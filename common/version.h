//  version.h - zjob's version, printed by --version on the three
//  programs; python/zjob/__init__.py's __version__ says the same.
#ifndef ZJ_VERSION_H
#define ZJ_VERSION_H

#define ZJ_VERSION "0.1.0"

#endif
