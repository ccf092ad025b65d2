/*
 * cost.c — cost profiles (INI, read with libinih, every rejected input named FILE:LINE and
 * key), grid carbon intensity (a number, a country code in CodeCarbon's global energy mix, or
 * a cloud region in its region table), and the formulas that turn joules and machine seconds
 * into money, CO2 and servers. The format and the formulas are documented in docs/report.md.
 */
#include "jb_cost.h"

#include "jb_ini.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "jb_csvio.h"
#include "jb_file.h"

#ifndef JB_SOURCE_DIR
#define JB_SOURCE_DIR "."
#endif

#define ENERGY_MIX_FILE "codecarbon/global_energy_mix.json"
#define CLOUD_REGION_FILE "codecarbon/cloud_region_carbon.csv"
#define JSON_MAX_BYTES (16 << 20)

/* ==== folders ================================================================================ */

const char *jb_cost_profiles_dir(void)
{
    const char *d = getenv("JOULEBENCH_PROFILES_DIR");
    return d && *d ? d : JB_SOURCE_DIR "/profiles";
}

const char *jb_cost_data_dir(void)
{
    const char *d = getenv("JOULEBENCH_DATA_DIR");
    return d && *d ? d : JB_SOURCE_DIR "/data";
}

/* ==== grid carbon intensity ================================================================== */

static bool is_country_code(const char *s)
{
    return strlen(s) == 3 && isalpha((unsigned char)s[0]) && isalpha((unsigned char)s[1])
        && isalpha((unsigned char)s[2]);
}

/* "FRA" -> global_energy_mix.json["FRA"].carbon_intensity */
static int grid_country(
    const char *spec, const char *data_dir, double *g, char *from, size_t len, struct jb_err *err)
{
    char path[PATH_MAX + 64], code[4];
    for (int i = 0; i < 3; i++)
        code[i] = (char)toupper((unsigned char)spec[i]);
    code[3] = '\0';
    snprintf(path, sizeof path, "%s/" ENERGY_MIX_FILE, data_dir);
    char *text = NULL;
    int rc = jb_read_file(path, JSON_MAX_BYTES, &text, NULL, err);
    if (rc)
        return rc;
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!root)
        return jb_fail(err, JB_EPARSE, "%s: not valid JSON", path);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, code);
    const cJSON *ci = cJSON_GetObjectItemCaseSensitive(c, "carbon_intensity");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "country_name");
    const cJSON *year = cJSON_GetObjectItemCaseSensitive(c, "year");
    if (!c)
        rc = jb_fail(err, JB_ENOENT, "no country with ISO code \"%s\" in %s", code, path);
    else if (!cJSON_IsNumber(ci) || !(ci->valuedouble >= 0))
        rc = jb_fail(err, JB_EPARSE, "%s: \"%s\": no carbon_intensity number", path, code);
    else {
        *g = ci->valuedouble;
        snprintf(from, len, "CodeCarbon global_energy_mix.json: %s (%s), %d", code,
            cJSON_IsString(name) ? name->valuestring : "?",
            cJSON_IsNumber(year) ? year->valueint : 0);
    }
    cJSON_Delete(root);
    return rc;
}

/* The CodeCarbon CSV starts with a UTF-8 byte order mark: drop it from the first name. */
static void strip_bom(struct jb_table *t)
{
    if (t->n_cols && strncmp(t->header[0], "\xEF\xBB\xBF", 3) == 0)
        memmove(t->header[0], t->header[0] + 3, strlen(t->header[0] + 3) + 1);
}

/* "gcp:europe-west1" -> cloud_region_carbon.csv row provider=gcp, region=europe-west1: impact */
static int grid_region(
    const char *spec, const char *data_dir, double *g, char *from, size_t len, struct jb_err *err)
{
    char path[PATH_MAX + 64];
    const char *colon = strchr(spec, ':');
    const size_t plen = (size_t)(colon - spec);
    snprintf(path, sizeof path, "%s/" CLOUD_REGION_FILE, data_dir);
    struct jb_table t;
    int rc = jb_table_read(path, &t, err);
    if (rc)
        return rc;
    strip_bom(&t);
    const int cp = jb_table_col(&t, "provider"), cr = jb_table_col(&t, "region"),
              ci = jb_table_col(&t, "impact"), cc = jb_table_col(&t, "city");
    if (cp < 0 || cr < 0 || ci < 0) {
        jb_table_free(&t);
        return jb_fail(err, JB_EPARSE, "%s: missing column \"%s\"", path,
            cp < 0       ? "provider"
                : cr < 0 ? "region"
                         : "impact");
    }
    rc = jb_fail(err, JB_ENOENT, "no region \"%s\" of provider \"%.*s\" in %s", colon + 1,
        (int)plen, spec, path);
    for (size_t r = 0; r < t.n_rows; r++) {
        const char *p = t.rows[r][cp];
        if (strlen(p) != plen || strncasecmp(p, spec, plen) != 0
            || strcmp(t.rows[r][cr], colon + 1) != 0)
            continue;
        if (!jb_ini_number(t.rows[r][ci], g) || *g < 0) {
            rc = jb_fail(err, JB_EPARSE,
                "%s: record %zu, column \"impact\": \"%s\" is not a number", path, r + 2,
                t.rows[r][ci]);
            break;
        }
        snprintf(from, len, "CodeCarbon cloud_region_carbon.csv: %s %s (%s)", p, t.rows[r][cr],
            cc >= 0 ? t.rows[r][cc] : "?");
        rc = 0;
        break;
    }
    jb_table_free(&t);
    return rc;
}

int jb_grid_lookup(const char *spec, const char *data_dir, double *g_per_kwh, char *from,
    size_t from_len, struct jb_err *err)
{
    const char *dir = data_dir ? data_dir : jb_cost_data_dir();
    const char *colon = strchr(spec, ':');
    if (jb_ini_number(spec, g_per_kwh)) {
        if (*g_per_kwh < 0 || *g_per_kwh > 5000)
            return jb_fail(err, JB_ERANGE, "expected gCO2e/kWh from 0 to 5000, got \"%s\"", spec);
        snprintf(from, from_len, "the profile (gCO2e/kWh)");
        return 0;
    }
    if (is_country_code(spec))
        return grid_country(spec, dir, g_per_kwh, from, from_len, err);
    if (colon && colon > spec && colon[1] && !strchr(colon + 1, ':'))
        return grid_region(spec, dir, g_per_kwh, from, from_len, err);
    return jb_fail(err, JB_EPARSE,
        "expected gCO2e/kWh (a number), a country's ISO 3166-1 alpha-3 code (FRA) or "
        "PROVIDER:REGION (gcp:europe-west1), got \"%s\"",
        spec);
}

/* ==== profiles (libinih) ===================================================================== */

enum key_kind { KIND_TEXT, KIND_CURRENCY, KIND_REAL, KIND_GRID };

static const struct key_spec {
    const char *section, *name, *unit;
    enum key_kind kind;
    double min, max; /* KIND_REAL: [min, max]; open at min when min_open */
    bool min_open;
} key_specs[JB_COST_KEY_COUNT] = {
    [JB_COST_KEY_DESCRIPTION] = { "profile", "description", "", KIND_TEXT, 0, 0, false },
    [JB_COST_KEY_CURRENCY] = { "profile", "currency", "", KIND_CURRENCY, 0, 0, false },
    [JB_COST_KEY_PRICE_PER_KWH]
    = { "electricity", "price_per_kwh", "currency/kWh", KIND_REAL, 0, 100, false },
    [JB_COST_KEY_PUE] = { "electricity", "pue", "", KIND_REAL, 1, 5, false },
    [JB_COST_KEY_GRID] = { "electricity", "grid", "gCO2e/kWh", KIND_GRID, 0, 0, false },
    [JB_COST_KEY_PURCHASE_PRICE]
    = { "hardware", "purchase_price", "currency", KIND_REAL, 0, 1e9, false },
    [JB_COST_KEY_LIFETIME_YEARS]
    = { "hardware", "lifetime_years", "years", KIND_REAL, 0, 50, true },
    [JB_COST_KEY_CLOUD_PRICE_PER_HOUR]
    = { "hardware", "cloud_price_per_hour", "currency/h", KIND_REAL, 0, 1e6, true },
    [JB_COST_KEY_UTILISATION] = { "hardware", "utilisation", "", KIND_REAL, 0, 1, true },
};

const char *jb_cost_key_name(enum jb_cost_key k)
{
    return (unsigned)k < JB_COST_KEY_COUNT ? key_specs[k].name : "?";
}

/* What the INI callbacks fill. */
struct reader {
    struct jb_cost_profile *p;
    const char *data_dir;
};

static double *real_field(struct jb_cost_profile *p, enum jb_cost_key k)
{
    switch (k) {
    case JB_COST_KEY_PRICE_PER_KWH: return &p->price_per_kwh;
    case JB_COST_KEY_PUE: return &p->pue;
    case JB_COST_KEY_PURCHASE_PRICE: return &p->purchase_price;
    case JB_COST_KEY_LIFETIME_YEARS: return &p->lifetime_years;
    case JB_COST_KEY_CLOUD_PRICE_PER_HOUR: return &p->cloud_price_per_hour;
    case JB_COST_KEY_UTILISATION: return &p->utilisation;
    default: return NULL;
    }
}

static int parse_real_key(
    struct jb_ini *ini, struct reader *r, enum jb_cost_key k, const char *value)
{
    const struct key_spec *s = &key_specs[k];
    double v;
    char why[96];
    snprintf(why, sizeof why, "expected a number %s %g and <= %g", s->min_open ? ">" : ">=", s->min,
        s->max);
    if (!jb_ini_number(value, &v))
        return jb_ini_fail(ini, JB_EPARSE, "key \"%s\": %s, got \"%s\"", s->name, why, value);
    if (v < s->min || (s->min_open && v == s->min) || v > s->max)
        return jb_ini_fail(ini, JB_ERANGE, "key \"%s\": %s, got \"%s\"", s->name, why, value);
    *real_field(r->p, k) = v;
    return 0;
}

static int parse_key(struct jb_ini *ini, struct reader *r, enum jb_cost_key k, const char *value)
{
    struct jb_cost_profile *p = r->p;
    struct jb_err e;
    switch (key_specs[k].kind) {
    case KIND_TEXT:
        if (strlen(value) >= sizeof p->description)
            return jb_ini_fail(ini, JB_ERANGE, "key \"description\": longer than %zu characters",
                sizeof p->description - 1);
        snprintf(p->description, sizeof p->description, "%s", value);
        return 0;
    case KIND_CURRENCY:
        if (strlen(value) != 3 || !isupper((unsigned char)value[0])
            || !isupper((unsigned char)value[1]) || !isupper((unsigned char)value[2]))
            return jb_ini_fail(ini, JB_EPARSE,
                "key \"currency\": expected an ISO 4217 code (USD, EUR, GBP), got \"%s\"", value);
        snprintf(p->currency, sizeof p->currency, "%s", value);
        return 0;
    case KIND_REAL: return parse_real_key(ini, r, k, value);
    case KIND_GRID:
        if (strlen(value) >= sizeof p->grid)
            return jb_ini_fail(
                ini, JB_ERANGE, "key \"grid\": longer than %zu characters", sizeof p->grid - 1);
        snprintf(p->grid, sizeof p->grid, "%s", value);
        if (jb_grid_lookup(
                value, r->data_dir, &p->grid_g_per_kwh, p->grid_from, sizeof p->grid_from, &e))
            return jb_ini_fail(ini, e.code, "key \"grid\": %s", e.msg);
        return 0;
    }
    return 0;
}

static int on_key(struct jb_ini *ini, int k, const char *value, void *user)
{
    return parse_key(ini, user, (enum jb_cost_key)k, value);
}

/* "FILE: [section] key is missing" */
static int missing(
    const struct jb_cost_profile *p, enum jb_cost_key k, const char *why, struct jb_err *err)
{
    return jb_fail(err, JB_EPARSE, "%s: [%s] %s is missing%s", p->path, key_specs[k].section,
        key_specs[k].name, why);
}

/* Keys required together or apart: purchase_price + lifetime_years, or cloud_price_per_hour. */
static int check_complete(struct jb_cost_profile *p, struct jb_err *err)
{
    static const enum jb_cost_key required[]
        = { JB_COST_KEY_PRICE_PER_KWH, JB_COST_KEY_PUE, JB_COST_KEY_GRID, JB_COST_KEY_UTILISATION };
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!p->line[required[i]])
            return missing(p, required[i], "", err);
    const bool bought = p->line[JB_COST_KEY_PURCHASE_PRICE] != 0;
    p->cloud = p->line[JB_COST_KEY_CLOUD_PRICE_PER_HOUR] != 0;
    if (bought && p->cloud)
        return jb_fail(err, JB_EPARSE,
            "%s:%d: key \"cloud_price_per_hour\": give either purchase_price (line %d) and "
            "lifetime_years, or cloud_price_per_hour, not both",
            p->path, p->line[JB_COST_KEY_CLOUD_PRICE_PER_HOUR],
            p->line[JB_COST_KEY_PURCHASE_PRICE]);
    if (!bought && !p->cloud)
        return missing(p, JB_COST_KEY_PURCHASE_PRICE,
            " (give purchase_price and lifetime_years, or cloud_price_per_hour)", err);
    if (bought && !p->line[JB_COST_KEY_LIFETIME_YEARS])
        return missing(p, JB_COST_KEY_LIFETIME_YEARS, " (purchase_price is spread over it)", err);
    if (p->cloud && p->line[JB_COST_KEY_LIFETIME_YEARS])
        return jb_fail(err, JB_EPARSE,
            "%s:%d: key \"lifetime_years\": only with purchase_price, not cloud_price_per_hour",
            p->path, p->line[JB_COST_KEY_LIFETIME_YEARS]);
    return 0;
}

static void profile_init(struct jb_cost_profile *p, const char *path)
{
    memset(p, 0, sizeof *p);
    snprintf(p->path, sizeof p->path, "%s", path);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    snprintf(p->name, sizeof p->name, "%.*s", (int)(dot && dot != base ? dot - base : 63), base);
    snprintf(p->currency, sizeof p->currency, "USD");
    p->price_per_kwh = p->pue = p->grid_g_per_kwh = p->utilisation = NAN;
    p->purchase_price = p->lifetime_years = p->cloud_price_per_hour = NAN;
}

static int resolve(const char *name_or_path, char *path, size_t len, struct jb_err *err)
{
    const size_t n = strlen(name_or_path);
    const bool is_path
        = strchr(name_or_path, '/') || (n > 4 && !strcmp(name_or_path + n - 4, ".ini"));
    if (!*name_or_path)
        return jb_fail(err, JB_EINVAL, "empty cost profile name");
    if (is_path)
        snprintf(path, len, "%s", name_or_path);
    else
        snprintf(path, len, "%s/%s.ini", jb_cost_profiles_dir(), name_or_path);
    return 0;
}

int jb_cost_profile_load(
    const char *name_or_path, const char *data_dir, struct jb_cost_profile *out, struct jb_err *err)
{
    char path[PATH_MAX];
    int rc = resolve(name_or_path, path, sizeof path, err);
    if (rc)
        return rc;
    struct jb_err why;
    FILE *f = jb_fopen_input(path, &why, &rc);
    if (!f)
        return jb_fail(err, rc, "cost profile %s%s", why.msg,
            rc != JB_ENOENT || strchr(name_or_path, '/')
                ? ""
                : " (the profiles are in profiles/: see profiles/README.md)");
    profile_init(out, path);
    struct reader r = { out, data_dir ? data_dir : jb_cost_data_dir() };
    rc = jb_ini_parse(
        f, path, key_specs, sizeof key_specs[0], JB_COST_KEY_COUNT, out->line, on_key, &r, err);
    fclose(f);
    return rc ? rc : check_complete(out, err);
}

/* ==== formulas ================================================================================ */

double jb_cost_hardware_per_busy_hour(const struct jb_cost_profile *p)
{
    if (p->cloud)
        return p->cloud_price_per_hour / p->utilisation;
    return p->purchase_price / (p->lifetime_years * JB_HOURS_PER_YEAR * p->utilisation);
}

void jb_cost_compute(const struct jb_cost_profile *p, const struct jb_cost_inputs *in, double qps,
    struct jb_cost *out)
{
    out->hardware_per_busy_hour = jb_cost_hardware_per_busy_hour(p);
    out->kwh_per_query = in->j_per_query * p->pue / JB_J_PER_KWH;
    out->energy_per_query = out->kwh_per_query * p->price_per_kwh;
    out->hardware_per_query = out->hardware_per_busy_hour * in->machine_s_per_query / 3600.0;
    out->per_query = out->energy_per_query + out->hardware_per_query;
    out->per_1k_queries = 1000.0 * out->per_query;
    out->per_1m_output_tokens = in->output_tokens_per_query > 0
        ? out->per_query * 1e6 / in->output_tokens_per_query
        : NAN;
    out->energy_share = out->per_query > 0 ? out->energy_per_query / out->per_query : NAN;
    out->g_co2e_per_query = out->kwh_per_query * p->grid_g_per_kwh;
    out->queries_per_kwh = out->kwh_per_query > 0 ? 1.0 / out->kwh_per_query : NAN;
    out->qps_per_server = in->machine_s_per_query > 0 ? 1.0 / in->machine_s_per_query : NAN;
    out->servers_needed = qps > 0 && out->qps_per_server > 0
        ? ceil(qps / (out->qps_per_server * p->utilisation) * (1 - 1e-12)) /* 2.0000000001 is 2 */
        : NAN;
}

const char *jb_cost_currency_symbol(const char *currency)
{
    static const char *const symbols[][2] = { { "USD", "$" }, { "EUR", "€" }, { "GBP", "£" } };
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++)
        if (strcmp(currency, symbols[i][0]) == 0)
            return symbols[i][1];
    return NULL;
}
