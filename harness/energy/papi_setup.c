/*
 * papi_setup.c — PAPI, initialised once per process and called under one lock: what the two
 * PAPI users (the hardware counters in counters.c and the energy source in papi.c) share
 * (jb_papi.h).
 */
#include "jb_papi.h"

#include <pthread.h>
#include <stdio.h>

#include <papi.h>

#include "jb_error.h"

static pthread_once_t papi_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t papi_mutex = PTHREAD_MUTEX_INITIALIZER;
static int papi_init_rc; /* what PAPI_library_init returned */

/* No PAPI_thread_init: every event set here is CPU-attached (counters, perf_event_uncore) or
 * package-wide (rapl, powercap), never per-thread, and every PAPI call is made under
 * papi_mutex, so PAPI's single-thread bookkeeping is enough whichever thread calls. */
static void papi_init_once(void)
{
    papi_init_rc = PAPI_library_init(PAPI_VER_CURRENT);
}

/* Initialises PAPI once for the process (thread-safe; later calls return the first result).
 * 0, or JB_ENOTSUP with why (if not NULL) saying why PAPI cannot be used. */
int jb_papi_init(char *why, size_t why_len)
{
    pthread_once(&papi_once, papi_init_once);
    int rc = papi_init_rc;
    if (rc == PAPI_VER_CURRENT)
        return 0;
    if (why && rc > 0)
        snprintf(why, why_len,
            "PAPI_library_init: libpapi is version %d.%d but joulebench was built against "
            "%d.%d: rebuild joulebench",
            PAPI_VERSION_MAJOR(rc), PAPI_VERSION_MINOR(rc), PAPI_VERSION_MAJOR(PAPI_VER_CURRENT),
            PAPI_VERSION_MINOR(PAPI_VER_CURRENT));
    else if (why)
        snprintf(why, why_len, "PAPI_library_init failed: %s", PAPI_strerror(rc));
    return JB_ENOTSUP;
}

/* PAPI is not thread-safe without PAPI_thread_init: every PAPI call in joulebench is made
 * between these two. */
void jb_papi_lock(void)
{
    pthread_mutex_lock(&papi_mutex);
}
void jb_papi_unlock(void)
{
    pthread_mutex_unlock(&papi_mutex);
}

/* The running libpapi's version, "7.0.0.0" (the headers' when PAPI is not initialised). */
const char *jb_papi_version(char *buf, size_t len)
{
    int v = jb_papi_init(NULL, 0) == 0 ? PAPI_get_opt(PAPI_LIB_VERSION, NULL) : PAPI_VERSION;
    snprintf(buf, len, "%d.%d.%d.%d", PAPI_VERSION_MAJOR(v), PAPI_VERSION_MINOR(v),
        PAPI_VERSION_REVISION(v), PAPI_VERSION_INCREMENT(v));
    return buf;
}
