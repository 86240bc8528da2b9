#ifndef WEBSOCKIFY_CLIBDEFLATE_SHIM_H
#define WEBSOCKIFY_CLIBDEFLATE_SHIM_H
#include <libdeflate.h>
#endif
