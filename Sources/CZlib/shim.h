#ifndef WEBSOCKIFY_CZLIB_SHIM_H
#define WEBSOCKIFY_CZLIB_SHIM_H
#include <zlib.h>
#endif
