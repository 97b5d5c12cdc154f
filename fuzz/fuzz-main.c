/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runs a fuzz target over files (a corpus) without libFuzzer, so that every
 * build replays the corpus as a regression test. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char *argv[]) {
        for (int i = 1; i < argc; i++) {
                FILE *f = fopen(argv[i], "rb");
                uint8_t *data = NULL;
                long size;

                if (!f || fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
                        perror(argv[i]);
                        return EXIT_FAILURE;
                }
                data = malloc((size_t) size + 1);
                if (!data || fread(data, 1, (size_t) size, f) != (size_t) size) {
                        perror(argv[i]);
                        return EXIT_FAILURE;
                }
                fclose(f);
                LLVMFuzzerTestOneInput(data, (size_t) size);
                free(data);
                printf("ok %d %s\n", i, argv[i]);
        }
        return EXIT_SUCCESS;
}
