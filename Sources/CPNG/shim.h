#ifndef WEBSOCKIFY_CPNG_SHIM_H
#define WEBSOCKIFY_CPNG_SHIM_H
#include <png.h>
#endif
