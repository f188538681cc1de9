/* platform.c - platforms: names, a pod's, an index's entry; see platform.h. */
#include "platform.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"

int platform_parse(const char *text, struct platform *out)
{
    memset(out, 0, sizeof(*out));
    const char *slash = text ? strchr(text, '/') : NULL;
    if (!slash || slash == text || (size_t)(slash - text) >= sizeof(out->os))
        return -1;
    memcpy(out->os, text, (size_t)(slash - text));
    const char *arch = slash + 1, *v = strchr(arch, '/');
    size_t alen = v ? (size_t)(v - arch) : strlen(arch);
    if (alen == 0 || alen >= sizeof(out->arch) ||
        (v && (!v[1] || strlen(v + 1) >= 16 || strchr(v + 1, '/'))))
        return -1;
    memcpy(out->arch, arch, alen);
    if (v)
        snprintf(out->variant, sizeof(out->variant), "%s", v + 1);
    for (const char *p = text; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '/'))
            return -1;
    return 0;
}

void platform_set_text(const struct platform_set *set, char *out, size_t len)
{
    size_t n = 0;
    out[0] = '\0';
    for (unsigned i = 0; i < set->count; i++) {
        const struct platform *p = &set->items[i];
        str_join(out + n, len - n, i ? "," : "", p->os, "/", p->arch, p->variant[0] ? "/" : "",
                 p->variant, NULL);
        n += strlen(out + n);
    }
}

/* The In values of every term's expression on key; false when a term leaves key free. */
static bool affinity_values(const json_t *pod, const char *key, const char **values, unsigned *n,
                            unsigned max)
{
    const json_t *terms = json_object_get(
        json_object_get(json_object_get(json_object_get(json_object_get(pod, "spec"), "affinity"),
                                        "nodeAffinity"),
                        "requiredDuringSchedulingIgnoredDuringExecution"),
        "nodeSelectorTerms");
    size_t i, j, k;
    json_t *term, *expr, *value;
    *n = 0;
    if (json_array_size(terms) == 0)
        return false;
    json_array_foreach(terms, i, term)
    {
        bool constrained = false;
        json_array_foreach(json_object_get(term, "matchExpressions"), j, expr)
        {
            const char *k2 = json_string_value(json_object_get(expr, "key"));
            const char *op = json_string_value(json_object_get(expr, "operator"));
            if (!k2 || strcmp(k2, key) != 0 || !op || strcmp(op, "In") != 0)
                continue;
            constrained = true;
            json_array_foreach(json_object_get(expr, "values"), k, value)
            {
                const char *s = json_string_value(value);
                bool seen = false;
                for (unsigned m = 0; s && m < *n; m++)
                    seen = seen || strcmp(values[m], s) == 0;
                if (s && !seen && *n < max)
                    values[(*n)++] = s;
            }
        }
        if (!constrained)
            return false;
    }
    return *n > 0;
}

/*
 * The values the pod allows for key (kubernetes.io/os or /arch), or for its
 * older beta. name (which nodes still carry); 0 when it says nothing.
 */
static unsigned pod_values(const json_t *pod, const char *key, const char **values, unsigned max)
{
    const json_t *selector = json_object_get(json_object_get(pod, "spec"), "nodeSelector");
    char beta[64];
    unsigned n = 0;
    snprintf(beta, sizeof(beta), "beta.%s", key);
    const char *names[] = {key, beta};
    for (int i = 0; i < 2; i++) {
        const char *v = json_string_value(json_object_get(selector, names[i]));
        if (v) {
            values[0] = v;
            return 1;
        }
    }
    for (int i = 0; i < 2; i++)
        if (affinity_values(pod, names[i], values, &n, max))
            return n;
    return 0;
}

void platforms_of_pod(const json_t *pod, const char *fallback, struct platform_set *out)
{
    struct platform def;
    const char *oses[PLATFORMS_MAX], *arches[PLATFORMS_MAX];
    memset(out, 0, sizeof(*out));
    if (platform_parse(fallback, &def) != 0)
        platform_parse("linux/amd64", &def);
    unsigned nos = pod_values(pod, "kubernetes.io/os", oses, PLATFORMS_MAX);
    unsigned narch = pod_values(pod, "kubernetes.io/arch", arches, PLATFORMS_MAX);
    if (nos == 0) {
        oses[0] = def.os;
        nos = 1;
    }
    for (unsigned o = 0; o < nos; o++)
        for (unsigned a = 0; a < (narch ? narch : 1); a++) {
            if (out->count == PLATFORMS_MAX)
                return;
            struct platform *p = &out->items[out->count];
            const char *arch = narch ? arches[a] : def.arch;
            if (strlen(oses[o]) >= sizeof(p->os) || strlen(arch) >= sizeof(p->arch))
                continue;
            snprintf(p->os, sizeof(p->os), "%s", oses[o]);
            snprintf(p->arch, sizeof(p->arch), "%s", arch);
            if (!narch && strcmp(p->arch, def.arch) == 0)
                snprintf(p->variant, sizeof(p->variant), "%s", def.variant);
            out->count++;
        }
}

static bool platform_matches(const json_t *desc, const struct platform *p)
{
    const json_t *pl = json_object_get(desc, "platform");
    const char *os = json_string_value(json_object_get(pl, "os"));
    const char *arch = json_string_value(json_object_get(pl, "architecture"));
    const char *variant = json_string_value(json_object_get(pl, "variant"));
    if (!os || !arch || strcmp(os, p->os) != 0 || strcmp(arch, p->arch) != 0)
        return false;
    return !p->variant[0] || !variant || strcmp(variant, p->variant) == 0;
}

const json_t *platform_choose(const json_t *index, const struct platform *p)
{
    size_t i;
    json_t *desc;
    json_array_foreach(json_object_get(index, "manifests"), i, desc)
    {
        if (platform_matches(desc, p))
            return desc;
    }
    return NULL;
}
