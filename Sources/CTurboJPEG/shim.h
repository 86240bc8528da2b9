#ifndef WEBSOCKIFY_CTURBOJPEG_SHIM_H
#define WEBSOCKIFY_CTURBOJPEG_SHIM_H
#include <turbojpeg.h>
#endif
