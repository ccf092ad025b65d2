/*
 * fake_nvml.c — a scripted stand-in for libnvidia-ml.so.1, loaded by the NVML source through
 * JOULEBENCH_NVML_LIB in tests: GPU 0 has an energy counter rising at 50 W from the moment
 * NVML is initialised; GPU 1 has no energy counter and draws a constant 20 W.
 */
#include <time.h>

static double t0;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int nvmlInit_v2(void)
{
    t0 = now_s();
    return 0;
}

int nvmlShutdown(void)
{
    return 0;
}

const char *nvmlErrorString(int r)
{
    return r == 3 ? "Not Supported" : "Unknown Error";
}

int nvmlDeviceGetCount_v2(unsigned *n)
{
    *n = 2;
    return 0;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned i, void **dev)
{
    *dev = (void *)(unsigned long)(i + 1);
    return 0;
}

int nvmlDeviceGetName(void *dev, char *name, unsigned len)
{
    if (len > 8)
        name[0] = 'F', name[1] = 'a', name[2] = 'k', name[3] = 'e', name[4] = '\0';
    return dev ? 0 : 1;
}

int nvmlDeviceGetTotalEnergyConsumption(void *dev, unsigned long long *mj)
{
    if ((unsigned long)dev != 1)
        return 3; /* NVML_ERROR_NOT_SUPPORTED */
    *mj = 1000000ull + (unsigned long long)((now_s() - t0) * 50.0 * 1000.0);
    return 0;
}

int nvmlDeviceGetPowerUsage(void *dev, unsigned *mw)
{
    *mw = (unsigned long)dev == 1 ? 50000u : 20000u;
    return 0;
}
