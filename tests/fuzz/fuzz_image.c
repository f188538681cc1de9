/*
 * fuzz_image.c - libFuzzer target: an arbitrary buffer as an image archive
 * (docker save or OCI layout tar): manifests, configs, layers, the flattened
 * tree, and every fact, annotation and catalog rule drawn from it.
 */
#include <stdint.h>

#include "image.h"
#include "image_memory.h"
#include "imagefacts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct image img;
    struct image_facts facts;
    char err[512];
    if (image_open_memory(&img, data, size, NULL, err, sizeof(err)) == 0) {
        image_facts_compute(&img, &facts);
        json_decref(image_facts_to_json(&img, &facts));
        json_decref(image_facts_annotations(&facts, "goinject.io", "app"));
        json_decref(image_facts_catalog_rule(&facts, img.name, img.digest));
        image_facts_free(&facts);
    }
    image_close(&img);
    return 0;
}
