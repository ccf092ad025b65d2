/*
 * jb_cost.h — the cost model: what a query costs in money and CO2 on a given machine, from
 * the energy and machine time a run measured and a cost profile (an INI file in profiles/:
 * electricity price, PUE, grid carbon intensity, hardware or cloud price, utilisation).
 * Pure functions, no I/O beyond reading the profile and the carbon data; every formula is
 * written out in docs/report.md.
 */
#ifndef JB_COST_H
#define JB_COST_H

#include <limits.h>
#include <stdbool.h>

#include "jb_error.h"

#define JB_J_PER_KWH 3.6e6       /* joules in one kilowatt-hour */
#define JB_HOURS_PER_YEAR 8760.0 /* 365 days; a lifetime in years becomes hours with this */

/* The keys of a profile, in the order the report lists them. */
enum jb_cost_key {
    JB_COST_KEY_DESCRIPTION,
    JB_COST_KEY_CURRENCY,
    JB_COST_KEY_PRICE_PER_KWH,
    JB_COST_KEY_PUE,
    JB_COST_KEY_GRID,
    JB_COST_KEY_PURCHASE_PRICE,
    JB_COST_KEY_LIFETIME_YEARS,
    JB_COST_KEY_CLOUD_PRICE_PER_HOUR,
    JB_COST_KEY_UTILISATION,
    JB_COST_KEY_COUNT
};

/* A cost profile as read from its file, carbon intensity resolved. Caller-owned, no
 * pointers inside: copy freely. */
struct jb_cost_profile {
    char path[PATH_MAX]; /* the file read */
    char name[64];       /* its stem: profiles/laptop.ini is "laptop" */
    char description[256];
    char currency[8];            /* ISO 4217 code, e.g. USD; every price is in it */
    double price_per_kwh;        /* electricity, currency per kWh at the facility meter */
    double pue;                  /* power usage effectiveness: facility energy / IT energy (>= 1) */
    char grid[64];               /* as written: a number, a country ISO code or PROVIDER:REGION */
    double grid_g_per_kwh;       /* carbon intensity, gCO2e per kWh, resolved from grid */
    char grid_from[256];         /* where grid_g_per_kwh comes from, for the report */
    bool cloud;                  /* hardware is rented by the hour, not bought */
    double purchase_price;       /* currency, bought hardware; NAN for cloud */
    double lifetime_years;       /* years the purchase is spread over; NAN for cloud */
    double cloud_price_per_hour; /* currency per hour rented; NAN for bought hardware */
    double utilisation; /* share of its life (or rented hours) the machine is busy, (0, 1] */
    int line[JB_COST_KEY_COUNT]; /* where the file sets each key; 0 = not set */
};

/* Name of a key as written in a profile ("price_per_kwh"). */
const char *jb_cost_key_name(enum jb_cost_key k);

/* The folder profile NAMEs resolve in: $JOULEBENCH_PROFILES_DIR, else the source tree's
 * profiles/. */
const char *jb_cost_profiles_dir(void);
/* The folder the carbon data lives in: $JOULEBENCH_DATA_DIR, else the source tree's data/
 * (global_energy_mix.json and cloud_region_carbon.csv are under its codecarbon/). */
const char *jb_cost_data_dir(void);

/* Reads a profile: NAME (a file NAME.ini in the profiles folder) or a path (anything with a
 * '/' or ending in .ini). data_dir is where the carbon data lives (NULL: jb_cost_data_dir()).
 * Every rejected input names FILE:LINE and the key; a missing key names the file and the
 * section. JB_ENOENT when the profile does not exist, JB_EPARSE / JB_ERANGE for bad values. */
int jb_cost_profile_load(const char *name_or_path, const char *data_dir,
    struct jb_cost_profile *out, struct jb_err *err);

/* Carbon intensity of a grid (gCO2e/kWh): spec is a number ("56"), a country's ISO 3166-1
 * alpha-3 code ("FRA", looked up in codecarbon/global_energy_mix.json) or PROVIDER:REGION
 * ("gcp:europe-west1", looked up in codecarbon/cloud_region_carbon.csv) under data_dir.
 * from (OUT) says where the figure came from. JB_ENOENT for an unknown code or region (the
 * message says where it looked), JB_EPARSE for a spec of none of these shapes. */
int jb_grid_lookup(const char *spec, const char *data_dir, double *g_per_kwh, char *from,
    size_t from_len, struct jb_err *err);

/* What the runs say one query takes on the machine measured. */
struct jb_cost_inputs {
    double j_per_query;             /* IT energy per query (J); NAN when not measured */
    double machine_s_per_query;     /* seconds the query holds the machine: duration / requests */
    double output_tokens_per_query; /* tokens generated per query */
};

/* What it costs, in the profile's currency, grams of CO2e and servers. */
struct jb_cost {
    double hardware_per_busy_hour; /* hardware (or cloud) cost of one busy hour */
    double kwh_per_query;          /* facility energy: j_per_query * pue / 3.6e6 */
    double energy_per_query;       /* kwh_per_query * price_per_kwh */
    double hardware_per_query;     /* hardware_per_busy_hour * machine_s_per_query / 3600 */
    double per_query;              /* energy + hardware; NAN when energy was not measured */
    double per_1k_queries;         /* 1000 * per_query */
    double per_1m_output_tokens;   /* per_query * 1e6 / output_tokens_per_query */
    double energy_share;           /* energy_per_query / per_query */
    double g_co2e_per_query;       /* kwh_per_query * grid_g_per_kwh */
    double queries_per_kwh;        /* 1 / kwh_per_query (facility kWh) */
    double qps_per_server; /* 1 / machine_s_per_query: queries per second one machine serves */
    double servers_needed; /* ceil(qps / (qps_per_server * utilisation)); NAN without qps */
};

/* Hardware cost of one busy hour: purchase_price / (lifetime_years * 8760 * utilisation) for
 * bought hardware, cloud_price_per_hour / utilisation for rented. */
double jb_cost_hardware_per_busy_hour(const struct jb_cost_profile *p);

/* Applies the formulas (docs/report.md#formulas). qps <= 0 or NAN leaves servers_needed NAN.
 * A NAN input makes NAN exactly the outputs that depend on it. */
void jb_cost_compute(const struct jb_cost_profile *p, const struct jb_cost_inputs *in, double qps,
    struct jb_cost *out);

/* The symbol of a currency code for prose: "$" for USD, "€" for EUR, "£" for GBP; NULL for
 * others (write the code). */
const char *jb_cost_currency_symbol(const char *currency);

#endif
