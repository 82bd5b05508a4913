/* rss_floor.c - the resident memory a service has before any work of its own: this
 * program links the libraries the services link and initialises libcurl as they do
 * (httpc_global_init), then prints its VmRSS in kB. Benchmark 5 reports it next to the
 * services' idle VmRSS: the difference is what the services themselves hold. */
#include <stdio.h>
#include <string.h>

#include "httpclient.h"

int main(void)
{
    httpc_global_init();
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0 && sscanf(line + 6, "%ld", &kb) == 1)
            break;
    fclose(f);
    printf("%ld\n", kb);
    httpc_global_cleanup();
    return kb < 0;
}
