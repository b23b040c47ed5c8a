/* Make a syscall through a door a naive filter misses: the i386 ABI
 * (int 0x80) or the x32 numbering. Under jail the process must die by SIGSYS
 * before the call runs; exit 77 means the forbidden call worked. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char target[] = "/etc/hostname";

int main(int argc, char **argv)
{
    long ret = -1;
    if (argc > 1 && strcmp(argv[1], "i386") == 0) {
        /* i386 open(2) is 5; a non-PIE binary keeps `target` below 4 GiB. */
        __asm__ volatile("int $0x80" : "=a"(ret) : "a"(5), "b"(target), "c"(0), "d"(0) : "memory");
    } else {
        /* x32 getpid: 0x40000000 | 39 */
        __asm__ volatile("syscall" : "=a"(ret) : "a"(0x40000000L | 39) : "rcx", "r11", "memory");
    }
    printf("survived ret=%ld\n", ret);
    return ret >= 0 ? 77 : 0;
}
