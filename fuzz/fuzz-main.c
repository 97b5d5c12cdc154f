/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runs a fuzz target over files, or every file in directories (a corpus),
 * without libFuzzer, so that every build replays the corpus as a
 * regression test. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
        FILE *f = fopen(path, "rb");
        uint8_t *data = NULL;
        long size;

        if (!f || fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0 ||
            !(data = malloc((size_t) size + 1)) || fread(data, 1, (size_t) size, f) != (size_t) size) {
                perror(path);
                if (f)
                        fclose(f);
                free(data);
                return -1;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(data, (size_t) size);
        free(data);
        printf("ok %s\n", path);
        return 0;
}

static int run_directory(const char *path) {
        struct dirent **entries = NULL;
        int n, r = 0;

        n = scandir(path, &entries, NULL, alphasort);
        if (n < 0) {
                perror(path);
                return -1;
        }
        for (int i = 0; i < n; i++) {
                char *file = NULL;

                if (entries[i]->d_name[0] != '.' && asprintf(&file, "%s/%s", path, entries[i]->d_name) >= 0 &&
                    run_file(file) < 0)
                        r = -1;
                free(file);
                free(entries[i]);
        }
        free(entries);
        return r;
}

int main(int argc, char *argv[]) {
        for (int i = 1; i < argc; i++) {
                struct stat st;

                if (argv[i][0] == '-')
                        continue;   /* a libFuzzer flag such as -runs=0 */
                if (stat(argv[i], &st) < 0) {
                        perror(argv[i]);
                        return EXIT_FAILURE;
                }
                if ((S_ISDIR(st.st_mode) ? run_directory(argv[i]) : run_file(argv[i])) < 0)
                        return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
